package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/internal/ratelog"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

// Record headers unitcost writes and reads.
const (
	HeaderTenant      = "unitcost.tenant"
	HeaderContentType = "content-type"
	HeaderReason      = "unitcost.dlq.reason"
	HeaderSource      = "unitcost.dlq.source" // topic/partition@offset
	// HeaderOrigin marks a record kafka.Bound wrote (ingest, process re-keying a
	// Collector record, loadgen): Bound removed any reserved attribute a client set, so
	// process applies the ones on its spans (semconv.Reserved). Value OriginUnitcost.
	HeaderOrigin   = "unitcost.origin"
	OriginUnitcost = "unitcost"
)

// ProducerConfig configures ingest's producer.
type ProducerConfig struct {
	// Topic receives the records (kafka.spans_topic).
	Topic string
	// DeadLetterTopic receives spans that cannot be sent even alone and trimmed.
	DeadLetterTopic string
	// MaxRecordBytes caps one record (see RecordLimit).
	MaxRecordBytes int
	// Timeout bounds how long Accept waits for Kafka's acknowledgement before answering
	// backpressure. Default 5s: well inside the OTel SDKs' 10 s export timeout, leaving
	// the client time to retry.
	Timeout time.Duration
	// Estimate, when set, counts the tokens of a span about to be trimmed (see records).
	Estimate Estimator
}

// Producer writes OTLP traces to the spans topic, one record per trace (split further
// when a trace exceeds MaxRecordBytes), keyed by trace id so one trace lands on one
// partition. It implements otlp.Sink.
//
// Delivery: Accept returns nil only once Kafka acknowledged every record of the request
// (acks=all, idempotent producer), so an acknowledged span is never lost. Any other outcome
// - Kafka unreachable, slow, the client's buffer full, a record failed - is
// otlp.ErrBackpressure: the client is told to retry (503 / UNAVAILABLE). The records of
// an unanswered request are produced with the producer's own context, not the request's,
// so they stay in franz-go's bounded buffer (kgo.MaxBufferedBytes) and are still
// delivered when Kafka returns: a retried request may then arrive twice, which is
// harmless because every row downstream is keyed by trace and span id (DESIGN.md,
// invariant 3).
type Producer struct {
	cl  *kgo.Client
	cfg ProducerConfig
	log *ratelog.Logger
	m   *producerMetrics

	life   context.Context
	cancel context.CancelFunc

	// down is set when a request timed out waiting for Kafka and cleared by the next
	// acknowledgement: while set, requests wait only a fifth of Timeout, so a client is
	// answered at once during an outage instead of holding connections open.
	down atomic.Bool
}

var _ otlp.Sink = (*Producer)(nil)

// NewProducer wraps a client, which the caller owns and closes (after Close). log and reg
// may be nil.
func NewProducer(cl *kgo.Client, cfg ProducerConfig, log *slog.Logger, reg prometheus.Registerer) *Producer {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxRecordBytes <= 0 {
		cfg.MaxRecordBytes = Defaults().MaxRecordBytes
	}
	life, cancel := context.WithCancel(context.Background())
	p := &Producer{cl: cl, cfg: cfg, log: ratelog.New(log, 5*time.Second), m: newProducerMetrics(reg, cl), life: life, cancel: cancel}
	return p
}

// Close ends the producer: records still unacknowledged fail (they were answered with
// backpressure, never acknowledged). Call Flush first to give them a chance. Idempotent.
func (p *Producer) Close() { p.cancel() }

// Down reports whether Kafka is known to be unreachable: the last request timed out and
// nothing was acknowledged since.
func (p *Producer) Down() bool { return p.down.Load() }

// Flush waits until every buffered record is acknowledged or ctx ends, and reports how
// many records were still buffered when it gave up.
func (p *Producer) Flush(ctx context.Context) (int64, error) {
	err := p.cl.Flush(ctx)
	return p.cl.BufferedProduceRecords(), err
}

// Accept splits td by trace id and produces it. It returns nil when every span is
// durably in Kafka, otlp.ErrBackpressure (naming the kind of failure) when Kafka did not
// acknowledge within the timeout or failed a record.
func (p *Producer) Accept(ctx context.Context, tenant string, td ptrace.Traces) (otlp.Result, error) {
	recs, res, err := p.records(ctx, td, tenant)
	if err != nil || len(recs) == 0 {
		return res, err
	}
	return res, p.await(ctx, recs)
}

// await produces recs and waits for Kafka's acknowledgement of every one, at most the
// timeout (a fifth of it while Kafka is known to be down). The records are produced with
// the producer's own context, so an answer given before Kafka acknowledged them (an
// error) does not withdraw them: they stay buffered and are delivered later.
func (p *Producer) await(ctx context.Context, recs []*kgo.Record) error {
	wait := p.cfg.Timeout
	if p.down.Load() {
		wait /= 5
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()

	var (
		pending  = int64(len(recs))
		done     = make(chan struct{})
		mu       sync.Mutex
		first    error
		answered atomic.Bool
	)
	cb := func(r *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
			if answered.Load() {
				// Its request was already answered 503: the client retries it; say so.
				p.m.abandoned.Inc()
				p.log.Log(slog.LevelWarn, "abandoned", "ingest: a record answered 503 earlier failed for good in the producer; its client was told to retry",
					"topic", r.Topic, "err", err)
			}
		} else {
			p.down.Store(false)
			if answered.Load() {
				p.m.late.Inc()
			}
		}
		if atomic.AddInt64(&pending, -1) == 0 {
			close(done)
		}
	}
	for _, r := range recs {
		// TryProduce never blocks: a full buffer fails the record at once with
		// ErrMaxBuffered, which answers backpressure.
		p.cl.TryProduce(p.life, r, cb)
	}
	select {
	case <-done:
		mu.Lock()
		err := first
		mu.Unlock()
		if err == nil {
			return nil
		}
		return p.fail(classify(err), len(recs), err)
	case <-timer.C:
		answered.Store(true)
		p.down.Store(true)
		return p.fail("timeout", len(recs), fmt.Errorf("kafka did not acknowledge within %s", wait))
	case <-ctx.Done():
		answered.Store(true)
		return p.fail("client_gone", len(recs), ctx.Err())
	}
}

