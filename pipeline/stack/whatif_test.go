package stack_test

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/whatif"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

// truthModel maps a recorded model id ("gpt-4.1-mini-2025-04-14") to the generator's name.
func truthModel(recorded string) string {
	best := ""
	for _, r := range loadgen.Routes() {
		if strings.HasPrefix(recorded, r.Model) && len(r.Model) > len(best) {
			best = r.Model
		}
	}
	return best
}

// The what-if against the generator's ground truth, through the whole pipeline: for the
// ticket classifier (whose cheap model is reviewed twice as often) and the answer-model
// A/B test (reviewed equally often), every routing's re-priced machine cost equals the
// generator's exactly, every observed rate's interval covers the true rate, and the
// recommendation is the routing the truth says is cheapest per validated output: the
// frontier classifier (the cheaper one loses because of review) and the cheaper answer
// model.
//
// Each rate's interval is a 95% one: any single one misses the truth one time in twenty.
// The seed is fixed, so these draws are fixed; the intervals' coverage itself is checked
// over thousands of draws in pipeline/whatif (TestWilsonCoverage, TestCostRangeCoverage).
func TestWhatifGroundTruth(t *testing.T) {
	if raceEnabled {
		t.Skip("4,000 workflows: runs once, in the plain pass (the what-if is single-goroutine; the race pass covers the pipeline with shorter tests)")
	}
	st := testenv.ClickHouse(t)
	cfg := builtinConfig(t, testenv.Kfake(t, 4), st)
	s := startStack(t, cfg)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-6 * time.Hour).Truncate(time.Minute)
	truth := generate(t, exp, loadgen.Config{Seed: 18, Workflows: 4000, Start: start, Mix: map[string]int{"rag_qa": 1, "ticket_classification": 1}})
	waitCounts(t, st, uint64(len(truth.Workflows)), uint64(truth.LineItems))
	// the what-if reads the hourly rollups as of their last refresh: bring them up to date
	if _, err := st.RefreshRollups(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	bk, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	reps, err := whatif.Run(ctx, whatifch.New(st), whatif.Request{From: start.Add(-time.Minute), To: time.Now().Add(time.Hour),
		Options: whatif.Options{Pricer: whatif.Pricer{Books: pricing.Single(bk)}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"rag_qa": "answer=gpt-4.1-mini", "ticket_classification": "classify=gpt-5"}
	if len(reps) != 2 {
		t.Fatalf("%d reports", len(reps))
	}
	for _, rep := range reps {
		wf := rep.Workflow
		// as recorded: the billed cost, exactly
		if rep.RecordedModelCostNano != rep.RepricedModelCostNano || rep.Routings[0].MachineCostNano != int64(truth.MachineCost(wf, nil)) {
			t.Errorf("%s as recorded: machine %d, truth %d (model calls billed %d, priced again %d)", wf, rep.Routings[0].MachineCostNano,
				truth.MachineCost(wf, nil), rep.RecordedModelCostNano, rep.RepricedModelCostNano)
		}
		// every routing: re-priced machine cost = the generator's, to the nano-dollar
		cheapest, cheapestName := (*big.Rat)(nil), ""
		for _, ev := range rep.Routings[1:] {
			c := ev.Changes[0]
			m := truthModel(c.Model)
			if got, exp := ev.MachineCostNano, int64(truth.MachineCost(wf, map[string]string{c.Step: m})); got != exp {
				t.Errorf("%s %s: re-priced machine cost %d, truth %d", wf, ev.Routing, got, exp)
			}
			if !ev.EnoughData {
				t.Errorf("%s %s: not enough data with %d workflows", wf, ev.Routing, ev.Samples)
			}
			exp, ok := truth.ExpectedPerValidated(wf, c.Step, m)
			if !ok {
				t.Fatalf("%s: no truth for %s=%s", wf, c.Step, m)
			}
			if cheapest == nil || exp.Cmp(cheapest) < 0 {
				cheapest, cheapestName = exp, c.Step+"="+m
			}
			// the estimate's range covers the true expected cost per validated output
			tf, _ := exp.Float64()
			if float64(ev.PerValidated.LoNano) > tf || (ev.PerValidated.HiNano != nil && float64(*ev.PerValidated.HiNano) < tf) {
				t.Errorf("%s %s: per validated output range %s-%s misses the truth %.0f nano", wf, ev.Routing, ev.PerValidated.LoUSD, hiUSD(ev.PerValidated), tf)
			}
		}
		if cheapestName != want[wf] {
			t.Fatalf("%s: the truth's cheapest is %s, the test expects %s", wf, cheapestName, want[wf])
		}
		rec := rep.Recommendation
		if len(rec.Changes) != 1 || rec.Changes[0].Step+"="+truthModel(rec.Changes[0].Model) != cheapestName {
			t.Errorf("%s: recommended %q, the truth's cheapest is %s\n%s", wf, rec.Routing, cheapestName, rec.Why)
		}
		// the observed rates' intervals cover the generator's true rates
		for _, s := range rep.Steps {
			for _, m := range s.Models {
				q, ok := loadgen.TrueRates(loadgen.Route{Workflow: wf, Step: s.Step, Model: truthModel(m.Model)})
				if !ok {
					continue
				}
				review := (1 - q.Failure) * q.Review
				if r := m.Rates.ReviewRate; review < r.Lo || review > r.Hi {
					t.Errorf("%s %s %s: review rate %.4f (%.4f-%.4f, n=%d) misses the truth %.4f", wf, s.Step, m.Model, r.Point, r.Lo, r.Hi, r.Samples, review)
				}
				if r := m.Rates.FailureRate; q.Failure < r.Lo || q.Failure > r.Hi {
					t.Errorf("%s %s %s: failure rate %.4f (%.4f-%.4f) misses the truth %.4f", wf, s.Step, m.Model, r.Point, r.Lo, r.Hi, q.Failure)
				}
			}
		}
	}
}

func hiUSD(m whatif.MoneyRange) string {
	if m.HiUSD == nil {
		return "unbounded"
	}
	return *m.HiUSD
}
