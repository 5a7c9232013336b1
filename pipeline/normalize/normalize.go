// Package normalize maps OTLP spans from every supported attribute family (OTel GenAI
// semantic conventions current and deprecated, OpenLLMetry/Traceloop, OpenInference,
// Vercel AI SDK, Langfuse, and unitcost's own) onto pipeline.Span. It is pure: no I/O.
//
// Each span's attributes are read in one pass; where several families name the same
// concept the most specific wins (see rank constants), so a span that carries both the
// current and a deprecated name is read the same way whatever the attribute order.
package normalize

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	sc "github.com/unitcost/unitcost/pipeline/semconv"
)

// Limits bound what one span may claim. Values beyond them are clamped and the span
// records an issue; they never overflow a sum downstream.
type Limits struct {
	// MaxTokens caps any single token count. Default 100,000,000.
	MaxTokens uint64 `yaml:"max_tokens" desc:"largest token count accepted on a span (default 100000000)"`
	// MaxStringBytes caps label values (names, models, roles). Default 256.
	MaxStringBytes int `yaml:"max_string_bytes" desc:"longest label value (name, model, role) in bytes (default 256)"`
	// MaxReviewSeconds caps one review's active or queue time. Default 30 days.
	MaxReviewSeconds float64 `yaml:"max_review_seconds" desc:"longest active or queue time of one review, seconds (default 2592000, 30 days)"`
}

// DefaultLimits are the limits used when a field is zero.
var DefaultLimits = Limits{MaxTokens: 100_000_000, MaxStringBytes: 256, MaxReviewSeconds: 30 * 24 * 3600}

func (l Limits) withDefaults() Limits {
	if l.MaxTokens == 0 {
		l.MaxTokens = DefaultLimits.MaxTokens
	}
	if l.MaxStringBytes == 0 {
		l.MaxStringBytes = DefaultLimits.MaxStringBytes
	}
	if l.MaxReviewSeconds == 0 {
		l.MaxReviewSeconds = DefaultLimits.MaxReviewSeconds
	}
	return l
}

// ErrInvalidSpan is wrapped by every rejection; the span cannot be stitched at all.
var ErrInvalidSpan = errors.New("invalid span")

// Normalizer converts spans. The zero value uses DefaultLimits. It is safe for
// concurrent use.
type Normalizer struct {
	Limits Limits
}

// ranks: higher wins when two families name the same concept.
const (
	rankOther    = 1 // OpenInference, Vercel, Langfuse, Traceloop
	rankOldGenAI = 2 // deprecated gen_ai.* names
	rankGenAI    = 3 // current OTel GenAI
	rankUnitcost = 4 // unitcost's own conventions
)

type strField struct {
	v    string
	rank int8
}

func (f *strField) set(v string, rank int8) {
	if v != "" && rank > f.rank {
		f.v, f.rank = v, rank
	}
}

type numField struct {
	v         float64
	rank      int8
	exclusive bool // the family reports input tokens without cached ones
}

func (f *numField) set(v float64, rank int8) {
	if rank > f.rank {
		f.v, f.rank = v, rank
	}
}

type fields struct {
	provider, model, responseModel, operation       strField
	workflow, workflowVersion, outcome, agent       strField
	tenant, team, feature, session, user, tool      strField
	reviewRole, reviewOutcome, computeClass         strField
	step                                            strField
	serviceTier                                     strField
	cacheWrite1h, audioIn, imageIn, audioOut, share numField
	input, output, cacheRead, cacheWrite, reasoning numField
	validated, reviewActive, reviewQueue, units     numField
	cost                                            numField
	workflowMarked                                  bool
	msgs                                            []msg
	roles                                           map[string]string // "src#idx" -> role, flattened families
	outContent                                      []string
	contentBytes                                    int
	issues                                          []string
}

// maxContentBytes bounds the captured content kept per span for token estimation.
const maxContentBytes = 1 << 20

