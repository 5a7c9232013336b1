package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/process"
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

// BenchmarkProcessClosedTraceMemory is the live heap per closed trace the processing core
// keeps for late spans (stitch's closed_memory) once the same records' traces have all
// closed and been priced.
func BenchmarkProcessClosedTraceMemory(b *testing.B) {
	recs, truth, err := coreRecords(context.Background(), 20_000)
	if err != nil {
		b.Fatal(err)
	}
	book, err := pricing.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	var per float64
	for b.Loop() {
		core := process.NewCore(process.Config{}, coreTopic, pricing.Single(book))
		debug.FreeOSMemory()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		now := time.Unix(1_800_000_000, 0)
		for _, r := range recs {
			core.Add(r, now)
		}
		if got := len(core.Flush(now.Add(time.Hour), true).LineItems); got != truth.LineItems {
			b.Fatalf("%d line items, truth %d", got, truth.LineItems)
		}
		debug.FreeOSMemory()
		runtime.ReadMemStats(&m1)
		per = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(len(truth.Workflows))
		runtime.KeepAlive(core)
	}
	b.ReportMetric(per, "heap-B/closed-trace")
}
