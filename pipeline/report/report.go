// Package report renders unit economics for people (aligned tables) and machines (JSON,
// CSV). Figures arrive as exact nano-dollar integers; ratios are divided exactly here.
package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Rows derives the ratios for each unit-economics row, plus a total row when there is
// more than one workflow type (for tables; JSON documents carry the total in its own field).
func Rows(ue []store.UnitEconomics) []Row {
	out := make([]Row, 0, len(ue)+1)
	for _, u := range ue {
		out = append(out, row(u))
	}
	if len(ue) > 1 {
		out = append(out, row(Total(ue)))
	}
	return out
}

func row(u store.UnitEconomics) Row {
	r := Row{Workflow: u.Workflow, Workflows: u.Workflows, Completed: u.Completed, ValidatedOutputs: u.ValidatedOutputs,
		Exceptions: u.Exceptions, CostNano: int64(u.Cost), CostUSD: usd(int64(u.Cost)), ExceptionCostNano: int64(u.ExceptionCost),
		ExceptionCostUSD: usd(int64(u.ExceptionCost)), ReviewCostNano: int64(u.ReviewCost), ReviewCostUSD: usd(int64(u.ReviewCost)),
		UnpricedLines: u.UnpricedLines}
	opt := func(m pipeline.Money, ok bool) *int64 {
		if !ok {
			return nil
		}
		v := int64(m)
		return &v
	}
	r.PerCompletedNano = opt(u.PerCompleted())
	r.PerValidatedNano = opt(u.PerValidated())
	r.PerExceptionNano = opt(u.PerException())
	r.PerCompletedUSD, r.PerValidatedUSD, r.PerExceptionUSD = optUSD(r.PerCompletedNano), optUSD(r.PerValidatedNano), optUSD(r.PerExceptionNano)
	r.ReviewShareBP = shareBP(u.ReviewCost, u.Cost)
	return r
}

func dollars(p *int64, decimals int) string {
	if p == nil {
		return "-"
	}
	return "$" + pipeline.Money(*p).Dollars(decimals)
}

// Write renders rows as "table" or "csv". JSON is one document for the CLI and the API:
// WriteJSON(w, NewUnitEconomicsDoc(...)).
func Write(w io.Writer, rows []Row, format string) error {
	switch format {
	case "json":
		return errJSON
	case "csv":
		// The first column says whether a row is one workflow type or the total of the
		// others, so a pivot or a SUM over the file filters row=workflow and never counts
		// twice; the total row leaves the workflow column empty.
		cw := csv.NewWriter(w)
		cw.Write([]string{"row", "workflow", "workflows", "completed", "validated_outputs", "exceptions", "cost_usd",
			"cost_per_completed_usd", "cost_per_validated_output_usd", "cost_per_exception_usd", "review_cost_usd", "review_share_pct", "unpriced_lines"})
		for i, r := range rows {
			cost, rev := r.CostNano, r.ReviewCostNano
			kind, name := "workflow", r.Workflow
			if isTotal(rows, i) {
				kind, name = "total", ""
			}
			cw.Write([]string{kind, name, u(r.Workflows), u(r.Completed), u(r.ValidatedOutputs), u(r.Exceptions),
				pipeline.Money(cost).Dollars(9), plain(r.PerCompletedNano), plain(r.PerValidatedNano), plain(r.PerExceptionNano),
				pipeline.Money(rev).Dollars(9), pct(r.ReviewShareBP), u(r.UnpricedLines)})
		}
		cw.Flush()
		return cw.Error()
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "workflow\tworkflows\tcompleted\tvalidated\texceptions\ttotal cost\tper completed\tper validated output\tper exception\treview share\tunpriced lines\t")
		for _, r := range rows {
			c := r.CostNano
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s%%\t%d\t\n", r.Workflow, r.Workflows, r.Completed, r.ValidatedOutputs,
				r.Exceptions, dollars(&c, 4), dollars(r.PerCompletedNano, 6), dollars(r.PerValidatedNano, 6),
				dollars(r.PerExceptionNano, 6), pct(r.ReviewShareBP), r.UnpricedLines)
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown format %q: use table, json or csv", format)
}

// isTotal says whether rows[i] is the total row Rows appends.
func isTotal(rows []Row, i int) bool {
	return len(rows) > 2 && i == len(rows)-1 && rows[i].Workflow == "TOTAL"
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func plain(p *int64) string {
	if p == nil {
		return ""
	}
	return pipeline.Money(*p).Dollars(9)
}

func pct(bp int64) string { return fmt.Sprintf("%d.%02d", bp/100, bp%100) }

var errJSON = fmt.Errorf("format json: write the document with report.WriteJSON (the API's shape)")

func newCSV(w io.Writer) *csv.Writer { return csv.NewWriter(w) }

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
}

func writeJSON(w io.Writer, v any) error { return WriteJSON(w, v) }

// WriteJSON writes one of the documents of types.go, indented, as `unitcost report
// --format json` prints it (the API serves the same documents).
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