// Span normalises one span. res is its resource's attributes; tenant is the tenant the
// transport authenticated (it overrides any tenant attribute). It returns an error
// wrapping ErrInvalidSpan when the span cannot be used at all (zero ids); clamped values
// are recorded in out.Issues instead.
func (n *Normalizer) Span(res pcommon.Map, sp ptrace.Span, tenant string, out *pipeline.Span) error {
	lim := n.Limits.withDefaults()
	*out = pipeline.Span{}
	out.TraceID = pipeline.TraceID(sp.TraceID())
	out.SpanID = pipeline.SpanID(sp.SpanID())
	if out.TraceID.IsZero() {
		return fmt.Errorf("%w: all-zero trace id (span %q)", ErrInvalidSpan, clip(sp.Name(), 64))
	}
	if out.SpanID.IsZero() {
		return fmt.Errorf("%w: all-zero span id (trace %s)", ErrInvalidSpan, out.TraceID)
	}
	out.ParentSpanID = pipeline.SpanID(sp.ParentSpanID())
	out.StartUnixNano = int64(sp.StartTimestamp())
	out.EndUnixNano = int64(sp.EndTimestamp())
	out.Error = sp.Status().Code() == ptrace.StatusCodeError

	var f fields
	res.Range(func(k string, v pcommon.Value) bool { f.read(k, v); return true })
	sp.Attributes().Range(func(k string, v pcommon.Value) bool { f.read(k, v); return true })

	out.Name = f.str(sp.Name(), "name", lim)
	if f.responseModel.v != "" {
		f.model = f.responseModel
	}
	out.Provider = strings.ToLower(f.str(f.provider.v, "provider", lim))
	out.Model = f.str(f.model.v, "model", lim)
	out.Operation = pipeline.Operation(f.operation.v)
	out.Tenant = f.tenant.v
	if tenant != "" {
		out.Tenant = tenant
	}
	// An empty tenant is resolved later from the span's workflow root (see process).
	out.Tenant = f.str(out.Tenant, "tenant", lim)
	out.Team = f.str(f.team.v, "team", lim)
	out.Feature = f.str(f.feature.v, "feature", lim)
	out.Session = f.str(f.session.v, "session", lim)
	out.User = f.str(f.user.v, "user", lim)
	out.Agent = f.str(f.agent.v, "agent", lim)
	out.ToolName = f.str(f.tool.v, "tool", lim)
	out.ComputeClass = f.str(f.computeClass.v, "compute class", lim)
	out.Step = f.str(f.step.v, "step", lim)

	u := &out.Usage
	u.InputTokens = f.tokens(f.input, "input tokens", lim)
	u.OutputTokens = f.tokens(f.output, "output tokens", lim)
	u.CacheReadTokens = f.tokens(f.cacheRead, "cache read tokens", lim)
	u.CacheWriteTokens = f.tokens(f.cacheWrite, "cache write tokens", lim)
	u.ReasoningTokens = f.tokens(f.reasoning, "reasoning tokens", lim)
	u.CacheWrite1hTokens = f.tokens(f.cacheWrite1h, "1-hour cache write tokens", lim)
	if u.CacheWrite1hTokens > u.CacheWriteTokens {
		// reported only the 1-hour part, or the 5-minute part elsewhere: 1h is part of writes
		u.CacheWriteTokens += u.CacheWrite1hTokens - min(u.CacheWriteTokens, u.CacheWrite1hTokens)
	}
	u.AudioInputTokens = min(f.tokens(f.audioIn, "audio input tokens", lim), u.InputTokens)
	u.ImageInputTokens = min(f.tokens(f.imageIn, "image input tokens", lim), u.InputTokens-u.AudioInputTokens)
	u.AudioOutputTokens = min(f.tokens(f.audioOut, "audio output tokens", lim), u.OutputTokens)
	out.ComputeShareBP = 10_000
	if f.share.rank > 0 {
		if sh := f.share.v; sh > 0 && sh <= 1 {
			out.ComputeShareBP = uint64(math.Round(sh * 10_000))
		} else {
			f.issues = append(f.issues, fmt.Sprintf("compute share %v not in (0, 1]; whole node billed", sh))
		}
	}
	switch tier := strings.ToLower(f.str(f.serviceTier.v, "service tier", lim)); tier {
	case "", "default", "auto", "standard", "on_demand":
	default:
		out.ServiceTier = tier
	}
	cached := u.CacheReadTokens + u.CacheWriteTokens
	switch {
	case f.input.exclusive && f.input.rank > 0:
		u.InputTokens += cached // Vercel AI SDK <= v5 reports input without cached tokens
	case cached > u.InputTokens:
		// An inclusive count can never be below its cached part: this instrumentation
		// reported input excluding the cache. Make it inclusive and say so.
		u.InputTokens += cached
		f.issues = append(f.issues, "input tokens excluded cached tokens; added them")
	}
	if len(f.msgs) > 0 {
		out.InputContent = f.pieces()
	}
	if f.output.rank == 0 && len(f.outContent) > 0 {
		out.OutputContent = f.outContent
	}
	if u.ReasoningTokens > u.OutputTokens {
		u.OutputTokens += u.ReasoningTokens
		f.issues = append(f.issues, "output tokens excluded reasoning tokens; added them")
	}
	if f.cost.rank > 0 {
		if c := f.cost.v; c >= 0 && c < 1e6 && !math.IsNaN(c) {
			out.ProviderCost = pipeline.Money(math.Round(c * pipeline.NanosPerDollar))
			out.HasProviderCost = true
		} else {
			f.issues = append(f.issues, fmt.Sprintf("provider cost %v out of range; ignored", c))
		}
	}

	out.WorkflowRoot = f.workflowMarked || out.ParentSpanID.IsZero()
	if out.WorkflowRoot {
		out.WorkflowName = f.str(f.workflow.v, "workflow name", lim)
		if out.WorkflowName == "" {
			out.WorkflowName = out.Name
		}
		out.WorkflowVersion = f.str(f.workflowVersion.v, "workflow version", lim)
		out.Outcome = strings.ToLower(f.str(f.outcome.v, "outcome", lim))
		if out.Outcome == "" && out.EndUnixNano > 0 {
			if out.Error {
				out.Outcome = sc.OutcomeFailed
			} else if f.outcome.rank == 0 && f.validated.rank > 0 {
				out.Outcome = sc.OutcomeCompleted
			}
		}
		out.ValidatedOutputs = f.count(f.validated, "validated outputs", lim.MaxTokens)
	}
	if f.reviewRole.v != "" || out.Operation == pipeline.OpHumanReview {
		out.Operation = pipeline.OpHumanReview
		out.ReviewRole = f.str(f.reviewRole.v, "review role", lim)
		out.ReviewActiveMs = f.seconds(f.reviewActive, "review active seconds", lim)
		out.ReviewQueueMs = f.seconds(f.reviewQueue, "review queue seconds", lim)
		out.ReviewOutcome = f.str(f.reviewOutcome.v, "review outcome", lim)
	}
	if out.Operation == pipeline.OpRetrieval {
		out.RetrievalUnits = f.count(f.units, "retrieval units", lim.MaxTokens)
	}
	if out.Operation == "" && out.Model != "" && (u.InputTokens > 0 || u.OutputTokens > 0) {
		out.Operation = pipeline.OpChat
	}
	out.Issues = f.issues
	ingestMarks(sp.Attributes(), out)
	return nil
}

