package main

import (
	"fmt"
	"os"
	"time"

	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/store"
)

func runReport(args []string) error {
	fs, s := newFlags("report", "Print unit economics per workflow type: cost per completed workflow, per validated output\nand per exception (workflows that needed human review), and the review share of cost.",
		"The window selects workflows by start time. Costs include every line item of those\nworkflows, including reviews that arrived later.")
	since := fs.Duration("since", 24*time.Hour, "window length, ending at --until")
	until := fs.String("until", "", "window end, RFC 3339 (default: now)")
	tenant := fs.String("tenant", "", "only this tenant's workflows (default: all)")
	format := fs.String("format", "table", "table, json or csv")
	view := fs.String("view", "unit", "unit (unit economics), series (unit economics per time bucket, from the rollups)\nor context (input token mix and context share)")
	bucket := fs.String("bucket", "hour", "series bucket: hour or day")
	workflow := fs.String("workflow", "", "series: only this workflow type")
	version := fs.String("workflow-version", "", "series: only this workflow version")
	team := fs.String("team", "", "series: only this team")
	rollups := fs.Bool("rollups", false, "unit view: add up the hourly rollups instead of reading the line items (fast over long\nwindows; whole hours; as of the last rollup refresh)")
	ss, err := s.start(args)
	if err != nil {
		return err
	}
	defer ss.stop()
	cfg, ctx := ss.cfg, ss.ctx
	to := time.Now()
	if *until != "" {
		if to, err = time.Parse(time.RFC3339, *until); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	}
	st, err := store.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	if *view == "context" {
		cs, err := st.ContextShare(ctx, to.Add(-*since), to, *tenant)
		if err != nil {
			return err
		}
		if *format == "json" {
			return report.WriteJSON(os.Stdout, report.NewContextDoc(to.Add(-*since), to, cs))
		}
		return report.WriteContext(os.Stdout, report.ContextRows(cs), *format)
	}
	if *view == "series" {
		from := to.Add(-*since).Truncate(time.Hour)
		pts, err := st.Series(ctx, from, to, *bucket, store.SeriesFilter{Tenant: *tenant, Workflow: *workflow, Version: *version, Team: *team})
		if err != nil {
			return err
		}
		if len(pts) == 0 && *format == "table" {
			fmt.Fprintf(os.Stderr, "no rollup rows between %s and %s in database %s (rollups lag the source by up to rollup.interval; `unitcost rollup` refreshes them now)\n",
				from.Format(time.RFC3339), to.Format(time.RFC3339), cfg.ClickHouse.Database)
			return nil
		}
		if *format == "json" {
			return report.WriteJSON(os.Stdout, report.NewSeriesDoc(from, to, *bucket, pts))
		}
		return report.WriteSeries(os.Stdout, report.SeriesRows(pts), *format)
	}
	if *view != "unit" {
		return fmt.Errorf("--view %q: use unit, series or context", *view)
	}
	var ue []store.UnitEconomics
	from, source := to.Add(-*since), "line_items"
	if *rollups {
		from, source = from.Truncate(time.Hour), "rollups"
		pts, err := st.Series(ctx, from, to, "hour", store.SeriesFilter{Tenant: *tenant})
		if err != nil {
			return err
		}
		ue = store.SumByWorkflow(pts)
	} else if ue, err = st.UnitEconomics(ctx, to.Add(-*since), to, *tenant); err != nil {
		return err
	}
	if len(ue) == 0 && *format == "table" {
		fmt.Fprintf(os.Stderr, "no workflows started between %s and %s in database %s\n", to.Add(-*since).Format(time.RFC3339), to.Format(time.RFC3339), cfg.ClickHouse.Database)
		return nil
	}
	if *format == "json" { // the API's document (schemas/openapi.yaml)
		return report.WriteJSON(os.Stdout, report.NewUnitEconomicsDoc(from, to, source, ue))
	}
	return report.Write(os.Stdout, report.Rows(ue), *format)
}
