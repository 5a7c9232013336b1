package process

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

// zeroIDTraces is one resource with a big attribute and n spans with all-zero ids in two
// scopes, then one valid span in a second resource.
func zeroIDTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	rs.Resource().Attributes().PutStr("big", strings.Repeat("x", 20<<10))
	for s := 0; s < 2; s++ {
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("scope")
		for i := 0; i < n/2; i++ {
			sp := ss.Spans().AppendEmpty()
			sp.SetName("s")
			sp.SetStartTimestamp(pcommon.Timestamp(1_800_000_000_000_000_000))
			sp.SetEndTimestamp(pcommon.Timestamp(1_800_000_001_000_000_000))
		}
	}
	ok := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	ok.SetName("ok")
	ok.SetTraceID(pcommon.TraceID{1})
	ok.SetSpanID(pcommon.SpanID{1})
	ok.SetStartTimestamp(pcommon.Timestamp(1_800_000_000_000_000_000))
	ok.SetEndTimestamp(pcommon.Timestamp(1_800_000_001_000_000_000))
	return td
}

// A record's rejected spans make one dead letter holding each source resource and scope
// once: 2000 zero-id spans under a 20 KB resource copied the resource 2000 times (40 MB).
func TestDeadLetterCopiesEachResourceOnce(t *testing.T) {
	t.Parallel()
	c := NewCore(Config{}, "spans", nil)
	b, err := otlp.Encode(zeroIDTraces(2000))
	if err != nil {
		t.Fatal(err)
	}
	c.p.add(&kgo.Record{Topic: "spans", Value: b, Headers: []kgo.RecordHeader{{Key: kafka.HeaderContentType, Value: []byte(otlp.EncodingProto.ContentType())}}},
		time.Unix(1_800_000_000, 0))
	if len(c.p.produce) != 1 {
		t.Fatalf("%d records produced, want 1 dead letter", len(c.p.produce))
	}
	dl := c.p.produce[0]
	td, err := otlp.Decode(dl.Value, otlp.EncodingProto)
	if err != nil {
		t.Fatal(err)
	}
	if n := td.ResourceSpans().Len(); n != 1 {
		t.Fatalf("dead letter has %d resources, want 1", n)
	}
	rs := td.ResourceSpans().At(0)
	if v, _ := rs.Resource().Attributes().Get("service.name"); v.Str() != "svc" || rs.ScopeSpans().Len() != 2 ||
		rs.ScopeSpans().At(0).Spans().Len() != 1000 || rs.ScopeSpans().At(1).Spans().Len() != 1000 || td.SpanCount() != 2000 {
		t.Fatalf("dead letter: %d scopes, %d spans", rs.ScopeSpans().Len(), td.SpanCount())
	}
	if len(dl.Value) > len(b) {
		t.Errorf("dead letter is %d bytes, more than the %d-byte record", len(dl.Value), len(b))
	}
	var reason string
	for _, h := range dl.Headers {
		if h.Key == kafka.HeaderReason {
			reason = string(h.Value)
		}
	}
	if got := strings.Count(reason, "all-zero trace id"); got != 10 || !strings.HasSuffix(reason, "; and 1990 more rejected spans") {
		t.Errorf("reason %q", reason)
	}
	if got := c.Stats(); got.OpenSpans != 1 {
		t.Errorf("%d spans open, want the valid 1", got.OpenSpans)
	}
}

// Re-keying a Collector record rejects what ingest rejects: spans with an all-zero trace
// or span id go to one dead letter with the reasons, not onto the spans topic under the
// zero trace id; the valid span is re-keyed.
func TestRekeyDeadLettersZeroIDSpans(t *testing.T) {
	t.Parallel()
	c := NewCore(Config{}, "spans", nil)
	td := zeroIDTraces(4)
	noSpanID := td.ResourceSpans().At(1).ScopeSpans().At(0).Spans().AppendEmpty()
	noSpanID.SetName("no-span-id")
	noSpanID.SetTraceID(pcommon.TraceID{2})
	b, err := otlp.Encode(td)
	if err != nil {
		t.Fatal(err)
	}
	c.p.add(&kgo.Record{Topic: "otlp_spans", Value: b, Headers: []kgo.RecordHeader{{Key: kafka.HeaderContentType, Value: []byte(otlp.EncodingProto.ContentType())}}},
		time.Unix(1_800_000_000, 0))
	var dead, spans []*kgo.Record
	for _, r := range c.p.produce {
		switch r.Topic {
		case c.p.kcfg.DeadLetterTopic:
			dead = append(dead, r)
		case "spans":
			spans = append(spans, r)
		default:
			t.Errorf("record for topic %q", r.Topic)
		}
	}
	if len(dead) != 1 || len(spans) != 1 {
		t.Fatalf("%d dead letters, %d span records; want 1 and 1", len(dead), len(spans))
	}
	if want := "01000000000000000000000000000000"; string(spans[0].Key) != want {
		t.Errorf("re-keyed record key %s, want %s", spans[0].Key, want)
	}
	got, err := otlp.Decode(dead[0].Value, otlp.EncodingProto)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceSpans().Len() != 2 || got.SpanCount() != 5 {
		t.Errorf("dead letter: %d resources, %d spans; want 2 and 5", got.ResourceSpans().Len(), got.SpanCount())
	}
	var reason string
	for _, h := range dead[0].Headers {
		if h.Key == kafka.HeaderReason {
			reason = string(h.Value)
		}
	}
	if strings.Count(reason, "re-key: span \"s\": all-zero trace id") != 4 || !strings.Contains(reason, "re-key: span \"no-span-id\" of trace 02000000000000000000000000000000: all-zero span id") {
		t.Errorf("reason %q", reason)
	}
}