func (f *fields) read(k string, v pcommon.Value) {
	switch k {
	// unitcost's own
	case sc.WorkflowName:
		f.workflow.set(v.AsString(), rankUnitcost)
		f.workflowMarked = true
	case sc.WorkflowVersion:
		f.workflowVersion.set(v.AsString(), rankUnitcost)
	case sc.WorkflowOutcome:
		f.outcome.set(v.AsString(), rankUnitcost)
	case sc.OutputsValidated:
		f.num(&f.validated, k, v, rankUnitcost)
	case sc.Tenant:
		f.tenant.set(v.AsString(), rankUnitcost)
	case sc.Team:
		f.team.set(v.AsString(), rankUnitcost)
	case sc.Feature:
		f.feature.set(v.AsString(), rankUnitcost)
	case sc.ReviewRole:
		f.reviewRole.set(v.AsString(), rankUnitcost)
	case sc.ReviewActiveSeconds:
		f.num(&f.reviewActive, k, v, rankUnitcost)
	case sc.ReviewQueueSeconds:
		f.num(&f.reviewQueue, k, v, rankUnitcost)
	case sc.ReviewOutcome:
		f.reviewOutcome.set(v.AsString(), rankUnitcost)
	case sc.ComputeClass:
		f.computeClass.set(v.AsString(), rankUnitcost)
	case sc.StepName:
		f.step.set(v.AsString(), rankUnitcost)
	case sc.RetrievalUnits:
		f.num(&f.units, k, v, rankUnitcost)
	case sc.ServiceTier:
		f.serviceTier.set(v.AsString(), rankUnitcost)
	case "openai.response.service_tier", "gen_ai.openai.response.service_tier":
		f.serviceTier.set(v.AsString(), rankGenAI)
	case "openai.request.service_tier", "gen_ai.openai.request.service_tier":
		f.serviceTier.set(v.AsString(), rankOldGenAI)
	case sc.AudioInputTokens:
		f.num(&f.audioIn, k, v, rankUnitcost)
	case "llm.token_count.prompt_details.audio":
		f.num(&f.audioIn, k, v, rankOther)
	case sc.ImageInputTokens:
		f.num(&f.imageIn, k, v, rankUnitcost)
	case sc.AudioOutputTokens:
		f.num(&f.audioOut, k, v, rankUnitcost)
	case "llm.token_count.completion_details.audio":
		f.num(&f.audioOut, k, v, rankOther)
	case sc.ComputeShare:
		f.num(&f.share, k, v, rankUnitcost)
	case sc.CacheWrite1hTokens:
		f.num(&f.cacheWrite1h, k, v, rankUnitcost)
	case "gen_ai.usage.cache_creation.ephemeral_1h_input_tokens":
		f.num(&f.cacheWrite1h, k, v, rankGenAI)

	// provider
	case sc.GenAIProviderName:
		f.provider.set(v.AsString(), rankGenAI)
	case sc.GenAISystem:
		f.provider.set(v.AsString(), rankOldGenAI)
	case sc.LLMProvider, sc.LLMSystem, sc.AIModelProvider:
		f.provider.set(providerFamily(v.AsString()), rankOther)

	// model
	case sc.GenAIResponseModel:
		f.responseModel.set(v.AsString(), rankGenAI)
	case sc.GenAIRequestModel:
		f.model.set(v.AsString(), rankGenAI)
	case sc.LLMModelName, sc.AIModelID, "langfuse.observation.model.name":
		f.model.set(v.AsString(), rankOther)

	// tokens
	case sc.GenAIInputTokens:
		f.num(&f.input, k, v, rankGenAI)
	case sc.GenAIPromptTokens:
		f.num(&f.input, k, v, rankOldGenAI)
	case sc.LLMTokenCountPrompt:
		f.num(&f.input, k, v, rankOther)
	case sc.AIUsagePromptTokens, sc.AIUsageInputTokens:
		if f.num(&f.input, k, v, rankOther) {
			f.input.exclusive = true
		}
	case sc.GenAIOutputTokens:
		f.num(&f.output, k, v, rankGenAI)
	case sc.GenAICompletionTokens:
		f.num(&f.output, k, v, rankOldGenAI)
	case sc.LLMTokenCountCompletion, sc.AIUsageCompletionTokens, sc.AIUsageOutputTokens:
		f.num(&f.output, k, v, rankOther)
	case sc.GenAICacheReadTokens:
		f.num(&f.cacheRead, k, v, rankGenAI)
	case sc.GenAICacheReadTokensOld:
		f.num(&f.cacheRead, k, v, rankOldGenAI)
	case sc.LLMTokenCountCacheRead, sc.AIUsageCachedInputTokens:
		f.num(&f.cacheRead, k, v, rankOther)
	case sc.GenAICacheCreationTokens:
		f.num(&f.cacheWrite, k, v, rankGenAI)
	case sc.GenAICacheCreationOld:
		f.num(&f.cacheWrite, k, v, rankOldGenAI)
	case sc.LLMTokenCountCacheWrite:
		f.num(&f.cacheWrite, k, v, rankOther)
	case sc.GenAIReasoningTokens:
		f.num(&f.reasoning, k, v, rankGenAI)
	case sc.GenAIReasoningTokensOld:
		f.num(&f.reasoning, k, v, rankOldGenAI)
	case sc.LLMTokenCountReasoning:
		f.num(&f.reasoning, k, v, rankOther)
	case sc.GenAIUsageCost:
		f.num(&f.cost, k, v, rankGenAI)
	case "llm.cost.total":
		f.num(&f.cost, k, v, rankOther)

	// operation and workflow structure
	case sc.GenAIOperationName:
		op := v.AsString()
		f.operation.set(op, rankGenAI)
		if op == string(pipeline.OpWorkflow) {
			f.workflowMarked = true
		}
	case sc.TraceloopSpanKind:
		op := traceloopKind(v.AsString())
		f.operation.set(op, rankOther)
		if op == string(pipeline.OpWorkflow) {
			f.workflowMarked = true
		}
	case sc.LLMRequestType:
		f.operation.set(llmRequestType(v.AsString()), rankOther)
	case sc.OpenInferenceSpanKind:
		f.operation.set(openInferenceKind(v.AsString()), rankOther)
	case sc.GenAIWorkflowName:
		f.workflow.set(v.AsString(), rankGenAI)
	case sc.TraceloopWorkflowName:
		f.workflow.set(v.AsString(), rankOther)
	case sc.GenAIAgentName:
		f.agent.set(v.AsString(), rankGenAI)
	case sc.AgentName:
		f.agent.set(v.AsString(), rankOther)
	case sc.GenAIToolName:
		f.tool.set(v.AsString(), rankGenAI)
	case "tool.name":
		f.tool.set(v.AsString(), rankOther)

	// who
	case sc.GenAIConversationID:
		f.session.set(v.AsString(), rankGenAI)
	case sc.SessionID, "langfuse.session.id":
		f.session.set(v.AsString(), rankOther)
	case sc.UserID, sc.EndUserID, "langfuse.user.id":
		f.user.set(v.AsString(), rankOther)
	case "langfuse.observation.usage_details":
		f.langfuseUsage(v.AsString())
	case "langfuse.observation.cost_details":
		if c, ok := jsonNumbers(v.AsString())["total"]; ok {
			f.cost.set(c, rankOther)
		}
	case "gen_ai.system_instructions":
		f.messages(k, v, "system")
	case "gen_ai.input.messages", "ai.prompt.messages", "ai.prompt":
		f.messages(k, v, "")
	case "gen_ai.output.messages":
		for _, m := range parseMessages(v.AsString(), "") {
			f.piece(&f.outContent, m.text)
		}
	case "input.value":
		f.message(msg{src: k, text: v.AsString()})
	case "output.value", "ai.response.text":
		f.piece(&f.outContent, v.AsString())
	default:
		if src, idx, field, ok := flattened(k); ok {
			switch {
			case src == "gen_ai.completion" || src == "llm.output_messages":
				if field == "content" {
					f.piece(&f.outContent, v.AsString())
				}
			case field == "role":
				if f.roles == nil {
					f.roles = map[string]string{}
				}
				f.roles[src+"#"+strconv.Itoa(idx)] = strings.ToLower(v.AsString())
			default: // content
				f.message(msg{src: src, idx: idx, text: v.AsString()})
			}
			return
		}
		if strings.HasPrefix(k, sc.TraceloopAssociationPrefix) {
			switch strings.TrimPrefix(k, sc.TraceloopAssociationPrefix) {
			case "tenant", "tenant_id":
				f.tenant.set(v.AsString(), rankOther)
			case "team":
				f.team.set(v.AsString(), rankOther)
			case "feature":
				f.feature.set(v.AsString(), rankOther)
			case "session_id":
				f.session.set(v.AsString(), rankOther)
			case "user_id":
				f.user.set(v.AsString(), rankOther)
			}
		}
	}
}

