package stack_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/stack"
)

// member runs one `process` group member until stopped.
type member struct {
	cancel context.CancelFunc
	done   chan error
}

func join(t *testing.T, cfg config.Config) *member {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := stack.New(ctx, cfg, stack.Roles{Process: true}, nil, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	m := &member{cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- s.Run(ctx) }()
	return m
}

func (m *member) leave(t *testing.T) {
	t.Helper()
	m.cancel()
	if err := <-m.done; err != nil {
		t.Errorf("member exit: %v", err)
	}
}

// Three process instances in one consumer group, joining and leaving while the workload
// streams in (the group rebalances three times: two joins and a graceful leave, whose
// revoke flushes and commits), and ClickHouse ends exactly equal to the ground truth.
func TestMembersJoinAndLeaveMidStream(t *testing.T) {
	for _, k := range testenv.AllKafka(6) {
		t.Run(k.Name, func(t *testing.T) {
			st := testenv.ClickHouse(t)
			cfg := builtinConfig(t, k.Addrs(t), st)
			cfg.Kafka.Partitions = 6
			cfg.Process.PollRecords = 50
			cfg.Process.Stitch.OrphanQuiet = time.Second

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
			start := time.Now().Add(-5 * time.Hour).Truncate(time.Minute)
			lc := loadgen.Config{Seed: 31, Workflows: 1200, Start: start}
			tp := loadgen.NewTracerProvider(exp, lc.Seed)
			var b, c *member
			truth, err := loadgen.Run(ctx, lc, tp, func(done, total int) {
				time.Sleep(4 * time.Millisecond)
				switch done {
				case 300:
					b = join(t, cfg) // a second member takes over some partitions
				case 600:
					c = join(t, cfg)
				case 800:
					a.leave(t) // the first leaves gracefully: revoke, flush, commit
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			waitCounts(t, st, uint64(len(truth.Workflows)), uint64(truth.LineItems))
			checkTruth(t, st, truth, start.Add(-time.Minute), time.Now().Add(time.Hour))
			b.leave(t)
			c.leave(t)
		})
	}
}
