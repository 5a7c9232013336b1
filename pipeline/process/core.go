package process

import (
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

// Core is the processing core of a Processor - decode, normalise, token estimate,
// stitch, price - without Kafka or ClickHouse: the same code Run drives, for the
// benchmarks (BenchmarkCore, unitcost-bench) that measure it on real record shapes.
type Core struct{ p *Processor }

// NewCore returns a core that takes records of spansTopic (records of any other topic
// are treated as Collector records and re-keyed, as in Run).
func NewCore(cfg Config, spansTopic string, book *pricing.Books) *Core {
	kcfg := kafka.Defaults()
	kcfg.SpansTopic = spansTopic
	c := &Core{p: &Processor{
		cfg: cfg, book: book, log: slog.New(slog.DiscardHandler), m: NewMetrics(nil),
		kcfg: kcfg,

		norm:    normalize.Normalizer{Limits: cfg.Limits},
		wire:    &normalize.Decoder{N: normalize.Normalizer{Limits: cfg.Limits}, Borrow: true},
		st:      stitch.New(cfg.Stitch),
		handled: map[stitch.Partition]int64{},
		commits: map[stitch.Partition]int64{},
		pending: map[*stitch.Trace]*pending{},
		rekey: kafka.Bound{Topic: kcfg.SpansTopic, DeadLetterTopic: kcfg.DeadLetterTopic, MaxRecordBytes: kcfg.MaxRecordBytes,
			Estimate: Estimator(cfg.Limits), Stage: "process (re-keying a Collector record)"},
		deadMax: kcfg.MaxRecordBytes,
	}}
	// Load the tokenizer's tables now (once per processor, ~25 MB), so a measurement
	// counts neither their load nor their memory against the spans.
	_, _ = c.p.tok.Count("", nil)
	return c
}

// PdataOnly makes the core decode every record with pdata and normalise it span by span
// (Normalizer.Span), as process did before the wire decoder: the reference the wire path
// is measured and checked against.
func (c *Core) PdataOnly() { c.p.wire = nil }

// Add takes one record in, as Run does after a poll.
func (c *Core) Add(r *kgo.Record, now time.Time) { c.p.add(r, now) }

// Flush closes the traces due at now (every open trace when force) and prices them:
// the batch is what Run would hand the Writer.
func (c *Core) Flush(now time.Time, force bool) pipeline.Batch {
	c.p.closeLocked(c.p.st.Due(now, force))
	return c.p.priceAllLocked()
}

// Close closes the traces due at now (every open trace when force) as Run does: they
// are held, prepared for their write, until Flush. It returns the spans so held (memory
// measurements: a closed span is held decoded, an open one encoded).
func (c *Core) Close(now time.Time, force bool) int {
	c.p.closeLocked(c.p.st.Due(now, force))
	return c.p.held
}

// Stats are the stitcher's counters (open traces and spans).
func (c *Core) Stats() stitch.Stats { return c.p.st.Stats() }
