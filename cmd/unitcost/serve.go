package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
)

func runIngest(args []string) error {
	_, s := newFlags("ingest", "Serve OTLP over gRPC and HTTP and produce every span to Kafka, one record per trace keyed\nby trace id. A request is acknowledged only once its spans are in Kafka.",
		"Serves /healthz, /readyz and /metrics on admin.addr. SIGTERM drains in-flight requests.")
	ss, err := s.start(args)
	if err != nil {
		return err
	}
	defer ss.stop()
	cfg, log, ctx := ss.cfg, ss.log, ss.ctx
	st, err := stack.New(ctx, cfg, stack.Roles{Ingest: true}, admin.NewRegistry(), log)
	if err != nil {
		return err
	}
	log.Info("ingest listening", "grpc", st.Receiver.GRPCAddr(), "http", st.Receiver.HTTPAddr(), "kafka", cfg.Kafka.Brokers, "topic", cfg.Kafka.SpansTopic)
	return st.Run(ctx)
}

func runProcess(args []string) error {
	_, s := newFlags("process", "Consume spans from Kafka as a member of the process consumer group, stitch them into\nworkflows, price them and write line items and workflow facts to ClickHouse.",
		"Offsets are committed only up to the oldest span not yet written. Run several instances\nwith the same kafka.group to scale out. SIGTERM writes what is due, commits and leaves.")
	ss, err := s.start(args)
	if err != nil {
		return err
	}
	defer ss.stop()
	cfg, log, ctx := ss.cfg, ss.log, ss.ctx
	if err := migrate(ctx, cfg.ClickHouse, log); err != nil {
		return err
	}
	st, err := stack.New(ctx, cfg, stack.Roles{Process: true}, admin.NewRegistry(), log)
	if err != nil {
		return err
	}
	log.Info("process consuming", "kafka", cfg.Kafka.Brokers, "group", cfg.Kafka.Group, "clickhouse", cfg.ClickHouse.Addr)
	return st.Run(ctx)
}

func runMigrate(args []string) error {
	fs, s := newFlags("migrate", "Create the ClickHouse database and apply every schema migration not yet applied.\nIdempotent; refuses to run against a schema newer than this binary.", "")
	print := fs.Bool("print", false, "print every migration's statements as JSON and exit, without connecting")
	ss, err := s.start(args)
	if err != nil {
		return err
	}
	defer ss.stop()
	if *print {
		ms, err := store.MigrationsFor(ss.cfg.ClickHouse)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ms)
	}
	return migrate(ss.ctx, ss.cfg.ClickHouse, ss.log)
}

func migrate(ctx context.Context, cfg store.Config, log *slog.Logger) error {
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	v, _ := st.ServerVersion(ctx)
	log.Info("schema up to date", "database", cfg.Database, "applied", applied, "server", v)
	return nil
}
