package normalize_test

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/normalize"
)

// span builds a pdata span with ids and the given attributes (values may be int, float64,
// string).
func span(parent bool, attrs map[string]any) (pcommon.Map, ptrace.Span) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1, 2, 3})
	sp.SetSpanID(pcommon.SpanID{4, 5, 6})
	if parent {
		sp.SetParentSpanID(pcommon.SpanID{9})
	}
	sp.SetName("op")
	sp.SetStartTimestamp(1_000_000_000)
	sp.SetEndTimestamp(3_500_000_000)
	for k, v := range attrs {
		switch x := v.(type) {
		case int:
			sp.Attributes().PutInt(k, int64(x))
		case float64:
			sp.Attributes().PutDouble(k, x)
		case string:
			sp.Attributes().PutStr(k, x)
		case bool:
			sp.Attributes().PutBool(k, x)
		}
	}
	return rs.Resource().Attributes(), sp
}

func norm(t *testing.T, parent bool, attrs map[string]any) pipeline.Span {
	t.Helper()
	res, sp := span(parent, attrs)
	var n normalize.Normalizer
	var out pipeline.Span
	if err := n.Span(res, sp, "", &out); err != nil {
		t.Fatalf("normalise: %v", err)
	}
	return out
}

func TestFamilies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		attrs    map[string]any
		provider string
		model    string
		op       pipeline.Operation
		usage    pipeline.Usage
	}{
		{"otel genai current", map[string]any{
			"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
			"gen_ai.response.model": "claude-sonnet-4-5-20250929", "gen_ai.usage.input_tokens": 12000, "gen_ai.usage.output_tokens": 700,
			"gen_ai.usage.cache_read.input_tokens": 8000, "gen_ai.usage.cache_creation.input_tokens": 1000, "gen_ai.usage.reasoning.output_tokens": 200,
		}, "anthropic", "claude-sonnet-4-5-20250929", pipeline.OpChat,
			pipeline.Usage{InputTokens: 12000, OutputTokens: 700, CacheReadTokens: 8000, CacheWriteTokens: 1000, ReasoningTokens: 200}},
		{"otel genai deprecated names, string and double values", map[string]any{
			"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.prompt_tokens": "1200",
			"gen_ai.usage.completion_tokens": 300.0, "gen_ai.usage.cache_read_input_tokens": " 200 ", "gen_ai.usage.reasoning_tokens": 10,
		}, "openai", "gpt-4o", pipeline.OpChat, pipeline.Usage{InputTokens: 1200, OutputTokens: 300, CacheReadTokens: 200, ReasoningTokens: 10}},
		{"openllmetry", map[string]any{
			"traceloop.span.kind": "task", "llm.request.type": "chat", "gen_ai.system": "Anthropic", "gen_ai.request.model": "claude-3-5-haiku",
			"gen_ai.usage.prompt_tokens": 4000, "gen_ai.usage.completion_tokens": 100, "gen_ai.usage.cache_creation_input_tokens": 3000,
		}, "anthropic", "claude-3-5-haiku", pipeline.OpChat, pipeline.Usage{InputTokens: 4000, OutputTokens: 100, CacheWriteTokens: 3000}},
		{"openinference", map[string]any{
			"openinference.span.kind": "LLM", "llm.provider": "google", "llm.model_name": "gemini-2.5-flash",
			"llm.token_count.prompt": 5000, "llm.token_count.completion": 900, "llm.token_count.prompt_details.cache_read": 1000,
			"llm.token_count.completion_details.reasoning": 300,
		}, "gcp.gemini", "gemini-2.5-flash", pipeline.OpChat, pipeline.Usage{InputTokens: 5000, OutputTokens: 900, CacheReadTokens: 1000, ReasoningTokens: 300}},
		{"openinference embedding", map[string]any{
			"openinference.span.kind": "EMBEDDING", "llm.provider": "openai", "llm.model_name": "text-embedding-3-small", "llm.token_count.prompt": 42,
		}, "openai", "text-embedding-3-small", pipeline.OpEmbeddings, pipeline.Usage{InputTokens: 42}},
		// Vercel AI SDK <= v5 reports input without cached tokens: 900 + 300 cached = 1200.
		{"vercel ai sdk", map[string]any{
			"ai.model.provider": "openai.chat", "ai.model.id": "gpt-5-nano", "ai.usage.promptTokens": 900,
			"ai.usage.cachedInputTokens": 300, "ai.usage.completionTokens": 20,
		}, "openai", "gpt-5-nano", pipeline.OpChat, pipeline.Usage{InputTokens: 1200, OutputTokens: 20, CacheReadTokens: 300}},
		{"vercel ai sdk v5 names", map[string]any{
			"ai.model.provider": "anthropic.messages", "ai.model.id": "claude-haiku-4-5", "ai.usage.inputTokens": 100, "ai.usage.outputTokens": 7,
		}, "anthropic", "claude-haiku-4-5", pipeline.OpChat, pipeline.Usage{InputTokens: 100, OutputTokens: 7}},
		{"langfuse model name", map[string]any{
			"langfuse.observation.model.name": "gpt-4.1", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2,
		}, "", "gpt-4.1", pipeline.OpChat, pipeline.Usage{InputTokens: 10, OutputTokens: 2}},
		{"langfuse usage details", map[string]any{
			"langfuse.observation.type": "generation", "langfuse.observation.model.name": "gpt-4o",
			"langfuse.observation.usage_details": `{"input": 1500, "output": 80, "input_cached_tokens": 1000, "total": 1580}`,
		}, "", "gpt-4o", pipeline.OpChat, pipeline.Usage{InputTokens: 1500, OutputTokens: 80, CacheReadTokens: 1000}},
		// An instrumentation that reports input excluding the cache (read > input) is made
		// inclusive rather than under-billed.
		{"exclusive input detected", map[string]any{
			"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-x", "gen_ai.usage.input_tokens": 50,
			"gen_ai.usage.cache_read.input_tokens": 4000, "gen_ai.usage.output_tokens": 5,
		}, "anthropic", "claude-x", pipeline.OpChat, pipeline.Usage{InputTokens: 4050, OutputTokens: 5, CacheReadTokens: 4000}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := norm(t, true, c.attrs)
			if got.Provider != c.provider || got.Model != c.model || got.Operation != c.op || got.Usage != c.usage {
				t.Errorf("got provider %q model %q op %q usage %+v\nwant %q %q %q %+v", got.Provider, got.Model, got.Operation, got.Usage,
					c.provider, c.model, c.op, c.usage)
			}
		})
	}
}

