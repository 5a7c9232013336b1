package normalize_test

import (
	"testing"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

// BenchmarkNormalizeOnly is normalisation alone: the payload is decoded once, outside
// the loop, and every span is normalised per iteration (per-span figures: ns/span).
func BenchmarkNormalizeOnly(b *testing.B) {
	buf, n := payload()
	td, err := otlp.Decode(buf, otlp.EncodingProto)
	if err != nil {
		b.Fatal(err)
	}
	var nz normalize.Normalizer
	var sp pipeline.Span
	rs := td.ResourceSpans().At(0)
	ss := rs.ScopeSpans().At(0).Spans()
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < ss.Len(); i++ {
			sp = pipeline.Span{}
			if err := nz.Span(rs.Resource().Attributes(), ss.At(i), "", &sp); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}
