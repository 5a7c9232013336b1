package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/whatif"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

func devCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "dev",
		Short: "run ingest and process in one process on an embedded Kafka (kfake)",
		Long: "Run everything in one process: an embedded Kafka broker (franz-go's kfake, real Kafka\n" +
			"protocol, in memory), OTLP ingest and process. ClickHouse must be reachable\n" +
			"(deploy/local/clickhouse.sh start). /metrics on admin.addr (default 127.0.0.1:9468).",
		Args: noArgs,
	}
	kport := c.Flags().Int("kafka-port", 29092, "port of the embedded Kafka broker (0 picks one)")
	s := bindSettings(c, "dev", "kafka.partitions", "kafka.spans_topic", "kafka.dead_letter_topic", "kafka.group", "clickhouse", "ingest", "process", "rollup", "admin", "log_level")
	c.RunE = func(*cobra.Command, []string) error {
		ss, err := s.start()
		if err != nil {
			return err
		}
		defer ss.stop()
		cfg, log, ctx := ss.cfg, ss.log, ss.ctx
		kf, err := stack.Embedded(*kport, cfg.Kafka.Partitions)
		if err != nil {
			return err
		}
		defer kf.Close()
		cfg.Kafka.Brokers = kf.ListenAddrs()
		if err := migrate(ctx, cfg.ClickHouse, log); err != nil {
			return err
		}
		st, err := stack.New(ctx, cfg, stack.Roles{Ingest: true, Process: true}, admin.NewRegistry(), log)
		if err != nil {
			return err
		}
		log.Info("dev running: send OTLP here", "grpc", st.Receiver.GRPCAddr(), "http", st.Receiver.HTTPAddr(),
			"embedded_kafka", cfg.Kafka.Brokers, "clickhouse", cfg.ClickHouse.Addr, "database", cfg.ClickHouse.Database, "admin", cfg.Admin.Addr)
		return st.Run(ctx)
	}
	return c
}

func demoCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "demo",
		Short: "run a realistic workload end to end on embedded Kafka and print the unit economics",
		Long: "Drive a realistic synthetic AI workload end to end - OTel SDK -> OTLP ingest -> embedded\n" +
			"Kafka -> process -> ClickHouse - then print the unit economics and check every figure\n" +
			"against the generator's ground truth, and end with the what-if's recommended routing for\n" +
			"the ticket classifier. Exits 0 only if they all match.\n\n" +
			"Uses a fresh ClickHouse database (clickhouse.database, default unitcost_demo) each run.",
		Args: noArgs,
	}
	workflows := c.Flags().Int("workflows", 1000, "workflows to generate")
	seed := c.Flags().Uint64("seed", 7, "random seed")
	serve := c.Flags().Bool("serve", false, "afterwards keep the dashboard and the API up on api.addr (default 127.0.0.1:8080) until Ctrl-C")
	s := bindSettingsAdjusted(c, "demo", func(c *config.Config) {
		c.ClickHouse.Database = "unitcost_demo"
		c.Admin.Addr = ""
	}, "kafka.partitions", "clickhouse", "process", "admin", "api", "log_level")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		s.overrides["ingest.grpc_addr"], s.overrides["ingest.http_addr"] = "127.0.0.1:0", "127.0.0.1:0"
		cfg, err := s.load()
		if err != nil {
			return err
		}
		ctx, stop := signalContext()
		defer stop()
		if err := runDemo(ctx, cfg, *workflows, *seed); err != nil {
			return err
		}
		if *serve {
			return serveDashboard(ctx, cfg)
		}
		fmt.Printf("Dashboard: http://%s/ui/ - `make demo-serve` (unitcost demo --serve) keeps it up until Ctrl-C, or\n"+
			"`unitcost api --clickhouse.database %s` serves this database while ClickHouse runs.\n", cfg.API.Addr, cfg.ClickHouse.Database)
		return nil
	}
	return c
}

