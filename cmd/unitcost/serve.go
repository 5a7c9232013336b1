package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/segmentio/encoding/json"
	"github.com/spf13/cobra"

	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
)

func ingestCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "ingest",
		Short: "serve OTLP (gRPC :4317, HTTP :4318) and produce spans to Kafka keyed by trace id",
		Long: "Serve OTLP over gRPC and HTTP and produce every span to Kafka, one record per trace keyed\n" +
			"by trace id. A request is acknowledged only once its spans are in Kafka.\n\n" +
			"Serves /healthz, /readyz and /metrics on admin.addr (default 127.0.0.1:9464). SIGTERM drains\nin-flight requests.",
		Args: noArgs,
	}
	s := bindSettings(c, "ingest", "kafka.brokers", "kafka.spans_topic", "kafka.dead_letter_topic", "kafka.collector_topics", "kafka.partitions",
		"kafka.replication_factor", "kafka.client_id", "kafka.max_record_bytes", "kafka.tls", "kafka.sasl", "ingest", "admin", "log_level")
	c.RunE = func(*cobra.Command, []string) error {
		ss, err := s.start()
		if err != nil {
			return err
		}
		defer ss.stop()
		cfg, log, ctx := ss.cfg, ss.log, ss.ctx
		st, err := stack.New(ctx, cfg, stack.Roles{Ingest: true}, admin.NewRegistry(), log)
		if err != nil {
			return err
		}
		log.Info("ingest listening", "grpc", st.Receiver.GRPCAddr(), "http", st.Receiver.HTTPAddr(), "kafka", cfg.Kafka.Brokers, "topic", cfg.Kafka.SpansTopic, "admin", cfg.Admin.Addr)
		return st.Run(ctx)
	}
	return c
}

func processCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "process",
		Short: "consume spans, stitch workflows, price them and write to ClickHouse",
		Long: "Consume spans from Kafka as a member of the process consumer group, stitch them into\n" +
			"workflows, price them and write line items and workflow facts to ClickHouse; refresh the\n" +
			"hourly rollups every rollup.interval.\n\n" +
			"Offsets are committed only up to the oldest span not yet written. Run several instances\n" +
			"with the same kafka.group to scale out. SIGTERM writes what is due, commits and leaves.\n" +
			"Serves /healthz, /readyz and /metrics on admin.addr (default 127.0.0.1:9465).",
		Args: noArgs,
	}
	s := bindSettings(c, "process", "kafka", "clickhouse", "process", "rollup", "admin", "log_level")
	c.RunE = func(*cobra.Command, []string) error {
		ss, err := s.start()
		if err != nil {
			return err
		}
		defer ss.stop()
		cfg, log, ctx := ss.cfg, ss.log, ss.ctx
		if lim := cfg.Process.MemoryLimit(); lim > 0 && os.Getenv("GOMEMLIMIT") == "" {
			// Held spans are bounded by max_spans; the soft limit keeps the heap near what is
			// live rather than twice it (DESIGN.md invariant 6).
			debug.SetMemoryLimit(lim)
			log.Info("go runtime soft memory limit", "mib", lim>>20)
		}
		if err := migrate(ctx, cfg.ClickHouse, log); err != nil {
			return err
		}
		st, err := stack.New(ctx, cfg, stack.Roles{Process: true}, admin.NewRegistry(), log)
		if err != nil {
			return err
		}
		log.Info("process consuming", "kafka", cfg.Kafka.Brokers, "group", cfg.Kafka.Group, "clickhouse", cfg.ClickHouse.Addr, "admin", cfg.Admin.Addr)
		return st.Run(ctx)
	}
	return c
}

func migrateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "migrate",
		Short: "create or upgrade the ClickHouse schema",
		Long:  "Create the ClickHouse database and apply every schema migration not yet applied.\nIdempotent; refuses to run against a schema newer than this binary.",
		Args:  noArgs,
	}
	print := c.Flags().Bool("print", false, "print every migration's statements as JSON and exit, without connecting")
	s := bindSettings(c, "migrate", "clickhouse", "log_level")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		ss, err := s.start()
		if err != nil {
			return err
		}
		defer ss.stop()
		if *print {
			ms, err := store.MigrationsFor(ss.cfg.ClickHouse)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(ms)
		}
		return migrate(ss.ctx, ss.cfg.ClickHouse, ss.log)
	}
	return c
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
