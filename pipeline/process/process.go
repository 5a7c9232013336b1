// Package process is the `unitcost process` stage: a Kafka consumer-group member that
// decodes OTLP records, normalises spans, stitches them into workflows per partition,
// prices closed workflows and writes them to ClickHouse, then commits offsets.
//
// Delivery: at-least-once from Kafka, idempotent into ClickHouse. The order in flush is
// the guarantee: (1) produce dead letters and re-keyed records, (2) write closed
// workflows and wait for ClickHouse's acknowledgement, (3) commit, per partition, the
// lowest offset still held in memory (or the next offset when nothing is held). A crash
// anywhere re-reads from the last commit and rewrites identical rows, which replace
// themselves (ReplacingMergeTree keys), so no figure double counts and no span is lost.
package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

// Writer stores priced line items and workflow facts; it returns once they are durable.
// The processor calls it from up to Config.WriteJobs goroutines at once.
type Writer interface {
	Write(ctx context.Context, b pipeline.Batch) error
}

// Config tunes the stage.
type Config struct {
	Stitch stitch.Config `yaml:"stitch" desc:"when traces close into workflows and how many stay open"`
	// FlushInterval is how often closed workflows are written and offsets committed.
	// Default 250ms (the freshness target is 2s from a workflow's close).
	FlushInterval time.Duration `yaml:"flush_interval" desc:"how often closed workflows are written and offsets committed (default 250ms)"`
	// PollRecords caps records taken per poll. Default 10,000.
	PollRecords int `yaml:"poll_records" desc:"records taken per Kafka poll at most (default 10000)"`
	// PriceBook is a price-book YAML file; "" uses the built-in book.
	PriceBook string `yaml:"price_book" desc:"price-book YAML file (default: the built-in book)"`
	// Limits bound absurd attribute values (see normalize.Limits).
	Limits normalize.Limits `yaml:"limits" desc:"bounds on absurd attribute values"`
	// Outcome infers outcomes when unitcost.workflow.outcome is absent.
	Outcome normalize.Outcomes `yaml:"outcome" desc:"how a workflow's outcome is inferred when unitcost.workflow.outcome is absent"`
	// Labels maps span or resource attributes to label keys.
	Labels map[string]string `yaml:"labels" desc:"span or resource attributes stored as labels, attribute=label_key (e.g. app.customer_tier=tier); unitcost.label.<key> attributes are always labels (default none)"`
	// MaxSpanDuration is the longest wall time a span may claim; a longer span's compute
	// line is quarantined (unpriced, with the reason). Default 720h.
	MaxSpanDuration time.Duration `yaml:"max_span_duration" desc:"longest wall time a span may claim; a longer span's compute line is kept unpriced as quarantined (default 720h)"`
	// WriteJobs is the most ClickHouse writes in flight at once beside consumption.
	// Default 1; 2 lets ClickHouse write one chunk while the next is priced and sent.
	WriteJobs int `yaml:"write_jobs" desc:"ClickHouse writes in flight at once while consumption goes on, each a chunk of up to 20,000 line items (and its transient memory); 2 overlaps one insert with the next where ClickHouse has cores to spare (default 1)"`
	// MemoryLimitMiB is the Go runtime's soft memory limit for `unitcost process`
	// (GOMEMLIMIT, which wins when set). Without one the runtime lets the heap grow to twice
	// what is live, so RSS would be about twice the spans held. 0 derives it from
	// stitch.max_spans; -1 sets none.
	MemoryLimitMiB int `yaml:"memory_limit_mib" desc:"soft memory limit of the Go runtime for unitcost process, in MiB (the GOMEMLIMIT variable wins when set); 0 derives it from stitch.max_spans: 1 KiB per span + 512 MiB, 1,489 MiB at the default; -1 none (default 0)"`
	// TrustUnstampedBefore trusts the reserved marks on spans-topic records without the
	// kafka.HeaderOrigin header whose Kafka timestamp is before it: records an ingest older
	// than that header wrote (see README, upgrading). Zero: none.
	TrustUnstampedBefore time.Time `yaml:"trust_unstamped_before" desc:"upgrade window: records on the spans topic without the unitcost.origin header (written by an ingest older than that header) whose Kafka timestamp is before this RFC 3339 time keep their unitcost.usage.estimated and unitcost.ingest.issues marks; set it to when the last old ingest stopped, never later (default none: such marks are ignored with an issue)"`
}

