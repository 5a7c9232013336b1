package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
)

// buildBinary compiles the real unitcost binary once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "unitcost")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startProcess runs `unitcost process` as a separate OS process with settings as flags.
func startProcess(t *testing.T, bin string, cfg config.Config) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "process",
		"--kafka.brokers", cfg.Kafka.Brokers[0],
		"--kafka.spans_topic", cfg.Kafka.SpansTopic,
		"--kafka.dead_letter_topic", cfg.Kafka.DeadLetterTopic,
		"--kafka.collector_topics", cfg.Kafka.CollectorTopics[0],
		"--kafka.group", cfg.Kafka.Group,
		"--kafka.partitions", fmt.Sprint(cfg.Kafka.Partitions),
		"--kafka.session_timeout", cfg.Kafka.SessionTimeout.String(),
		"--clickhouse.addr", cfg.ClickHouse.Addr[0],
		"--clickhouse.database", cfg.ClickHouse.Database,
		"--process.poll_records", "40",
		"--process.flush_interval", "50ms",
		"--process.stitch.quiet_period", "100ms",
		"--process.stitch.orphan_quiet", "2s",
		"--admin.addr", "",
		"--log_level", "warn",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// A `unitcost process` killed with SIGKILL mid-stream and restarted leaves ClickHouse
// exactly equal to the ground truth: nothing lost, nothing counted twice. Then SIGTERM
// shuts the restarted one down gracefully (exit 0).
func TestProcessKilledMidStreamAndRestarted(t *testing.T) {
	bin := buildBinary(t)
	for _, k := range testenv.AllKafka(4) {
		t.Run(k.Name, func(t *testing.T) {
			st := testenv.ClickHouse(t)
			cfg := testenv.Config(t, k.Addrs(t), st)
			cfg.Ingest.HTTPAddr = ""

			// Ingest runs in the test; process runs as the real binary.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ing, err := stack.New(ctx, cfg, stack.Roles{Ingest: true}, nil, slog.Default())
			if err != nil {
				t.Fatal(err)
			}
			idone := make(chan error, 1)
			go func() { idone <- ing.Run(ctx) }()
			defer func() { cancel(); <-idone }()

			exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(ing.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure())
			if err != nil {
				t.Fatal(err)
			}
			// The workload is emitted while process runs, slowly enough that workflows
			// close and are written over several seconds; process is killed part way.
			first := startProcess(t, bin, cfg)
			start := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
			lc := loadgen.Config{Seed: 23, Workflows: 1500, Start: start}
			tp := loadgen.NewTracerProvider(exp, lc.Seed)
			type result struct {
				truth *loadgen.Truth
				err   error
			}
			gen := make(chan result, 1)
			go func() {
				truth, err := loadgen.Run(ctx, lc, tp, func(int, int) { time.Sleep(3 * time.Millisecond) })
				if err == nil {
					err = tp.Shutdown(ctx)
				}
				gen <- result{truth, err}
			}()
			deadline := time.Now().Add(2 * time.Minute)
			var killedAt uint64
			for time.Now().Before(deadline) && killedAt == 0 {
				if _, lines, err := st.Counts(ctx); err == nil && lines >= 800 {
					first.Process.Signal(syscall.SIGKILL)
					killedAt = lines
				}
				time.Sleep(5 * time.Millisecond)
			}
			first.Wait()
			if killedAt == 0 {
				t.Fatal("process did not write 800 line items within 2 minutes")
			}
			res := <-gen
			if res.err != nil {
				t.Fatal(res.err)
			}
			truth := res.truth
			if killedAt >= uint64(truth.LineItems) {
				t.Fatalf("killed after everything was written (%d lines): not mid-stream", killedAt)
			}
			t.Logf("SIGKILL after %d of %d line items were written", killedAt, truth.LineItems)

			second := startProcess(t, bin, cfg)
			waitRows(t, st, uint64(len(truth.Workflows)), uint64(truth.LineItems))
			checkAgainstTruth(t, st, truth, start.Add(-time.Minute), time.Now().Add(time.Hour))
			second.Process.Signal(syscall.SIGTERM)
			if err := second.Wait(); err != nil {
				t.Fatalf("graceful shutdown on SIGTERM: %v", err)
			}
		})
	}
}

func waitRows(t *testing.T, st *store.Store, workflows, lines uint64) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var w, l uint64
	for time.Now().Before(deadline) {
		w, l, _ = st.Counts(context.Background())
		if w == workflows && l == lines {
			return
		}
		if w > workflows || l > lines {
			t.Fatalf("double counting: %d workflows, %d lines; want %d, %d", w, l, workflows, lines)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("have %d workflows, %d lines; want %d, %d", w, l, workflows, lines)
}

func checkAgainstTruth(t *testing.T, st *store.Store, truth *loadgen.Truth, from, to time.Time) {
	t.Helper()
	got, err := st.UnitEconomics(context.Background(), from, to, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := compareTruth(got, truth.ByType("")); err != nil {
		t.Fatal(err)
	}
	for _, w := range truth.Workflows {
		cost, n, err := st.WorkflowCost(context.Background(), w.Tenant, w.ID)
		if err != nil || cost != w.Cost || n != uint64(w.LineItems) {
			t.Fatalf("workflow %s: %s over %d lines (err %v), want %s over %d", w.ID, cost, n, err, w.Cost, w.LineItems)
		}
	}
	// Late reviews the restarted process handled without memory of their workflow count
	// under the workflow's team and feature, to the nano-dollar.
	for _, tenant := range []string{"", "acme", "globex"} {
		for _, dim := range []string{"team", "feature"} {
			rows, err := st.Breakdown(context.Background(), dim, from, to, tenant)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]pipeline.Money{}
			for _, r := range rows {
				got[r.Key] = r.Cost
			}
			if want := truth.ByLabel(tenant, dim); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("cost by %s, tenant %q after SIGKILL and restart:\n got %v\nwant %v", dim, tenant, got, want)
			}
		}
	}
}
