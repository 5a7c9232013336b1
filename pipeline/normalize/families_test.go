package normalize_test

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/normalize"
)

// Every attribute of the conventions that moved on (semantic-conventions-genai, 2026):
// each row names one attribute and what it must become.
func TestConventionsTable(t *testing.T) {
	t.Parallel()
	chat := map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range chat {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name  string
		attrs map[string]any
		check func(s pipeline.Span) bool
	}{
		{"gen_ai.usage.cache_write.input_tokens", with(map[string]any{"gen_ai.usage.cache_write.input_tokens": 300}),
			func(s pipeline.Span) bool { return s.Usage.CacheWriteTokens == 300 }},
		{"gen_ai.usage.cache_creation.input_tokens (renamed)", with(map[string]any{"gen_ai.usage.cache_creation.input_tokens": 200}),
			func(s pipeline.Span) bool { return s.Usage.CacheWriteTokens == 200 }},
		{"cache_write wins over cache_creation", with(map[string]any{"gen_ai.usage.cache_creation.input_tokens": 200, "gen_ai.usage.cache_write.input_tokens": 300}),
			func(s pipeline.Span) bool { return s.Usage.CacheWriteTokens == 300 }},
		{"gen_ai.usage.audio.input_tokens", with(map[string]any{"gen_ai.usage.audio.input_tokens": 400}),
			func(s pipeline.Span) bool { return s.Usage.AudioInputTokens == 400 }},
		{"gen_ai.usage.audio.output_tokens", with(map[string]any{"gen_ai.usage.audio.output_tokens": 40}),
			func(s pipeline.Span) bool { return s.Usage.AudioOutputTokens == 40 }},
		{"handle_conversation_turn", map[string]any{"gen_ai.operation.name": "handle_conversation_turn", "gen_ai.request.model": "gpt-4o"},
			func(s pipeline.Span) bool {
				return s.Operation == pipeline.OpConversationTurn && s.Unpriced == "" && len(s.Issues) == 0
			}},
		{"gen_ai.invocation.internal", map[string]any{"gen_ai.invocation.internal": true, "gen_ai.request.model": "gpt-4o", "gen_ai.operation.name": "chat"},
			func(s pipeline.Span) bool { return s.Unpriced == "" && len(s.Issues) == 0 }},
		{"embedding.model_name", map[string]any{"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small", "llm.token_count.prompt": 8},
			func(s pipeline.Span) bool {
				return s.Operation == pipeline.OpEmbeddings && s.Model == "text-embedding-3-small" && s.Usage.InputTokens == 8
			}},
		{"gen_ai.usage.cost.amount/currency/source", with(map[string]any{"gen_ai.usage.cost.amount": 0.0042, "gen_ai.usage.cost.currency": "usd", "gen_ai.usage.cost.source": "openrouter"}),
			func(s pipeline.Span) bool {
				return s.HasProviderCost && s.ProviderCost == 4_200_000 && s.ProviderCostCurrency == "USD" && s.ProviderCostSource == "openrouter"
			}},
		{"gen_ai.usage.cost (earlier name)", with(map[string]any{"gen_ai.usage.cost": "0.001"}),
			func(s pipeline.Span) bool {
				return s.ProviderCost == 1_000_000 && s.ProviderCostSource == "gen_ai.usage.cost"
			}},
		{"llm.cost.total", map[string]any{"llm.model_name": "gpt-4o", "llm.token_count.prompt": 10, "llm.cost.total": 0.5, "llm.cost.prompt": 0.1},
			func(s pipeline.Span) bool {
				return s.ProviderCost == 500_000_000 && s.ProviderCostSource == "openinference"
			}},
		{"llm.cost.prompt + llm.cost.completion", map[string]any{"llm.model_name": "gpt-4o", "llm.token_count.prompt": 10, "llm.cost.prompt": 0.25, "llm.cost.completion": 0.5},
			func(s pipeline.Span) bool { return s.ProviderCost == 750_000_000 && s.HasProviderCost }},
		{"langfuse cost_details without total", with(map[string]any{"langfuse.observation.cost_details": `{"input": 0.001, "output": 0.002}`}),
			func(s pipeline.Span) bool { return s.ProviderCost == 3_000_000 }},
		{"retrieval by unitcost.retrieval.units alone", map[string]any{"unitcost.retrieval.units": 5},
			func(s pipeline.Span) bool { return s.Operation == pipeline.OpRetrieval && s.RetrievalUnits == 5 }},
		{"retrieval by OpenInference RETRIEVER", map[string]any{"openinference.span.kind": "RETRIEVER"},
			func(s pipeline.Span) bool { return s.Operation == pipeline.OpRetrieval && s.RetrievalUnits == 0 }},
		{"retrieval by db.system vector store", map[string]any{"db.system": "qdrant"},
			func(s pipeline.Span) bool { return s.Operation == pipeline.OpRetrieval }},
		{"retrieval by db.system.name", map[string]any{"db.system.name": "Pinecone"},
			func(s pipeline.Span) bool { return s.Operation == pipeline.OpRetrieval }},
		{"db.system that is no vector store", map[string]any{"db.system": "postgresql"},
			func(s pipeline.Span) bool { return s.Operation == "" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := norm(t, true, c.attrs); !c.check(got) {
				t.Errorf("got %+v", got)
			}
		})
	}
}

