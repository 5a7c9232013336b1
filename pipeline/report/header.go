package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

// Currency is the currency of every figure: prices and costs are US dollars (nano-dollar
// integers inside).
const Currency = "USD"

// Header is what a reader needs beside the figures to trust them: the window, whose
// workflows, which price-book versions priced the lines, the currency, and how many lines
// no price covered.
type Header struct {
	From, To time.Time
	// Tenant is "" for every tenant.
	Tenant string
	// Source says where the figures come from: "line items" or "hourly rollups".
	Source string
	// Versions is the cost per price-book version (a breakdown by price_version); the
	// unpriced lines of every version are counted in it.
	Versions []store.BreakdownRow
	// NoLines leaves out the price-book and unpriced lines (views read from the rollups,
	// which do not keep price versions).
	NoLines bool
}

// Lines is how many line items the window holds and how many of them are unpriced.
func (h Header) Lines() (lines, unpriced uint64) {
	for _, v := range h.Versions {
		lines += v.LineItems
		unpriced += v.Unpriced
	}
	return lines, unpriced
}

// Warning is the sentence to print when lines are unpriced ("" when none are).
func (h Header) Warning() string {
	lines, unpriced := h.Lines()
	if unpriced == 0 {
		return ""
	}
	return fmt.Sprintf("warning: %d of %d line items (%s%%) have no price and count as $0 in these figures; "+
		"`unitcost report --view breakdown --by model` shows which models, `unitcost prices show MODEL` why, "+
		"and `unitcost reprice` prices them once the book covers them", unpriced, lines, share(unpriced, lines))
}

func share(n, of uint64) string {
	if of == 0 {
		return "0.00"
	}
	bp := (n*10_000 + of/2) / of
	return pct(int64(bp))
}

// WriteHeader prints the header lines above a table.
func WriteHeader(w io.Writer, h Header) {
	tenant := h.Tenant
	if tenant == "" {
		tenant = "all tenants"
	}
	fmt.Fprintf(w, "Window:     workflows started %s to %s (UTC)\n", h.From.UTC().Format("2006-01-02 15:04:05"), h.To.UTC().Format("2006-01-02 15:04:05"))
	fmt.Fprintf(w, "Tenant:     %s\n", tenant)
	if h.NoLines {
		fmt.Fprintf(w, "Currency:   %s\n", Currency)
		if h.Source != "" {
			fmt.Fprintf(w, "Source:     %s\n", h.Source)
		}
		fmt.Fprintln(w)
		return
	}
	var versions []string
	for _, v := range h.Versions {
		name := v.Key
		if name == "" {
			name = "(none: unpriced)"
		}
		versions = append(versions, fmt.Sprintf("%s (%d lines)", name, v.LineItems))
	}
	if len(versions) == 0 {
		versions = []string{"-"}
	}
	fmt.Fprintf(w, "Prices:     price book %s\n", strings.Join(versions, ", "))
	lines, unpriced := h.Lines()
	fmt.Fprintf(w, "Currency:   %s; costs include human review that arrived after the window\n", Currency)
	if h.Source != "" {
		fmt.Fprintf(w, "Source:     %s\n", h.Source)
	}
	fmt.Fprintf(w, "Unpriced:   %d of %d line items (%s%%)\n\n", unpriced, lines, share(unpriced, lines))
}

// Footnote defines the ratios the unit-economics table prints; they are not all divided
// the same way.
const Footnote = `per completed        = total cost of the workflow type / its completed workflows (failed and
                       abandoned runs are part of the cost of producing completions)
per validated output = total cost / validated outputs
per exception        = mean cost of a workflow that needed human review (their cost / their count),
                       not total cost / exceptions
review share         = human review cost / total cost
TOTAL                = every workflow type added up, its ratios divided over the sums (not averaged)`

// WriteUnitTable prints the header, the unit-economics table, the footnote and, when
// lines are unpriced, the warning.
func WriteUnitTable(w io.Writer, h Header, rows []Row) error {
	WriteHeader(w, h)
	if err := Write(w, rows, "table"); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", Footnote)
	if warn := h.Warning(); warn != "" {
		fmt.Fprintf(w, "\n%s\n", warn)
	}
	return nil
}

// WriteBreakdown renders a breakdown by one dimension as "table", "json" or "csv". The
// JSON is the API's /api/v1/breakdown response.
func WriteBreakdown(w io.Writer, h Header, by string, rows []store.BreakdownRow, format string) error {
	if rows == nil {
		rows = []store.BreakdownRow{}
	}
	switch format {
	case "json":
		return WriteJSON(w, NewBreakdownDoc(h.From, h.To, by, "line_items", rows))
	case "csv":
		cw := newCSV(w)
		cw.Write([]string{by, "line_items", "cost_usd", "cost_share_pct", "input_tokens", "output_tokens", "unpriced_lines"})
		total := breakdownTotal(rows)
		for _, r := range rows {
			cw.Write([]string{r.Key, u(r.LineItems), r.Cost.Dollars(9), costShare(int64(r.Cost), total), u(r.InputTokens), u(r.OutputTokens), u(r.Unpriced)})
		}
		cw.Flush()
		return cw.Error()
	case "table", "":
		WriteHeader(w, h)
		tw := newTable(w)
		fmt.Fprintf(tw, "%s\tline items\tcost\tshare of cost\tinput tokens\toutput tokens\tunpriced lines\t\n", by)
		total := breakdownTotal(rows)
		for _, r := range rows {
			key := r.Key
			if key == "" {
				key = "(none)"
				if by == "model" || by == "provider" {
					key = "(no model: review, tools, compute, ...)"
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t$%s\t%s%%\t%d\t%d\t%d\t\n", key, r.LineItems, r.Cost.Dollars(4), costShare(int64(r.Cost), total), r.InputTokens, r.OutputTokens, r.Unpriced)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if warn := h.Warning(); warn != "" {
			fmt.Fprintf(w, "\n%s\n", warn)
		}
		return nil
	}
	return fmt.Errorf("unknown format %q: use table, json or csv", format)
}

func breakdownTotal(rows []store.BreakdownRow) int64 {
	var t int64
	for _, r := range rows {
		t += int64(r.Cost)
	}
	return t
}

func costShare(c, total int64) string {
	if total <= 0 || c < 0 {
		return "0.00"
	}
	return share(uint64(c), uint64(total))
}
