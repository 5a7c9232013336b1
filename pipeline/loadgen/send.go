package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// CountingExporter wraps an exporter and counts the exports (and their spans) that
// failed: the SDK's batch processor only logs them, so without this a run that lost
// spans would look complete.
type CountingExporter struct {
	sdktrace.SpanExporter
	mu                 sync.Mutex
	exports, failed    int
	spans, failedSpans int
	lastErr            error
}

var _ sdktrace.SpanExporter = (*CountingExporter)(nil)

// ExportSpans exports and counts.
func (c *CountingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := c.SpanExporter.ExportSpans(ctx, spans)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exports++
	c.spans += len(spans)
	if err != nil {
		c.failed++
		c.failedSpans += len(spans)
		c.lastErr = err
	}
	return err
}

// Err is nil when every export succeeded; otherwise it says how many failed and the
// last error.
func (c *CountingExporter) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d exports failed, %d of %d spans not delivered (last error: %w)", c.failed, c.exports, c.failedSpans, c.spans, c.lastErr)
}

// Send runs the workload through exp with a tracer provider using the seed's ids, flushes
// it, and fails if any export failed (the truth is still returned, for what it is worth).
func Send(ctx context.Context, exp sdktrace.SpanExporter, cfg Config, progress func(done, total int)) (*Truth, error) {
	cx := &CountingExporter{SpanExporter: exp}
	tp := NewTracerProvider(cx, cfg.withDefaults().Seed)
	truth, err := Run(ctx, cfg, tp, progress)
	if err != nil {
		tp.Shutdown(context.Background())
		return nil, err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	serr := tp.Shutdown(sctx)
	if err := errors.Join(cx.Err(), serr); err != nil {
		return truth, fmt.Errorf("send spans: %w", err)
	}
	return truth, nil
}
