// Package stack wires unitcost's stages from one config.Config: the OTLP ingest, the
// process group member, the admin endpoint, and (for `unitcost dev` and the demo) an
// embedded kfake broker. cmd/unitcost and the end-to-end tests both run through it, so
// the tests exercise exactly what users run.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/process"
	"github.com/unitcost/unitcost/pipeline/rollup"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Roles selects the stages one process runs.
type Roles struct {
	Ingest  bool
	Process bool
}

// Stack is a set of running stages.
type Stack struct {
	Receiver  *otlp.Receiver
	Processor *process.Processor
	Store     *store.Store
	Rollups   *rollup.Refresher
	Admin     *admin.Server

	producer *kgo.Client
	sink     *kafka.Producer
	log      *slog.Logger
	shutdown time.Duration
	runs     []func(context.Context) error
}

// Embedded starts a kfake broker on addr ("127.0.0.1:0" picks a port) and returns it with
// its address. It speaks the real Kafka protocol; nothing is persisted.
func Embedded(port int, partitions int32) (*kfake.Cluster, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.DefaultNumPartitions(int(partitions)), kfake.AllowAutoTopicCreation()}
	if port > 0 {
		opts = append(opts, kfake.Ports(port))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka (kfake): %w", err)
	}
	return c, nil
}

// LoadBook reads the configured price book (one or more effective-dated versions), or
// the built-in one.
func LoadBook(path string) (*pricing.Books, error) {
	if path == "" {
		b, err := pricing.Builtin()
		if err != nil {
			return nil, err
		}
		return pricing.Single(b), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read price book: %w", err)
	}
	return pricing.ParseBooks(b)
}

// New builds the stages for roles; nothing runs until Run. reg receives the metrics; log
// may be nil (slog.Default).
func New(ctx context.Context, cfg config.Config, roles Roles, reg *prometheus.Registry, log *slog.Logger) (*Stack, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Stack{log: log, shutdown: cfg.Ingest.ShutdownTimeout}
	checks := map[string]admin.Check{}
	fail := func(err error) (*Stack, error) { s.close(); return nil, err }
	if roles.Ingest {
		if err := s.ingest(ctx, cfg, reg, checks); err != nil {
			return fail(err)
		}
	}
	if roles.Process {
		book, err := LoadBook(cfg.Process.PriceBook)
		if err != nil {
			return fail(err)
		}
		if s.Store, err = store.Open(ctx, cfg.ClickHouse); err != nil {
			return fail(err)
		}
		var m *process.Metrics
		if reg != nil {
			m = process.NewMetrics(reg)
		}
		if s.Processor, err = process.New(cfg.Process, cfg.Kafka, s.Store, book, log, m); err != nil {
			return fail(err)
		}
		var rreg prometheus.Registerer
		if reg != nil {
			rreg = reg
		}
		s.Rollups = rollup.New(cfg.Rollup, s.Store, rreg, log)
		s.Processor.OnWrite(s.Rollups.Written)
		s.runs = append(s.runs, s.Processor.Run, s.Rollups.Run)
		checks["clickhouse"] = s.Store.Ping
		checks["consumer"] = func(context.Context) error {
			if !s.Processor.Ready() {
				return errors.New("not consuming yet")
			}
			return nil
		}
	}
	if cfg.Admin.Addr != "" && reg != nil {
		a, err := admin.New(cfg.Admin, reg, checks)
		if err != nil {
			return fail(err)
		}
		s.Admin = a
		s.runs = append(s.runs, a.Run)
	}
	return s, nil
}

// Run runs every stage until ctx is cancelled or one fails; then it stops the others
// (each drains: ingest finishes in-flight requests, process writes and commits).
func (s *Stack) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(s.runs))
	for i, run := range s.runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	s.close()
	return errors.Join(errs...)
}

func (s *Stack) close() {
	if s.Processor != nil {
		s.Processor.Close()
	}
	if s.sink != nil {
		s.closeIngest()
	}
	if s.producer != nil {
		s.producer.Close()
	}
	if s.Store != nil {
		s.Store.Close()
	}
}