// The dimensions people group by, from resource and span attributes of each family.
func TestDimensionsTable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		res, attrs     map[string]any
		service, env   string
		session, user  string
		labels         []pipeline.Label
		labelAttribute map[string]string
	}{
		{name: "resource service and current environment", res: map[string]any{"service.name": "support-api", "deployment.environment.name": "prod", "deployment.environment": "old"},
			service: "support-api", env: "prod"},
		{name: "deprecated deployment.environment", res: map[string]any{"deployment.environment": "staging"}, env: "staging"},
		{name: "session.id and user.id", attrs: map[string]any{"session.id": "s-1", "user.id": "u-1"}, session: "s-1", user: "u-1"},
		{name: "gen_ai.conversation.id wins over session.id", attrs: map[string]any{"session.id": "s-1", "gen_ai.conversation.id": "conv-9"}, session: "conv-9"},
		{name: "enduser.id", attrs: map[string]any{"enduser.id": "alice"}, user: "alice"},
		{name: "user.id wins over enduser.id", attrs: map[string]any{"enduser.id": "alice", "user.id": "u-7"}, user: "u-7"},
		{name: "traceloop association properties", attrs: map[string]any{"traceloop.association.properties.session_id": "t-s", "traceloop.association.properties.user_id": "t-u"},
			session: "t-s", user: "t-u"},
		{name: "langfuse session and user", attrs: map[string]any{"langfuse.session.id": "lf-s", "langfuse.user.id": "lf-u"}, session: "lf-s", user: "lf-u"},
		{name: "unitcost.label.<key> and a configured mapping", attrs: map[string]any{"unitcost.label.region": "eu", "app.tier": "gold", "unitcost.label.tier": "platinum"},
			labelAttribute: map[string]string{"app.tier": "tier", "app.plan": "plan"}, res: map[string]any{"app.plan": "pro"},
			labels: []pipeline.Label{{Key: "plan", Value: "pro"}, {Key: "region", Value: "eu"}, {Key: "tier", Value: "platinum"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res, sp := span(true, c.attrs)
			for k, v := range c.res {
				res.PutStr(k, v.(string))
			}
			n := normalize.Normalizer{LabelAttributes: c.labelAttribute}
			var got pipeline.Span
			if err := n.Span(res, sp, "", &got); err != nil {
				t.Fatal(err)
			}
			if got.Service != c.service || got.Environment != c.env || got.Session != c.session || got.User != c.user ||
				len(got.Labels) != len(c.labels) {
				t.Fatalf("got service %q env %q session %q user %q labels %v", got.Service, got.Environment, got.Session, got.User, got.Labels)
			}
			for i := range c.labels {
				if got.Labels[i] != c.labels[i] {
					t.Fatalf("labels %v, want %v", got.Labels, c.labels)
				}
			}
		})
	}
}