// Validate reports every bad field.
func (c Config) Validate() error {
	var errs []error
	if c.FlushInterval < 0 {
		errs = append(errs, errors.New("process.flush_interval: must not be negative"))
	}
	if c.PollRecords < 0 {
		errs = append(errs, errors.New("process.poll_records: must not be negative"))
	}
	if c.WriteJobs < 0 || c.WriteJobs > 16 {
		errs = append(errs, errors.New("process.write_jobs: must be between 1 and 16 (0: the default, 1)"))
	}
	if c.MemoryLimitMiB < -1 {
		errs = append(errs, errors.New("process.memory_limit_mib: must be -1 (none), 0 (derived) or a size in MiB"))
	}
	if c.MaxSpanDuration < 0 {
		errs = append(errs, errors.New("process.max_span_duration: must not be negative"))
	}
	if c.TrustUnstampedBefore.After(time.Now()) {
		errs = append(errs, errors.New("process.trust_unstamped_before: must not be in the future (unstamped records written until then, e.g. by a Collector, would be trusted)"))
	}
	s := c.Stitch
	if s.QuietPeriod < 0 || s.MaxOpen < 0 || s.MaxTraces < 0 || s.MaxSpans < 0 || s.ClosedMemory < 0 {
		errs = append(errs, errors.New("process.stitch: durations and bounds must not be negative"))
	}
	if s.MaxOpen > 0 && s.QuietPeriod > s.MaxOpen {
		errs = append(errs, errors.New("process.stitch.quiet_period: must not exceed max_open"))
	}
	errs = append(errs, c.Outcome.Validate())
	return errors.Join(errs...)
}

// MemoryLimit is the soft memory limit, in bytes, that MemoryLimitMiB asks for (derived
// from stitch.max_spans when 0), or -1 for none.
func (c Config) MemoryLimit() int64 {
	switch {
	case c.MemoryLimitMiB < 0:
		return -1
	case c.MemoryLimitMiB > 0:
		return int64(c.MemoryLimitMiB) << 20
	}
	return int64(c.Stitch.WithDefaults().MaxSpans)<<10 + 512<<20
}

// Processor is one member of the process consumer group.
type Processor struct {
	cfg  Config
	kcfg kafka.Config
	cl   *kgo.Client
	w    Writer
	book *pricing.Books
	norm normalize.Normalizer
	// wire is the protobuf hot path (under mu; nil: pdata only). It lends its spans: each
	// is valid until the next record, which is enough, as the stitcher keeps a copy.
	wire    *normalize.Decoder
	tenants map[string]string // tenantOf; under mu
	tok     pricing.Tokenizer
	log     *slog.Logger
	m       *Metrics

	mu      sync.Mutex
	st      *stitch.Stitcher
	handled map[stitch.Partition]int64 // next offset after the last record fully taken in
	commits map[stitch.Partition]int64 // last committed offset
	// unwritten holds closed traces not yet durably written (all or some of their spans):
	// evicted at the memory bound, due, or whose write failed. Their offsets hold the commit
	// back (commitLocked) until their last rows are written; dropping them from the
	// watermark earlier would commit past spans that are in no table.
	unwritten []*stitch.Trace
	pending   map[*stitch.Trace]*pending // how far each closed trace not yet written got
	// held counts the spans of closed traces not yet released (unwritten, or in the job in
	// flight): with the stitcher's open spans they stay within max_spans (boundLocked).
	held     int
	peakHeld int           // the most spans held (open + closed not yet written) after a record
	produce  []*kgo.Record // dead letters and re-keyed records, to produce
	// rekey turns a Collector record into spans-topic records under the spans topic's
	// limit (trimmed, split, dead-lettered: the same path as ingest's); deadMax caps a
	// dead letter's value to the dead-letter topic's limit.
	rekey   kafka.Bound
	deadMax int
	// jobs are the write jobs in flight, oldest first (at most cfg.WriteJobs); their traces
	// hold the commit back like unwritten ones until finishLocked takes them back, in order.
	jobs        []*writeJob
	lastVersion uint64          // the last write job's rows' version
	wake        chan struct{}   // a job finished: the consumer's poll returns at once
	wctx        context.Context // write jobs' context: outlives Run's, cancelled by Close
	wcancel     context.CancelFunc
	onWrite     func(pipeline.Batch)

	ready     atomic.Bool
	closeOnce sync.Once
}

