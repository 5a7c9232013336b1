package loadgen_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/unitcost/unitcost/pipeline/loadgen"
)

type flakyExporter struct{ calls atomic.Int64 }

func (f *flakyExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	if f.calls.Add(1)%2 == 0 {
		return errors.New("connection refused")
	}
	return nil
}

func (f *flakyExporter) Shutdown(context.Context) error { return nil }

// A run whose exporter fails is an error that counts the failed exports and spans.
func TestSendCountsFailedExports(t *testing.T) {
	t.Parallel()
	_, err := loadgen.Send(context.Background(), &flakyExporter{}, loadgen.Config{Seed: 3, Workflows: 300}, nil)
	if err == nil || !strings.Contains(err.Error(), "exports failed") || !strings.Contains(err.Error(), "spans not delivered") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("got %v", err)
	}
	if _, err := loadgen.Send(context.Background(), &okExporter{}, loadgen.Config{Seed: 3, Workflows: 20}, nil); err != nil {
		t.Fatalf("a clean run failed: %v", err)
	}
}

type okExporter struct{}

func (okExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (okExporter) Shutdown(context.Context) error                             { return nil }
