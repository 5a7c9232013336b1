package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

// Record headers unitcost writes and reads.
const (
	HeaderTenant      = "unitcost.tenant"
	HeaderContentType = "content-type"
	HeaderReason      = "unitcost.dlq.reason"
	HeaderSource      = "unitcost.dlq.source" // topic/partition@offset
)

// Producer writes OTLP traces to the spans topic, one record per trace (split further
// when a trace exceeds MaxRecordBytes), keyed by trace id so one trace lands on one
// partition. It implements otlp.Sink.
type Producer struct {
	cl  *kgo.Client
	cfg Config
}

var _ otlp.Sink = (*Producer)(nil)

// NewProducer wraps a client. The client is owned by the caller.
func NewProducer(cl *kgo.Client, cfg Config) *Producer { return &Producer{cl: cl, cfg: cfg} }

// ProduceTimeout bounds how long Accept waits for Kafka before answering the client with
// backpressure (503 / UNAVAILABLE and a retry hint) instead of holding the request.
const ProduceTimeout = 10 * time.Second

// Accept splits td by trace id and produces it synchronously: when it returns nil, every
// span is durably in Kafka (acks=all, idempotent producer). When Kafka cannot take the
// records within ProduceTimeout it returns otlp.ErrBackpressure.
func (p *Producer) Accept(ctx context.Context, tenant string, td ptrace.Traces) error {
	ctx, cancel := context.WithTimeout(ctx, ProduceTimeout)
	defer cancel()
	recs, err := TraceRecords(td, tenant, p.cfg.SpansTopic, p.cfg.MaxRecordBytes)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		if errors.Is(err, kgo.ErrMaxBuffered) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %v", otlp.ErrBackpressure, err)
		}
		return fmt.Errorf("produce %d records to %s: %w", len(recs), p.cfg.SpansTopic, err)
	}
	return nil
}

// TraceRecords turns a payload into records for topic: one per trace, keyed by trace id,
// protobuf-encoded, with the tenant header. A trace larger than maxBytes is split into
// several records of whole spans (same key, so same partition, in order).
func TraceRecords(td ptrace.Traces, tenant, topic string, maxBytes int) ([]*kgo.Record, error) {
	var recs []*kgo.Record
	for _, b := range otlp.SplitByTrace(td) {
		key := []byte(pipeline.TraceID(b.TraceID).String())
		parts := []ptrace.Traces{b.Traces}
		var sizer ptrace.ProtoMarshaler
		if sizer.TracesSize(b.Traces) > maxBytes {
			parts = splitBySize(b.Traces, maxBytes)
		}
		for _, part := range parts {
			val, err := otlp.Encode(part)
			if err != nil {
				return nil, fmt.Errorf("encode trace %s: %w", key, err)
			}
			r := &kgo.Record{Topic: topic, Key: key, Value: val, Headers: []kgo.RecordHeader{
				{Key: HeaderContentType, Value: []byte(otlp.EncodingProto.ContentType())},
			}}
			if tenant != "" {
				r.Headers = append(r.Headers, kgo.RecordHeader{Key: HeaderTenant, Value: []byte(tenant)})
			}
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// splitBySize cuts one trace into chunks of whole spans under maxBytes each (a single
// span larger than maxBytes still gets a chunk of its own; the broker decides).
func splitBySize(td ptrace.Traces, maxBytes int) []ptrace.Traces {
	var (
		out   []ptrace.Traces
		cur   ptrace.Traces
		size  int
		sizer ptrace.ProtoMarshaler
	)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				sp := ss.Spans().At(k)
				n := sizer.SpanSize(sp) + 16
				if size > 0 && size+n > maxBytes {
					out = append(out, cur)
					size = 0
				}
				if size == 0 {
					cur = ptrace.NewTraces()
					size = envelopeSize(rs, ss)
				}
				nrs := cur.ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(nrs.Resource())
				nss := nrs.ScopeSpans().AppendEmpty()
				ss.Scope().CopyTo(nss.Scope())
				sp.CopyTo(nss.Spans().AppendEmpty())
				size += n
			}
		}
	}
	if size > 0 {
		out = append(out, cur)
	}
	return out
}

// envelopeSize is the encoded size of a resource and scope holding no spans.
func envelopeSize(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans) int {
	td := ptrace.NewTraces()
	nrs := td.ResourceSpans().AppendEmpty()
	rs.Resource().CopyTo(nrs.Resource())
	ss.Scope().CopyTo(nrs.ScopeSpans().AppendEmpty().Scope())
	var sizer ptrace.ProtoMarshaler
	return sizer.TracesSize(td)
}