func runDemo(ctx context.Context, cfg config.Config, workflows int, seed uint64) error {
	began := time.Now()
	kf, err := stack.Embedded(0, cfg.Kafka.Partitions)
	if err != nil {
		return err
	}
	defer kf.Close()
	cfg.Kafka.Brokers = kf.ListenAddrs()
	fmt.Fprintf(os.Stderr, "demo: embedded Kafka (kfake) on %v; ClickHouse %v database %s\n", cfg.Kafka.Brokers, cfg.ClickHouse.Addr, cfg.ClickHouse.Database)
	if err := resetDatabase(ctx, cfg.ClickHouse); err != nil {
		return err
	}
	st, err := stack.New(ctx, cfg, stack.Roles{Ingest: true, Process: true}, nil, discardLogger())
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- st.Run(runCtx) }()
	stopStack := func() error { cancel(); return <-done }

	client := otlptracegrpc.NewClient(otlptracegrpc.WithEndpoint(st.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure())
	// The workload starts an hour ago, one workflow every 2 s: the what-if's window is that
	// span, so its saving per month is at the workload's rate.
	wlStart, spacing := time.Now().Add(-time.Hour).Truncate(time.Minute), 2*time.Second
	truth, err := sendWorkload(ctx, client, loadgen.Config{Seed: seed, Workflows: workflows, Start: wlStart, Spacing: spacing})
	if err != nil {
		stopStack()
		return err
	}
	fmt.Fprintf(os.Stderr, "demo: sent %s\n", truth.Summary())
	if err := waitWritten(ctx, st.Store, uint64(len(truth.Workflows)), uint64(truth.LineItems)); err != nil {
		stopStack()
		return err
	}
	from, to := time.Now().Add(-48*time.Hour), time.Now().Add(time.Hour)
	ue, err := st.Store.UnitEconomics(ctx, from, to, "")
	if err != nil {
		stopStack()
		return err
	}
	if _, err := st.Rollups.Once(ctx); err != nil {
		stopStack()
		return err
	}
	series, err := st.Store.Series(ctx, from.Truncate(time.Hour), to, "hour", store.SeriesFilter{})
	if err != nil {
		stopStack()
		return err
	}
	wi, err := demoWhatif(ctx, cfg, st.Store, wlStart, wlStart.Add(time.Duration(workflows)*spacing), truth)
	if err != nil {
		stopStack()
		return err
	}
	if err := stopStack(); err != nil {
		return err
	}
	fmt.Printf("\nUnit economics (%d workflows, all tenants; costs include human review that arrived late)\n\n", len(truth.Workflows))
	if err := report.Write(os.Stdout, report.Rows(ue), "table"); err != nil {
		return err
	}
	fmt.Printf("\n%s\n", report.Footnote)
	if err := compareTruth(ue, truth.ByType("")); err != nil {
		return err
	}
	if err := compareTruth(store.SumByWorkflow(series), truth.ByType("")); err != nil {
		return fmt.Errorf("hourly rollups: %w", err)
	}
	fmt.Printf("\nEvery figure above equals the generator's independently computed ground truth, to the nano-dollar,\n"+
		"both from the line items and from the hourly rollups (%d hour x workflow-type points).", len(series))
	fmt.Printf("\nQuery them: unitcost report --view series --bucket hour (or GET /api/v1/series from `unitcost api`).\n")
	rec := wi.Recommendation
	fmt.Printf("\nWhat-if, %s (%d workflows; the cheap model is reviewed twice as often):\n", wi.Workflow, wi.Workflows)
	for _, e := range wi.Routings {
		fmt.Printf("  %-22s %s per validated output (95%% range %s to %s), %d workflows observed\n", e.Routing, "$"+pipeline.Money(e.PerValidated.PointNano).Dollars(4),
			"$"+pipeline.Money(e.PerValidated.LoNano).Dollars(4), demoHi(e.PerValidated), e.Samples)
	}
	if rec.Routing == "" {
		fmt.Printf("Recommendation: none - %s\n", rec.Why)
	} else {
		fmt.Printf("Recommendation: %s, saving $%s a month at the workload's rate (%d validated outputs a month; confidence: %s).\nWhy: %s.\n",
			rec.Routing, pipeline.Money(rec.SavingNano).Dollars(2), rec.ValidatedPerMonth, rec.Confidence, rec.Why)
	}
	fmt.Printf("Its as-recorded machine cost equals the generator's to the nano-dollar. More: unitcost whatif --clickhouse.database %s --since 2d\n", cfg.ClickHouse.Database)
	fmt.Printf("Wall time %.1fs.\n", time.Since(began).Seconds())
	return nil
}

