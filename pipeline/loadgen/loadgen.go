package loadgen

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/unitcost/unitcost/pipeline"
	sc "github.com/unitcost/unitcost/pipeline/semconv"
)

// Config shapes a run. Zero fields take the documented defaults.
type Config struct {
	// Seed makes the run deterministic (ids, mix, token counts). Default 1.
	Seed uint64
	// Workflows is how many workflows to generate. Default 200.
	Workflows int
	// Start is the first workflow's start time; workflows are spread Spacing apart.
	// Default: one hour before now, truncated to the minute.
	Start   time.Time
	Spacing time.Duration // default 2s
	// LateReviews holds human review spans back until every other span was emitted, as
	// a review that happens hours later would arrive. Default true (set NoLateReviews).
	NoLateReviews bool
	// Tenants the workflows are spread over (the tenant cardinality). Default
	// ["acme", "globex"].
	Tenants []string
	// Mix weights the workflow types (rag_qa, support_agent, invoice_extraction,
	// ticket_classification). Default 40/25/15/20.
	Mix map[string]int
	// Rate paces generation in workflows per second of wall time; 0 is as fast as the
	// exporter takes them.
	Rate float64
	// Duration stops generation after this much wall time (with Workflows as a cap when
	// set). With Duration set and Workflows 0, there is no cap.
	Duration time.Duration
	// Drift, when its PromptScale is set, changes the workload from a point in time: a
	// drift for the alerts to catch. Default none.
	Drift Drift
}

// Drift is a change of the workload from From on (workflows starting at or after it).
type Drift struct {
	From time.Time
	// PromptScale multiplies the input tokens of rag_qa's answer calls (a prompt that grew,
	// as when retrieval starts returning every passage); 0 or 1 leaves them.
	PromptScale float64
	// Until ends the drift (workflows starting at or after it are normal again); zero: never.
	Until time.Time
}

// drifted reports whether a workflow starting at t is in the drift.
func (d Drift) drifted(t time.Time) bool {
	return d.PromptScale > 0 && d.PromptScale != 1 && !t.Before(d.From) && (d.Until.IsZero() || t.Before(d.Until))
}

// WorkflowTypes are the workload's workflow types, for Mix.
var WorkflowTypes = []string{"rag_qa", "support_agent", "invoice_extraction", "ticket_classification"}

// Validate reports bad fields.
func (c Config) Validate() error {
	for name, w := range c.Mix {
		known := false
		for _, t := range WorkflowTypes {
			known = known || t == name
		}
		if !known || w < 0 {
			return fmt.Errorf("loadgen mix: %q=%d: want one of %v with a non-negative weight", name, w, WorkflowTypes)
		}
	}
	if c.Rate < 0 || c.Duration < 0 || c.Workflows < 0 {
		return fmt.Errorf("loadgen: rate, duration and workflows must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Workflows <= 0 && c.Duration == 0 {
		c.Workflows = 200
	}
	if len(c.Mix) == 0 {
		c.Mix = map[string]int{"rag_qa": 40, "support_agent": 25, "invoice_extraction": 15, "ticket_classification": 20}
	}
	if c.Start.IsZero() {
		c.Start = time.Now().Add(-time.Hour).Truncate(time.Minute)
	}
	if c.Spacing <= 0 {
		c.Spacing = 2 * time.Second
	}
	if len(c.Tenants) == 0 {
		c.Tenants = []string{"acme", "globex"}
	}
	return c
}

// IDs is a deterministic trace/span id source for the SDK.
type IDs struct {
	mu  sync.Mutex
	rng *rand.Rand
}

// NewIDs returns an id generator seeded with seed.
func NewIDs(seed uint64) *IDs { return &IDs{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))} }

// NewIDs implements sdktrace.IDGenerator.
func (g *IDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var t trace.TraceID
	binary.BigEndian.PutUint64(t[:8], g.rng.Uint64())
	binary.BigEndian.PutUint64(t[8:], g.rng.Uint64()|1)
	var s trace.SpanID
	binary.BigEndian.PutUint64(s[:], g.rng.Uint64()|1)
	return t, s
}

// NewSpanID implements sdktrace.IDGenerator.
func (g *IDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	var s trace.SpanID
	binary.BigEndian.PutUint64(s[:], g.rng.Uint64()|1)
	return s
}