// The current name wins over the deprecated one whatever their order.
func TestServiceTierAndOneHourCacheWrites(t *testing.T) {
	t.Parallel()
	got := norm(t, true, map[string]any{"gen_ai.request.model": "gpt-4.1", "gen_ai.usage.input_tokens": 10,
		"openai.request.service_tier": "auto", "openai.response.service_tier": "Flex"})
	if got.ServiceTier != "flex" {
		t.Errorf("service tier %q (the response's tier wins over the request's)", got.ServiceTier)
	}
	if d := norm(t, true, map[string]any{"openai.response.service_tier": "default"}); d.ServiceTier != "" {
		t.Errorf("default tier kept as %q", d.ServiceTier)
	}
	if b := norm(t, true, map[string]any{"unitcost.service_tier": "batch", "openai.response.service_tier": "default"}); b.ServiceTier != "batch" {
		t.Errorf("unitcost.service_tier must win: %q", b.ServiceTier)
	}
	c := norm(t, true, map[string]any{"gen_ai.request.model": "claude-w", "gen_ai.usage.input_tokens": 9000,
		"gen_ai.usage.cache_creation.input_tokens": 4000, "gen_ai.usage.cache_creation.ephemeral_1h_input_tokens": 1000})
	if c.Usage.CacheWriteTokens != 4000 || c.Usage.CacheWrite1hTokens != 1000 {
		t.Errorf("usage %+v", c.Usage)
	}
	only := norm(t, true, map[string]any{"gen_ai.request.model": "claude-w", "gen_ai.usage.input_tokens": 9000,
		"unitcost.usage.cache_write_1h_tokens": 500})
	if only.Usage.CacheWriteTokens != 500 || only.Usage.CacheWrite1hTokens != 500 {
		t.Errorf("1h writes alone are cache writes: %+v", only.Usage)
	}
}