// demoWhatif runs the what-if on the demo's ticket classifier and checks its as-recorded
// machine cost against the generator's.
func demoWhatif(ctx context.Context, cfg config.Config, st *store.Store, from, to time.Time, truth *loadgen.Truth) (*whatif.Report, error) {
	books, err := stack.LoadBook(cfg.Process.PriceBook)
	if err != nil {
		return nil, err
	}
	const wf = "ticket_classification"
	reps, err := whatif.Run(ctx, whatifch.New(st), whatif.Request{Workflow: wf, From: from, To: to, Options: whatif.Options{Pricer: whatif.Pricer{Books: books}}})
	if err != nil {
		return nil, err
	}
	r := reps[0]
	if got, want := pipeline.Money(r.Routings[0].MachineCostNano), truth.MachineCost(wf, nil); cfg.Process.PriceBook == "" && got != want {
		return nil, fmt.Errorf("what-if: %s machine cost as recorded %s, ground truth %s", wf, got, want)
	}
	return r, nil
}

func demoHi(m whatif.MoneyRange) string {
	if m.HiNano == nil {
		return "unbounded"
	}
	return "$" + pipeline.Money(*m.HiNano).Dollars(4)
}

func resetDatabase(ctx context.Context, cfg store.Config) error {
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database); err != nil {
		return fmt.Errorf("reset demo database: %w", err)
	}
	_, err = st.Migrate(ctx)
	return err
}

// waitWritten polls ClickHouse until the expected rows are there, with a progress line.
func waitWritten(ctx context.Context, st *store.Store, workflows, lines uint64) error {
	deadline := time.Now().Add(3 * time.Minute)
	pr := newProgress()
	for {
		w, l, err := st.Counts(ctx)
		if err != nil {
			return err
		}
		complete := w == workflows && l == lines
		pr.update(complete, "demo: in ClickHouse %d/%d workflows, %d/%d line items", w, workflows, l, lines)
		if complete {
			return nil
		}
		if w > workflows || l > lines {
			return fmt.Errorf("more rows than the workload holds (%d workflows, %d line items): double counting", w, l)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after 3m waiting for the pipeline to write every workflow (%d/%d workflows, %d/%d line items)", w, workflows, l, lines)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func compareTruth(got []store.UnitEconomics, want []loadgen.TypeTruth) error {
	if len(got) != len(want) {
		return fmt.Errorf("ground truth mismatch: %d workflow types in ClickHouse, %d generated", len(got), len(want))
	}
	var errs []error
	for i, w := range want {
		g := got[i]
		exp := store.UnitEconomics{Workflow: w.Workflow, Workflows: w.Workflows, Completed: w.Completed,
			ValidatedOutputs: w.ValidatedOutputs, Exceptions: w.Exceptions, Cost: w.Cost, ExceptionCost: w.ExceptionCost, ReviewCost: w.ReviewCost}
		if g != exp {
			errs = append(errs, fmt.Errorf("%s: pipeline %+v, ground truth %+v", w.Workflow, g, exp))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("ground truth mismatch:\n%w", errors.Join(errs...))
	}
	return nil
}