// New creates a processor and its consumer-group client. Call Run to start consuming.
func New(cfg Config, kcfg kafka.Config, w Writer, book *pricing.Books, log *slog.Logger, m *Metrics) (*Processor, error) {
	if err := errors.Join(cfg.Validate(), kcfg.Validate()); err != nil {
		return nil, err
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 250 * time.Millisecond
	}
	if cfg.PollRecords == 0 {
		cfg.PollRecords = 10_000
	}
	if cfg.WriteJobs == 0 {
		cfg.WriteJobs = DefaultWriteJobs
	}
	if cfg.MaxSpanDuration == 0 {
		cfg.MaxSpanDuration = DefaultMaxSpanDuration
	}
	if log == nil {
		log = slog.Default()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	p := &Processor{
		cfg: cfg, kcfg: kcfg, w: w, book: book, log: log, m: m,
		norm:    normalize.Normalizer{Limits: cfg.Limits, Outcomes: cfg.Outcome, LabelAttributes: cfg.Labels},
		wire:    &normalize.Decoder{N: normalize.Normalizer{Limits: cfg.Limits, Outcomes: cfg.Outcome, LabelAttributes: cfg.Labels}, Borrow: true},
		st:      stitch.New(cfg.Stitch),
		handled: map[stitch.Partition]int64{},
		commits: map[stitch.Partition]int64{},
		pending: map[*stitch.Trace]*pending{},
		wake:    make(chan struct{}, 1),
		rekey: kafka.Bound{Topic: kcfg.SpansTopic, DeadLetterTopic: kcfg.DeadLetterTopic, MaxRecordBytes: kcfg.MaxRecordBytes,
			Estimate: Estimator(cfg.Limits), Stage: "process (re-keying a Collector record)"},
		deadMax: kcfg.MaxRecordBytes,
	}
	p.wctx, p.wcancel = context.WithCancel(context.Background())
	opts, err := kcfg.ClientOpts()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ConsumerGroup(kcfg.Group),
		kgo.ConsumeTopics(append([]string{kcfg.SpansTopic}, kcfg.CollectorTopics...)...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(p.onRevoked),
		kgo.OnPartitionsLost(p.onLost),
	)
	if kcfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(kcfg.SessionTimeout), kgo.HeartbeatInterval(kcfg.SessionTimeout/10))
	}
	if p.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	return p, nil
}

// OnWrite registers fn to be called, from the consuming goroutine, after each batch is
// durably written (the rollup refresher rebuilds the hours it touched). fn must not
// block. Call before Run.
func (p *Processor) OnWrite(fn func(pipeline.Batch)) { p.onWrite = fn }

// Ready reports whether the processor is consuming.
func (p *Processor) Ready() bool { return p.ready.Load() }

// Client is the underlying Kafka client (for producing to topics it owns in tests).
func (p *Processor) Client() *kgo.Client { return p.cl }

