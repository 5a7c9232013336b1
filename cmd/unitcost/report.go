package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/unitcost/unitcost/pipeline"

	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/store"
)

func reportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "report",
		Short: "print cost per completed workflow, per validated output and per exception",
		Long: "Print unit economics per workflow type: cost per completed workflow, per validated output\n" +
			"and per exception (workflows that needed human review), and the review share of cost.\n\n" +
			"The window selects workflows by start time. Costs include every line item of those\n" +
			"workflows, including reviews that arrived later.",
		Example: "  unitcost report --since 7d --tenant acme\n  unitcost report --since 2026-11-01 --format csv\n  unitcost report --view series --bucket day --since 30d",
		Args:    noArgs,
	}
	fs := c.Flags()
	since := fs.String("since", "24h", "window start: a length before --until (5h, 7d), a date (2026-11-01) or an RFC 3339 time")
	until := fs.String("until", "", "window end, a date or RFC 3339 (default: now)")
	tenant := fs.String("tenant", "", "only this tenant's workflows (default: all)")
	format := fs.String("format", "table", "table, json or csv")
	view := fs.String("view", "unit", "unit (unit economics), series (unit economics per time bucket, from the rollups)\nor context (input token mix and context share)")
	bucket := fs.String("bucket", "hour", "series bucket: hour or day")
	workflow := fs.String("workflow", "", "series: only this workflow type")
	version := fs.String("workflow-version", "", "series: only this workflow version")
	team := fs.String("team", "", "series: only this team")
	var dims store.Filter
	fs.StringVar(&dims.Service, "service", "", "unit view: only workflows of this service (service.name)")
	fs.StringVar(&dims.Environment, "environment", "", "unit view: only workflows of this deployment environment")
	fs.StringVar(&dims.Session, "session", "", "unit view: only workflows of this session (session.id, gen_ai.conversation.id)")
	fs.StringVar(&dims.User, "user", "", "unit view: only workflows of this end user (user.id, enduser.id)")
	fs.StringVar(&dims.Label, "label", "", "unit view: only workflows with this label, key=value")
	rollups := fs.Bool("rollups", false, "unit view: add up the hourly rollups instead of reading the line items (fast over long\nwindows; whole hours; as of the last rollup refresh)")
	s := bindSettings(c, "report", "clickhouse", "log_level")
	c.RunE = func(*cobra.Command, []string) error {
		return runReport(s, reportFlags{since: *since, until: *until, tenant: *tenant, format: *format, view: *view, bucket: *bucket,
			workflow: *workflow, version: *version, team: *team, rollups: *rollups, dims: dims})
	}
	return c
}

type reportFlags struct {
	since, until, tenant, format, view, bucket, workflow, version, team string
	rollups                                                             bool
	dims                                                                store.Filter
}

func runReport(s *settings, f reportFlags) error {
	to := time.Now()
	var err error
	if f.until != "" {
		if to, err = pipeline.ParseTime(f.until); err != nil {
			return usageError{fmt.Errorf("--until %w", err)}
		}
	}
	from, err := pipeline.ParseSince(f.since, to)
	if err != nil {
		return usageError{fmt.Errorf("--since %w", err)}
	}
	switch f.format {
	case "table", "json", "csv":
	default:
		return usageError{fmt.Errorf("--format %q: want table, json or csv", f.format)}
	}
	ss, err := s.start()
	if err != nil {
		return err
	}
	defer ss.stop()
	cfg, ctx := ss.cfg, ss.ctx
	st, err := store.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	if f.view == "context" {
		cs, err := st.ContextShare(ctx, from, to, f.tenant)
		if err != nil {
			return err
		}
		return report.WriteContext(os.Stdout, report.ContextRows(cs), f.format)
	}
	if f.view == "series" {
		from := from.Truncate(time.Hour)
		pts, err := st.Series(ctx, from, to, f.bucket, store.SeriesFilter{Tenant: f.tenant, Workflow: f.workflow, Version: f.version, Team: f.team})
		if err != nil {
			return err
		}
		if len(pts) == 0 && f.format == "table" {
			fmt.Fprintf(os.Stderr, "no rollup rows between %s and %s in database %s (rollups lag the source by up to rollup.interval; `unitcost rollup` refreshes them now)\n",
				from.Format(time.RFC3339), to.Format(time.RFC3339), cfg.ClickHouse.Database)
			return nil
		}
		return report.WriteSeries(os.Stdout, report.SeriesRows(pts), f.format)
	}
	if f.view != "unit" {
		return fmt.Errorf("--view %q: use unit, series or context", f.view)
	}
	var ue []store.UnitEconomics
	dims := f.dims
	dims.Tenant = f.tenant
	if err := dims.Validate(); err != nil {
		return usageError{fmt.Errorf("--label: %w", err)}
	}
	if f.rollups && dims != (store.Filter{Tenant: f.tenant}) {
		return usageError{fmt.Errorf("--rollups: the rollups carry no service, environment, session, user or label; drop --rollups to filter by them")}
	}
	if f.rollups {
		pts, err := st.Series(ctx, from.Truncate(time.Hour), to, "hour", store.SeriesFilter{Tenant: f.tenant})
		if err != nil {
			return err
		}
		ue = store.SumByWorkflow(pts)
	} else if ue, err = st.UnitEconomicsWhere(ctx, from, to, dims); err != nil {
		return err
	}
	if len(ue) == 0 && f.format == "table" {
		fmt.Fprintf(os.Stderr, "no workflows started between %s and %s in database %s\n", from.Format(time.RFC3339), to.Format(time.RFC3339), cfg.ClickHouse.Database)
		return nil
	}
	return report.Write(os.Stdout, report.Rows(ue), f.format)
}
