package normalize

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/semconv"
)

// ingestMarks applies what ingest wrote on a span it changed (semconv.IngestIssues,
// semconv.UsageEstimated): the issues join the span's, and usage ingest estimated from the
// content before trimming it stays marked estimated.
func ingestMarks(attrs pcommon.Map, out *pipeline.Span) {
	if v, ok := attrs.Get(semconv.IngestIssues); ok && v.Type() == pcommon.ValueTypeSlice {
		for i := 0; i < v.Slice().Len() && i < 16; i++ {
			out.Issues = append(out.Issues, clip(v.Slice().At(i).AsString(), 1024))
		}
	}
	if v, ok := attrs.Get(semconv.UsageEstimated); ok && v.Type() == pcommon.ValueTypeBool && v.Bool() {
		out.Usage.Estimated = true
	}
}