// A workflow root is named by gen_ai.workflow.name, then the agent name, then
// OpenLLMetry's entity and workflow names, then its span name; unitcost's name wins.
func TestWorkflowNameOrder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		attrs map[string]any
		want  string
	}{
		{map[string]any{"unitcost.workflow.name": "u", "gen_ai.workflow.name": "w", "gen_ai.agent.name": "a"}, "u"},
		{map[string]any{"gen_ai.workflow.name": "w", "gen_ai.agent.name": "a", "traceloop.entity.name": "e"}, "w"},
		{map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "travel-planner", "traceloop.entity.name": "e"}, "travel-planner"},
		{map[string]any{"openinference.span.kind": "CHAIN", "agent.name": "classify-ticket"}, "classify-ticket"},
		{map[string]any{"gen_ai.agent.name": "a", "agent.name": "b"}, "a"},
		{map[string]any{"traceloop.entity.name": "e", "traceloop.workflow.name": "tw"}, "e"},
		{map[string]any{"traceloop.workflow.name": "tw"}, "tw"},
		{map[string]any{"gen_ai.operation.name": "handle_conversation_turn"}, "op"},
		{nil, "op"},
	}
	for _, c := range cases {
		if got := norm(t, false, c.attrs); got.WorkflowName != c.want {
			t.Errorf("%v: named %q, want %q", c.attrs, got.WorkflowName, c.want)
		}
	}
}

