package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/alert"
	"github.com/unitcost/unitcost/pipeline/store"
)

func alertCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "alert",
		Short: "evaluate cost-per-output drift rules and notify webhooks, Slack or Alertmanager",
		Long: "Evaluate drift rules against the ClickHouse rollups every interval and notify webhooks,\n" +
			"Slack or Alertmanager when cost per output drifts; serve the unit-cost figures as\n" +
			"Prometheus gauges on admin.addr (default 127.0.0.1:9467, /metrics).\n\n" +
			"Rules: a YAML file (see deploy/alert-rules.yaml). Alert states and undelivered\n" +
			"notifications are kept in the rules' state_file across restarts; run one alert process.\n" +
			"Every evaluation's readings (value, baseline band) and every firing and resolution are\n" +
			"written to ClickHouse (alert_readings, alert_events) for the dashboard, /api/v1/alerts and\n" +
			"Grafana; --replay --record backfills them.\n" +
			"${VAR}s in the rules file come from the environment; an unset one is an error naming it,\n" +
			"except with --once, --dry-run and --replay, which leave out a notifier that uses it.",
		Example: "  unitcost alert --rules deploy/alert-rules.yaml --dry-run\n" +
			"  unitcost alert --rules deploy/alert-rules.yaml --replay --since 14d",
		Args: noArgs,
	}
	fs := c.Flags()
	rulesPath := fs.String("rules", "", "the alert rules YAML file (required)")
	var o alertFlags
	fs.BoolVar(&o.once, "once", false, "evaluate once, print every reading, deliver what is due and exit")
	fs.BoolVar(&o.dryRun, "dry-run", false, "evaluate once and print every reading and what would fire; deliver nothing, keep the state file as it is")
	fs.BoolVar(&o.replay, "replay", false, "evaluate the rules hour by hour over the stored rollups of --since and print what would have fired and resolved")
	fs.BoolVar(&o.record, "record", false, "with --replay: write the replayed readings and transitions the alert history (ClickHouse) the dashboard reads does not hold yet (hours and episodes it has are left as they are); idempotent")
	fs.StringVar(&o.since, "since", "14d", "with --replay: how far back (a length such as 14d, a date or an RFC 3339 time)")
	fs.StringVar(&o.at, "at", "", "with --once or --dry-run: evaluate as of this time, RFC 3339 (default: now); with --replay: the end")
	fs.StringVar(&o.state, "state", "", "the state file (default: the rules' state_file)")
	s := bindSettings(c, "alert", "clickhouse", "admin", "log_level")
	s.ignore = []string{"UNITCOST_ALERT_WEBHOOK_URL", "UNITCOST_ALERT_WEBHOOK_TOKEN", "UNITCOST_SLACK_WEBHOOK_URL", "UNITCOST_ALERTMANAGER_URL"}
	c.RunE = func(*cobra.Command, []string) error {
		o.rules = *rulesPath
		return runAlert(s, o)
	}
	return c
}

type alertFlags struct {
	rules, state, at, since string
	once, dryRun, replay    bool
	record                  bool
}

func runAlert(s *settings, o alertFlags) error {
	if o.rules == "" {
		return usageError{errors.New("--rules: required (an example: deploy/alert-rules.yaml)")}
	}
	modes := 0
	for _, m := range []bool{o.once, o.dryRun, o.replay} {
		if m {
			modes++
		}
	}
	if modes > 1 {
		return usageError{errors.New("--once, --dry-run and --replay: choose one")}
	}
	if o.record && !o.replay {
		return usageError{errors.New("--record: only with --replay (evaluations record their history unless --dry-run)")}
	}
	now := time.Now().UTC()
	if o.at != "" {
		t, err := pipeline.ParseTime(o.at)
		if err != nil {
			return usageError{fmt.Errorf("--at %w", err)}
		}
		now = t
	}
	var from time.Time
	if o.replay {
		var err error
		if from, err = pipeline.ParseSince(o.since, now); err != nil {
			return usageError{fmt.Errorf("--since %w", err)}
		}
	}
	ss, err := s.start()
	if err != nil {
		return err
	}
	defer ss.stop()
	cfg, log, ctx := ss.cfg, ss.log, ss.ctx
	rules, notes, err := alert.LoadRulesEnv(o.rules, os.LookupEnv, modes == 0)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(os.Stderr, "alert:", n)
	}
	if o.state != "" {
		rules.StateFile = o.state
	}
	st, err := store.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := admin.NewRegistry()
	var opts []alert.Option
	switch {
	case o.replay:
		opts = append(opts, alert.Fresh())
		log = discardLogger()
		if o.record {
			opts = append(opts, alert.WithHistory(st))
		}
	case o.dryRun: // fires only what the live engine would: the open episodes are taken up
		opts = append(opts, alert.ReadOnly(), alert.WithEpisodes(st))
	default: // every reading and transition goes to ClickHouse for the dashboard (migration 0009)
		opts = append(opts, alert.WithHistory(st))
	}
	e, err := alert.New(rules, st, reg, log, opts...)
	if err != nil {
		return err
	}
	switch {
	case o.replay:
		pr := newProgress()
		res, err := e.Replay(ctx, from, now, func(done, total int) {
			pr.update(done == total, "alert: replayed %d/%d hours", done, total)
		})
		if err != nil {
			return err
		}
		return alert.WriteReplay(os.Stdout, res)
	case o.once || o.dryRun:
		fired, err := e.Evaluate(ctx, now)
		if werr := alert.WriteReadings(os.Stdout, e.LastReadings(), fired); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
		if o.dryRun {
			fmt.Fprintf(os.Stderr, "dry run: nothing delivered, state file %s unchanged\n", e.StateFile())
			return nil
		}
		sent, err := e.Deliver(ctx, now)
		fmt.Fprintf(os.Stderr, "%d notifications sent, %d pending (state: %s)\n", sent, e.Pending(), e.StateFile())
		return err
	}
	if cfg.Admin.Addr != "" {
		a, err := admin.New(cfg.Admin, reg, map[string]admin.Check{"clickhouse": st.Ping})
		if err != nil {
			return err
		}
		go a.Run(ctx)
	}
	if len(rules.Notifiers) == 0 {
		log.Warn("no notifier is enabled: alerts show only in this log and as unitcost_alert_firing on /metrics", "rules", o.rules)
	}
	log.Info("alert evaluating", "rules", len(rules.Rules), "interval", rules.Interval, "state", rules.StateFile, "metrics", cfg.Admin.Addr)
	return e.Run(ctx)
}
