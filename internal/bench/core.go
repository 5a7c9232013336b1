package bench

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/process"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

const coreTopic = "bench.core"

// coreRecords generates a workload's records in memory, shaped as `loadgen --kafka`
// writes them.
func coreRecords(ctx context.Context, workflows int) ([]*kgo.Record, *loadgen.Truth, error) {
	var recs []*kgo.Record
	truth, err := generate(ctx, loadgen.Config{Seed: 7, Workflows: workflows}, coreTopic, 900<<10,
		func(_ context.Context, rs []*kgo.Record) error {
			for i, r := range rs {
				r.Partition = int32(i % 8)
				r.Offset = int64(len(recs))
				recs = append(recs, r)
			}
			return nil
		})
	return recs, truth, err
}

// CoreResult is one pass of the processing core over the records.
type CoreResult struct {
	Spans, LineItems int
	Wall, CPU        time.Duration
	Mallocs          uint64
	AllocBytes       uint64
}

func (r CoreResult) perCoreSpansPerSec() float64 { return float64(r.Spans) / r.CPU.Seconds() }
func (r CoreResult) allocsPerSpan() float64      { return float64(r.Mallocs) / float64(r.Spans) }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runCore drives decode, normalise, token estimate, stitch and price over recs, closing
// what is due every 10,000 records on a clock that advances 2s per 10,000 records (as a
// process draining a backlog sees it). CPU is the whole process's (GC included).
func runCore(book *pricing.Books, recs []*kgo.Record, spans int) CoreResult {
	core := process.NewCore(process.Config{}, coreTopic, book)
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0, w0 := cpuNow(), time.Now()
	now := time.Unix(1_800_000_000, 0)
	lines := 0
	for i, r := range recs {
		core.Add(r, now)
		if (i+1)%10_000 == 0 {
			now = now.Add(2 * time.Second)
			lines += len(core.Flush(now, false).LineItems)
		}
	}
	lines += len(core.Flush(now.Add(time.Hour), true).LineItems)
	res := CoreResult{Spans: spans, LineItems: lines, Wall: time.Since(w0), CPU: cpuNow() - c0}
	runtime.ReadMemStats(&m1)
	res.Mallocs, res.AllocBytes = m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc
	return res
}

// MemoryResult is the memory held per open span.
type MemoryResult struct {
	OpenSpans  int
	HeapPer    float64 // live heap bytes per open span (after GC)
	RSSPer     float64 // resident set growth per open span
	OpenTraces int
}

// openSpanMemory holds every span of recs open (no trace closes) and measures the live
// heap (after a GC) and the RSS growth per open span.
func openSpanMemory(book *pricing.Books, recs []*kgo.Record) MemoryResult {
	cfg := process.Config{Stitch: stitch.Config{QuietPeriod: time.Hour, OrphanQuiet: time.Hour, MaxOpen: 2 * time.Hour,
		MaxTraces: 10_000_000, MaxSpans: 100_000_000}}
	core := process.NewCore(cfg, coreTopic, book)
	debug.FreeOSMemory()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	rss0 := rss()
	now := time.Unix(1_800_000_000, 0)
	for _, r := range recs {
		// A fresh copy, as each fetch is: what the stitcher keeps alive of it counts.
		cp := *r
		cp.Value = bytes.Clone(r.Value)
		core.Add(&cp, now)
	}
	debug.FreeOSMemory()
	runtime.ReadMemStats(&m1)
	st := core.Stats()
	res := MemoryResult{OpenSpans: st.OpenSpans, OpenTraces: st.OpenTraces,
		HeapPer: float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(st.OpenSpans),
		RSSPer:  float64(rss()-rss0) / float64(st.OpenSpans)}
	runtime.KeepAlive(core)
	runtime.KeepAlive(recs) // in m0 and m1 alike: only what the core holds counts
	return res
}

// rss is the resident set size from /proc/self/statm.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