func TestMediaTokensAndComputeShare(t *testing.T) {
	t.Parallel()
	got := norm(t, true, map[string]any{"llm.model_name": "gpt-4o-audio", "llm.token_count.prompt": 5000, "llm.token_count.completion": 900,
		"llm.token_count.prompt_details.audio": 3000, "unitcost.usage.image_input_tokens": 4000, "llm.token_count.completion_details.audio": 600,
		"unitcost.compute.class": "gpu.h100", "unitcost.compute.share": 0.25})
	// image tokens above what the input leaves after audio are not counted (never counted
	// as the rest of the input): the issue quarantines the model line
	if got.Usage.AudioInputTokens != 3000 || got.Usage.ImageInputTokens != 0 || got.Usage.AudioOutputTokens != 600 || got.ComputeShareBP != 2500 ||
		strings.Join(got.Issues, ";") != "image input tokens 4000 above limit 2000 (the input tokens less audio they are part of); not counted" {
		t.Fatalf("usage %+v share %d issues %q", got.Usage, got.ComputeShareBP, got.Issues)
	}
	// a share beyond (0, 1] is not billed as the whole node: the compute line is quarantined
	for share, want := range map[float64]string{3.0: "compute share 3 above limit 1; not counted", 0: "compute share 0 below limit 0 (a share is above 0); not counted",
		-0.5: "compute share -0.5 below limit 0 (a share is above 0); not counted"} {
		if bad := norm(t, true, map[string]any{"unitcost.compute.share": share}); strings.Join(bad.Issues, ";") != want {
			t.Errorf("share %v: %d %q", share, bad.ComputeShareBP, bad.Issues)
		}
	}
}

func TestProviderReportedCost(t *testing.T) {
	t.Parallel()
	lf := norm(t, true, map[string]any{"langfuse.observation.cost_details": `{"input": 0.001, "output": 0.002, "total": 0.003}`})
	g := norm(t, true, map[string]any{"gen_ai.usage.cost": "0.0125"})
	if !lf.HasProviderCost || lf.ProviderCost != 3_000_000 || !g.HasProviderCost || g.ProviderCost != 12_500_000 {
		t.Fatalf("langfuse %v %d, genai %v %d", lf.HasProviderCost, lf.ProviderCost, g.HasProviderCost, g.ProviderCost)
	}
}

func TestCurrentNameWinsInAnyOrder(t *testing.T) {
	t.Parallel()
	got := norm(t, true, map[string]any{"gen_ai.usage.prompt_tokens": 1, "gen_ai.usage.input_tokens": 2,
		"gen_ai.system": "old", "gen_ai.provider.name": "new", "llm.model_name": "other", "gen_ai.request.model": "m"})
	if got.Usage.InputTokens != 2 || got.Provider != "new" || got.Model != "m" {
		t.Fatalf("got %+v", got)
	}
}

