package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

// SeriesRows derives the ratios of each point.
func SeriesRows(in []store.SeriesPoint) []SeriesRow {
	out := make([]SeriesRow, len(in))
	for i, p := range in {
		out[i] = SeriesRow{Bucket: p.Bucket.UTC(), Row: row(p.UnitEconomics), InputTokens: p.InputTokens, OutputTokens: p.OutputTokens, LineItems: p.LineItems}
	}
	return out
}

// WriteSeries renders series rows as "table", "json" or "csv".
func WriteSeries(w io.Writer, rows []SeriesRow, format string) error {
	switch format {
	case "json":
		return errJSON
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"bucket", "workflow", "workflows", "completed", "validated_outputs", "exceptions", "cost_usd",
			"cost_per_completed_usd", "cost_per_validated_output_usd", "cost_per_exception_usd", "review_share_pct",
			"input_tokens", "output_tokens", "line_items", "unpriced_lines"})
		for _, r := range rows {
			c := r.CostNano
			cw.Write([]string{r.Bucket.Format(time.RFC3339), r.Workflow, u(r.Workflows), u(r.Completed), u(r.ValidatedOutputs),
				u(r.Exceptions), plain(&c), plain(r.PerCompletedNano), plain(r.PerValidatedNano), plain(r.PerExceptionNano),
				pct(r.ReviewShareBP), u(r.InputTokens), u(r.OutputTokens), u(r.LineItems), u(r.UnpricedLines)})
		}
		cw.Flush()
		return cw.Error()
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "bucket\tworkflow\tworkflows\tcompleted\tvalidated\texceptions\ttotal cost\tper completed\tper validated output\tper exception\treview share\t")
		for _, r := range rows {
			c := r.CostNano
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s%%\t\n", r.Bucket.Format("2006-01-02 15:04"), r.Workflow,
				r.Workflows, r.Completed, r.ValidatedOutputs, r.Exceptions, dollars(&c, 4), dollars(r.PerCompletedNano, 6),
				dollars(r.PerValidatedNano, 6), dollars(r.PerExceptionNano, 6), pct(r.ReviewShareBP))
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown format %q: use table, json or csv", format)
}
