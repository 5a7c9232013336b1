package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

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
			"notifications are kept in the rules' state_file across restarts; run one alert process.",
		Example: "  unitcost alert --rules deploy/alert-rules.yaml --once",
		Args:    noArgs,
	}
	fs := c.Flags()
	rulesPath := fs.String("rules", "", "the alert rules YAML file (required)")
	once := fs.Bool("once", false, "evaluate once, print every reading, deliver what is due and exit")
	at := fs.String("at", "", "with --once: evaluate as of this time, RFC 3339 (default: now)")
	statePath := fs.String("state", "", "the state file (default: the rules' state_file)")
	s := bindSettings(c, "alert", "clickhouse", "admin", "log_level")
	c.RunE = func(*cobra.Command, []string) error {
		return runAlert(s, *rulesPath, *statePath, *at, *once)
	}
	return c
}

func runAlert(s *settings, rulesPath, statePath, at string, once bool) error {
	if rulesPath == "" {
		return usageError{errors.New("--rules: required (an example: deploy/alert-rules.yaml)")}
	}
	ss, err := s.start()
	if err != nil {
		return err
	}
	defer ss.stop()
	cfg, log, ctx := ss.cfg, ss.log, ss.ctx
	rules, err := alert.LoadRules(rulesPath)
	if err != nil {
		return err
	}
	if statePath != "" {
		rules.StateFile = statePath
	}
	st, err := store.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := admin.NewRegistry()
	e, err := alert.New(rules, st, reg, log)
	if err != nil {
		return err
	}
	if once {
		now := time.Now()
		if at != "" {
			if now, err = time.Parse(time.RFC3339, at); err != nil {
				return fmt.Errorf("--at: %w", err)
			}
		}
		fired, err := e.Evaluate(ctx, now)
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "alert\tmetric\tcurrent\tbaseline\tspread\tdeviation\tsamples\tbaseline hours\tstate")
		for _, rd := range e.LastReadings() {
			state := "ok"
			switch {
			case !rd.Usable:
				state = "not enough data: " + rd.Reason
			case rd.Breach:
				state = "breach"
			}
			fmt.Fprintf(tw, "%s\t%s\t%.6g\t%.6g\t%.3g\t%+.1f%%\t%d\t%d\t%s\n", rd.Key, rd.Metric, rd.Current, rd.Baseline, rd.Spread, rd.DeviationPct, rd.Samples, rd.BaselineHours, state)
		}
		tw.Flush()
		for _, a := range fired {
			fmt.Printf("\n%s\n", a.Summary)
		}
		if err != nil {
			return err
		}
		sent, err := e.Deliver(ctx, now)
		fmt.Fprintf(os.Stderr, "%d notifications sent, %d pending (state: %s)\n", sent, e.Pending(), e.StateFile())
		return err
	}
	if cfg.Admin.Addr != "" {
		a, err := admin.New(cfg.Admin.Addr, reg, map[string]admin.Check{"clickhouse": st.Ping})
		if err != nil {
			return err
		}
		go a.Run(ctx)
	}
	log.Info("alert evaluating", "rules", len(rules.Rules), "interval", rules.Interval, "state", rules.StateFile, "metrics", cfg.Admin.Addr)
	return e.Run(ctx)
}