// rootWith builds a root span with a status and evaluation events.
func rootWith(t *testing.T, n normalize.Normalizer, attrs map[string]any, code ptrace.StatusCode, evals ...map[string]any) pipeline.Span {
	t.Helper()
	res, sp := span(false, attrs)
	sp.Status().SetCode(code)
	for _, e := range evals {
		ev := sp.Events().AppendEmpty()
		ev.SetName("gen_ai.evaluation.result")
		for k, v := range e {
			switch x := v.(type) {
			case string:
				ev.Attributes().PutStr(k, x)
			case float64:
				ev.Attributes().PutDouble(k, x)
			}
		}
	}
	var out pipeline.Span
	if err := n.Span(res, sp, "", &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOutcomeInference(t *testing.T) {
	t.Parallel()
	min := 0.8
	rules := normalize.Normalizer{Outcomes: normalize.Outcomes{OnOK: "none", Rules: []normalize.Rule{
		{Attribute: "app.ticket.resolved", Equals: "true", Outcome: "completed"},
		{Attribute: "app.escalated", Outcome: "escalated"},
		{Evaluation: "faithfulness", MinScore: &min, Validated: 1},
		{Evaluation: "*", Labels: []string{"fail"}, Outcome: "failed", Name: "evaluation failed"},
	}}}
	pass := map[string]any{"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.label": "Pass", "gen_ai.evaluation.score.value": 1.0}
	cases := []struct {
		name      string
		n         normalize.Normalizer
		attrs     map[string]any
		code      ptrace.StatusCode
		evals     []map[string]any
		outcome   string
		source    string
		validated uint64 // Signal.Validated
		issue     string
	}{
		{name: "status UNSET -> completed", outcome: "completed", source: "status UNSET"},
		{name: "status OK -> completed", code: ptrace.StatusCodeOk, outcome: "completed", source: "status OK"},
		{name: "status ERROR -> failed", code: ptrace.StatusCodeError, outcome: "failed", source: "status ERROR"},
		{name: "configurable: OK -> none", n: normalize.Normalizer{Outcomes: normalize.Outcomes{OnOK: "none", OnError: "abandoned"}}},
		{name: "configurable: ERROR -> abandoned", n: normalize.Normalizer{Outcomes: normalize.Outcomes{OnError: "abandoned"}}, code: ptrace.StatusCodeError,
			outcome: "abandoned", source: "status ERROR"},
		{name: "explicit outcome wins over status", attrs: map[string]any{"unitcost.workflow.outcome": "Escalated"}, code: ptrace.StatusCodeError,
			outcome: "escalated", source: "attribute unitcost.workflow.outcome"},
		{name: "explicit outcome wins over a rule", n: rules, attrs: map[string]any{"unitcost.workflow.outcome": "failed", "app.ticket.resolved": "true"},
			outcome: "failed", source: "attribute unitcost.workflow.outcome"},
		{name: "unknown explicit outcome is an issue", attrs: map[string]any{"unitcost.workflow.outcome": "succeeded"},
			outcome: "succeeded", source: "attribute unitcost.workflow.outcome", issue: `unknown workflow outcome "succeeded"`},
		{name: "attribute rule", n: rules, attrs: map[string]any{"app.ticket.resolved": true}, outcome: "completed", source: "rule 1: app.ticket.resolved=true"},
		{name: "attribute rule beats ERROR status", n: rules, attrs: map[string]any{"app.escalated": 1}, code: ptrace.StatusCodeError,
			outcome: "escalated", source: "rule 2: app.escalated set"},
		{name: "attribute rule value mismatch", n: rules, attrs: map[string]any{"app.ticket.resolved": false}},
		{name: "evaluation rule by score", n: rules, evals: []map[string]any{
			{"gen_ai.evaluation.name": "faithfulness", "gen_ai.evaluation.score.value": 0.9},
			{"gen_ai.evaluation.name": "faithfulness", "gen_ai.evaluation.score.value": 0.5}}, validated: 1},
		{name: "evaluation rule by label", n: rules, evals: []map[string]any{{"gen_ai.evaluation.name": "x", "gen_ai.evaluation.score.label": "FAIL"}},
			outcome: "failed", source: "rule evaluation failed"},
		{name: "default rule: a passing evaluation is a validated output", evals: []map[string]any{pass, pass}, outcome: "completed", source: "status UNSET", validated: 2},
	}
	for _, c := range cases {
		got := rootWith(t, c.n, c.attrs, c.code, c.evals...)
		var v uint64
		if got.Signal != nil {
			v = got.Signal.Validated
		}
		if got.Outcome != c.outcome || got.OutcomeSource != c.source || v != c.validated {
			t.Errorf("%s: outcome %q source %q validated %d, want %q %q %d", c.name, got.Outcome, got.OutcomeSource, v, c.outcome, c.source, c.validated)
		}
		if joined := strings.Join(got.Issues, "\n"); (c.issue == "") != (joined == "") || !strings.Contains(joined, c.issue) {
			t.Errorf("%s: issues %q, want %q", c.name, got.Issues, c.issue)
		}
	}
}

// A workflow's outcome and validated outputs resolved from its spans.
func TestResolveWorkflow(t *testing.T) {
	t.Parallel()
	root := &pipeline.Span{SpanID: pipeline.SpanID{1}, Outcome: "completed", OutcomeSource: "status UNSET", Session: "", Service: "svc"}
	a := &pipeline.Span{SpanID: pipeline.SpanID{2}, StartUnixNano: 20, Signal: &pipeline.Signal{Outcome: "escalated", Source: "rule 1: x", Validated: 1}, Session: "s2"}
	b := &pipeline.Span{SpanID: pipeline.SpanID{3}, StartUnixNano: 10, Signal: &pipeline.Signal{Outcome: "failed", Source: "rule 2: y"}, Session: "s1", User: "u"}
	var w pipeline.Workflow
	normalize.Resolve(root, []*pipeline.Span{a, root, b}, &w)
	if w.Outcome != "failed" || w.OutcomeSource != "rule 2: y (span 0300000000000000)" || w.ValidatedOutputs != 1 || w.Session != "s1" || w.User != "u" || w.Service != "svc" {
		t.Fatalf("%+v", w)
	}
	root.OutcomeSource, root.ValidatedOutputs, root.ValidatedExplicit = "attribute unitcost.workflow.outcome", 5, true
	normalize.Resolve(root, []*pipeline.Span{a, root, b}, &w)
	if w.Outcome != "completed" || w.ValidatedOutputs != 5 {
		t.Fatalf("explicit facts must win: %+v", w)
	}
}

func TestOutcomeConfigValidation(t *testing.T) {
	t.Parallel()
	bad := normalize.Outcomes{OnOK: "done", Rules: []normalize.Rule{{}, {Attribute: "a", Evaluation: "b", Outcome: "ok"}, {Attribute: "a", Labels: []string{"x"}, Validated: 1}}}
	err := bad.Validate()
	for _, want := range []string{"on_ok", "rules[0]: set exactly one", "rules[0]: set outcome or validated", "rules[1].outcome", "rules[2]: labels"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validation lacks %q: %v", want, err)
		}
	}
	if err := (normalize.Outcomes{OnOK: "none", Rules: normalize.DefaultRules}).Validate(); err != nil {
		t.Error(err)
	}
}

// What used to vanish - tokens without a model, a model call without usage or content,
// retrieval units without an operation - is now a flagged span (an unpriced line and a
// span issue) or a priced retrieval.
func TestFormerlySilentDropsAreVisible(t *testing.T) {
	t.Parallel()
	noModel := norm(t, true, map[string]any{"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 5})
	if noModel.Unpriced != pipeline.UnpricedNoModel || len(noModel.Issues) != 1 || noModel.Issues[0] != pipeline.UnpricedNoModel {
		t.Errorf("tokens without model: %q %q", noModel.Unpriced, noModel.Issues)
	}
	noUsage := norm(t, true, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})
	if noUsage.Unpriced != pipeline.UnpricedNoUsage || len(noUsage.Issues) != 1 {
		t.Errorf("model without usage: %q %q", noUsage.Unpriced, noUsage.Issues)
	}
	noUsageNoOp := norm(t, true, map[string]any{"llm.model_name": "gpt-4o"})
	if noUsageNoOp.Unpriced != pipeline.UnpricedNoUsage {
		t.Errorf("model without usage or operation: %q", noUsageNoOp.Unpriced)
	}
	withContent := norm(t, true, map[string]any{"gen_ai.request.model": "gpt-4o", "gen_ai.prompt.0.content": "hi"})
	if withContent.Unpriced != "" {
		t.Errorf("captured content is estimated, not unpriced: %q", withContent.Unpriced)
	}
	agent := norm(t, true, map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "gpt-4o"})
	if agent.Unpriced != "" || len(agent.Issues) != 0 {
		t.Errorf("an agent span naming its model is no model call: %q", agent.Unpriced)
	}
	units := norm(t, true, map[string]any{"unitcost.retrieval.units": 3})
	if units.Operation != pipeline.OpRetrieval || units.RetrievalUnits != 3 {
		t.Errorf("retrieval units alone: %+v", units)
	}
}

// Resolve runs for every workflow the process stage writes: it must not allocate.
func TestResolveAllocatesNothing(t *testing.T) {
	root := &pipeline.Span{SpanID: pipeline.SpanID{1}, OutcomeSource: "status UNSET"}
	spans := []*pipeline.Span{root, {SpanID: pipeline.SpanID{2}, Session: "s"}, {SpanID: pipeline.SpanID{3}, Signal: &pipeline.Signal{Validated: 1}}}
	var w pipeline.Workflow
	if n := testing.AllocsPerRun(100, func() { normalize.Resolve(root, spans, &w) }); n != 0 {
		t.Fatalf("%v allocations per workflow", n)
	}
}
