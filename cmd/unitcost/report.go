package main

import (
	"fmt"
	"os"
	"strings"
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
		Example: "  unitcost report --since 7d --tenant acme\n  unitcost report --view breakdown --by model --since 30d\n  unitcost report --since 2026-11-01 --format csv\n  unitcost report --view series --bucket day --since 30d",
		Args:    noArgs,
	}
	fs := c.Flags()
	since := fs.String("since", "24h", "window start: a length before --until (5h, 7d), a date (2026-11-01) or an RFC 3339 time")
	until := fs.String("until", "", "window end, a date or RFC 3339 (default: now)")
	tenant := fs.String("tenant", "", "only this tenant's workflows (default: all)")
	format := fs.String("format", "table", "table, json or csv")
	view := fs.String("view", "unit", "unit (unit economics per workflow type), breakdown (cost by --by), series (unit\neconomics per time bucket, from the rollups) or context (input token mix and context share)")
	by := fs.String("by", "component", "breakdown dimension: "+strings.Join(store.DimensionOrder, ", "))
	bucket := fs.String("bucket", "hour", "series bucket: hour or day")
	workflow := fs.String("workflow", "", "series: only this workflow type")
	version := fs.String("workflow-version", "", "series: only this workflow version")
	team := fs.String("team", "", "series: only this team")
	var dims store.Filter
	fs.StringVar(&dims.Service, "service", "", "unit and breakdown views: only workflows of this service (service.name)")
	fs.StringVar(&dims.Environment, "environment", "", "unit and breakdown views: only workflows of this deployment environment")
	fs.StringVar(&dims.Session, "session", "", "unit and breakdown views: only workflows of this session (session.id, gen_ai.conversation.id)")
	fs.StringVar(&dims.User, "user", "", "unit and breakdown views: only workflows of this end user (user.id, enduser.id)")
	fs.StringVar(&dims.Label, "label", "", "unit and breakdown views: only workflows with this label, key=value")
	rollups := fs.Bool("rollups", false, "unit view: add up the hourly rollups instead of reading the line items (fast over long\nwindows; whole hours; as of the last rollup refresh)")
	s := bindSettings(c, "report", "clickhouse", "log_level")
	complete(c, "format", "table", "json", "csv")
	complete(c, "view", report.Views()...)
	complete(c, "by", store.DimensionOrder...)
	complete(c, "bucket", "hour", "day")
	c.RunE = func(*cobra.Command, []string) error {
		return runReport(s, reportFlags{by: *by, since: *since, until: *until, tenant: *tenant, format: *format, view: *view, bucket: *bucket,
			workflow: *workflow, version: *version, team: *team, rollups: *rollups, dims: dims})
	}
	return c
}

type reportFlags struct {
	since, until, tenant, format, view, by, bucket, workflow, version, team string
	rollups                                                                 bool
	dims                                                                    store.Filter
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
	ss, err := s.start()
	if err != nil {
		return err
	}
	defer ss.stop()
	st, err := store.Open(ss.ctx, ss.cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	return report.Print(ss.ctx, st, report.Query{From: from, To: to, Tenant: f.tenant, View: f.view, By: f.by, Bucket: f.bucket,
		Workflow: f.workflow, Version: f.version, Team: f.team, Rollups: f.rollups, Format: f.format, Dims: f.dims}, os.Stdout, os.Stderr)
}
