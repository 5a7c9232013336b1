package pipeline

// TraceID and SpanID are the raw OTLP identifiers.
type (
	TraceID [16]byte
	SpanID  [8]byte
)

// IsZero reports whether the id is all zero bytes (invalid in OTLP).
func (t TraceID) IsZero() bool { return t == TraceID{} }

// IsZero reports whether the id is all zero bytes (invalid in OTLP).
func (s SpanID) IsZero() bool { return s == SpanID{} }

const hexdigits = "0123456789abcdef"

// String is the lower-case hex form used as Kafka key and ClickHouse column.
func (t TraceID) String() string {
	var b [32]byte
	for i, c := range t {
		b[2*i], b[2*i+1] = hexdigits[c>>4], hexdigits[c&0xf]
	}
	return string(b[:])
}

// String is the lower-case hex form; the zero id renders as "".
func (s SpanID) String() string {
	if s.IsZero() {
		return ""
	}
	var b [16]byte
	for i, c := range s {
		b[2*i], b[2*i+1] = hexdigits[c>>4], hexdigits[c&0xf]
	}
	return string(b[:])
}

// Operation is the normalised kind of work a span did.
type Operation string

// The operations unitcost distinguishes. GenAI semconv names are kept where they exist.
const (
	OpChat        Operation = "chat"
	OpCompletion  Operation = "text_completion"
	OpGenerate    Operation = "generate_content"
	OpEmbeddings  Operation = "embeddings"
	OpRetrieval   Operation = "retrieval"
	OpTool        Operation = "execute_tool"
	OpAgent       Operation = "invoke_agent"
	OpWorkflow    Operation = "invoke_workflow"
	OpHumanReview Operation = "human_review"
	// OpConversationTurn is GenAI's handle_conversation_turn: one turn of a
	// conversation, a container (not billed itself) that may root a workflow.
	OpConversationTurn Operation = "handle_conversation_turn"
	OpOther            Operation = ""
)

// Usage is a model call's token mix. InputTokens always includes cached tokens (read and
// write) and OutputTokens always includes reasoning tokens, whatever convention the
// instrumentation used; normalisation converts.
type Usage struct {
	InputTokens      uint64
	OutputTokens     uint64
	CacheReadTokens  uint64
	CacheWriteTokens uint64
	// CacheWrite1hTokens is the part of CacheWriteTokens written with a 1-hour lifetime.
	CacheWrite1hTokens uint64
	ReasoningTokens    uint64
	// Audio and image tokens are parts of InputTokens / OutputTokens billed at their own
	// rates where the model has them.
	AudioInputTokens  uint64
	ImageInputTokens  uint64
	AudioOutputTokens uint64
	// Estimated is true when the counts were computed by unitcost's tokenizer from
	// captured content rather than reported by the provider.
	Estimated bool
	// Mix splits the input by what it was, counted from captured messages (zero when
	// none were captured): the lever for context optimisation.
	Mix TokenMix
}

// TokenMix is an input's tokens by role, counted from captured messages.
type TokenMix struct {
	System  uint64 // system instructions
	Context uint64 // retrieved documents and tool results
	History uint64 // earlier turns of the conversation
	User    uint64 // the latest user message
	Other   uint64 // captured text whose role is unknown
}

// Role says what a piece of input content was.
type Role string

// Roles of input content.
const (
	RoleSystem  Role = "system"
	RoleContext Role = "context"
	RoleHistory Role = "history"
	RoleUser    Role = "user"
	RoleOther   Role = ""
)

// Piece is a piece of captured input content and its role.
type Piece struct {
	Role Role
	Text string
}

