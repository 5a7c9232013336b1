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

	openTraces, openSpans, oldestOpenAge                        prometheus.Gauge
	lateSpans, corrections, evictions, maxOpenedNoRoot, orphans prometheus.Gauge
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
		WriteSeconds:    prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "unitcost", Subsystem: "process", Name: "write_seconds", Help: "ClickHouse write latency."}),
		openTraces:      g("open_traces", "Traces held open in memory."),
		openSpans:       g("open_spans", "Spans held in memory."),
		oldestOpenAge:   g("oldest_open_age_seconds", "Seconds since the oldest open trace received its first span."),
		lateSpans:       g("late_spans", "Spans that arrived after their trace had closed (since start)."),
		corrections:     g("corrections", "Late incarnations written, each correcting a workflow (since start)."),
		evictions:       g("evictions", "Traces closed early at the memory bound (since start)."),
		maxOpenedNoRoot: g("max_open_closes_without_root", "Traces closed by max_open before their root span arrived (since start)."),
		orphans:         g("orphan_closes", "Rootless traces closed after orphan_quiet, e.g. late spans after a restart (since start)."),
	}
	if reg != nil {
		reg.MustRegister(m.Records, m.Spans, m.RejectedSpans, m.SpanIssues, m.DeadLetters, m.Rekeyed, m.DuplicateSpans,
			m.Unpriced, m.LineItems, m.Workflows, m.Estimated, m.WriteErrors, m.CommitErrors, m.FetchErrors, m.Rebalances, m.WriteSeconds,
			m.openTraces, m.openSpans, m.oldestOpenAge, m.lateSpans, m.corrections, m.evictions, m.maxOpenedNoRoot, m.orphans,
			m.UnpriceableSpans, m.UnknownOutcomes)
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
	m.lateSpans.Set(float64(s.LateSpans))
	m.corrections.Set(float64(s.Corrections))
	m.evictions.Set(float64(s.Evictions))
	m.maxOpenedNoRoot.Set(float64(s.MaxOpened))
	m.orphans.Set(float64(s.Orphans))
}