// msg is one captured input message before roles are resolved.
type msg struct {
	src  string // attribute (family) it came from
	idx  int    // position in its conversation
	role string // as reported: system, user, assistant, tool...
	text string
}

// messages reads a JSON message list (GenAI semconv, Vercel) or plain text.
func (f *fields) messages(k string, v pcommon.Value, role string) {
	for _, m := range parseMessages(v.AsString(), role) {
		m.src = k
		f.message(m)
	}
}

func (f *fields) message(m msg) {
	if m.text == "" {
		return
	}
	if f.contentBytes+len(m.text) > maxContentBytes {
		if f.contentBytes <= maxContentBytes {
			f.issues = append(f.issues, "captured content above 1 MiB ignored; estimated tokens are a lower bound")
			f.contentBytes = maxContentBytes + 1
		}
		return
	}
	f.contentBytes += len(m.text)
	f.msgs = append(f.msgs, m)
}

// pieces resolves roles: system instructions; tool, function and document messages are
// retrieved context; the last user message of each conversation is the user's; every
// other turn is history; text of unknown role stays unknown.
func (f *fields) pieces() []pipeline.Piece {
	lastUser := map[string]int{}
	role := func(m msg) string {
		if m.role != "" {
			return m.role
		}
		return f.roles[m.src+"#"+strconv.Itoa(m.idx)]
	}
	for _, m := range f.msgs {
		if r := role(m); r == "user" || r == "human" {
			if cur, ok := lastUser[m.src]; !ok || m.idx > cur {
				lastUser[m.src] = m.idx
			}
		}
	}
	out := make([]pipeline.Piece, len(f.msgs))
	for i, m := range f.msgs {
		var r pipeline.Role
		switch role(m) {
		case "system", "developer":
			r = pipeline.RoleSystem
		case "tool", "function", "ipython", "document", "retrieval", "context":
			r = pipeline.RoleContext
		case "user", "human":
			if m.idx == lastUser[m.src] {
				r = pipeline.RoleUser
			} else {
				r = pipeline.RoleHistory
			}
		case "assistant", "model", "ai":
			r = pipeline.RoleHistory
		default:
			r = pipeline.RoleOther
		}
		out[i] = pipeline.Piece{Role: r, Text: m.text}
	}
	return out
}