// Run emits the workload through tracer (whose provider should use NewIDs for
// deterministic ids) and returns the ground truth. progress, if not nil, is called after
// each workflow with the number done.
//
// total passed to progress is cfg.Workflows (0 when only a Duration bounds the run).
func Run(ctx context.Context, cfg Config, tp trace.TracerProvider, progress func(done, total int)) (*Truth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	g := &gen{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 42)), tr: tp.Tracer("unitcost-loadgen"), truth: &Truth{}}
	for _, t := range WorkflowTypes {
		g.weights = append(g.weights, cfg.Mix[t])
		g.totalWeight += cfg.Mix[t]
	}
	if g.totalWeight == 0 {
		return nil, fmt.Errorf("loadgen mix: all weights are zero")
	}
	began := time.Now()
	for i := 0; cfg.Workflows == 0 || i < cfg.Workflows; i++ {
		if err := ctx.Err(); err != nil {
			return g.truth, err
		}
		if cfg.Duration > 0 && time.Since(began) >= cfg.Duration {
			break
		}
		if cfg.Rate > 0 {
			if wait := time.Until(began.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))); wait > 0 {
				select {
				case <-ctx.Done():
					return g.truth, ctx.Err()
				case <-time.After(wait):
				}
			}
		}
		g.workflow(i)
		if progress != nil {
			progress(i+1, cfg.Workflows)
		}
	}
	for _, r := range g.late {
		r()
	}
	return g.truth, nil
}

type gen struct {
	weights     []int
	totalWeight int
	cfg         Config
	rng         *rand.Rand
	tr          trace.Tracer
	truth       *Truth
	late        []func()
	w           *WorkflowTruth
	started     time.Time // the current workflow's start
}

func (g *gen) between(lo, hi int) int { return lo + g.rng.IntN(hi-lo+1) }
func (g *gen) chance(p float64) bool  { return g.rng.Float64() < p }

