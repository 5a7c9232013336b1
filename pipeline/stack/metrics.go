package stack

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type ingestMetrics struct {
	requests *prometheus.CounterVec
	spans    *prometheus.CounterVec
	rejected *prometheus.CounterVec
}

func newIngestMetrics(reg *prometheus.Registry) *ingestMetrics {
	m := &ingestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "ingest",
			Name: "requests_total", Help: "OTLP export requests by transport and HTTP status."}, []string{"transport", "status"}),
		spans: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "ingest",
			Name: "spans_total", Help: "Spans in OTLP export requests by transport and HTTP status."}, []string{"transport", "status"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "ingest",
			Name: "rejected_total", Help: "OTLP export requests refused, by transport and reason (auth, limit, decode, too_large, inflight, kafka, ...)."}, []string{"transport", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.spans, m.rejected)
	}
	return m
}

func (m *ingestMetrics) Request(transport string, spans, status int) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(transport, code).Inc()
	m.spans.WithLabelValues(transport, code).Add(float64(spans))
}

func (m *ingestMetrics) Rejected(transport, reason string) {
	m.rejected.WithLabelValues(transport, reason).Inc()
}
