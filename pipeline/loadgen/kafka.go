package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/ptrace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

// KafkaDelivery is an OTLP exporter client (go.opentelemetry.io/otel/exporters/otlp/otlptrace)
// that writes the SDK's spans straight to the spans topic, as ingest would (one record per
// trace, keyed by trace id) but with the disorder of a real network: records are held in
// a window and sent shuffled, and some are sent twice, the copy in a later window.
type KafkaDelivery struct {
	cl         *kgo.Client
	topic      string
	maxBytes   int
	window     int
	duplicates float64

	mu      sync.Mutex
	rng     *rand.Rand
	pending []*kgo.Record
	later   []*kgo.Record
	Sent    int // records produced, duplicates included
	Dups    int // duplicate records produced
}

// NewKafkaDelivery writes to topic through cl. window is how many records are shuffled
// together (<= 1: in order); duplicates is the probability a record is sent twice.
// maxRecordBytes <= 1 sends every span as a record of its own, so shuffling reorders the
// spans within a trace too.
func NewKafkaDelivery(cl *kgo.Client, topic string, maxRecordBytes, window int, duplicates float64, seed uint64) *KafkaDelivery {
	return &KafkaDelivery{cl: cl, topic: topic, maxBytes: maxRecordBytes, window: window, duplicates: duplicates,
		rng: rand.New(rand.NewPCG(seed, 7))}
}

// Start implements otlptrace.Client.
func (k *KafkaDelivery) Start(context.Context) error { return nil }

// Stop sends everything still held. It implements otlptrace.Client.
func (k *KafkaDelivery) Stop(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	recs := append(k.pending, k.later...)
	k.pending, k.later = nil, nil
	if err := k.produce(ctx, recs, true); err != nil {
		return err
	}
	// the duplicates scheduled by that last window go out last, not duplicated again
	later := k.later
	k.later = nil
	return k.produce(ctx, later, false)
}

// UploadTraces implements otlptrace.Client.
func (k *KafkaDelivery) UploadTraces(ctx context.Context, rs []*tracepb.ResourceSpans) error {
	b, err := proto.Marshal(&collectortrace.ExportTraceServiceRequest{ResourceSpans: rs})
	if err != nil {
		return fmt.Errorf("marshal spans: %w", err)
	}
	td, err := otlp.Decode(b, otlp.EncodingProto)
	if err != nil {
		return err
	}
	var recs []*kgo.Record
	if k.maxBytes <= 1 {
		recs, err = spanRecords(td, k.topic)
	} else {
		recs, err = kafka.TraceRecords(td, "", k.topic, k.maxBytes)
	}
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pending = append(k.pending, recs...)
	if len(k.pending) < k.window {
		return nil
	}
	out := append(k.pending, k.later...)
	k.pending, k.later = nil, nil
	return k.produce(ctx, out, true)
}

// produce shuffles recs, schedules duplicates for the next window (when dup), and sends.
func (k *KafkaDelivery) produce(ctx context.Context, recs []*kgo.Record, dup bool) error {
	if len(recs) == 0 {
		return nil
	}
	if k.window > 1 {
		k.rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	}
	for _, r := range recs {
		if dup && k.duplicates > 0 && k.rng.Float64() < k.duplicates {
			cp := *r
			cp.Headers = append([]kgo.RecordHeader(nil), r.Headers...)
			k.later = append(k.later, &cp)
			k.Dups++
		}
	}
	k.Sent += len(recs)
	if err := k.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce %d records to %s: %w", len(recs), k.topic, err)
	}
	return nil
}

// spanRecords is one record per span, keyed by its trace id, with its resource and scope
// (kafka.TraceRecords bounds records by size and takes no limit below a span's).
func spanRecords(td ptrace.Traces, topic string) ([]*kgo.Record, error) {
	var recs []*kgo.Record
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				one := ptrace.NewTraces()
				nrs := one.ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(nrs.Resource())
				nss := nrs.ScopeSpans().AppendEmpty()
				ss.Scope().CopyTo(nss.Scope())
				sp.CopyTo(nss.Spans().AppendEmpty())
				val, err := otlp.Encode(one)
				if err != nil {
					return nil, fmt.Errorf("encode span: %w", err)
				}
				recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(pipeline.TraceID(sp.TraceID()).String()), Value: val,
					Headers: []kgo.RecordHeader{{Key: kafka.HeaderContentType, Value: []byte(otlp.EncodingProto.ContentType())}}})
			}
		}
	}
	return recs, nil
}
