package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/semconv"
)

// A span too large for one record is estimated (when it reports no usage), trimmed to
// fit and marked; one that cannot fit even trimmed is dead-lettered as a stub with the
// reason and named in the partial-success result. Every record stays under the limit.
func TestOversizedSpansAreTrimmedOrDeadLettered(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kfake(t, 2)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const limit = 64 << 10
	estimated := 0
	p := kafka.NewProducer(cl, kafka.ProducerConfig{Topic: "spans", DeadLetterTopic: "dlq", MaxRecordBytes: limit, Timeout: 10 * time.Second,
		Estimate: func(_ pcommon.Map, sp ptrace.Span, _ string) (uint64, uint64, []string) {
			estimated++
			return 123, 0, nil
		}}, nil, nil)
	defer p.Close()

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty()
	prompt := ss.Spans().AppendEmpty()
	prompt.SetTraceID(pcommon.TraceID{1})
	prompt.SetSpanID(pcommon.SpanID{1})
	prompt.SetName("chat")
	prompt.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
	prompt.Attributes().PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+strings.Repeat("lorem ipsum ", 200_000)+`"}]}]`)
	wide := ss.Spans().AppendEmpty()
	wide.SetTraceID(pcommon.TraceID{1})
	wide.SetSpanID(pcommon.SpanID{2})
	wide.SetName("wide")
	for i := 0; i < 5000; i++ {
		wide.Attributes().PutStr(fmt.Sprintf("attr.%d", i), strings.Repeat("v", 100))
	}
	small := ss.Spans().AppendEmpty()
	small.SetTraceID(pcommon.TraceID{1})
	small.SetSpanID(pcommon.SpanID{3})
	small.SetName("small")

	res, err := p.Accept(context.Background(), "acme", td)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected != 1 || !strings.Contains(res.Message, `span "wide"`) || !strings.Contains(res.Message, "record limit") {
		t.Fatalf("result %+v", res)
	}
	if estimated != 2 {
		t.Fatalf("estimator ran %d times, want 2 (both oversized spans)", estimated)
	}

	consume := func(topic string) []*kgo.Record {
		c, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var out []*kgo.Record
		for {
			fs := c.PollFetches(ctx)
			if ctx.Err() != nil {
				return out
			}
			out = append(out, fs.Records()...)
		}
	}
	spans := map[string]ptrace.Span{}
	for _, r := range consume("spans") {
		if len(r.Value) > limit {
			t.Errorf("record of %d bytes above the %d limit", len(r.Value), limit)
		}
		got, err := otlp.Decode(r.Value, otlp.EncodingProto)
		if err != nil {
			t.Fatal(err)
		}
		sl := got.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < sl.Len(); i++ {
			spans[sl.At(i).Name()] = sl.At(i)
		}
	}
	if len(spans) != 2 || spans["small"].Name() != "small" {
		t.Fatalf("spans topic holds %v", spans)
	}
	chat := spans["chat"].Attributes()
	in, _ := chat.Get("gen_ai.usage.input_tokens")
	est, _ := chat.Get(semconv.UsageEstimated)
	issues, _ := chat.Get(semconv.IngestIssues)
	msgs, _ := chat.Get("gen_ai.input.messages")
	if in.Int() != 123 || !est.Bool() || issues.Slice().Len() != 2 || !strings.Contains(issues.Slice().At(1).Str(), "gen_ai.input.messages: 2400") ||
		!strings.Contains(msgs.Str(), "[trimmed by unitcost ingest: 4096 of") {
		t.Fatalf("trimmed span: input %v estimated %v issues %v content %.80q", in.AsString(), est.AsString(), issues.AsString(), msgs.Str())
	}
	dl := consume("dlq")
	if len(dl) != 1 {
		t.Fatalf("%d dead letters", len(dl))
	}
	reason := ""
	for _, h := range dl[0].Headers {
		if h.Key == kafka.HeaderReason {
			reason = string(h.Value)
		}
	}
	stub, err := otlp.Decode(dl[0].Value, otlp.EncodingProto)
	if err != nil || !strings.Contains(reason, `span "wide"`) || stub.SpanCount() != 1 || stub.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID() != (pcommon.SpanID{2}) {
		t.Fatalf("dead letter: reason %q, %v %v", reason, stub.SpanCount(), err)
	}
}

// Every record Bound writes carries the origin header, on both of its paths, and a
// client's value of a reserved attribute is gone from its spans, replaced by unitcost's
// issue naming it and the value it had.
func TestBoundRemovesClientSetReservedAttributes(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1, 64 << 10} {
		td := ptrace.NewTraces()
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1})
		sp.SetSpanID(pcommon.SpanID{2})
		sp.Attributes().PutStr("app.x", "kept")
		sp.Attributes().PutBool(semconv.UsageEstimated, false)
		recs, err := kafka.Bound{Topic: "spans", MaxRecordBytes: limit, Stage: "test"}.Records(td, "acme")
		if err != nil || len(recs.Records) != 1 {
			t.Fatalf("limit %d: %d records, %v", limit, len(recs.Records), err)
		}
		origin := ""
		for _, h := range recs.Records[0].Headers {
			if h.Key == kafka.HeaderOrigin {
				origin = string(h.Value)
			}
		}
		got, err := otlp.Decode(recs.Records[0].Value, otlp.EncodingProto)
		if err != nil {
			t.Fatal(err)
		}
		a := got.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
		_, est := a.Get(semconv.UsageEstimated)
		issues, _ := a.Get(semconv.IngestIssues)
		kept, _ := a.Get("app.x")
		const want = `["attribute unitcost.usage.estimated set by the client removed at test: it is reserved for unitcost's own marks (value false)"]`
		if origin != kafka.OriginUnitcost || est || issues.AsString() != want || kept.Str() != "kept" || a.Len() != 2 {
			t.Errorf("limit %d: origin %q, estimated present %v, issues %s, app.x %q, %d attributes", limit, origin, est, issues.AsString(), kept.Str(), a.Len())
		}
	}
}