// flattened splits OpenLLMetry (<= 0.4) and OpenInference flattened message keys:
// gen_ai.prompt.3.content, gen_ai.completion.0.role, llm.input_messages.2.message.content.
func flattened(k string) (src string, idx int, field string, ok bool) {
	for _, p := range [...]string{"gen_ai.prompt.", "gen_ai.completion.", "llm.input_messages.", "llm.output_messages."} {
		rest, found := strings.CutPrefix(k, p)
		if !found {
			continue
		}
		num, field, found := strings.Cut(rest, ".")
		if !found {
			return "", 0, "", false
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			return "", 0, "", false
		}
		field = strings.TrimPrefix(field, "message.")
		if field != "content" && field != "role" {
			return "", 0, "", false
		}
		return strings.TrimSuffix(p, "."), n, field, true
	}
	return "", 0, "", false
}

func (f *fields) piece(dst *[]string, s string) {
	if s == "" {
		return
	}
	if f.contentBytes+len(s) > maxContentBytes {
		if f.contentBytes <= maxContentBytes {
			f.issues = append(f.issues, "captured content above 1 MiB ignored; estimated tokens are a lower bound")
			f.contentBytes = maxContentBytes + 1
		}
		return
	}
	f.contentBytes += len(s)
	*dst = append(*dst, s)
}

