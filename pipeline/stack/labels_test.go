package stack_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/stack"
)

// Late human reviews handled by a process that does not remember their workflow - after a
// graceful restart, or beyond closed_memory under plain load - are stored without the
// workflow's team and feature of their own; every figure, the breakdowns by team and
// feature included, still equals the ground truth to the nano-dollar (they take a line's
// labels from its workflow row). (SIGKILL: cmd/unitcost's crash test; rebalances:
// TestMembersJoinAndLeaveMidStream.)
func TestLateReviewsKeepTheirWorkflowsLabels(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	for _, c := range []struct {
		name         string
		restart      bool
		closedMemory int
	}{{"graceful restart", true, 0}, {"beyond closed_memory", false, 1}} {
		t.Run(c.name, func(t *testing.T) {
			st := testenv.ClickHouse(t)
			cfg := builtinConfig(t, brokers, st)
			cfg.Process.Stitch.OrphanQuiet = time.Second
			cfg.Process.Stitch.ClosedMemory = c.closedMemory
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ing, err := stack.New(ctx, cfg, stack.Roles{Ingest: true}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			idone := make(chan error, 1)
			go func() { idone <- ing.Run(ctx) }()
			defer func() { cancel(); <-idone }()
			a := join(t, cfg)
			exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(ing.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
			lc := loadgen.Config{Seed: 41, Workflows: 300, Start: start}
			tp := loadgen.NewTracerProvider(exp, lc.Seed)
			last := a
			truth, err := loadgen.Run(ctx, lc, tp, func(done, total int) {
				if done != total || !c.restart {
					return
				}
				// Every workflow is written; its reviews come next. Restart the process
				// gracefully first: the new one remembers none of them.
				if err := tp.ForceFlush(ctx); err != nil {
					t.Error(err)
				}
				waitWorkflows(t, st, uint64(total))
				a.leave(t)
				last = join(t, cfg)
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			waitCounts(t, st, uint64(len(truth.Workflows)), uint64(truth.LineItems))
			checkTruth(t, st, truth, start.Add(-time.Minute), time.Now().Add(time.Hour))
			last.leave(t)
		})
	}
}

func waitWorkflows(t *testing.T, st interface {
	Counts(context.Context) (uint64, uint64, error)
}, n uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if w, _, err := st.Counts(context.Background()); err == nil && w >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("fewer than %d workflows written within a minute", n)
}
