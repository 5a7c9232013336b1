package normalize

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/semconv"
)

// ingestMarks applies what ingest wrote on a span it changed (semconv.IngestIssues,
// semconv.UsageEstimated): the issues join the span's, and usage ingest estimated from the
// content before trimming it stays marked estimated.
func ingestMarks(attrs []kv, out *pipeline.Span) {
	if v, ok := get(attrs, semconv.IngestIssues); ok && v.typ == pcommon.ValueTypeSlice {
		v.elems(16, func(e *value) { out.Issues = append(out.Issues, clip(e.asString(), 1024)) })
	}
	if v, ok := get(attrs, semconv.UsageEstimated); ok && v.typ == pcommon.ValueTypeBool && v.b {
		out.Usage.Estimated = true
	}
}