// classify names a produce failure for the metric and the log (bounded values).
func classify(err error) string {
	switch {
	case errors.Is(err, kgo.ErrMaxBuffered):
		return "buffer_full"
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return "too_large"
	case errors.Is(err, context.Canceled):
		return "shutdown"
	}
	return "error"
}

func (p *Producer) fail(reason string, records int, err error) error {
	p.m.failures.WithLabelValues(reason).Inc()
	p.log.Log(slog.LevelWarn, "produce:"+reason, "ingest: kafka did not take a request; answered 503 / UNAVAILABLE (client retries)",
		"reason", reason, "records", records, "topic", p.cfg.Topic, "buffered_bytes", p.cl.BufferedProduceBytes(), "err", err)
	// The client learns only the kind of failure; the detail (broker addresses, errors)
	// stays in the log.
	return fmt.Errorf("%w (kafka: %s)", otlp.ErrBackpressure, reason)
}

// TraceRecords turns a payload into records for topic through Bound (without a
// dead-letter topic or an estimator): one per trace, keyed by trace id,
// protobuf-encoded, with the tenant header; a span too large is trimmed, a trace larger
// than maxBytes is split into several records of whole spans (same key, so same
// partition, in order); a span that cannot fit even trimmed fails it (ErrUnfit).
func TraceRecords(td ptrace.Traces, tenant, topic string, maxBytes int) ([]*kgo.Record, error) {
	out, err := Bound{Topic: topic, MaxRecordBytes: maxBytes}.Records(td, tenant)
	return out.Records, err
}

// traceRecords splits td by trace and by size into records; Bound made every span fit.
// take moves the spans out of td instead of copying them.
func traceRecords(td ptrace.Traces, tenant, topic string, maxBytes int, take bool) ([]*kgo.Record, error) {
	split := otlp.SplitByTrace
	if take {
		split = otlp.TakeByTrace
	}
	var recs []*kgo.Record
	for _, b := range split(td) {
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
			recs = append(recs, newRecord(topic, key, val, tenant))
		}
	}
	return recs, nil
}

func newRecord(topic string, key, val []byte, tenant string) *kgo.Record {
	r := &kgo.Record{Topic: topic, Key: key, Value: val, Headers: []kgo.RecordHeader{
		{Key: HeaderContentType, Value: []byte(otlp.EncodingProto.ContentType())},
		{Key: HeaderOrigin, Value: []byte(OriginUnitcost)},
	}}
	if tenant != "" {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: HeaderTenant, Value: []byte(tenant)})
	}
	return r
}

// splitBySize cuts one trace into chunks of whole spans under maxBytes each (a single
// span larger than maxBytes still gets a chunk of its own; see records for what happens
// to it).
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

type producerMetrics struct {
	failures     *prometheus.CounterVec
	late         prometheus.Counter
	abandoned    prometheus.Counter
	trimmed      prometheus.Counter
	deadLettered prometheus.Counter
}

func newProducerMetrics(reg prometheus.Registerer, cl *kgo.Client) *producerMetrics {
	m := &producerMetrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "ingest",
			Name: "kafka_failures_total", Help: "OTLP requests answered with backpressure (503 / UNAVAILABLE) because Kafka did not take them, by reason (timeout, buffer_full, too_large, error, client_gone, shutdown)."},
			[]string{"reason"}),
		late: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "ingest",
			Name: "kafka_late_records_total", Help: "Records Kafka acknowledged after their request had been answered with backpressure (the client's retry may duplicate them; downstream rows are idempotent)."}),
		abandoned: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "ingest",
			Name: "kafka_abandoned_records_total", Help: "Records that failed for good after their request had been answered with backpressure (never acknowledged; the client was told to retry)."}),
		trimmed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "ingest",
			Name: "spans_trimmed_total", Help: "Spans whose captured content was trimmed to fit a Kafka record (recorded on the span as an issue)."}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "ingest",
			Name: "spans_dead_lettered_total", Help: "Spans that did not fit a Kafka record even trimmed, dead-lettered as stubs with the reason."}),
	}
	if reg != nil {
		reg.MustRegister(m.failures, m.late, m.abandoned, m.trimmed, m.deadLettered,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "unitcost", Subsystem: "ingest",
				Name: "kafka_buffered_bytes", Help: "Bytes of records waiting for Kafka's acknowledgement."},
				func() float64 { return float64(cl.BufferedProduceBytes()) }))
	}
	return m
}