// Span is one OTLP span normalised from any supported attribute family. It is the only
// span shape the stitcher, pricing and store see.
type Span struct {
	TraceID      TraceID
	SpanID       SpanID
	ParentSpanID SpanID
	// AuthTenant is the tenant the transport authenticated (an ingest token, or the
	// tenant header of a Collector record); "" when none did. It is part of the span's
	// identity with its trace and span ids: spans of different authenticated tenants
	// never stitch together, and their rows never replace one another.
	AuthTenant string
	// Tenant is the label reports group by: the authenticated tenant when there is one,
	// else the span's own attribute or its workflow root's.
	Tenant        string
	Name          string
	StartUnixNano int64
	EndUnixNano   int64
	Error         bool

	Operation Operation
	Provider  string
	Model     string
	Usage     Usage
	// ServiceTier is the provider's processing tier when not the default: batch, flex,
	// priority, scale...
	ServiceTier string

	// ProviderCost is a cost the instrumentation reported (e.g. gen_ai.usage.cost); it is
	// recorded beside the computed one, never instead of it.
	ProviderCost    Money
	HasProviderCost bool
	// ProviderCostCurrency is the reported cost's currency ("" = USD as reported by
	// families that name none); ProviderCostSource names where it came from
	// (gen_ai.usage.cost.source, or the attribute family).
	ProviderCostCurrency string
	ProviderCostSource   string

	// Workflow facts; set on the span that roots a workflow.
	WorkflowRoot     bool
	WorkflowName     string
	WorkflowVersion  string
	Outcome          string
	ValidatedOutputs uint64
	// ValidatedExplicit: ValidatedOutputs came from unitcost.outputs.validated.
	ValidatedExplicit bool
	// OutcomeSource says what decided Outcome on a workflow root (see normalize's
	// outcome rules): "attribute unitcost.workflow.outcome", "rule 2", "status ERROR"...
	OutcomeSource string
	// Signal is what an outcome rule matched on this span (an attribute or a
	// gen_ai.evaluation.result event); nil when none did. A workflow's outcome and
	// validated outputs are resolved from its root and its spans' signals.
	Signal *Signal

	Agent string
	// Step is the span's step within its workflow when the instrumentation names one
	// (unitcost.step); stored as the line's step instead of the span name.
	Step    string
	Team    string
	Feature string
	Session string
	User    string
	// Service and Environment come from the resource (service.name,
	// deployment.environment.name).
	Service     string
	Environment string
	// Labels are free-form key/value labels: unitcost.label.<key> attributes and
	// attributes mapped to labels by configuration. Sorted by key, keys unique.
	Labels []Label

	// Non-LLM steps.
	ToolName       string
	RetrievalUnits uint64 // vector queries or documents fetched; 0 means one call
	ComputeClass   string // self-hosted compute class, priced by time
	// ComputeShareBP is the share of the compute class's node the span used, in basis
	// points (10000 = the whole node; 0 also means the whole node).
	ComputeShareBP uint64
	ReviewRole     string // set on human review spans
	ReviewActiveMs uint64
	ReviewQueueMs  uint64
	ReviewOutcome  string

	// InputContent holds captured input messages by role (for the token mix, and the
	// input count when none is reported); OutputContent holds captured output text only
	// when no output count is reported. Both are cleared once counted, when the record is
	// read, before the span is held for long.
	InputContent  []Piece
	OutputContent []string

	// Unpriced says why a span that looks like a model call cannot be priced (one of the
	// Unpriced* reasons); pricing gives it an unpriced line instead of none.
	Unpriced string

	// Issues lists what normalisation clamped or rejected on this span (counted and
	// stored, never silent).
	Issues []string
}

// Label is one free-form label.
type Label struct {
	Key, Value string
}

// Signal is an outcome rule's verdict on one span.
type Signal struct {
	// Outcome is the rule's outcome ("" when the rule only counts validated outputs).
	Outcome string
	// Validated is the validated outputs the matching rules add.
	Validated uint64
	// Source names the first rule that set Outcome (or counted outputs).
	Source string
}

// StepKey is what the span is stored under as its step: Step when named, else the span
// name.
func (s *Span) StepKey() string {
	if s.Step != "" {
		return s.Step
	}
	return s.Name
}

// DurationMs is the span's wall time in milliseconds (0 when the clock ran backwards).
func (s *Span) DurationMs() uint64 {
	if s.EndUnixNano <= s.StartUnixNano {
		return 0
	}
	return uint64(s.EndUnixNano-s.StartUnixNano) / 1e6
}

// Component is what a line item's cost is for.
type Component string

// The cost components reports break down by.
const (
	ComponentModel     Component = "model_tokens"
	ComponentCompute   Component = "compute"
	ComponentRetrieval Component = "retrieval"
	ComponentTool      Component = "tool"
	ComponentReview    Component = "human_review"
)

// LineItem is one priced component of one span.
type LineItem struct {
	Span       *Span
	WorkflowID string
	Component  Component
	// Quantity and Unit describe what was billed: tokens, seconds, calls, hours.
	Quantity float64
	Unit     string
	Cost     Money
	Priced   bool
	// UnpricedReason says why Priced is false (unknown model, no rate for a tool...).
	UnpricedReason string
	PriceVersion   string
	PriceRule      string
}

// Workflow is the fact row of one workflow: the attributes of the span that roots it.
// Its cost is the sum of its line items, which may arrive later than the workflow.
type Workflow struct {
	ID string
	// AuthTenant is the authenticated tenant of the incarnation that wrote the row (see
	// Span.AuthTenant); with ID it is the row's identity.
	AuthTenant       string
	Tenant           string
	TraceID          TraceID
	RootSpanID       SpanID
	Name             string
	Version          string
	Outcome          string
	ValidatedOutputs uint64
	// OutcomeSource says which rule decided Outcome (shown in drill-downs).
	OutcomeSource string
	Team          string
	Feature       string
	Session       string
	User          string
	Service       string
	Environment   string
	Labels        []Label
	StartUnixNano int64
	EndUnixNano   int64
	SpanCount     int
}

// Reasons a model call cannot be priced at all (beyond an unknown model).
const (
	UnpricedNoModel = "token usage without a model name: cannot be priced (set gen_ai.request.model or gen_ai.response.model)"
	UnpricedNoUsage = "model call without token usage or captured content: cannot be priced (report usage, e.g. stream_options.include_usage, or capture content)"
)

// DefaultTenant owns spans and workflows that name no tenant anywhere.
const DefaultTenant = "default"

// OutcomeCompleted is the outcome that counts a workflow as completed.
const OutcomeCompleted = "completed"

// SpanIssue is one normalisation issue of one span, stored so it can be queried.
type SpanIssue struct {
	Span       *Span
	WorkflowID string
	Issue      string
}

// Batch is what one flush of the process stage writes: line items, workflow facts and
// span issues of the workflows that closed.
type Batch struct {
	LineItems []LineItem
	Workflows []Workflow
	Issues    []SpanIssue
}