func TestWorkflowMarkers(t *testing.T) {
	t.Parallel()
	root := norm(t, false, map[string]any{"unitcost.workflow.name": "qa", "unitcost.workflow.version": "v2",
		"unitcost.workflow.outcome": "Completed", "unitcost.outputs.validated": 3, "unitcost.tenant": "acme", "unitcost.team": "search"})
	if !root.WorkflowRoot || root.WorkflowName != "qa" || root.WorkflowVersion != "v2" || root.Outcome != "completed" ||
		root.ValidatedOutputs != 3 || root.Tenant != "acme" || root.Team != "search" {
		t.Fatalf("root: %+v", root)
	}
	sub := norm(t, true, map[string]any{"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "triage"})
	if !sub.WorkflowRoot || sub.WorkflowName != "triage" {
		t.Fatalf("invoke_workflow sub-tree: %+v", sub)
	}
	tl := norm(t, true, map[string]any{"traceloop.span.kind": "workflow", "traceloop.workflow.name": "summarise"})
	if !tl.WorkflowRoot || tl.WorkflowName != "summarise" {
		t.Fatalf("traceloop workflow: %+v", tl)
	}
	unnamed := norm(t, false, nil)
	if !unnamed.WorkflowRoot || unnamed.WorkflowName != "op" || unnamed.Outcome != "completed" || unnamed.OutcomeSource != "status UNSET" {
		t.Fatalf("a trace root is a workflow named after its span, completed by its status: %+v", unnamed)
	}
	child := norm(t, true, map[string]any{"unitcost.outputs.validated": 3})
	if child.WorkflowRoot || child.ValidatedOutputs != 0 {
		t.Fatalf("a plain child is no workflow: %+v", child)
	}
	assoc := norm(t, true, map[string]any{"traceloop.association.properties.tenant_id": "globex", "traceloop.association.properties.user_id": "u1"})
	if assoc.Tenant != "globex" || assoc.User != "u1" {
		t.Fatalf("traceloop association properties: %+v", assoc)
	}
}

func TestReviewSpan(t *testing.T) {
	t.Parallel()
	r := norm(t, true, map[string]any{"unitcost.review.role": "analyst", "unitcost.review.active_seconds": 151.25,
		"unitcost.review.queue_seconds": "3600", "unitcost.review.outcome": "corrected"})
	if r.Operation != pipeline.OpHumanReview || r.ReviewRole != "analyst" || r.ReviewActiveMs != 151_250 || r.ReviewQueueMs != 3_600_000 || r.ReviewOutcome != "corrected" {
		t.Fatalf("got %+v", r)
	}
}

// A value beyond a limit is not counted (0, never the bound), and the issue says so.
func TestAbsurdValuesAreNotCountedWithAReason(t *testing.T) {
	t.Parallel()
	got := norm(t, true, map[string]any{
		"gen_ai.request.model":                 "m\xff\xfe",
		"gen_ai.usage.input_tokens":            -5,
		"gen_ai.usage.output_tokens":           9.3e18, // ~2^63
		"unitcost.team":                        strings.Repeat("t", 10_000),
		"gen_ai.usage.cost":                    "NaN",
		"unitcost.review.role":                 "analyst",
		"unitcost.review.active_seconds":       1e12,
		"gen_ai.usage.reasoning.output_tokens": true,
	})
	if got.Usage.InputTokens != 0 || got.Usage.OutputTokens != 0 || got.Unpriced != "token counts beyond their limits" {
		t.Errorf("usage %+v unpriced %q", got.Usage, got.Unpriced)
	}
	if got.Model != "m\uFFFD" || len(got.Team) != 256 || got.HasProviderCost {
		t.Errorf("model %q team len %d provider cost %v", got.Model, len(got.Team), got.HasProviderCost)
	}
	if got.ReviewActiveMs != 0 {
		t.Errorf("review ms %d", got.ReviewActiveMs)
	}
	joined := strings.Join(got.Issues, "\n")
	for _, want := range []string{"input tokens -5 below limit 0; not counted", "output tokens 9300000000000000000 above limit 100000000; not counted", "model: invalid UTF-8",
		"team: 10000 bytes truncated to 256", "gen_ai.usage.cost", "review active seconds 1e+12 above limit 2.592e+06; not counted", "gen_ai.usage.reasoning.output_tokens: Bool value is not a number"} {
		if !strings.Contains(joined, want) {
			t.Errorf("issues lack %q:\n%s", want, joined)
		}
	}
}

func TestInvalidIdsAreRejected(t *testing.T) {
	t.Parallel()
	var n normalize.Normalizer
	var out pipeline.Span
	res, sp := span(true, nil)
	sp.SetTraceID(pcommon.TraceID{})
	if err := n.Span(res, sp, "", &out); err == nil || !strings.Contains(err.Error(), "all-zero trace id") {
		t.Errorf("zero trace id: %v", err)
	}
	res, sp = span(true, nil)
	sp.SetSpanID(pcommon.SpanID{})
	if err := n.Span(res, sp, "", &out); err == nil || !strings.Contains(err.Error(), "all-zero span id") {
		t.Errorf("zero span id: %v", err)
	}
}

func TestTransportTenantOverridesAttributes(t *testing.T) {
	t.Parallel()
	res, sp := span(false, map[string]any{"unitcost.tenant": "claimed"})
	res.PutStr("unitcost.team", "from-resource")
	var n normalize.Normalizer
	var out pipeline.Span
	if err := n.Span(res, sp, "authenticated", &out); err != nil {
		t.Fatal(err)
	}
	if out.Tenant != "authenticated" || out.Team != "from-resource" {
		t.Fatalf("tenant %q team %q", out.Tenant, out.Team)
	}
}

// Captured input messages are kept with their roles (for the token mix, and the count
// when none is reported): OpenLLMetry <= 0.4 flattened prompts, GenAI JSON messages,
// OpenInference message lists. Output text is kept only when no output count is reported.
func TestCapturedContentAndRoles(t *testing.T) {
	t.Parallel()
	got := norm(t, true, map[string]any{
		"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
		"gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "You are terse.",
		"gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "Hi",
		"gen_ai.prompt.2.role": "assistant", "gen_ai.prompt.2.content": "Hello.",
		"gen_ai.prompt.3.role": "tool", "gen_ai.prompt.3.content": "Paris is the capital of France.",
		"gen_ai.prompt.4.role": "user", "gen_ai.prompt.4.content": "Capital of France?",
		"gen_ai.completion.0.content": "Paris.",
	})
	roles := map[pipeline.Role][]string{}
	for _, p := range got.InputContent {
		roles[p.Role] = append(roles[p.Role], p.Text)
	}
	if len(roles) != 4 || len(roles[pipeline.RoleHistory]) != 2 || roles[pipeline.RoleSystem][0] != "You are terse." ||
		roles[pipeline.RoleContext][0] != "Paris is the capital of France." || roles[pipeline.RoleUser][0] != "Capital of France?" {
		t.Fatalf("flattened roles %q", roles)
	}
	if len(got.OutputContent) != 1 || got.OutputContent[0] != "Paris." {
		t.Fatalf("output %q", got.OutputContent)
	}
	js := norm(t, true, map[string]any{
		"gen_ai.request.model":       "claude-haiku-4-5",
		"gen_ai.input.messages":      `[{"role":"user","parts":[{"type":"text","content":"Earlier question"}]},{"role":"assistant","parts":[{"type":"text","content":"Earlier answer"}]},{"role":"user","parts":[{"type":"text","content":"Summarise this."}]}]`,
		"gen_ai.system_instructions": `[{"type":"text","content":"Be brief."}]`,
		"gen_ai.usage.output_tokens": 12,
		"gen_ai.output.messages":     `[{"role":"assistant","parts":[{"type":"text","content":"Done."}]}]`,
	})
	jr := map[pipeline.Role]int{}
	for _, p := range js.InputContent {
		jr[p.Role]++
	}
	if jr[pipeline.RoleSystem] != 1 || jr[pipeline.RoleHistory] != 2 || jr[pipeline.RoleUser] != 1 || js.OutputContent != nil || js.Usage.OutputTokens != 12 {
		t.Fatalf("json: roles %v out %q usage %+v (reported output usage must not be re-estimated)", jr, js.OutputContent, js.Usage)
	}
	oi := norm(t, true, map[string]any{"llm.model_name": "gpt-4.1", "llm.input_messages.0.message.role": "user",
		"llm.input_messages.0.message.content": "hi", "llm.output_messages.0.message.content": "hello", "llm.token_count.prompt": 3,
		"llm.token_count.completion": 1})
	if len(oi.InputContent) != 1 || oi.InputContent[0].Role != pipeline.RoleUser || oi.OutputContent != nil {
		t.Fatalf("openinference: in %+v out %q", oi.InputContent, oi.OutputContent)
	}
}

func FuzzMessageJSON(f *testing.F) {
	f.Add(`[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`)
	f.Add(`{"input": 1, "output": 2}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, s string) {
		got := norm(t, true, map[string]any{"gen_ai.request.model": "m", "gen_ai.input.messages": s,
			"langfuse.observation.usage_details": s, "langfuse.observation.cost_details": s})
		n := 0
		for _, p := range got.InputContent {
			n += len(p.Text)
		}
		if n > len(s) {
			t.Fatalf("extracted %d bytes of text from %d bytes of input", n, len(s))
		}
	})
}

// unitcost.step names the step whichever model ran it; without it the span name is the
// step.
func TestStepName(t *testing.T) {
	t.Parallel()
	sp := norm(t, true, map[string]any{"unitcost.step": "classify", "gen_ai.request.model": "gpt-5"})
	if sp.Step != "classify" || sp.StepKey() != "classify" || sp.Name != "op" {
		t.Fatalf("step %q key %q name %q", sp.Step, sp.StepKey(), sp.Name)
	}
	if sp := norm(t, true, map[string]any{"gen_ai.request.model": "gpt-5"}); sp.StepKey() != "op" {
		t.Fatalf("no step: key %q, want the span name", sp.StepKey())
	}
}
