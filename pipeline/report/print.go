package report

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

// Query is what `unitcost report` asks for.
type Query struct {
	From, To time.Time
	// Tenant is "" for every tenant.
	Tenant string
	// View is unit, breakdown, series or context.
	View string
	// By is the breakdown dimension (store.DimensionOrder).
	By string
	// Bucket, Workflow, Version and Team select the series.
	Bucket, Workflow, Version, Team string
	// Rollups adds the unit view up from the hourly rollups.
	Rollups bool
	// Dims narrows the unit and breakdown views to workflows of a service, environment,
	// session, end user or label (its Tenant is ignored: Tenant above applies).
	Dims store.Filter
	// Format is table, json or csv.
	Format string
}

// Views lists the views Print knows.
func Views() []string { return []string{"unit", "breakdown", "series", "context"} }

// Print runs q against st and writes it to out; notes for a person (no rows, unpriced
// lines in a machine format) go to notes.
func Print(ctx context.Context, st *store.Store, q Query, out, notes io.Writer) error {
	switch q.Format {
	case "table", "json", "csv":
	default:
		return fmt.Errorf("--format %q: want table, json or csv", q.Format)
	}
	window := fmt.Sprintf("between %s and %s in database %s", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339), st.Database())
	dims := q.Dims
	dims.Tenant = q.Tenant
	if err := dims.Validate(); err != nil {
		return fmt.Errorf("--label: %w", err)
	}
	filtered := dims != store.Filter{Tenant: q.Tenant}
	switch q.View {
	case "context":
		cs, err := st.ContextShare(ctx, q.From, q.To, q.Tenant)
		if err != nil {
			return err
		}
		if q.Format == "json" { // the shape of GET /api/v1/context-share
			return WriteJSON(out, NewContextDoc(q.From, q.To, cs))
		}
		if q.Format == "table" {
			WriteHeader(out, Header{From: q.From, To: q.To, Tenant: q.Tenant, Source: "captured messages of model calls (token counts, not money)", NoLines: true})
		}
		return WriteContext(out, ContextRows(cs), q.Format)
	case "series":
		from := q.From.Truncate(time.Hour)
		pts, err := st.Series(ctx, from, q.To, q.Bucket, store.SeriesFilter{Tenant: q.Tenant, Workflow: q.Workflow, Version: q.Version, Team: q.Team})
		if err != nil {
			return err
		}
		if len(pts) == 0 && q.Format == "table" {
			fmt.Fprintf(notes, "no rollup rows %s (rollups lag the source by up to rollup.interval; `unitcost rollup` refreshes them now)\n", window)
			return nil
		}
		if q.Format == "json" { // the shape of GET /api/v1/series
			return WriteJSON(out, NewSeriesDoc(from, q.To, q.Bucket, pts))
		}
		if q.Format == "table" {
			WriteHeader(out, Header{From: from, To: q.To, Tenant: q.Tenant, Source: "hourly rollups, per " + q.Bucket, NoLines: true})
		}
		return WriteSeries(out, SeriesRows(pts), q.Format)
	case "breakdown":
		if _, ok := store.DimensionColumn(q.By); !ok {
			return fmt.Errorf("--by %q: use one of %s, or label:KEY", q.By, strings.Join(store.DimensionOrder, ", "))
		}
		rows, err := st.BreakdownWhere(ctx, q.By, q.From, q.To, dims)
		if err != nil {
			return err
		}
		h, err := header(ctx, st, q, "line items")
		if err != nil {
			return err
		}
		if len(rows) == 0 && q.Format == "table" {
			fmt.Fprintf(notes, "no workflows started %s\n", window)
			return nil
		}
		if q.Format != "table" && h.Warning() != "" {
			fmt.Fprintln(notes, h.Warning())
		}
		return WriteBreakdown(out, h, q.By, rows, q.Format)
	case "unit":
	default:
		return fmt.Errorf("--view %q: use %s", q.View, strings.Join(Views(), ", "))
	}
	var ue []store.UnitEconomics
	source := "line items"
	from := q.From
	if q.Rollups && filtered {
		return fmt.Errorf("--rollups: the rollups carry no session, user or label, and the unit view from them filters by none; drop --rollups to filter")
	}
	if q.Rollups {
		from = from.Truncate(time.Hour)
		source = "hourly rollups (whole hours, as of the last refresh)"
		pts, err := st.Series(ctx, from, q.To, "hour", store.SeriesFilter{Tenant: q.Tenant})
		if err != nil {
			return err
		}
		ue = store.SumByWorkflow(pts)
	} else {
		var err error
		if ue, err = st.UnitEconomicsWhere(ctx, from, q.To, dims); err != nil {
			return err
		}
	}
	if len(ue) == 0 && q.Format == "table" {
		fmt.Fprintf(notes, "no workflows started %s\n", window)
		return nil
	}
	q.From = from
	h, err := header(ctx, st, q, source)
	if err != nil {
		return err
	}
	rows := Rows(ue)
	switch q.Format {
	case "table":
		return WriteUnitTable(out, h, rows)
	case "json": // the document of GET /api/v1/unit-economics
		if h.Warning() != "" {
			fmt.Fprintln(notes, h.Warning())
		}
		src := "line_items"
		if q.Rollups {
			src = "rollups"
		}
		return WriteJSON(out, NewUnitEconomicsDoc(q.From, q.To, src, ue))
	}
	if h.Warning() != "" {
		fmt.Fprintln(notes, h.Warning())
	}
	return Write(out, rows, q.Format)
}

func header(ctx context.Context, st *store.Store, q Query, source string) (Header, error) {
	versions, err := st.Breakdown(ctx, "price_version", q.From, q.To, q.Tenant)
	if err != nil {
		return Header{}, err
	}
	return Header{From: q.From, To: q.To, Tenant: q.Tenant, Source: source, Versions: versions}, nil
}