// Run consumes until ctx is cancelled, then writes what is due, commits and leaves the
// group. Open traces are not forced closed at shutdown: their spans are after the
// committed offset, so the next owner of the partition re-reads them.
func (p *Processor) Run(ctx context.Context) error {
	defer p.Close()
	p.preloadTokenizer()
	if err := kafka.EnsureTopics(ctx, p.cl, p.kcfg); err != nil {
		return err
	}
	// What process produces (re-keyed Collector records, dead letters) must fit the
	// topics' max.message.bytes, as ingest's records do.
	if n, err := kafka.RecordLimit(ctx, p.cl, p.kcfg.SpansTopic, p.kcfg.MaxRecordBytes); err != nil {
		p.log.Warn("process: cannot read the spans topic's max.message.bytes; using kafka.max_record_bytes", "err", err)
	} else {
		p.rekey.MaxRecordBytes = n
	}
	if n, err := kafka.RecordLimit(ctx, p.cl, p.kcfg.DeadLetterTopic, p.kcfg.MaxRecordBytes); err != nil {
		p.log.Warn("process: cannot read the dead-letter topic's max.message.bytes; using kafka.max_record_bytes", "err", err)
	} else {
		p.deadMax = n
	}
	p.ready.Store(true)
	defer p.ready.Store(false)
	lastFlush := time.Now()
	for {
		// The poll waits at most FlushInterval for records, and returns as soon as a write
		// job finishes, so the next write starts at once.
		pctx, cancel := context.WithTimeout(ctx, p.cfg.FlushInterval)
		go func() {
			select {
			case <-p.wake:
				cancel()
			case <-pctx.Done():
			}
		}()
		fs := p.cl.PollRecords(pctx, p.cfg.PollRecords)
		cancel()
		if ctx.Err() != nil {
			// Final flush, bounded so a ClickHouse outage cannot hold shutdown forever;
			// whatever it cannot write stays uncommitted and is re-read by the next owner.
			fctx, fcancel := context.WithTimeout(context.Background(), 30*time.Second)
			p.mu.Lock()
			if p.retryingLocked() {
				p.wcancel() // ClickHouse is failing: give the writes up now (they stay uncommitted)
			}
			err := p.flushLocked(fctx, time.Now(), false, true)
			p.mu.Unlock()
			fcancel()
			p.cl.AllowRebalance()
			return err
		}
		var fatal error
		fs.EachError(func(topic string, part int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			if errors.Is(err, kgo.ErrClientClosed) {
				fatal = err
				return
			}
			p.m.FetchErrors.Inc()
			p.log.Warn("fetch error", "topic", topic, "partition", part, "err", err)
		})
		if fatal != nil {
			return fatal
		}
		now := time.Now()
		p.mu.Lock()
		var err error
		for it := fs.RecordIter(); !it.Done(); {
			p.add(it.Next(), now)
			// Closed traces past the memory bound are written before more is taken in.
			if err = p.boundLocked(ctx); err != nil {
				break
			}
		}
		if err == nil && (now.Sub(lastFlush) >= p.cfg.FlushInterval || len(p.unwritten) > 0 || p.headFinished()) {
			// Consumption waits for the oldest write in flight only when a write is failing,
			// or when closed traces waiting for a write pass the bound; then the next write
			// starts and consumption goes on.
			if p.mustWaitLocked() {
				err = p.waitLocked(ctx)
			}
			if err == nil {
				err = p.flushLocked(ctx, now, false, false)
			}
			lastFlush = now
		}
		p.mu.Unlock()
		p.cl.AllowRebalance()
		if err != nil {
			if ctx.Err() != nil {
				continue // shutting down: the final flush above writes what it can
			}
			return err
		}
	}
}

// Close leaves the group and closes the client. Idempotent.
func (p *Processor) Close() {
	p.closeOnce.Do(func() {
		p.wcancel()
		p.cl.Close()
	})
}

