// Package normalize maps OTLP spans from every supported attribute family (OTel GenAI
// semantic conventions current and deprecated, OpenLLMetry/Traceloop, OpenInference,
// Vercel AI SDK, Langfuse, and unitcost's own) onto pipeline.Span. It is pure: no I/O.
//
// Each span's attributes are read in one pass through one table of names (names.go);
// where several families name the same concept the most specific wins (see the rank
// constants), so a span that carries both the current and a deprecated name is read the
// same way whatever the attribute order. Files: names.go (the table), fields.go (what a
// pass collects), usage.go (tokens and reported cost), operation.go (span kinds,
// retrieval), workflow.go (names, labels), outcome.go (outcome inference), content.go
// and messages.go (captured messages).
package normalize

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	sc "github.com/unitcost/unitcost/pipeline/semconv"
)

// Limits bound what one span may claim. A count beyond them is not counted (0, never the
// bound) and the span records an issue ("... above limit ...; not counted"), which keeps
// the line billed by it unpriced (quarantined); nothing overflows a sum downstream.
type Limits struct {
	// MaxTokens caps any single token count. Default 100,000,000.
	MaxTokens uint64 `yaml:"max_tokens" desc:"largest token count accepted on a span (default 100000000)"`
	// MaxStringBytes caps label values (names, models, roles). Default 256.
	MaxStringBytes int `yaml:"max_string_bytes" desc:"longest label value (name, model, role) in bytes (default 256)"`
	// MaxReviewSeconds caps one review's active or queue time. Default 30 days.
	MaxReviewSeconds float64 `yaml:"max_review_seconds" desc:"longest active or queue time of one review, seconds (default 2592000, 30 days)"`
	// MaxValidatedOutputs caps the validated outputs a workflow root claims
	// (unitcost.outputs.validated), the denominator of cost per validated output; a
	// larger count is 0 with an issue. Not tokens, so not MaxTokens. Default 100,000,000.
	MaxValidatedOutputs uint64 `yaml:"max_validated_outputs" desc:"largest validated-output count accepted on a workflow root; a larger one counts 0 with a span issue (default 100000000)"`
	// MaxRetrievalUnits caps a retrieval span's units (queries or documents); beyond it
	// the line is quarantined. Default 100,000,000.
	MaxRetrievalUnits uint64 `yaml:"max_retrieval_units" desc:"largest retrieval unit count (queries or documents) accepted on a span; a larger one leaves its line unpriced (default 100000000)"`
}

// DefaultLimits are the limits used when a field is zero.
var DefaultLimits = Limits{MaxTokens: 100_000_000, MaxStringBytes: 256, MaxReviewSeconds: 30 * 24 * 3600,
	MaxValidatedOutputs: 100_000_000, MaxRetrievalUnits: 100_000_000}

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
	if l.MaxValidatedOutputs == 0 {
		l.MaxValidatedOutputs = DefaultLimits.MaxValidatedOutputs
	}
	if l.MaxRetrievalUnits == 0 {
		l.MaxRetrievalUnits = DefaultLimits.MaxRetrievalUnits
	}
	return l
}

// CapValidated applies MaxValidatedOutputs to a workflow's validated outputs once Resolve
// summed them from the outcome rules its spans matched (an explicit count on the root was
// checked when the root was read): beyond the limit they count 0, never the limit, with an
// issue on the root.
func (l Limits) CapValidated(root *pipeline.Span, w *pipeline.Workflow) {
	if lim := l.withDefaults().MaxValidatedOutputs; w.ValidatedOutputs > lim {
		root.Issues = append(root.Issues, fmt.Sprintf("validated outputs %d (summed from the outcome rules matched) above limit %d; not counted", w.ValidatedOutputs, lim))
		w.ValidatedOutputs = 0
	}
}

// ErrInvalidSpan is wrapped by every rejection; the span cannot be stitched at all.
var ErrInvalidSpan = errors.New("invalid span")

// Normalizer converts spans. The zero value uses DefaultLimits, the default outcome
// inference and DefaultRules. It is safe for concurrent use.
type Normalizer struct {
	Limits Limits
	// Outcomes decides outcomes no attribute names (zero value: the defaults).
	Outcomes Outcomes
	// LabelAttributes maps attribute names to label keys (e.g. "app.customer_tier" ->
	// "tier"), besides unitcost.label.<key>.
	LabelAttributes map[string]string
	// ContentBytes bounds the captured content read per span for token estimation
	// (0: 1 MiB, what process holds per span until it is counted). The count taken
	// before a span's content is trimmed to fit a Kafka record reads it all: that content
	// is in memory already, and a cap would bill a 2 MB prompt as its trimmed 4 KiB.
	ContentBytes int
	// TrustMarks applies the reserved marks unitcost ingest writes on a span it changed
	// (semconv.IngestIssues, semconv.UsageEstimated). Set it only for spans of a record
	// kafka.Bound wrote, which removed any a client set; otherwise (the zero value) such
	// an attribute was set by the client and is ignored, with a span issue saying so.
	TrustMarks bool
}

// Span normalises one span. res is its resource's attributes; tenant is the tenant the
// transport authenticated (it overrides any tenant attribute). It returns an error
// wrapping ErrInvalidSpan when the span cannot be used at all (zero ids); values beyond
// their limits are recorded in out.Issues instead. Decoder reads protobuf payloads to the same
// result without pdata.
func (n *Normalizer) Span(res pcommon.Map, sp ptrace.Span, tenant string, out *pipeline.Span) error {
	in := spanFromPdata(res, sp)
	return n.span(&in, tenant, out)
}

// span is Span over either path's view of the span.
func (n *Normalizer) span(sp *spanIn, tenant string, out *pipeline.Span) error {
	*out = pipeline.Span{}
	return n.fill(sp, tenant, out)
}

