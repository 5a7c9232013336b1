package process_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/process"
)

// loadgenRecords are the generator's records as `loadgen --kafka` writes them.
func loadgenRecords(tb testing.TB, workflows int) ([]*kgo.Record, *loadgen.Truth) {
	tb.Helper()
	ctx := context.Background()
	var recs []*kgo.Record
	sink := &loadgen.RecordSink{Topic: "spans", MaxBytes: 900 << 10, Emit: func(_ context.Context, rs []*kgo.Record) error {
		for _, r := range rs {
			r.Offset = int64(len(recs))
			recs = append(recs, r)
		}
		return nil
	}}
	exp, err := otlptrace.New(ctx, sink)
	if err != nil {
		tb.Fatal(err)
	}
	tp := loadgen.NewTracerProvider(exp, 3)
	truth, err := loadgen.Run(ctx, loadgen.Config{Seed: 3, Workflows: workflows}, tp, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := tp.Shutdown(ctx); err != nil {
		tb.Fatal(err)
	}
	return recs, truth
}

func builtin(tb testing.TB) *pricing.Books {
	b, err := pricing.Builtin()
	if err != nil {
		tb.Fatal(err)
	}
	return pricing.Single(b)
}

// The core prices exactly the generator's line items.
func TestCoreLineItems(t *testing.T) {
	t.Parallel()
	recs, truth := loadgenRecords(t, 200)
	core := process.NewCore(process.Config{}, "spans", builtin(t))
	now := time.Unix(1_800_000_000, 0)
	for _, r := range recs {
		core.Add(r, now)
	}
	if b := core.Flush(now.Add(time.Hour), true); len(b.LineItems) != truth.LineItems || len(b.Workflows) != len(truth.Workflows) {
		t.Fatalf("%d line items, %d workflows; truth %d, %d", len(b.LineItems), len(b.Workflows), truth.LineItems, len(truth.Workflows))
	}
}

// The wire decoder and the pdata path price the generator's records identically: every
// line item, workflow and span issue.
func TestCoreWireEqualsPdata(t *testing.T) {
	t.Parallel()
	recs, _ := loadgenRecords(t, 300)
	run := func(pdata bool) pipeline.Batch {
		core := process.NewCore(process.Config{}, "spans", builtin(t))
		if pdata {
			core.PdataOnly()
		}
		now := time.Unix(1_800_000_000, 0)
		for _, r := range recs {
			core.Add(r, now)
		}
		b := core.Flush(now.Add(time.Hour), true)
		sortBatch(&b)
		return b
	}
	want, got := run(true), run(false)
	if len(got.LineItems) != len(want.LineItems) || len(got.Workflows) != len(want.Workflows) || len(got.Issues) != len(want.Issues) {
		t.Fatalf("wire: %d lines, %d workflows, %d issues; pdata: %d, %d, %d", len(got.LineItems), len(got.Workflows), len(got.Issues),
			len(want.LineItems), len(want.Workflows), len(want.Issues))
	}
	for i := range want.LineItems {
		if !reflect.DeepEqual(got.LineItems[i], want.LineItems[i]) {
			t.Fatalf("line %d:\n got %+v\n%+v\nwant %+v\n%+v", i, got.LineItems[i], *got.LineItems[i].Span, want.LineItems[i], *want.LineItems[i].Span)
		}
	}
	if !reflect.DeepEqual(got.Workflows, want.Workflows) || !reflect.DeepEqual(got.Issues, want.Issues) {
		t.Fatal("workflows or issues differ")
	}
}

func sortBatch(b *pipeline.Batch) {
	key := func(sp *pipeline.Span) string { return string(sp.TraceID[:]) + string(sp.SpanID[:]) }
	slices.SortStableFunc(b.LineItems, func(x, y pipeline.LineItem) int {
		return cmp.Or(strings.Compare(key(x.Span), key(y.Span)), strings.Compare(string(x.Component), string(y.Component)),
			strings.Compare(x.Unit, y.Unit))
	})
	slices.SortStableFunc(b.Workflows, func(x, y pipeline.Workflow) int { return strings.Compare(x.ID, y.ID) })
	slices.SortStableFunc(b.Issues, func(x, y pipeline.SpanIssue) int {
		return cmp.Or(strings.Compare(key(x.Span), key(y.Span)), strings.Compare(x.Issue, y.Issue))
	})
}

// BenchmarkCore is the processing core - decode, normalise, token estimate, stitch,
// price - on generator-shaped records, per span. Each pass gives every trace a trace id
// of its own (retrace), so a pass's traces are new ones, as in a stream, not late
// corrections of the previous pass's traces (which the closed-trace memory remembers).
func BenchmarkCore(b *testing.B) {
	recs, truth := loadgenRecords(b, 2000)
	for _, path := range []string{"wire", "pdata"} {
		b.Run(path, func(b *testing.B) { benchCore(b, recs, truth, path == "pdata") })
	}
}

// retrace finds every copy of each record's trace id in its value (the record key is
// the id in hex) and returns a function that rewrites them for pass n: the last four
// bytes of the id XOR n. Pass 0 restores the generator's ids.
func retrace(tb testing.TB, recs []*kgo.Record) func(n uint32) {
	type at struct {
		r    *kgo.Record
		offs []int
		tail uint32
	}
	var sites []at
	for _, r := range recs {
		tid, err := hex.DecodeString(string(r.Key))
		if err != nil || len(tid) != 16 {
			tb.Fatalf("record key %q is not a trace id", r.Key)
		}
		a := at{r: r, tail: binary.LittleEndian.Uint32(tid[12:])}
		for i := 0; ; {
			j := bytes.Index(r.Value[i:], tid)
			if j < 0 {
				break
			}
			a.offs = append(a.offs, i+j)
			i += j + len(tid)
		}
		if len(a.offs) == 0 {
			tb.Fatalf("trace id %s not in its record", r.Key)
		}
		sites = append(sites, a)
	}
	return func(n uint32) {
		for _, a := range sites {
			for _, o := range a.offs {
				binary.LittleEndian.PutUint32(a.r.Value[o+12:], a.tail^n)
			}
		}
	}
}

func benchCore(b *testing.B, recs []*kgo.Record, truth *loadgen.Truth, pdata bool) {
	book := builtin(b)
	core := process.NewCore(process.Config{}, "spans", book)
	if pdata {
		core.PdataOnly()
	}
	setPass := retrace(b, recs)
	defer setPass(0)
	b.ReportAllocs()
	b.ResetTimer()
	now := time.Unix(1_800_000_000, 0)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs0 := ms.Mallocs
	cpu0 := cpuTime()
	pass := uint32(0)
	for b.Loop() {
		setPass(pass)
		pass++
		for _, r := range recs {
			core.Add(r, now)
		}
		now = now.Add(time.Hour)
		core.Flush(now, false)
	}
	spans := float64(b.N * truth.Spans)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
	// CPU time of the whole process (every thread, the GC's included) per span: on a
	// shared machine the honest per-core figure, where wall time counts other jobs' load.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/spans, "cpu-ns/span")
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Mallocs-mallocs0)/spans, "allocs/span")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