// FlushAll force-closes every open trace, writes it and commits (tests, and `dev` on
// demand). It must not run concurrently with Run's flushes beyond the lock it takes.
func (p *Processor) FlushAll(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flushLocked(ctx, time.Now(), true, true)
}

// header is the value of r's header key (nil when absent), a view of the record.
func header(r *kgo.Record, key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// tenantOf is the tenant named by a record header, one string per distinct tenant (a
// record's header is not copied for each record).
func (p *Processor) tenantOf(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if t, ok := p.tenants[string(b)]; ok {
		return t
	}
	if p.tenants == nil || len(p.tenants) >= 1024 {
		p.tenants = map[string]string{}
	}
	t := string(b)
	p.tenants[t] = t
	return t
}

// add takes one record in: its spans go to the stitcher, or the whole record to the dead
// letters (undecodable) or back to the spans topic re-keyed (Collector topics).
func (p *Processor) add(r *kgo.Record, now time.Time) {
	part := stitch.Partition{Topic: r.Topic, Partition: r.Partition}
	p.handled[part] = r.Offset + 1
	p.m.Records.Inc()
	tenant := p.tenantOf(header(r, kafka.HeaderTenant))
	enc := otlp.EncodingFor(string(header(r, kafka.HeaderContentType)), r.Value)
	// unitcost's own marks on a span count only from a record kafka.Bound wrote (which
	// removed any a client set): not from one a Collector or anything else put on the
	// spans topic directly (normalize.Normalizer.TrustMarks).
	// During an upgrade, records an older ingest wrote (no header at all) before
	// process.trust_unstamped_before count too.
	origin := header(r, kafka.HeaderOrigin)
	trust := r.Topic == p.kcfg.SpansTopic && (string(origin) == kafka.OriginUnitcost ||
		origin == nil && r.Timestamp.Before(p.cfg.TrustUnstampedBefore))
	p.norm.TrustMarks = trust
	if enc == otlp.EncodingProto && r.Topic == p.kcfg.SpansTopic && p.wire != nil {
		p.wire.N.TrustMarks = trust
		// The hot path: protobuf read straight into spans (normalize.Decoder). A record it
		// cannot take whole (undecodable, or a span to reject) goes the pdata way below,
		// which decides its fate exactly as before; nothing of it was taken yet.
		if spans, err := p.wire.Decode(r.Value, tenant); err == nil {
			for i := range spans {
				p.take(&spans[i], part, r, tenant, now)
			}
			return
		}
	}
	td, err := otlp.Decode(r.Value, enc)
	if err != nil {
		p.deadLetter(r, r.Value, r.Headers, err.Error())
		return
	}
	if r.Topic != p.kcfg.SpansTopic {
		// The Collector's topic may allow larger records than the spans topic: re-keying
		// takes the same bounded path as ingest (estimate, trim, split, dead-letter).
		// Spans that can never be stitched (an all-zero trace or span id) are rejected as
		// ingest rejects them, here into a dead letter with the reason (there is no client
		// to tell), rather than re-keyed onto the spans topic under the zero trace id.
		var bad rejects
		td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
			bad.next()
			rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
				bad.nextScope()
				ss.Spans().RemoveIf(func(sp ptrace.Span) bool {
					switch {
					case sp.TraceID().IsEmpty():
						bad.add(rs, ss, sp, fmt.Sprintf("re-key: span %q: all-zero trace id", clip(sp.Name(), 64)))
					case sp.SpanID().IsEmpty():
						bad.add(rs, ss, sp, fmt.Sprintf("re-key: span %q of trace %s: all-zero span id", clip(sp.Name(), 64), pipeline.TraceID(sp.TraceID())))
					default:
						return false
					}
					p.m.RejectedSpans.Inc()
					return true
				})
				return ss.Spans().Len() == 0
			})
			return rs.ScopeSpans().Len() == 0
		})
		p.deadLetterRejects(r, &bad, tenant)
		if td.SpanCount() == 0 {
			return
		}
		b := p.rekey
		b.Source = fmt.Sprintf("%s/%d@%d", r.Topic, r.Partition, r.Offset)
		out, err := b.Records(td, tenant)
		if err != nil {
			p.deadLetter(r, r.Value, r.Headers, "re-key: "+err.Error())
			return
		}
		if out.Rejected > 0 {
			p.m.DeadLetters.Add(float64(out.Rejected))
			p.log.Warn("dead letter", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "reason", out.Message)
		}
		if out.Trimmed > 0 {
			p.m.Trimmed.Add(float64(out.Trimmed))
		}
		p.m.Rekeyed.Add(float64(len(out.Records)))
		p.produce = append(p.produce, out.Dead...)
		p.produce = append(p.produce, out.Records...)
		return
	}
	// Rejected spans go to one dead letter, grouped as they came (see rejects).
	var bad rejects
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		bad.next()
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			bad.nextScope()
			for k := 0; k < ss.Spans().Len(); k++ {
				sp := new(pipeline.Span)
				if err := p.norm.Span(rs.Resource().Attributes(), ss.Spans().At(k), tenant, sp); err != nil {
					bad.add(rs, ss, ss.Spans().At(k), err.Error())
					p.m.RejectedSpans.Inc()
					continue
				}
				p.take(sp, part, r, tenant, now)
			}
		}
	}
	p.deadLetterRejects(r, &bad, tenant)
}