// fill is span on a zero out.
func (n *Normalizer) fill(sp *spanIn, tenant string, out *pipeline.Span) error {
	lim := n.Limits.withDefaults()
	out.TraceID = sp.traceID
	out.SpanID = sp.spanID
	if out.TraceID.IsZero() {
		return fmt.Errorf("%w: all-zero trace id (span %q)", ErrInvalidSpan, clip(sp.name, 64))
	}
	if out.SpanID.IsZero() {
		return fmt.Errorf("%w: all-zero span id (trace %s)", ErrInvalidSpan, out.TraceID)
	}
	out.ParentSpanID = sp.parent
	out.StartUnixNano = int64(sp.start)
	out.EndUnixNano = int64(sp.end)
	out.Error = sp.code == ptrace.StatusCodeError

	f := fields{labelMap: n.LabelAttributes, maxContent: n.ContentBytes}
	if f.maxContent <= 0 {
		f.maxContent = maxContentBytes
	}
	for i := range sp.res {
		f.read(sp.res[i].key, &sp.res[i].v)
	}
	for i := range sp.attrs {
		f.read(sp.attrs[i].key, &sp.attrs[i].v)
	}

	out.Name = f.str(sp.name, "name", lim)
	if f.s[sResponseModel].v != "" {
		f.s[sModel] = f.s[sResponseModel]
	}
	out.Provider = strings.ToLower(f.get(sProvider, "provider", lim))
	out.Model = f.get(sModel, "model", lim)
	out.Tenant = f.s[sTenant].v
	if tenant != "" {
		out.Tenant = tenant
	}
	// An empty tenant is resolved later from the span's workflow root (see process).
	out.Tenant = f.str(out.Tenant, "tenant", lim)
	f.dimensions(out, lim)
	out.ToolName = f.get(sTool, "tool", lim)
	out.ComputeClass = f.get(sComputeClass, "compute class", lim)
	out.Step = f.get(sStep, "step", lim)
	f.usage(out, lim)
	f.providerCost(out, lim)
	out.Operation = f.operation(out)

	outcomes := &n.Outcomes
	out.Signal = outcomes.signal(sp)
	out.WorkflowRoot = f.workflowMarked || out.ParentSpanID.IsZero()
	if out.WorkflowRoot {
		out.WorkflowName = f.workflowName(out.Name, lim)
		out.WorkflowVersion = f.get(sWorkflowVersion, "workflow version", lim)
		outcomes.rootOutcome(&f, out, sp.code, lim)
		out.ValidatedOutputs = f.count(f.n[nValidated], "validated outputs", lim.MaxValidatedOutputs)
		out.ValidatedExplicit = f.n[nValidated].rank > 0
	}
	if out.Operation == pipeline.OpHumanReview {
		out.ReviewRole = f.get(sReviewRole, "review role", lim)
		out.ReviewActiveMs = f.seconds(f.n[nReviewActive], "review active seconds", lim)
		out.ReviewQueueMs = f.seconds(f.n[nReviewQueue], "review queue seconds", lim)
		out.ReviewOutcome = f.get(sReviewOutcome, "review outcome", lim)
	}
	if out.Operation == pipeline.OpRetrieval {
		out.RetrievalUnits = f.count(f.n[nUnits], "retrieval units", lim.MaxRetrievalUnits)
	}
	f.silentDrops(out)
	out.Issues = f.issues
	ingestMarks(sp.attrs, n.TrustMarks, out)
	return nil
}

// read takes one attribute: through the table of names, else the families whose names
// carry data (prefixes, JSON, captured messages). It reports whether any family reads k:
// when not, the attribute can have no effect on any span (that depends on k alone).
func (f *fields) read(k string, v *value) bool {
	if a, ok := attrs[k]; ok {
		if a.num {
			if f.num(&f.n[a.n], k, v, a.rank) && a.n == nInput {
				f.inputExclusive = a.exclusive
			}
			return true
		}
		s := v.asString()
		if a.conv != nil {
			s = a.conv(s)
		}
		f.s[a.s].set(s, a.rank)
		if a.s == sWorkflow && a.rank == rankUnitcost || a.s == sOperation && s == string(pipeline.OpWorkflow) {
			f.workflowMarked = true
		}
		if f.labelMap != nil {
			f.mapped(k, v)
		}
		return true
	}
	switch k {
	case sc.LangfuseUsageDetails:
		f.langfuseUsage(v.asString())
		return true
	case sc.LangfuseCostDetails:
		f.langfuseCost(v.asString())
		return true
	case sc.GenAIInvocationInternal:
		f.internal = v.typ == pcommon.ValueTypeBool && v.b || strings.EqualFold(v.asString(), "true")
		return true
	}
	if f.content(k, v) {
		return true
	}
	if key, ok := strings.CutPrefix(k, sc.LabelPrefix); ok {
		f.label(key, v.asString(), rankUnitcost)
		return true
	}
	known := false
	if key, ok := strings.CutPrefix(k, sc.TraceloopAssociationPrefix); ok {
		known = true
		if c, ok := association[key]; ok {
			f.s[c].set(v.asString(), rankOther)
		}
	}
	return f.labelMap != nil && f.mapped(k, v) || known
}

// mapped records attribute k as a label when configuration maps it to one (and says so).
func (f *fields) mapped(k string, v *value) bool {
	key, ok := f.labelMap[k]
	if ok {
		f.label(key, v.asString(), rankOther)
	}
	return ok
}

// reads reports whether normalisation reads attribute k at all (see fields.read).
func (n *Normalizer) reads(k string, v *value) bool {
	f := fields{labelMap: n.LabelAttributes}
	return f.read(k, v)
}
