package stack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Through the whole pipeline: an outcome decided by a rule on a child span (over the
// root's ERROR status), validated outputs counted from evaluation events of any span,
// labels from unitcost.label.* and a configured mapping, inherited by the workflow's
// lines; and every formerly silent drop visible - tokens without a model and a model
// without usage as unpriced lines with their reasons and span issues, retrieval units
// without an operation name as a priced retrieval line.
func TestInferenceAndNoSilentDrops(t *testing.T) {
	st := testenv.ClickHouse(t)
	cfg := testenv.Config(t, testenv.Kfake(t, 4), st)
	cfg.Process.Stitch.QuietPeriod = 300 * time.Millisecond
	cfg.Process.FlushInterval = 100 * time.Millisecond
	cfg.Process.Outcome = normalize.Outcomes{Rules: []normalize.Rule{
		{Attribute: "app.escalated", Equals: "true", Outcome: "escalated"},
		{Evaluation: "*", Labels: []string{"pass"}, Validated: 1},
	}}
	cfg.Process.Labels = map[string]string{"app.customer_tier": "tier"}
	withBook(t, &cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	sctx, cancel := context.WithCancel(context.Background())
	s, err := stack.New(sctx, cfg, stack.Roles{Ingest: true, Process: true}, reg, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(sctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stack run: %v", err)
		}
	})
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.Receiver.HTTPAddr()), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer("app")
	eval := func(sp trace.Span, label string) {
		sp.AddEvent("gen_ai.evaluation.result", trace.WithAttributes(attribute.String("gen_ai.evaluation.name", "correctness"),
			attribute.String("gen_ai.evaluation.score.label", label)))
	}

	rctx, root := tr.Start(ctx, "handle ticket", trace.WithAttributes(attribute.String("gen_ai.agent.name", "triage"),
		attribute.String("unitcost.label.region", "eu"), attribute.String("app.customer_tier", "gold"), attribute.String("session.id", "s-9")))
	_, chat := tr.Start(rctx, "chat", trace.WithAttributes(attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.request.model", "gpt-4o-mini"), attribute.Int("gen_ai.usage.input_tokens", 1000),
		attribute.Int("gen_ai.usage.output_tokens", 100)))
	eval(chat, "pass")
	eval(chat, "fail")
	chat.End()
	_, noModel := tr.Start(rctx, "llm call", trace.WithAttributes(attribute.Int("gen_ai.usage.input_tokens", 50), attribute.Int("gen_ai.usage.output_tokens", 5)))
	noModel.End()
	_, noUsage := tr.Start(rctx, "chat stream", trace.WithAttributes(attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.request.model", "gpt-4o-mini")))
	noUsage.End()
	_, retr := tr.Start(rctx, "vector search", trace.WithAttributes(attribute.Int("unitcost.retrieval.units", 3)))
	retr.End()
	_, handoff := tr.Start(rctx, "hand off", trace.WithAttributes(attribute.Bool("app.escalated", true)))
	handoff.End()
	eval(root, "pass")
	root.SetStatus(codes.Error, "gave up")
	root.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	id := pipeline.TraceID(root.SpanContext().TraceID()).String()

	// gpt-4o-mini (instrumentationBook): 1000 x 150 + 100 x 600 nano-dollars; retrieval $0.0001 a call.
	const chatCost, retrievalCost = pipeline.Money(1000*150 + 100*600), pipeline.Money(100_000)
	waitCost(t, st, "", id, chatCost+retrievalCost, 4)
	deadline := time.Now().Add(60 * time.Second)
	var wf store.WorkflowFacts
	for ok := false; !ok; {
		if wf, ok, err = st.Workflow(ctx, id, ""); err != nil || (!ok && time.Now().After(deadline)) {
			t.Fatalf("workflow %s: %v %v", id, ok, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if wf.Workflow != "triage" || wf.Outcome != "escalated" || !strings.HasPrefix(wf.OutcomeSource, "rule 1: app.escalated=true (span ") ||
		wf.ValidatedOutputs != 2 || wf.Session != "s-9" || wf.Labels["region"] != "eu" || wf.Labels["tier"] != "gold" {
		t.Fatalf("workflow facts %+v", wf)
	}
	lines, err := st.WorkflowLines(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, l := range lines {
		reasons[l.Step] = l.UnpricedReason
		if l.Priced == (l.UnpricedReason != "") {
			t.Errorf("line %+v: priced and reason disagree", l)
		}
	}
	if reasons["llm call"] != pipeline.UnpricedNoModel || reasons["chat stream"] != pipeline.UnpricedNoUsage ||
		reasons["vector search"] != "" || reasons["chat"] != "" {
		t.Fatalf("lines %+v", lines)
	}
	// each line carries the workflow's labels and session (inherited from the root)
	bySession, err := st.BreakdownWhere(ctx, "label:tier", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), store.Filter{Session: "s-9"})
	if err != nil || len(bySession) != 1 || bySession[0].Key != "gold" || bySession[0].Cost != chatCost+retrievalCost || bySession[0].Unpriced != 2 {
		t.Fatalf("breakdown by label: %+v %v", bySession, err)
	}
	var issues []string
	deadline = time.Now().Add(30 * time.Second)
	for len(issues) < 2 && time.Now().Before(deadline) {
		ic, err := st.SpanIssues(ctx, time.Now().Add(-48*time.Hour), time.Now().Add(48*time.Hour), "") // whole days
		if err != nil {
			t.Fatal(err)
		}
		issues = issues[:0]
		for _, c := range ic {
			issues = append(issues, c.Example)
		}
		time.Sleep(100 * time.Millisecond)
	}
	joined := strings.Join(issues, "\n")
	if !strings.Contains(joined, pipeline.UnpricedNoModel) || !strings.Contains(joined, pipeline.UnpricedNoUsage) {
		t.Fatalf("span issues %q", issues)
	}
	// and counted on /metrics
	counts := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "unitcost_process_unpriceable_spans_total" {
			for _, m := range mf.GetMetric() {
				counts[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if counts["no_model"] != 1 || counts["no_usage"] != 1 {
		t.Fatalf("unitcost_process_unpriceable_spans_total = %v, want one of each", counts)
	}
	var lineLabels []string
	row := st.Conn().QueryRow(ctx, "SELECT groupUniqArray(arrayStringConcat(label_values, ',')) FROM "+st.Database()+".line_items FINAL WHERE trace_id = ?", id)
	if err := row.Scan(&lineLabels); err != nil || len(lineLabels) != 1 || lineLabels[0] != "eu,gold" {
		t.Fatalf("line labels %q %v", lineLabels, err)
	}
}
