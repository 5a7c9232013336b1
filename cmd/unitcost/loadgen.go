package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/segmentio/encoding/json"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/unitcost/unitcost/pipeline/loadgen"
)

func runLoadgen(args []string) error {
	fs, s := newFlags("loadgen", "Send a realistic synthetic AI workload (RAG Q&A, a support agent with tools and retries,\ninvoice extraction with human validation, routed ticket classification) through the\nofficial OTel Go SDK's OTLP/gRPC exporter, and write its ground truth as JSON.", "")
	endpoint := fs.String("endpoint", "127.0.0.1:4317", "OTLP/gRPC endpoint (unitcost ingest or a Collector)")
	workflows := fs.Int("workflows", 200, "workflows to generate")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same workload)")
	truthPath := fs.String("truth", "", "write the ground truth (every workflow's cost, unit economics per type) to this JSON file")
	token := fs.String("token", "", "bearer token for an authenticated ingest")
	if err := s.parse(args); err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	truth, err := sendWorkload(ctx, *endpoint, *token, loadgen.Config{Seed: *seed, Workflows: *workflows})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadgen: sent %s\n", truth.Summary())
	if *truthPath != "" {
		b, err := json.MarshalIndent(map[string]any{"workflows": truth.Workflows, "by_type": truth.ByType(""),
			"spans": truth.Spans, "line_items": truth.LineItems}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*truthPath, b, 0o644); err != nil {
			return fmt.Errorf("write ground truth: %w", err)
		}
	}
	return nil
}

// sendWorkload exports a generated workload over OTLP/gRPC with a progress line.
func sendWorkload(ctx context.Context, endpoint, token string, cfg loadgen.Config) (*loadgen.Truth, error) {
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure()}
	if token != "" {
		opts = append(opts, otlptracegrpc.WithHeaders(map[string]string{"authorization": "Bearer " + token}))
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	tp := loadgen.NewTracerProvider(exp, cfg.Seed)
	start := time.Now()
	pr := newProgress()
	truth, err := loadgen.Run(ctx, cfg, tp, func(done, total int) {
		pr.update(done == total, "loadgen: %d/%d workflows generated (%.1fs)", done, total, time.Since(start).Seconds())
	})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := tp.Shutdown(sctx); err != nil {
		return nil, fmt.Errorf("flush spans to %s: %w (is `unitcost ingest` running there?)", endpoint, err)
	}
	return truth, nil
}
