package main

import (
	"fmt"
	"os"
	"time"

	"github.com/segmentio/encoding/json"
	"github.com/spf13/cobra"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/whatif"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

func whatifCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "whatif",
		Short: "re-price recorded workflows under another routing, count the review each model causes, recommend",
		Long: "Re-price recorded workflows under another routing and count the human review each model\n" +
			"causes: per step and model the observed review, failure and validation rates with 95%\n" +
			"intervals, the expected cost per validated output of every routing the data supports,\n" +
			"the Pareto set, and the recommended routing with its saving per month.\n\n" +
			"A routing sends a step (its unitcost.step, else its span name without the model) wholly\n" +
			"to one model. Calls are re-priced at the price-book version in effect when they ran.",
		Example: "  unitcost whatif --workflow ticket_classification --since 30d\n" +
			"  unitcost whatif --steps\n" +
			"  unitcost whatif --workflow rag_qa --scenario answer=gpt-4.1 --assume review_rate=0.02\n" +
			"  unitcost whatif --workflow rag_qa --cut-context 30 --format json",
		Args: noArgs,
	}
	fs := c.Flags()
	var f whatifFlags
	fs.StringVar(&f.since, "since", "7d", "window start: a length before --until (5h, 7d), a date (2026-11-01) or an RFC 3339 time")
	fs.StringVar(&f.until, "until", "", "window end, a date or RFC 3339 (default: now)")
	fs.StringVar(&f.workflow, "workflow", "", "workflow type (default: every type with workflows in the window)")
	fs.StringVar(&f.tenant, "tenant", "", "only this tenant's workflows (default: all)")
	fs.StringVar(&f.format, "format", "table", "table or json")
	fs.BoolVar(&f.steps, "steps", false, "only list the steps of each workflow type with their models, shares and rates")
	fs.StringArrayVar(&f.scenarios, "scenario", nil, "a routing to evaluate besides those in the data: step=[provider/]model[@tier],... (repeatable)")
	fs.StringVar(&f.assume, "assume", "", "user-supplied rates for the --scenario routings (from an offline eval):\nreview_rate=R[,validated_per_workflow=V][,completion_rate=C]")
	fs.StringVar(&f.version, "price-version", "", "price every call with this price-book version (default: the version in effect when it ran)")
	fs.StringVar(&f.cache, "cache", whatif.CacheAsRecorded, "cache policy: as_recorded, none (no prompt caching) or system_prompt (cache the system\ninstructions where the token mix was captured)")
	fs.Float64Var(&f.cut, "cut-context", 0, "also price each step with this percentage of retrieved context removed (0-100)")
	fs.Uint64Var(&f.minSamples, "min-samples", 30, "workflows a routing needs before it may be recommended")
	s := bindSettings(c, "whatif", "clickhouse", "process.price_book", "log_level")
	c.RunE = func(*cobra.Command, []string) error { return runWhatif(s, f) }
	return c
}

type whatifFlags struct {
	since, until, workflow, tenant, format, assume, version, cache string
	scenarios                                                      []string
	steps                                                          bool
	cut                                                            float64
	minSamples                                                     uint64
}

// whatifRequest turns the flags into a request (everything but the price books).
func whatifRequest(f whatifFlags, now time.Time) (whatif.Request, error) {
	req := whatif.Request{Workflow: f.workflow, Tenant: f.tenant, To: now}
	var err error
	if f.until != "" {
		if req.To, err = pipeline.ParseTime(f.until); err != nil {
			return req, usageError{fmt.Errorf("--until %w", err)}
		}
	}
	if req.From, err = pipeline.ParseSince(f.since, req.To); err != nil {
		return req, usageError{fmt.Errorf("--since %w", err)}
	}
	if f.cut < 0 || f.cut > 100 {
		return req, usageError{fmt.Errorf("--cut-context %g: want 0 to 100", f.cut)}
	}
	if f.format != "table" && f.format != "json" {
		return req, usageError{fmt.Errorf("--format %q: use table or json", f.format)}
	}
	var scenarios []whatif.Scenario
	for _, v := range f.scenarios {
		sc, err := whatif.ParseScenario(v)
		if err != nil {
			return req, usageError{fmt.Errorf("--scenario: %w", err)}
		}
		scenarios = append(scenarios, sc)
	}
	if f.assume != "" {
		if len(scenarios) == 0 {
			return req, usageError{fmt.Errorf("--assume applies to --scenario routings: give at least one")}
		}
		a, err := whatif.ParseAssumed(f.assume)
		if err != nil {
			return req, usageError{fmt.Errorf("--assume: %w", err)}
		}
		for i := range scenarios {
			scenarios[i].Assumed = a
		}
	}
	req.Options = whatif.Options{Pricer: whatif.Pricer{Version: f.version, CachePolicy: f.cache, CutContextPct: f.cut},
		Scenarios: scenarios, MinSamples: f.minSamples}
	return req, nil
}

func runWhatif(s *settings, f whatifFlags) error {
	req, err := whatifRequest(f, time.Now().UTC())
	if err != nil {
		return err
	}
	ss, err := s.start()
	if err != nil {
		return err
	}
	defer ss.stop()
	if req.Options.Pricer.Books, err = stack.LoadBook(ss.cfg.Process.PriceBook); err != nil {
		return err
	}
	st, err := store.Open(ss.ctx, ss.cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	reps, err := whatif.Run(ss.ctx, whatifch.New(st), req)
	if err != nil {
		return err
	}
	if len(reps) == 0 && f.format == "table" {
		fmt.Fprintf(os.Stderr, "no workflows started between %s and %s in database %s\n", req.From.Format(time.RFC3339), req.To.Format(time.RFC3339), ss.cfg.ClickHouse.Database)
		return nil
	}
	switch {
	case f.steps && f.format == "json":
		return json.NewEncoder(os.Stdout).Encode(whatif.StepsOf(reps))
	case f.steps:
		return whatif.WriteSteps(os.Stdout, reps)
	case f.format == "json":
		return whatif.WriteJSON(os.Stdout, reps)
	}
	for i, r := range reps {
		if i > 0 {
			fmt.Println()
		}
		if err := whatif.WriteTable(os.Stdout, r); err != nil {
			return err
		}
	}
	return nil
}
