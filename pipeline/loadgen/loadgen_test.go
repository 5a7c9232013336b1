package loadgen_test

import (
	"context"
	"reflect"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/unitcost/unitcost/pipeline/loadgen"
)

func run(t *testing.T, cfg loadgen.Config) (*loadgen.Truth, []sdktrace.ReadOnlySpan) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithIDGenerator(loadgen.NewIDs(cfg.Seed)))
	truth, err := loadgen.Run(context.Background(), cfg, tp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return truth, exp.GetSpans().Snapshots()
}

func TestDeterministicPerSeed(t *testing.T) {
	t.Parallel()
	cfg := loadgen.Config{Seed: 5, Workflows: 50}
	a, sa := run(t, cfg)
	b, sb := run(t, cfg)
	if !reflect.DeepEqual(a.Workflows, b.Workflows) || len(sa) != len(sb) || a.Spans != len(sa) {
		t.Fatal("same seed, different workload")
	}
	for i := range sa {
		if sa[i].SpanContext().SpanID() != sb[i].SpanContext().SpanID() || sa[i].Name() != sb[i].Name() {
			t.Fatalf("span %d differs", i)
		}
	}
	c, _ := run(t, loadgen.Config{Seed: 6, Workflows: 50})
	if reflect.DeepEqual(a.Workflows, c.Workflows) {
		t.Fatal("different seeds, same workload")
	}
}

func TestMixAndTenants(t *testing.T) {
	t.Parallel()
	truth, _ := run(t, loadgen.Config{Seed: 1, Workflows: 40, Mix: map[string]int{"invoice_extraction": 1}, Tenants: []string{"solo"}})
	for _, w := range truth.Workflows {
		if w.Type != "invoice_extraction" || w.Tenant != "solo" {
			t.Fatalf("workflow %+v outside the mix", w)
		}
	}
	if bt := truth.ByType(""); len(bt) != 1 || bt[0].Workflows != 40 {
		t.Fatalf("by type %+v", bt)
	}
	if _, err := loadgen.Run(context.Background(), loadgen.Config{Mix: map[string]int{"nope": 1}}, sdktrace.NewTracerProvider(), nil); err == nil {
		t.Fatal("unknown workflow type accepted")
	}
}

// Per-workflow figures, per-type aggregates and line counts agree with each other.
func TestTruthCostsAddUp(t *testing.T) {
	t.Parallel()
	truth, _ := run(t, loadgen.Config{Seed: 9, Workflows: 100})
	var sum, review int64
	lines := 0
	for _, w := range truth.Workflows {
		sum += int64(w.Cost)
		review += int64(w.ReviewCost)
		lines += w.LineItems
		if w.Reviewed != (w.ReviewCost > 0) {
			t.Fatalf("reviewed flag and review cost disagree: %+v", w)
		}
	}
	var bySum, byReview int64
	for _, tt := range truth.ByType("") {
		bySum += int64(tt.Cost)
		byReview += int64(tt.ReviewCost)
	}
	if sum != bySum || review != byReview || lines != truth.LineItems {
		t.Fatalf("totals disagree: %d vs %d, %d vs %d, %d vs %d", sum, bySum, review, byReview, lines, truth.LineItems)
	}
}
