package bench

import (
	"context"
	"testing"

	"github.com/unitcost/unitcost/pipeline/pricing"
)

// BenchmarkProcessOpenSpanMemory is `make bench-e2e`'s memory step alone (no services):
// the live heap and RSS growth per open span held by the processing core over the
// generator's records (20,000 workflows, as unitcost-bench's default -core-workflows).
func BenchmarkProcessOpenSpanMemory(b *testing.B) {
	recs, _, err := coreRecords(context.Background(), 20_000)
	if err != nil {
		b.Fatal(err)
	}
	book, err := pricing.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	var m MemoryResult
	for b.Loop() {
		m = openSpanMemory(pricing.Single(book), recs)
	}
	b.ReportMetric(m.HeapPer, "heap-B/open-span")
	b.ReportMetric(m.RSSPer, "rss-B/open-span")
	b.ReportMetric(float64(m.OpenSpans), "open-spans")
}