// langfuseUsage reads Langfuse's usage_details JSON ({"input": n, "output": n, ...}).
func (f *fields) langfuseUsage(s string) {
	u := jsonNumbers(s)
	if u == nil {
		f.issues = append(f.issues, "langfuse.observation.usage_details: not a JSON object of numbers; ignored")
		return
	}
	set := func(dst *numField, keys ...string) {
		for _, k := range keys {
			if x, ok := u[k]; ok {
				dst.set(x, rankOther)
				return
			}
		}
	}
	set(&f.input, "input", "prompt_tokens", "input_tokens")
	set(&f.output, "output", "completion_tokens", "output_tokens")
	set(&f.cacheRead, "cache_read_input_tokens", "input_cached_tokens", "cache_read")
	set(&f.cacheWrite, "cache_creation_input_tokens", "cache_write")
	set(&f.reasoning, "output_reasoning_tokens", "reasoning_tokens")
}

// num reads an int, double or numeric string. A value that is none of these is an issue.
func (f *fields) num(dst *numField, k string, v pcommon.Value, rank int8) bool {
	var x float64
	switch v.Type() {
	case pcommon.ValueTypeInt:
		x = float64(v.Int())
	case pcommon.ValueTypeDouble:
		x = v.Double()
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(v.Str())
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			x = float64(i)
		} else if d, err := strconv.ParseFloat(s, 64); err == nil {
			x = d
		} else {
			f.issues = append(f.issues, fmt.Sprintf("%s: %q is not a number; ignored", k, clip(s, 32)))
			return false
		}
	default:
		f.issues = append(f.issues, fmt.Sprintf("%s: %s value is not a number; ignored", k, v.Type()))
		return false
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		f.issues = append(f.issues, fmt.Sprintf("%s: %v; ignored", k, x))
		return false
	}
	dst.set(x, rank)
	return true
}

