package process

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unitcost/unitcost/pipeline/stitch"
)

// Metrics are the process stage's Prometheus series (prefix unitcost_process_).
type Metrics struct {
	Records, Spans, RejectedSpans, SpanIssues, DeadLetters, Rekeyed prometheus.Counter
	DuplicateSpans, Unpriced, LineItems, Workflows, Estimated       prometheus.Counter
	WriteErrors, CommitErrors, FetchErrors, Rebalances              prometheus.Counter
	WriteSeconds                                                    prometheus.Histogram
	// UnpriceableSpans counts model calls that cannot be priced, by reason (no_model,
	// no_usage); each is an unpriced line and a span issue.
	UnpriceableSpans *prometheus.CounterVec
	// UnknownOutcomes counts workflows whose explicit outcome is not one unitcost knows.
	UnknownOutcomes prometheus.Counter
	// Trimmed counts spans of Collector records whose captured content was trimmed to fit
	// the spans topic when re-keyed.
	Trimmed prometheus.Counter

	openTraces, openSpans, oldestOpenAge prometheus.Gauge
	// ClosedSpans are the spans of closed traces not yet written (set by the processor).
	ClosedSpans                                                 prometheus.Gauge
	lateSpans, corrections, evictions, maxOpenedNoRoot, orphans prometheus.Counter
	// last is the stitcher's cumulative stats at the previous observation: the counters
	// advance by the difference, so they never go down.
	last stitch.Stats
}

// NewMetrics creates the series and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "process", Name: name, Help: help})
	}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "unitcost", Subsystem: "process", Name: name, Help: help})
	}
	m := &Metrics{
		Records:        c("records_total", "Kafka records consumed."),
		Spans:          c("spans_total", "Spans normalised and held for stitching."),
		RejectedSpans:  c("rejected_spans_total", "Spans rejected (e.g. zero ids) and sent to the dead-letter topic."),
		SpanIssues:     c("span_issues_total", "Attribute values clamped or ignored during normalisation (stored on the line item)."),
		DeadLetters:    c("dead_letters_total", "Records written to the dead-letter topic."),
		Rekeyed:        c("rekeyed_records_total", "Records from Collector topics re-keyed by trace id into the spans topic."),
		Estimated:      c("estimated_usage_spans_total", "Spans whose token usage was estimated from captured content (no usage reported)."),
		DuplicateSpans: c("duplicate_spans_total", "Spans delivered twice into one workflow incarnation (priced once)."),
		Unpriced:       c("unpriced_line_items_total", "Line items with no matching price (kept at cost 0, flagged)."),
		LineItems:      c("line_items_written_total", "Line items written to ClickHouse."),
		Workflows:      c("workflows_written_total", "Workflow fact rows written to ClickHouse."),
		WriteErrors:    c("write_errors_total", "Failed ClickHouse writes (retried)."),
		CommitErrors:   c("commit_errors_total", "Failed offset commits (retried at the next flush)."),
		FetchErrors:    c("fetch_errors_total", "Kafka fetch errors."),
		Rebalances:     c("partition_revocations_total", "Partition sets revoked or lost."),
		UnpriceableSpans: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "process", Name: "unpriceable_spans_total",
			Help: "Model calls that cannot be priced (reason: no_model = tokens without a model, no_usage = a model without usage or content); each is an unpriced line and a span issue."}, []string{"reason"}),
		UnknownOutcomes: c("unknown_outcomes_total", "Workflows whose unitcost.workflow.outcome is not completed, failed, abandoned or escalated (a span issue on the root)."),
		Trimmed:         c("spans_trimmed_total", "Spans of Collector records whose captured content was trimmed to fit the spans topic when re-keyed (recorded on the span as an issue)."),
		WriteSeconds:    prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "unitcost", Subsystem: "process", Name: "write_seconds", Help: "ClickHouse write latency."}),
		openTraces:      g("open_traces", "Traces held open in memory."),
		openSpans:       g("open_spans", "Spans held in memory."),
		ClosedSpans:     g("closed_spans", "Spans of closed traces not yet written; with open_spans they stay within process.stitch.max_spans."),
		oldestOpenAge:   g("oldest_open_age_seconds", "Seconds since the oldest open trace received its first span."),
		lateSpans:       c("late_spans_total", "Spans that arrived after their trace had closed."),
		corrections:     c("corrections_total", "Late incarnations written, each correcting a workflow."),
		evictions:       c("evictions_total", "Traces closed early at the memory bound."),
		maxOpenedNoRoot: c("max_open_closes_without_root_total", "Traces closed by max_open before their root span arrived."),
		orphans:         c("orphan_closes_total", "Rootless traces closed after orphan_quiet, e.g. late spans after a restart."),
	}
	if reg != nil {
		reg.MustRegister(m.Records, m.Spans, m.RejectedSpans, m.SpanIssues, m.DeadLetters, m.Rekeyed, m.DuplicateSpans,
			m.Unpriced, m.LineItems, m.Workflows, m.Estimated, m.WriteErrors, m.CommitErrors, m.FetchErrors, m.Rebalances, m.WriteSeconds,
			m.openTraces, m.openSpans, m.oldestOpenAge, m.lateSpans, m.corrections, m.evictions, m.maxOpenedNoRoot, m.orphans,
			m.UnpriceableSpans, m.UnknownOutcomes, m.Trimmed, m.ClosedSpans)
	}
	return m
}

func (m *Metrics) observe(s stitch.Stats, now time.Time) {
	m.openTraces.Set(float64(s.OpenTraces))
	if s.OldestFirstSeen.IsZero() {
		m.oldestOpenAge.Set(0)
	} else {
		m.oldestOpenAge.Set(now.Sub(s.OldestFirstSeen).Seconds())
	}
	m.openSpans.Set(float64(s.OpenSpans))
	advance(m.lateSpans, s.LateSpans, m.last.LateSpans)
	advance(m.corrections, s.Corrections, m.last.Corrections)
	advance(m.evictions, s.Evictions, m.last.Evictions)
	advance(m.maxOpenedNoRoot, s.MaxOpened, m.last.MaxOpened)
	advance(m.orphans, s.Orphans, m.last.Orphans)
	m.last = s
}

// advance adds what a cumulative count gained since the last observation.
func advance[T ~int | ~int64 | ~uint64](c prometheus.Counter, now, before T) {
	if now > before {
		c.Add(float64(now - before))
	}
}