// rejects gathers a record's rejected spans for one dead letter, grouped as they came:
// one ResourceSpans per source resource and one ScopeSpans per source scope that had any
// (a resource is copied once, not once per rejected span: 400k zero-id spans under a
// 100 KB resource made ~40 GB), and the first maxRejectReasons span reasons.
type rejects struct {
	td             ptrace.Traces
	n              int
	reasons        []string
	rs             ptrace.ResourceSpans
	ss             ptrace.ScopeSpans
	haveRS, haveSS bool
}

const maxRejectReasons = 10

// next and nextScope start a new source resource or scope.
func (b *rejects) next()      { b.haveRS, b.haveSS = false, false }
func (b *rejects) nextScope() { b.haveSS = false }

func (b *rejects) add(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, sp ptrace.Span, reason string) {
	if b.n == 0 {
		b.td = ptrace.NewTraces()
	}
	if !b.haveRS {
		b.rs = b.td.ResourceSpans().AppendEmpty()
		rs.Resource().CopyTo(b.rs.Resource())
		b.rs.SetSchemaUrl(rs.SchemaUrl())
		b.haveRS, b.haveSS = true, false
	}
	if !b.haveSS {
		b.ss = b.rs.ScopeSpans().AppendEmpty()
		ss.Scope().CopyTo(b.ss.Scope())
		b.ss.SetSchemaUrl(ss.SchemaUrl())
		b.haveSS = true
	}
	sp.CopyTo(b.ss.Spans().AppendEmpty())
	if b.n < maxRejectReasons {
		b.reasons = append(b.reasons, reason)
	}
	b.n++
}