// span starts and ends a child span at [start, start+d) and returns its end.
func (g *gen) span(ctx context.Context, name string, start time.Time, d time.Duration, err bool, attrs ...attribute.KeyValue) time.Time {
	_, sp := g.tr.Start(ctx, name, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	if err {
		sp.SetStatus(codes.Error, "upstream error")
	}
	sp.End(trace.WithTimestamp(start.Add(d)))
	g.truth.Spans++
	return start.Add(d)
}

func (g *gen) addCost(m pipeline.Money) {
	g.w.Cost += m
	g.w.LineItems++
	g.truth.LineItems++
}

// call records and costs one model call of a step.
func (g *gen) call(step, model string, input, cacheRead, cacheWrite, output uint64) {
	g.addCost(modelCost(model, input, cacheRead, cacheWrite, output))
	g.w.Calls = append(g.w.Calls, Call{Step: step, Model: model, Input: input, CacheRead: cacheRead, CacheWrite: cacheWrite, Output: output})
}

func (g *gen) workflow(i int) {
	n := g.rng.IntN(g.totalWeight)
	kind := WorkflowTypes[len(WorkflowTypes)-1]
	for k, w := range g.weights {
		if n < w {
			kind = WorkflowTypes[k]
			break
		}
		n -= w
	}
	tenant := g.cfg.Tenants[g.rng.IntN(len(g.cfg.Tenants))]
	start := g.cfg.Start.Add(time.Duration(i) * g.cfg.Spacing)
	g.started = start
	g.w = &WorkflowTruth{Type: kind, Tenant: tenant, Team: teamOf(kind), Feature: kind}
	version := map[string]string{"rag_qa": "v3", "support_agent": "v2", "invoice_extraction": "v5", "ticket_classification": "v1"}[kind]
	attrs := append(sc.Workflow(kind, version), sc.Labels(tenant, teamOf(kind), kind)...)
	ctx, root := g.tr.Start(context.Background(), kind, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	g.w.ID = root.SpanContext().TraceID().String()
	g.truth.Spans++
	var end time.Time
	var reviewRole string
	switch kind {
	case "rag_qa":
		end, reviewRole = g.ragQA(ctx, start)
	case "support_agent":
		end, reviewRole = g.supportAgent(ctx, start)
	case "invoice_extraction":
		end, reviewRole = g.invoice(ctx, start)
	default:
		end, reviewRole = g.classify(ctx, start)
	}
	if g.w.Outcome == sc.OutcomeFailed {
		root.SetStatus(codes.Error, "workflow failed")
	}
	sc.SetOutcome(root, g.w.Outcome, int(g.w.ValidatedOutputs))
	root.End(trace.WithTimestamp(end.Add(5 * time.Millisecond)))
	if reviewRole != "" {
		g.review(ctx, end, reviewRole)
	}
	g.truth.Workflows = append(g.truth.Workflows, *g.w)
}

func teamOf(kind string) string {
	switch kind {
	case "invoice_extraction":
		return "finance"
	case "rag_qa":
		return "search"
	}
	return "support"
}

// review adds a human review span, now or (by default) after everything else.
func (g *gen) review(ctx context.Context, after time.Time, role string) {
	queue := time.Duration(g.between(600, 4*3600)) * time.Second
	activeMs := uint64(g.between(30_000, 600_000))
	outcome := []string{"approved", "corrected", "rejected"}[g.rng.IntN(3)]
	cost := hourlyCost(reviewRates[role], activeMs)
	g.w.Reviewed = true
	g.w.ReviewCost += cost
	g.addCost(cost)
	start := after.Add(queue)
	emit := func() {
		g.span(ctx, "human review", start, time.Duration(activeMs)*time.Millisecond, false,
			sc.Review(role, float64(activeMs)/1000, queue.Seconds(), outcome)...)
	}
	if g.cfg.NoLateReviews {
		emit()
		return
	}
	g.late = append(g.late, emit)
}

func (g *gen) ragQA(ctx context.Context, t time.Time) (time.Time, string) {
	q := uint64(g.between(12, 60))
	t = g.span(ctx, "embeddings text-embedding-3-small", t, 40*time.Millisecond, false,
		attribute.String(sc.GenAIOperationName, "embeddings"), attribute.String(sc.GenAIProviderName, "openai"),
		attribute.String(sc.GenAIRequestModel, "text-embedding-3-small"), attribute.Int64(sc.GenAIInputTokens, int64(q)),
		attribute.String(sc.StepName, "embed"))
	g.call("embed", "text-embedding-3-small", q, 0, 0, 0)
	t = g.span(ctx, "retrieval vector-search", t, 25*time.Millisecond, false,
		attribute.String(sc.GenAIOperationName, "retrieval"), attribute.Int(sc.RetrievalUnits, 5))
	g.addCost(roundNano(rat(retrievalRate)))
	in := uint64(g.between(1500, 4000))
	if g.cfg.Drift.drifted(g.started) {
		in = uint64(float64(in) * g.cfg.Drift.PromptScale)
	}
	cached := uint64(0)
	if g.chance(0.5) {
		cached = 1024
	}
	out := uint64(g.between(150, 400))
	// An A/B test of the answer model: half the questions go to a frontier model.
	model, provider, response := "gpt-4.1-mini", "openai", "gpt-4.1-mini-2025-04-14"
	if g.chance(0.5) {
		model, provider, response = "claude-opus-4-1", "anthropic", "claude-opus-4-1-20250805"
	}
	rates := quality[Route{"rag_qa", "answer", model}]
	failed := g.chance(rates.Failure)
	attrs := []attribute.KeyValue{
		attribute.String(sc.GenAIOperationName, "chat"), attribute.String(sc.GenAIProviderName, provider),
		attribute.String(sc.GenAIRequestModel, model), attribute.String(sc.GenAIResponseModel, response),
		attribute.String(sc.StepName, "answer"),
		attribute.Int64(sc.GenAIInputTokens, int64(in)), attribute.Int64(sc.GenAICacheReadTokens, int64(cached)),
		attribute.Int64(sc.GenAIOutputTokens, int64(out)),
		attribute.String(sc.GenAIConversationID, fmt.Sprintf("conv-%d", g.rng.IntN(50))),
		attribute.String(sc.UserID, fmt.Sprintf("user-%d", g.rng.IntN(200))),
	}
	if g.chance(0.3) {
		// Opt-in content capture beside reported usage: the usage is what gets billed.
		attrs = append(attrs,
			attribute.String("gen_ai.system_instructions", `[{"type":"text","content":"Answer from the retrieved passages only."}]`),
			attribute.String("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"How do I rotate my API key?"}]},`+
				`{"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"Passage 1: API keys are managed under Settings, API keys. `+
				`Passage 2: Rotating a key issues a new secret and revokes the old one after 24 hours. Passage 3: Only admins can rotate organisation keys."}]}]`),
			attribute.String("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"Open Settings, then API keys, then Rotate."}]}]`))
	}
	t = g.span(ctx, "chat "+model, t, time.Duration(g.between(600, 2500))*time.Millisecond, failed, attrs...)
	g.call("answer", model, in, cached, 0, out)
	if failed {
		g.w.Outcome = sc.OutcomeFailed
		return t, ""
	}
	g.w.Outcome, g.w.ValidatedOutputs = sc.OutcomeCompleted, 1
	if g.chance(rates.Review) {
		return t, "support_agent"
	}
	return t, ""
}

// supportAgent uses OpenLLMetry (Traceloop) attribute names with the deprecated
// gen_ai.usage.prompt/completion token names; a failed model call is retried.
func (g *gen) supportAgent(ctx context.Context, t time.Time) (time.Time, string) {
	turns := g.between(2, 4)
	const prefix = 2000
	for i := 0; i < turns; i++ {
		in := uint64(prefix + g.between(300, 1500)*(i+1))
		var cr, cw uint64
		if i == 0 {
			cw = prefix
		} else {
			cr = prefix
		}
		out := uint64(g.between(80, 300))
		attempts := 1
		if g.chance(0.1) {
			attempts = 2 // the first attempt fails after consuming tokens and is billed
		}
		for a := 0; a < attempts; a++ {
			failed := a < attempts-1
			t = g.span(ctx, "anthropic.chat", t, time.Duration(g.between(900, 3000))*time.Millisecond, failed,
				attribute.String(sc.TraceloopSpanKind, "task"), attribute.String(sc.LLMRequestType, "chat"),
				attribute.String(sc.GenAISystem, "Anthropic"), attribute.String(sc.GenAIRequestModel, "claude-sonnet-4-5"),
				attribute.String(sc.GenAIResponseModel, "claude-sonnet-4-5-20250929"),
				attribute.Int64(sc.GenAIPromptTokens, int64(in)), attribute.Int64(sc.GenAICompletionTokens, int64(out)),
				attribute.Int64(sc.GenAICacheReadTokensOld, int64(cr)), attribute.Int64(sc.GenAICacheCreationOld, int64(cw)),
				attribute.String(sc.StepName, "agent_turn"))
			g.call("agent_turn", "claude-sonnet-4-5", in, cr, cw, out)
		}
		tool := "lookup_order"
		if g.chance(0.3) {
			tool = "web_search"
		}
		t = g.span(ctx, tool+".tool", t, 120*time.Millisecond, false,
			attribute.String(sc.TraceloopSpanKind, "tool"), attribute.String(sc.TraceloopEntityName, tool),
			attribute.String(sc.GenAIOperationName, "execute_tool"), attribute.String(sc.GenAIToolName, tool))
		g.addCost(roundNano(rat(toolRates[tool])))
	}
	if g.chance(quality[Route{"support_agent", "agent_turn", "claude-sonnet-4-5"}].Review) {
		g.w.Outcome = sc.OutcomeEscalated
		return t, "domain_expert"
	}
	g.w.Outcome, g.w.ValidatedOutputs = sc.OutcomeCompleted, 1
	return t, ""
}

// invoice uses OpenInference attribute names and a self-hosted layout model on a GPU.
func (g *gen) invoice(ctx context.Context, t time.Time) (time.Time, string) {
	docs := uint64(g.between(1, 3))
	gpuMs := uint64(g.between(2000, 6000))
	t = g.span(ctx, "layout-model", t, time.Duration(gpuMs)*time.Millisecond, false,
		attribute.String(sc.ComputeClass, "gpu.l4"))
	g.addCost(hourlyCost(computeRates["gpu.l4"], gpuMs))
	for i := 0; i < 2; i++ {
		in := uint64(g.between(3000, 8000))
		out := uint64(g.between(500, 1500))
		t = g.span(ctx, "extract fields", t, time.Duration(g.between(1500, 5000))*time.Millisecond, false,
			attribute.String(sc.OpenInferenceSpanKind, "LLM"), attribute.String(sc.LLMProvider, "google"),
			attribute.String(sc.LLMModelName, "gemini-2.5-flash"),
			attribute.Int64(sc.LLMTokenCountPrompt, int64(in)), attribute.Int64(sc.LLMTokenCountCompletion, int64(out)),
			attribute.String(sc.StepName, "extract_fields"))
		g.call("extract_fields", "gemini-2.5-flash", in, 0, 0, out)
	}
	g.w.Outcome, g.w.ValidatedOutputs = sc.OutcomeCompleted, docs
	if g.chance(quality[Route{"invoice_extraction", "extract_fields", "gemini-2.5-flash"}].Review) {
		return t, "analyst"
	}
	return t, ""
}

// classify routes easy tickets to a cheap model (Vercel AI SDK attributes, which report
// input tokens without cached ones) and hard ones to a frontier reasoning model (current
// GenAI names with reasoning tokens).
func (g *gen) classify(ctx context.Context, t time.Time) (time.Time, string) {
	in := uint64(g.between(400, 1200))
	out := uint64(g.between(5, 40))
	model := "gpt-5"
	if g.chance(0.85) {
		model = "gpt-5-nano"
		cached := uint64(0)
		if g.chance(0.6) {
			cached = 256
		}
		t = g.span(ctx, "ai.generateText.doGenerate", t, time.Duration(g.between(200, 600))*time.Millisecond, false,
			attribute.String("ai.operationId", "ai.generateText.doGenerate"), attribute.String(sc.AIModelProvider, "openai.chat"),
			attribute.String(sc.AIModelID, "gpt-5-nano"), attribute.Int64(sc.AIUsagePromptTokens, int64(in-cached)),
			attribute.Int64(sc.AIUsageCachedInputTokens, int64(cached)), attribute.Int64(sc.AIUsageCompletionTokens, int64(out)),
			attribute.String(sc.StepName, "classify"))
		g.call("classify", "gpt-5-nano", in, cached, 0, out)
	} else {
		reasoning := uint64(g.between(200, 2000))
		t = g.span(ctx, "chat gpt-5", t, time.Duration(g.between(2000, 9000))*time.Millisecond, false,
			attribute.String(sc.GenAIOperationName, "chat"), attribute.String(sc.GenAIProviderName, "openai"),
			attribute.String(sc.GenAIRequestModel, "gpt-5"), attribute.Int64(sc.GenAIInputTokens, int64(in)),
			attribute.Int64(sc.GenAIOutputTokens, int64(out+reasoning)), attribute.Int64(sc.GenAIReasoningTokens, int64(reasoning)),
			attribute.String(sc.StepName, "classify"))
		g.call("classify", "gpt-5", in, 0, 0, out+reasoning)
	}
	t = g.span(ctx, "create_ticket", t, 50*time.Millisecond, false,
		attribute.String(sc.GenAIOperationName, "execute_tool"), attribute.String(sc.GenAIToolName, "create_ticket"))
	g.addCost(roundNano(rat(toolRates["create_ticket"])))
	g.w.Outcome, g.w.ValidatedOutputs = sc.OutcomeCompleted, 1
	if g.chance(quality[Route{"ticket_classification", "classify", model}].Review) {
		return t, "support_agent"
	}
	return t, ""
}

// NewTracerProvider returns an SDK provider with deterministic ids that exports through
// exp in batches.
func NewTracerProvider(exp sdktrace.SpanExporter, seed uint64) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(512), sdktrace.WithBatchTimeout(200*time.Millisecond),
			sdktrace.WithMaxQueueSize(1<<16), sdktrace.WithBlocking()),
		sdktrace.WithIDGenerator(NewIDs(seed)),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
	)
}

// Summary is a one-line description of the truth for progress output.
func (t *Truth) Summary() string {
	var cost pipeline.Money
	for _, w := range t.Workflows {
		cost += w.Cost
	}
	return fmt.Sprintf("%d workflows, %d spans, %d line items, total cost %s", len(t.Workflows), t.Spans, t.LineItems, cost)
}
