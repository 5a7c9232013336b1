package normalize

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/semconv"
)

// ingestMarks applies what ingest wrote on a span it changed (semconv.IngestIssues,
// semconv.UsageEstimated): the issues join the span's, and usage ingest estimated from the
// content before trimming it stays marked estimated. Unless trusted (Normalizer.TrustMarks)
// they were not written by unitcost: each is ignored with an issue, so a client can neither
// forge unitcost's findings nor pass them off as its own.
func ingestMarks(attrs []kv, trusted bool, out *pipeline.Span) {
	iss, hasIss := get(attrs, semconv.IngestIssues)
	est, hasEst := get(attrs, semconv.UsageEstimated)
	if !trusted {
		if hasIss {
			out.Issues = append(out.Issues, untrustedIssues)
		}
		if hasEst {
			out.Issues = append(out.Issues, untrustedEstimated)
		}
		return
	}
	if hasIss && iss.typ == pcommon.ValueTypeSlice {
		iss.elems(16, func(e *value) { out.Issues = append(out.Issues, clip(e.asString(), 1024)) })
	}
	if hasEst && est.typ == pcommon.ValueTypeBool && est.b {
		out.Usage.Estimated = true
	}
}

// The issues of a reserved attribute on a record unitcost did not write.
const (
	untrustedIssues    = "attribute " + semconv.IngestIssues + " ignored: it is reserved for unitcost ingest and this record did not come through it"
	untrustedEstimated = "attribute " + semconv.UsageEstimated + " ignored: it is reserved for unitcost ingest and this record did not come through it"
)
