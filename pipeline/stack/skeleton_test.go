package stack_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/semconv"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
)

const skeletonBook = `
version: skeleton-1
models:
  - {provider: openai, model: test-model, input: "2.00", output: "8.00", cache_read: "0.50"}
tools:
  - {name: web_search, per_call: "0.01"}
`

// testConfig returns a config on the given brokers and store, with unique topics and
// group, ephemeral listen ports and a short quiet period.
func testConfig(t *testing.T, brokers []string, st *store.Store) config.Config {
	t.Helper()
	cfg := testenv.Config(t, brokers, st)
	cfg.Process.Stitch.QuietPeriod = 200 * time.Millisecond
	cfg.Process.FlushInterval = 100 * time.Millisecond
	book := filepath.Join(t.TempDir(), "book.yaml")
	if err := os.WriteFile(book, []byte(skeletonBook), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Process.PriceBook = book
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startStack(t *testing.T, cfg config.Config) *stack.Stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := stack.New(ctx, cfg, stack.Roles{Ingest: true, Process: true}, nil, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stack run: %v", err)
		}
	})
	return s
}

// emitSkeleton exports a 3-span workflow (root, one model call, one tool call) through
// the official OTel Go SDK and returns its trace id.
func emitSkeleton(t *testing.T, exp sdktrace.SpanExporter) pipeline.TraceID {
	t.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer("skeleton")
	ctx, root := tr.Start(context.Background(), "answer question", trace.WithAttributes(
		append(semconv.Workflow("qa", "v1"), semconv.Labels("acme", "search", "answers")...)...))
	_, call := tr.Start(ctx, "chat test-model", trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("gen_ai.request.model", "test-model"),
		attribute.Int("gen_ai.usage.input_tokens", 1200),
		attribute.Int("gen_ai.usage.cache_read.input_tokens", 200),
		attribute.Int("gen_ai.usage.output_tokens", 300),
	))
	call.End()
	_, tool := tr.Start(ctx, "execute_tool web_search", trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "execute_tool"),
		attribute.String("gen_ai.tool.name", "web_search"),
	))
	tool.End()
	semconv.SetOutcome(root, semconv.OutcomeCompleted, 1)
	root.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatalf("export: %v", err)
	}
	return pipeline.TraceID(root.SpanContext().TraceID())
}

// waitCost polls ClickHouse until the workflow's cost equals want or the deadline passes.
func waitCost(t *testing.T, st *store.Store, tenant, workflowID string, want pipeline.Money, lines uint64) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var got pipeline.Money
	var n uint64
	var err error
	for time.Now().Before(deadline) {
		got, n, err = st.WorkflowCost(context.Background(), tenant, workflowID)
		if err == nil && got == want && n == lines {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("workflow %s cost = %s over %d lines (err %v), want %s over %d", workflowID, got, n, err, want, lines)
}

// The walking skeleton: OTel SDK -> OTLP (gRPC and HTTP) -> ingest -> Kafka -> process ->
// ClickHouse, and the workflow's cost read back exactly. Runs on kfake and real Kafka.
func TestWalkingSkeleton(t *testing.T) {
	for _, k := range testenv.AllKafka(4) {
		t.Run(k.Name, func(t *testing.T) {
			st := testenv.ClickHouse(t)
			cfg := testConfig(t, k.Addrs(t), st)
			s := startStack(t, cfg)
			ctx := context.Background()

			// chat: (1200-200)*2.00 + 200*0.50 + 300*8.00 = 4500 $/M tokens -> $0.0045
			// tool: web_search $0.01 per call. Total $0.0145 = 14,500,000 nano-dollars.
			const want = pipeline.Money(14_500_000)

			grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure())
			if err != nil {
				t.Fatal(err)
			}
			id := emitSkeleton(t, grpcExp)
			waitCost(t, st, "acme", id.String(), want, 2)

			httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.Receiver.HTTPAddr()), otlptracehttp.WithInsecure())
			if err != nil {
				t.Fatal(err)
			}
			id2 := emitSkeleton(t, httpExp)
			waitCost(t, st, "acme", id2.String(), want, 2)

			ue, err := st.UnitEconomics(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "acme")
			if err != nil {
				t.Fatal(err)
			}
			wantUE := store.UnitEconomics{Workflow: "qa", Workflows: 2, Completed: 2, ValidatedOutputs: 2, Cost: 2 * want}
			if len(ue) != 1 || ue[0] != wantUE {
				t.Fatalf("unit economics = %+v, want %+v", ue, wantUE)
			}
		})
	}
}
