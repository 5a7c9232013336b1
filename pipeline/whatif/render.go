package whatif

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/pipeline"
)

// WriteJSON writes the reports as one JSON document: {"currency": ..., "reports": [...]}.
func WriteJSON(w io.Writer, reps []*Report) error {
	if reps == nil {
		reps = []*Report{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"currency": Currency, "reports": reps})
}

func pct(r Rate) string {
	return fmt.Sprintf("%.1f%% (%.1f-%.1f%%)", 100*r.Point, 100*r.Lo, 100*r.Hi)
}

func rng(m MoneyRange) string {
	return fmt.Sprintf("%s (%s-%s)", dollars(m.PointNano), dollars(m.LoNano), hiDollars(m))
}

// WriteTable renders a report for people.
func WriteTable(w io.Writer, r *Report) error {
	prices := "prices in effect at each call"
	if r.PriceVersion != "" {
		prices = "prices of book version " + r.PriceVersion
	}
	tenant := "all tenants"
	if r.Tenant != "" {
		tenant = "tenant " + r.Tenant
	}
	fmt.Fprintf(w, "What-if: %s, %s to %s, %s: %d workflows, %d validated outputs (%s; %s; cache %s)\n\n",
		r.Workflow, r.From, r.To, tenant, r.Workflows, r.ValidatedOutputs, r.Currency, prices, r.CachePolicy)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tMODEL\tCALLS\tSHARE\tWORKFLOWS\tREVIEW RATE\tFAILURE RATE\tVALIDATED/WF\tREVIEW COST/REVIEW")
	for _, s := range r.Steps {
		for _, m := range s.Models {
			v := m.Rates.ValidatedPerWorkflow
			vh := "unbounded"
			if v.Hi != nil {
				vh = fmt.Sprintf("%.2f", *v.Hi)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%d\t%s\t%s\t%.2f (%.2f-%s)\t%s\n", s.Step, m.Model, m.Calls, 100*m.ShareOfCalls,
				m.Rates.Workflows, pct(m.Rates.ReviewRate), pct(m.Rates.FailureRate), v.Point, v.Lo, vh, rng(m.Rates.ReviewCostPerReview))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTING\tRATES\tSAMPLES\tMACHINE/WF\tREVIEW/WF\tPER VALIDATED OUTPUT (95% RANGE)\tREVIEW H/1000 WF\tPARETO\tNOTES")
	par := map[string]bool{}
	for _, p := range r.Pareto {
		par[p] = true
	}
	for _, e := range append(append([]Evaluation{}, r.Routings...), r.Scenarios...) {
		mark := ""
		if par[e.Routing] {
			mark = "*"
		}
		notes := strings.Join(e.Notes, "; ")
		if !e.EnoughData && notes == "" {
			notes = "not enough data"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%.1f\t%s\t%s\n", e.Routing, e.RatesSource, e.Samples, dollars(e.MachinePerWorkflow.PointNano),
			dollars(e.ReviewPerWorkflow.PointNano), rng(e.PerValidated), e.ReviewHoursPer1000.Point, mark, notes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if c := r.Context; c != nil {
		fmt.Fprintf(w, "\nContext what-if: retrieved context cut by %g%%\n", c.Percent)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STEP\tCALLS\tWITH TOKEN MIX\tCONTEXT TOKENS\tINPUT TOKENS\tCOST\tAFTER CUT\tSAVING")
		for _, s := range c.Steps {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t$%s\t$%s\t$%s\n", s.Step, s.Calls, s.CallsWithMix, s.ContextTokens, s.InputTokens, s.CostUSD, s.CutCostUSD, s.SavingUSD)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "Saving $%s over the window, $%s per validated output (%s)\n", c.SavingUSD, c.SavingPerValidatedUSD, c.Note)
	}
	rec := r.Recommendation
	fmt.Fprintln(w)
	if rec.Routing == "" {
		fmt.Fprintf(w, "Recommendation: none. %s\n", rec.Why)
	} else {
		fmt.Fprintf(w, "Recommendation: %s - %s per validated output; saving %s per month at the current volume (%d validated outputs a month); confidence: %s.\n",
			rec.Routing, rng(rec.PerValidated), "$"+pipeline.Money(rec.SavingNano).Dollars(2), rec.ValidatedPerMonth, rec.Confidence)
		fmt.Fprintf(w, "Why: %s.\n", rec.Why)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	return nil
}

// WorkflowSteps is the step listing of one workflow type.
type WorkflowSteps struct {
	Workflow  string `json:"workflow"`
	Workflows uint64 `json:"workflows"`
	Steps     []Step `json:"steps"`
}

// StepsOf lists the steps of each report: {"workflows": [...]} for JSON.
func StepsOf(reps []*Report) map[string]any {
	out := []WorkflowSteps{}
	for _, r := range reps {
		out = append(out, WorkflowSteps{Workflow: r.Workflow, Workflows: r.Workflows, Steps: r.Steps})
	}
	return map[string]any{"currency": Currency, "workflows": out}
}

// WriteSteps renders the step listing for people.
func WriteSteps(w io.Writer, reps []*Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW\tSTEP\tOPERATION\tMODEL\tCALLS\tSHARE\tTOKENIZER\tREVIEW RATE\tWORKFLOWS")
	for _, r := range reps {
		for _, s := range r.Steps {
			for _, m := range s.Models {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.1f%%\t%s\t%s\t%d\n", r.Workflow, s.Step, s.Operation, m.Model, m.Calls,
					100*m.ShareOfCalls, m.TokenizerModel, pct(m.Rates.ReviewRate), m.Rates.Workflows)
			}
		}
	}
	return tw.Flush()
}
