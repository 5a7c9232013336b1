package main

import (
	"fmt"
	"os"
	"time"

	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/whatif"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

func runWhatif(args []string) error {
	fs, s := newFlags("whatif", "Re-price recorded workflows under another routing and count the human review each model\ncauses: per step and model the observed review, failure and validation rates with 95%\nintervals, the expected cost per validated output of every routing the data supports, the\nPareto set, and the recommended routing with its saving per month.",
		"Examples:\n  unitcost whatif --workflow ticket_classification --since 720h\n  unitcost whatif --workflow ticket_classification --steps\n  unitcost whatif --workflow rag_qa --scenario 'chat=gpt-4.1' --assume review_rate=0.04\n  unitcost whatif --workflow rag_qa --cut-context 30 --format json")
	since := fs.Duration("since", 7*24*time.Hour, "window of workflow start times, ending at --until")
	until := fs.String("until", "", "window end, YYYY-MM-DD or RFC 3339 (default: now)")
	workflow := fs.String("workflow", "", "workflow type (default: every type with workflows in the window)")
	tenant := fs.String("tenant", "", "only this tenant's workflows (default: all)")
	format := fs.String("format", "table", "table or json")
	steps := fs.Bool("steps", false, "only list the steps of each workflow type with their models, shares and rates")
	var scenarios []whatif.Scenario
	fs.Func("scenario", "a routing to evaluate besides those in the data: step=model[@tier],... (repeatable)", func(v string) error {
		sc, err := whatif.ParseScenario(v)
		scenarios = append(scenarios, sc)
		return err
	})
	assume := fs.String("assume", "", "user-supplied rates for the --scenario routings (from an offline eval):\nreview_rate=R[,validated_per_workflow=V][,completion_rate=C]")
	version := fs.String("price-version", "", "price every call with this price-book version (default: the version in effect when it ran)")
	cache := fs.String("cache", whatif.CacheAsRecorded, "cache policy: as_recorded, none (no prompt caching) or system_prompt (cache the system\ninstructions where the token mix was captured)")
	cut := fs.Float64("cut-context", 0, "also price each step with this percentage of retrieved context removed (0-100)")
	minSamples := fs.Uint64("min-samples", 30, "workflows a routing needs before it may be recommended")
	ss, err := s.start(args)
	if err != nil {
		return err
	}
	defer ss.stop()
	if *cut < 0 || *cut > 100 {
		return fmt.Errorf("--cut-context %g: want 0 to 100", *cut)
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("--format %q: use table or json", *format)
	}
	if *assume != "" {
		if len(scenarios) == 0 {
			return fmt.Errorf("--assume applies to --scenario routings: give at least one")
		}
		a, err := whatif.ParseAssumed(*assume)
		if err != nil {
			return err
		}
		for i := range scenarios {
			scenarios[i].Assumed = a
		}
	}
	to := time.Now().UTC()
	if *until != "" {
		if to, err = parseWhen(*until); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	}
	books, err := stack.LoadBook(ss.cfg.Process.PriceBook)
	if err != nil {
		return err
	}
	st, err := store.Open(ss.ctx, ss.cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	reps, err := whatif.Run(ss.ctx, whatifch.New(st), whatif.Request{Workflow: *workflow, Tenant: *tenant, From: to.Add(-*since), To: to,
		Options: whatif.Options{Pricer: whatif.Pricer{Books: books, Version: *version, CachePolicy: *cache, CutContextPct: *cut},
			Scenarios: scenarios, MinSamples: *minSamples}})
	if err != nil {
		return err
	}
	if len(reps) == 0 && *format == "table" {
		fmt.Fprintf(os.Stderr, "no workflows started between %s and %s in database %s\n", to.Add(-*since).Format(time.RFC3339), to.Format(time.RFC3339), ss.cfg.ClickHouse.Database)
		return nil
	}
	if *steps {
		if *format == "json" {
			return json.NewEncoder(os.Stdout).Encode(whatif.StepsOf(reps))
		}
		return whatif.WriteSteps(os.Stdout, reps)
	}
	if *format == "json" {
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
