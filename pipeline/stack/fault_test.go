package stack_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/stack"
)

// runStack starts a stack with roles and returns it with a stop function that cancels it
// and returns Run's error.
func runStack(t *testing.T, cfg config.Config, roles stack.Roles, reg *prometheus.Registry) (*stack.Stack, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := stack.New(ctx, cfg, roles, reg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return s, stop
}

func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == k && lp.GetValue() == v)
				}
				if !found {
					continue metrics
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// oneSpan is a request holding one valid span.
func oneSpan() ptrace.Traces {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{0xfa, 1})
	sp.SetSpanID([8]byte{0xfa, 2})
	sp.SetName("probe")
	return td
}

// The Kafka outage of issue 12: the official OTel Go SDK (gRPC and HTTP exporters, default
// retry settings) sends a workload to `ingest` while the test's own Kafka broker is
// stopped for 20 s mid-load and restarted. Every failure to hand spans to Kafka is
// answered 503 / UNAVAILABLE with a retry hint (never 500 / INTERNAL), and after process
// has written everything to ClickHouse the figures equal the generator's ground truth to
// the nano-dollar: no span lost, none counted twice. Then, with the broker stopped
// outright, ingest still answers at once (503 + Retry-After) and shuts down promptly.
func TestKafkaOutageDuringOTLPLoad(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("fault suite: runs in the plain pass of make test, not under -short or the race detector")
	}
	broker := testenv.DedicatedKafka(t)
	st := testenv.ClickHouse(t)
	cfg := builtinConfig(t, []string{broker.Addr}, st)
	cfg.Ingest.ShutdownTimeout = 2 * time.Second
	reg := prometheus.NewRegistry()
	ing, stopIngest := runStack(t, cfg, stack.Roles{Ingest: true}, reg)
	_, stopProcess := runStack(t, cfg, stack.Roles{Process: true}, nil)

	var sdkErrors atomic.Int64
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		if sdkErrors.Add(1) <= 5 {
			t.Logf("SDK export error (the spans stay buffered in ingest and arrive later): %v", err)
		}
	}))
	defer otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))

	ctx := context.Background()
	grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(ing.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(ing.Receiver.HTTPAddr()), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	outage := make(chan struct{})
	go func() {
		defer close(outage)
		time.Sleep(6 * time.Second)
		broker.Stop()
		t.Logf("broker stopped at %s", time.Now().Format(time.TimeOnly))
		time.Sleep(20 * time.Second)
		broker.Start()
		t.Logf("broker restarted at %s", time.Now().Format(time.TimeOnly))
	}()
	// Two workloads at once, one per exporter, with disjoint ids (seeds) and tenants.
	type result struct {
		truth *loadgen.Truth
		err   error
	}
	results := make(chan result, 2)
	for i, exp := range []sdktrace.SpanExporter{grpcExp, httpExp} {
		go func() {
			lc := loadgen.Config{Seed: uint64(31 + i), Workflows: 240, Rate: 8, Start: start.Add(time.Duration(i) * time.Hour),
				Tenants: [][]string{{"acme"}, {"globex"}}[i]}
			tp := loadgen.NewTracerProvider(exp, lc.Seed)
			truth, err := loadgen.Run(ctx, lc, tp, nil)
			if err == nil {
				if serr := tp.Shutdown(ctx); serr != nil {
					t.Logf("exporter shutdown: %v (spans it could not export were answered 503 and stay buffered in ingest)", serr)
				}
			}
			results <- result{truth, err}
		}()
	}
	truth := &loadgen.Truth{}
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		truth.Workflows = append(truth.Workflows, r.truth.Workflows...)
		truth.Spans += r.truth.Spans
		truth.LineItems += r.truth.LineItems
	}
	<-outage
	t.Logf("load sent at %s", time.Now().Format(time.TimeOnly))
	waitCounts(t, st, uint64(len(truth.Workflows)), uint64(truth.LineItems))
	t.Logf("all rows written at %s", time.Now().Format(time.TimeOnly))
	checkTruth(t, st, truth, start.Add(-time.Minute), time.Now().Add(time.Hour))
	t.Logf("checked at %s", time.Now().Format(time.TimeOnly))

	busy := counter(t, reg, "unitcost_ingest_requests_total", map[string]string{"status": "503"})
	failed := counter(t, reg, "unitcost_ingest_requests_total", map[string]string{"status": "500"})
	t.Logf("%d workflows, %d spans; ingest answered %v requests 503 during the outage, %v with 500; SDK reported %d export errors",
		len(truth.Workflows), truth.Spans, busy, failed, sdkErrors.Load())
	if busy == 0 {
		t.Fatal("no request was answered 503: the outage did not overlap the load")
	}
	if failed != 0 {
		t.Fatalf("%v requests answered 500", failed)
	}
	if n := counter(t, reg, "unitcost_ingest_kafka_failures_total", nil); n == 0 {
		t.Fatal("unitcost_ingest_kafka_failures_total did not count the outage")
	}

	// The broker stopped outright: ingest answers at once with a retry hint and exits on
	// SIGTERM (context cancel) promptly.
	if err := stopProcess(); err != nil {
		t.Errorf("process: %v", err)
	}
	broker.Stop()
	pb, _ := otlp.Encode(oneSpan())
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		resp, err := http.Post("http://"+ing.Receiver.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(pb))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		took := time.Since(t0)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("broker down: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		// The contract (not a benchmark): well inside the SDKs' 10 s export timeout.
		if took > 9*time.Second {
			t.Fatalf("broker down: answered after %s", took)
		}
		t.Logf("broker down: 503 after %s", took.Round(time.Millisecond))
	}
	t0 := time.Now()
	if err := stopIngest(); err != nil {
		t.Errorf("ingest: %v", err)
	}
	t.Logf("ingest stopped %s after SIGTERM with the broker down", time.Since(t0).Round(time.Millisecond))
	if time.Since(t0) > 30*time.Second {
		t.Fatalf("ingest took %s to stop", time.Since(t0))
	}
}
