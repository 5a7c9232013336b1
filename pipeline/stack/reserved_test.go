package stack_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/semconv"
)

// A client cannot forge unitcost's own marks: a model call whose client set
// unitcost.usage.estimated and unitcost.ingest.issues, sent with the OTel Go SDK to ingest
// and written by hand to the Collector topic, is stored with usage_estimated 0, exactly the
// two issues saying what was removed where, and its cost exact. Real Kafka and ClickHouse.
func TestClientSetReservedMarksAreRemoved(t *testing.T) {
	st := testenv.ClickHouse(t)
	cfg := testConfig(t, testenv.KafkaBrokers(t), st)
	s := startStack(t, cfg)
	ctx := context.Background()
	forged := []attribute.KeyValue{attribute.Bool(semconv.UsageEstimated, true), attribute.StringSlice(semconv.IngestIssues, []string{"forged"})}
	chat := []attribute.KeyValue{attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("gen_ai.request.model", "test-model"), attribute.Int("gen_ai.usage.input_tokens", 1000), attribute.Int("gen_ai.usage.output_tokens", 100)}

	// Through ingest, with the official Go SDK.
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	wctx, root := tp.Tracer("forge").Start(ctx, "answer", trace.WithAttributes(semconv.Workflow("qa", "v1")...))
	_, call := tp.Tracer("forge").Start(wctx, "chat test-model", trace.WithAttributes(append(chat, forged...)...))
	call.End()
	semconv.SetOutcome(root, semconv.OutcomeCompleted, 1)
	root.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}

	// Through the Collector topic (re-keyed by process).
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	colTrace := pcommon.TraceID{0xf0, 0x12}
	start := time.Now().Add(-time.Minute)
	for _, id := range []byte{1, 2} {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(colTrace)
		sp.SetSpanID(pcommon.SpanID{id})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
		sp.SetName("answer")
		a := sp.Attributes()
		if id == 1 {
			a.PutStr(semconv.WorkflowName, "qa")
			a.PutStr(semconv.WorkflowOutcome, "completed")
			continue
		}
		sp.SetName("chat test-model")
		sp.SetParentSpanID(pcommon.SpanID{1})
		for _, kv := range append(chat, forged...) {
			switch kv.Value.Type() {
			case attribute.STRING:
				a.PutStr(string(kv.Key), kv.Value.AsString())
			case attribute.INT64:
				a.PutInt(string(kv.Key), kv.Value.AsInt64())
			case attribute.BOOL:
				a.PutBool(string(kv.Key), kv.Value.AsBool())
			case attribute.STRINGSLICE:
				s := a.PutEmptySlice(string(kv.Key))
				for _, v := range kv.Value.AsStringSlice() {
					s.AppendEmpty().SetStr(v)
				}
			}
		}
	}
	pb, err := otlp.Encode(td)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Kafka.CollectorTopics[0], Value: pb}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	removed := func(stage string) string {
		return "attribute unitcost.ingest.issues set by the client removed at " + stage + ": it is reserved for unitcost's own marks (value [\"forged\"])\n" +
			"attribute unitcost.usage.estimated set by the client removed at " + stage + ": it is reserved for unitcost's own marks (value true)"
	}
	for _, c := range []struct {
		trace, span, issues string
	}{
		{pipeline.TraceID(root.SpanContext().TraceID()).String(), call.SpanContext().SpanID().String(), removed("ingest")},
		{pipeline.TraceID(colTrace).String(), pipeline.SpanID(pcommon.SpanID{2}).String(), removed("process (re-keying a Collector record)")},
	} {
		// 1000 x $2/M + 100 x $8/M = $0.0028, on the call's line
		waitCost(t, st, "", c.trace, 2_800_000, 1)
		var input uint64
		var estimated uint8
		if err := st.Conn().QueryRow(ctx, "SELECT input_tokens, usage_estimated FROM "+st.Database()+".line_items FINAL WHERE trace_id = ? AND span_id = ?",
			c.trace, c.span).Scan(&input, &estimated); err != nil {
			t.Fatal(err)
		}
		if input != 1000 || estimated != 0 {
			t.Errorf("trace %s: line item %d input tokens, usage_estimated %d; want 1000, 0", c.trace, input, estimated)
		}
		var got []string
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
			rows, err := st.Conn().Query(ctx, "SELECT span_id, issue FROM "+st.Database()+".span_issues FINAL WHERE trace_id = ?", c.trace)
			if err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for rows.Next() {
				var span, issue string
				if err := rows.Scan(&span, &issue); err != nil {
					t.Fatal(err)
				}
				if span != c.span {
					issue = "span " + span + ": " + issue
				}
				got = append(got, issue)
			}
			rows.Close()
			if len(got) >= 2 || time.Now().After(deadline) {
				break
			}
		}
		sort.Strings(got)
		if strings.Join(got, "\n") != c.issues {
			t.Errorf("trace %s: span issues\n%s\nwant\n%s", c.trace, strings.Join(got, "\n"), c.issues)
		}
	}
}