// deadLetterRejects writes b's spans, if any, as one dead letter of record r.
func (p *Processor) deadLetterRejects(r *kgo.Record, b *rejects, tenant string) {
	if b.n == 0 {
		return
	}
	reasons := b.reasons
	if b.n > len(reasons) {
		reasons = append(reasons, fmt.Sprintf("and %d more rejected spans", b.n-len(reasons)))
	}
	v, err := otlp.Encode(b.td)
	if err != nil {
		v = r.Value
	}
	p.deadLetter(r, v, []kgo.RecordHeader{{Key: kafka.HeaderContentType, Value: []byte(otlp.EncodingProto.ContentType())},
		{Key: kafka.HeaderTenant, Value: []byte(tenant)}}, strings.Join(reasons, "; "))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// take hands one normalised span of record r to the stitcher: time checks, the token
// estimate (which also drops the captured content, so no text is held while the trace is
// open, and none that aliases the record's buffer), metrics.
func (p *Processor) take(sp *pipeline.Span, part stitch.Partition, r *kgo.Record, tenant string, now time.Time) {
	sp.AuthTenant = tenant
	checkTimes(sp, r.Timestamp, p.cfg.MaxSpanDuration)
	p.m.Spans.Inc()
	if len(sp.InputContent) > 0 || len(sp.OutputContent) > 0 {
		if did, err := p.tok.Estimate(sp); err != nil {
			sp.Issues = append(sp.Issues, "token estimate failed: "+err.Error())
			sp.InputContent, sp.OutputContent = nil, nil
		} else if did {
			p.m.Estimated.Inc()
		}
	}
	if len(sp.Issues) > 0 {
		p.m.SpanIssues.Add(float64(len(sp.Issues)))
	}
	if evicted := p.st.Add(part, r.Offset, sp, now); len(evicted) > 0 {
		p.closeLocked(evicted)
	}
}

func (p *Processor) deadLetter(src *kgo.Record, value []byte, headers []kgo.RecordHeader, reason string) {
	p.m.DeadLetters.Inc()
	if len(reason) > 4096 {
		reason = reason[:4096]
	}
	if limit := p.deadMax - 8<<10; limit > 0 && len(value) > limit {
		// A record the dead-letter topic cannot hold would fail every flush (and hold
		// the partition): keep its first bytes and say so; the source header names the
		// record, which stays in its own topic for its retention.
		reason += fmt.Sprintf(" (value cut from %d to its first %d bytes to fit the dead-letter topic)", len(value), limit)
		value = value[:limit]
	}
	h := append(append([]kgo.RecordHeader(nil), headers...),
		kgo.RecordHeader{Key: kafka.HeaderReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: kafka.HeaderSource, Value: []byte(fmt.Sprintf("%s/%d@%d", src.Topic, src.Partition, src.Offset))})
	p.produce = append(p.produce, &kgo.Record{Topic: p.kcfg.DeadLetterTopic, Key: src.Key, Value: value, Headers: h})
	p.log.Warn("dead letter", "topic", src.Topic, "partition", src.Partition, "offset", src.Offset, "reason", reason)
}

// flushLocked is the delivery guarantee; see the package doc for the order. Closed
// traces are written by one write job at a time while consumption goes on (write.go);
// with wait, it returns only once everything closed so far is written.
func (p *Processor) flushLocked(ctx context.Context, now time.Time, force, wait bool) error {
	// (1) dead letters and re-keyed records first: their source offsets are "handled".
	if len(p.produce) > 0 {
		if err := p.cl.ProduceSync(ctx, p.produce...).FirstErr(); err != nil {
			return fmt.Errorf("produce %d dead-letter/re-keyed records: %w", len(p.produce), err)
		}
		p.produce = p.produce[:0]
	}
	// (2) write closed workflows, a chunk at a time; until their last rows are written
	// they stay in unwritten or in a job in flight, and both hold the commit back.
	p.closeLocked(p.st.Due(now, force))
	if err := p.reapLocked(); err != nil {
		return err
	}
	if wait {
		if err := p.drainLocked(ctx); err != nil {
			return err
		}
	} else {
		p.startWritesLocked()
	}
	p.m.observe(p.st.Stats(), now)
	p.m.ClosedSpans.Set(float64(p.held))
	// (3) commit what is safe.
	return p.commitLocked(ctx, nil)
}

// commitLocked commits, for each owned partition (or only those in only), the lowest
// offset still held, or the next offset when nothing of the partition is held.
func (p *Processor) commitLocked(ctx context.Context, only map[stitch.Partition]bool) error {
	offsets := p.safeOffsetsLocked(only)
	if len(offsets) == 0 {
		return nil
	}
	var cerr error
	p.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsgOffsetCommitRequest, resp *kmsgOffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, pt := range t.Partitions {
				part := stitch.Partition{Topic: t.Topic, Partition: pt.Partition}
				if e := kerrErr(pt.ErrorCode); e != nil {
					cerr = errors.Join(cerr, fmt.Errorf("commit %s/%d: %w", t.Topic, pt.Partition, e))
					continue
				}
				p.commits[part] = offsets[t.Topic][pt.Partition].Offset
			}
		}
	})
	if cerr != nil {
		// A failed commit loses nothing: the records are re-read and rewritten idempotently.
		p.m.CommitErrors.Inc()
		p.log.Warn("offset commit failed; will retry", "err", cerr)
	}
	return nil
}

