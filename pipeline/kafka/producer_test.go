package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

func TestTraceRecordsKeyAndSplitBySize(t *testing.T) {
	t.Parallel()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := 0; i < 50; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{byte(1 + i%2)})
		sp.SetSpanID(pcommon.SpanID{byte(i), 1})
		sp.Attributes().PutStr("gen_ai.input.messages", strings.Repeat("x", 1000))
	}
	recs, err := kafka.TraceRecords(td, "acme", "spans", 8<<10)
	if err != nil {
		t.Fatal(err)
	}
	spans := map[string]int{}
	for _, r := range recs {
		if len(r.Value) > 8<<10 {
			t.Errorf("record of %d bytes above the 8 KiB limit", len(r.Value))
		}
		got, err := otlp.Decode(r.Value, otlp.EncodingProto)
		if err != nil {
			t.Fatal(err)
		}
		spans[string(r.Key)] += got.SpanCount()
		tenant := ""
		for _, h := range r.Headers {
			if h.Key == kafka.HeaderTenant {
				tenant = string(h.Value)
			}
		}
		if tenant != "acme" {
			t.Errorf("tenant header %q", tenant)
		}
		first := got.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
		if string(r.Key) != first.String() {
			t.Errorf("key %s holds trace %s", r.Key, first)
		}
	}
	if len(recs) < 6 || len(spans) != 2 || spans["01000000000000000000000000000000"] != 25 || spans["02000000000000000000000000000000"] != 25 {
		t.Fatalf("%d records, spans per key %v", len(recs), spans)
	}
}

func TestConfigValidateNamesEveryField(t *testing.T) {
	t.Parallel()
	c := kafka.Defaults()
	c.Brokers = []string{"nohost"}
	c.CollectorTopics = []string{c.SpansTopic}
	c.SASL.Mechanism = "PLAIN"
	c.Partitions = 0
	err := c.Validate()
	for _, want := range []string{"needs a port", "kafka.collector_topics", "kafka.sasl.username", "kafka.partitions"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

// With Kafka unreachable every request is answered backpressure, never a plain error:
// after the timeout while records are buffered, at once when the buffer is full.
func TestAcceptWithoutKafkaIsBackpressure(t *testing.T) {
	t.Parallel()
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"), kgo.MaxBufferedRecords(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	p := kafka.NewProducer(cl, kafka.ProducerConfig{Topic: "spans", Timeout: 200 * time.Millisecond}, nil, nil)
	defer p.Close()
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1})
	sp.SetSpanID(pcommon.SpanID{1})
	_, err = p.Accept(context.Background(), "acme", td)
	if !errors.Is(err, otlp.ErrBackpressure) || !strings.Contains(err.Error(), "timeout") || !p.Down() {
		t.Fatalf("first request: %v (down %v)", err, p.Down())
	}
	_, err = p.Accept(context.Background(), "acme", td)
	if !errors.Is(err, otlp.ErrBackpressure) || !strings.Contains(err.Error(), "buffer_full") {
		t.Fatalf("second request with the buffer full: %v", err)
	}
	if strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("the answer names the broker: %v", err)
	}
}

// A limit of 1 (below what kafka.max_record_bytes accepts) asks for one span per record,
// untrimmed: the load generator's shuffled delivery.
func TestTraceRecordsOneSpanPerRecord(t *testing.T) {
	t.Parallel()
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := 0; i < 3; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1})
		sp.SetSpanID(pcommon.SpanID{byte(i + 1)})
		sp.Attributes().PutStr("gen_ai.input.messages", strings.Repeat("x", 10_000))
	}
	recs, err := kafka.TraceRecords(td, "", "spans", 1)
	if err != nil || len(recs) != 3 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	for _, r := range recs {
		if len(r.Value) < 10_000 {
			t.Errorf("record of %d bytes: trimmed", len(r.Value))
		}
	}
}
