package process_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"

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

// BenchmarkCore is the processing core - decode, normalise, token estimate, stitch,
// price - on generator-shaped records, per span.
func BenchmarkCore(b *testing.B) {
	recs, truth := loadgenRecords(b, 2000)
	book := builtin(b)
	core := process.NewCore(process.Config{}, "spans", book)
	b.ReportAllocs()
	b.ResetTimer()
	now := time.Unix(1_800_000_000, 0)
	for b.Loop() {
		for _, r := range recs {
			core.Add(r, now)
		}
		now = now.Add(time.Hour)
		core.Flush(now, false)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*truth.Spans), "ns/span")
	b.ReportMetric(0, "ns/op")
}