func (f *fields) tokens(n numField, what string, lim Limits) uint64 {
	return f.count(n, what, lim.MaxTokens)
}

func (f *fields) count(n numField, what string, max uint64) uint64 {
	switch {
	case n.rank == 0 || n.v == 0:
		return 0
	case n.v < 0:
		f.issues = append(f.issues, fmt.Sprintf("%s %v negative; clamped to 0", what, n.v))
		return 0
	case n.v > float64(max):
		f.issues = append(f.issues, fmt.Sprintf("%s %.0f above limit %d; clamped", what, n.v, max))
		return max
	}
	return uint64(math.Round(n.v))
}

func (f *fields) seconds(n numField, what string, lim Limits) uint64 {
	switch {
	case n.rank == 0:
		return 0
	case n.v < 0:
		f.issues = append(f.issues, fmt.Sprintf("%s %v negative; clamped to 0", what, n.v))
		return 0
	case n.v > lim.MaxReviewSeconds:
		f.issues = append(f.issues, fmt.Sprintf("%s %v above limit %v; clamped", what, n.v, lim.MaxReviewSeconds))
		return uint64(lim.MaxReviewSeconds * 1000)
	}
	return uint64(math.Round(n.v * 1000))
}

// str makes a label safe to store: valid UTF-8 and at most MaxStringBytes.
func (f *fields) str(s, what string, lim Limits) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		f.issues = append(f.issues, what+": invalid UTF-8 replaced")
	}
	if len(s) > lim.MaxStringBytes {
		f.issues = append(f.issues, fmt.Sprintf("%s: %d bytes truncated to %d", what, len(s), lim.MaxStringBytes))
		s = clip(s, lim.MaxStringBytes)
	}
	return s
}

// clip truncates s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func traceloopKind(k string) string {
	switch k {
	case "workflow":
		return string(pipeline.OpWorkflow)
	case "agent":
		return string(pipeline.OpAgent)
	case "tool":
		return string(pipeline.OpTool)
	}
	return ""
}

func llmRequestType(k string) string {
	switch k {
	case "chat":
		return string(pipeline.OpChat)
	case "completion":
		return string(pipeline.OpCompletion)
	case "embedding", "embeddings":
		return string(pipeline.OpEmbeddings)
	case "rerank":
		return string(pipeline.OpRetrieval)
	}
	return ""
}

func openInferenceKind(k string) string {
	switch strings.ToUpper(k) {
	case "LLM":
		return string(pipeline.OpChat)
	case "EMBEDDING":
		return string(pipeline.OpEmbeddings)
	case "RETRIEVER", "RERANKER":
		return string(pipeline.OpRetrieval)
	case "TOOL":
		return string(pipeline.OpTool)
	case "AGENT":
		return string(pipeline.OpAgent)
	}
	return ""
}

// providerFamily maps the provider spellings of other families onto GenAI semconv names.
func providerFamily(p string) string {
	p = strings.ToLower(p)
	switch {
	case strings.HasPrefix(p, "openai"):
		return "openai"
	case strings.HasPrefix(p, "anthropic"):
		return "anthropic"
	case strings.HasPrefix(p, "google"), p == "vertexai", p == "gemini":
		return "gcp.gemini"
	case strings.HasPrefix(p, "mistral"):
		return "mistral_ai"
	case strings.HasPrefix(p, "amazon-bedrock"), p == "bedrock":
		return "aws.bedrock"
	case strings.HasPrefix(p, "azure"):
		return "azure.ai.openai"
	}
	return p
}
