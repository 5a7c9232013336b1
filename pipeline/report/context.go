package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// ContextRows derives the context share of each row.
func ContextRows(in []store.ContextShare) []ContextRow {
	out := make([]ContextRow, len(in))
	for i, c := range in {
		out[i] = ContextRow{Workflow: c.Workflow, CallsWithMix: c.Calls, SystemTokens: c.System, ContextTokens: c.Context,
			HistoryTokens: c.History, UserTokens: c.User, OtherTokens: c.Other, MixTokens: c.Mix}
		if c.Mix > 0 {
			bp, _ := pipeline.MulDiv(10_000, pipeline.Money(c.Context), c.Mix)
			out[i].ContextShareBP = int64(bp)
		}
	}
	return out
}

// WriteContext renders context rows as "table", "json" or "csv".
func WriteContext(w io.Writer, rows []ContextRow, format string) error {
	switch format {
	case "json":
		return errJSON
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"workflow", "calls_with_mix", "system_tokens", "context_tokens", "history_tokens", "user_tokens", "other_tokens", "context_share_pct"})
		for _, r := range rows {
			cw.Write([]string{r.Workflow, u(r.CallsWithMix), u(r.SystemTokens), u(r.ContextTokens), u(r.HistoryTokens), u(r.UserTokens), u(r.OtherTokens), pct(r.ContextShareBP)})
		}
		cw.Flush()
		return cw.Error()
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "workflow\tcalls with messages\tsystem\tretrieved context\thistory\tuser\tother\tcontext share\t")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s%%\t\n", r.Workflow, r.CallsWithMix, r.SystemTokens, r.ContextTokens, r.HistoryTokens, r.UserTokens, r.OtherTokens, pct(r.ContextShareBP))
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown format %q: use table, json or csv", format)
}