// safeOffsetsLocked is what may be committed now, per owned partition (or only those in
// only) whose offset moved: the lowest offset still held by an open trace, by a closed
// trace not wholly written or by a job in flight not yet taken back, or the next offset
// when the partition holds none.
func (p *Processor) safeOffsetsLocked(only map[stitch.Partition]bool) map[string]map[int32]kgo.EpochOffset {
	marks := p.st.Watermarks()
	held := p.unwritten
	for _, j := range p.jobs {
		held = append(held[:len(held):len(held)], j.traces...)
	}
	for _, t := range held {
		pd := p.pending[t]
		if pd == nil || pd.minOffset < 0 {
			continue
		}
		if cur, ok := marks[t.Partition]; !ok || pd.minOffset < cur {
			marks[t.Partition] = pd.minOffset
		}
	}
	offsets := map[string]map[int32]kgo.EpochOffset{}
	for part, next := range p.handled {
		if only != nil && !only[part] {
			continue
		}
		off := next
		if w, ok := marks[part]; ok && w < off {
			off = w
		}
		if off <= p.commits[part] {
			continue
		}
		if offsets[part.Topic] == nil {
			offsets[part.Topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[part.Topic][part.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
	}
	return offsets
}

func (p *Processor) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	drop := toSet(revoked)
	// Bounded: a rebalance must not wait on a ClickHouse outage. What is not written is
	// not committed, and the next owner re-reads it.
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := p.flushLocked(ctx, time.Now(), false, true); err != nil {
		p.log.Warn("flush on revoke failed; the next owner re-reads", "err", err)
	}
	p.dropLocked(drop)
}

func (p *Processor) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked(toSet(lost))
}

func (p *Processor) dropLocked(drop map[stitch.Partition]bool) {
	p.st.DropPartitions(drop)
	for part := range drop {
		delete(p.handled, part)
		delete(p.commits, part)
	}
	kept := p.unwritten[:0]
	for _, t := range p.unwritten {
		if !drop[t.Partition] {
			kept = append(kept, t)
		} else if pd := p.pending[t]; pd != nil {
			p.held -= pd.spans - pd.written
			delete(p.pending, t)
		}
	}
	p.unwritten = kept
	p.m.Rebalances.Inc()
}

func toSet(m map[string][]int32) map[stitch.Partition]bool {
	s := map[stitch.Partition]bool{}
	for t, ps := range m {
		for _, pt := range ps {
			s[stitch.Partition{Topic: t, Partition: pt}] = true
		}
	}
	return s
}

func unpriceableReason(r string) string {
	if r == pipeline.UnpricedNoModel {
		return "no_model"
	}
	return "no_usage"
}

func inherit(sp *pipeline.Span, l stitch.Labels) {
	if sp.Tenant == "" {
		sp.Tenant = l.Tenant
	}
	if sp.Tenant == "" {
		sp.Tenant = pipeline.DefaultTenant
	}
	for _, x := range [...]struct {
		dst *string
		v   string
	}{{&sp.Team, l.Team}, {&sp.Feature, l.Feature}, {&sp.Session, l.Session},
		{&sp.User, l.User}, {&sp.Service, l.Service}, {&sp.Environment, l.Environment}} {
		if *x.dst == "" {
			*x.dst = x.v
		}
	}
	if sp.Labels == nil {
		sp.Labels = l.Labels
	}
}
