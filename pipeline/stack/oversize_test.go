package stack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/semconv"
)

// Spans over Kafka's record limit (1 MB on a default broker) used to be refused by the
// broker and lost - a child's cost, or on the root the whole trace. Now a child whose
// captured prompt (2 MB, no reported input usage: above the 1 MiB process reads per span,
// so only the count taken before trimming sees it whole) is priced from the whole
// prompt, counted at ingest before its content is trimmed, and the trimming and the
// estimate are recorded as span issues; a root carrying 2 MB of captured input keeps its
// workflow, and every cost is exact. Real Kafka and ClickHouse.
func TestOversizedSpansArePricedAndKept(t *testing.T) {
	st := testenv.ClickHouse(t)
	cfg := testConfig(t, testenv.KafkaBrokers(t), st)
	s := startStack(t, cfg)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer("oversize")
	prompt := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 46_000) // ~2 MB
	messages := `[{"role":"user","parts":[{"type":"text","content":"` + prompt + `"}]}]`

	// Workflow 1: the big prompt on a child model call that reports output usage only.
	wctx, root := tr.Start(ctx, "answer", trace.WithAttributes(append(semconv.Workflow("qa", "v1"), semconv.Labels("acme", "search", "answers")...)...))
	_, call := tr.Start(wctx, "chat test-model", trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("gen_ai.request.model", "test-model"), attribute.Int("gen_ai.usage.output_tokens", 300),
		attribute.String("gen_ai.input.messages", messages)))
	call.End()
	semconv.SetOutcome(root, semconv.OutcomeCompleted, 1)
	root.End()

	// Workflow 2: 2 MB of captured input on the root; a small model call below it.
	wctx2, root2 := tr.Start(ctx, "answer", trace.WithAttributes(append(semconv.Workflow("qa", "v1"),
		attribute.String("input.value", strings.Repeat("x", 2<<20)))...))
	_, call2 := tr.Start(wctx2, "chat test-model", trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("gen_ai.request.model", "test-model"), attribute.Int("gen_ai.usage.input_tokens", 1000),
		attribute.Int("gen_ai.usage.output_tokens", 100)))
	call2.End()
	semconv.SetOutcome(root2, semconv.OutcomeCompleted, 1)
	root2.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}

	var tok pricing.Tokenizer
	n, err := tok.Count("test-model", []string{prompt})
	if err != nil {
		t.Fatal(err)
	}
	// test-model: input $2.00, output $8.00 per million tokens.
	want1 := pipeline.Money(n*2000 + 300*8000)
	want2 := pipeline.Money(1000*2000 + 100*8000)
	id1 := pipeline.TraceID(root.SpanContext().TraceID()).String()
	id2 := pipeline.TraceID(root2.SpanContext().TraceID()).String()
	waitCost(t, st, "acme", id1, want1, 1)
	waitCost(t, st, "", id2, want2, 1)

	var input uint64
	var estimated uint8
	row := st.Conn().QueryRow(ctx, "SELECT input_tokens, usage_estimated FROM "+st.Database()+".line_items FINAL WHERE trace_id = ? AND span_id = ?",
		id1, call.SpanContext().SpanID().String())
	if err := row.Scan(&input, &estimated); err != nil {
		t.Fatal(err)
	}
	if input != n || estimated != 1 {
		t.Fatalf("line item: %d input tokens (estimated %d), want %d estimated", input, estimated, n)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		rows, err := st.Conn().Query(ctx, "SELECT issue FROM "+st.Database()+".span_issues FINAL WHERE trace_id = ?", id1)
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for rows.Next() {
			var s string
			rows.Scan(&s)
			all = append(all, s)
		}
		rows.Close()
		joined := strings.Join(all, "\n")
		if strings.Contains(joined, "usage estimated at ingest") && strings.Contains(joined, "captured content trimmed at ingest to fit a Kafka record: gen_ai.input.messages") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("span issues of the trimmed span: %q", all)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
