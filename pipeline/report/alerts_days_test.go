package report

import (
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// A day's reading is the hours' readings weighted by the hour's denominator in the
// reading's own scope (tenant, workflow, team, model...), exact to the nano-dollar and rounded once (half away from zero);
// unusable and unweighted hours are left out, and days and alerts stay apart.
func TestDayReadingsWeighByTheTrendsDenominator(t *testing.T) {
	t.Parallel()
	d0 := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	h := func(day, hour int) time.Time { return d0.Add(time.Duration(day*24+hour) * time.Hour) }
	pt := func(at time.Time, wf string, completed, validated uint64, cost int64) store.SeriesPoint {
		return store.SeriesPoint{Bucket: at, UnitEconomics: store.UnitEconomics{Workflow: wf, Workflows: completed + 1, Completed: completed,
			ValidatedOutputs: validated, Cost: pipeline.Money(cost)}, LineItems: 10 * completed}
	}
	// each scope's hourly rollups, as read with the reading's own filter
	acmeQA := []store.SeriesPoint{pt(h(0, 10), "rag_qa", 3, 6, 900), pt(h(0, 11), "rag_qa", 1, 1, 100), pt(h(0, 12), "rag_qa", 0, 0, 0),
		pt(h(1, 3), "rag_qa", 2, 2, 200)}
	weights := hourWeights{
		{Tenant: "acme", Workflow: "rag_qa"}: {points: acmeQA},
		{}:                                   {points: []store.SeriesPoint{pt(h(0, 10), "rag_qa", 7, 7, 700), pt(h(0, 11), "rag_qa", 7, 7, 700), pt(h(0, 10), "support", 1, 1, 100)}},
		// a rule scoped to a team: its own completions (2 and 6), not the tenant's
		{Tenant: "acme", Team: "payments"}: {points: []store.SeriesPoint{pt(h(0, 10), "rag_qa", 2, 2, 200), pt(h(0, 11), "rag_qa", 6, 6, 600)}},
		// a rule scoped to a model, on the unpriced share: the model's own lines (1 and 3)
		{Tenant: "acme", Model: "gpt-4o"}: {points: acmeQA, costs: []store.CostPoint{{Bucket: h(0, 10), Workflow: "rag_qa", Model: "gpt-4o", LineItems: 1},
			{Bucket: h(0, 11), Workflow: "rag_qa", Model: "gpt-4o", LineItems: 3}}},
	}
	rd := func(tenant, key, metric, wf string, at time.Time, usable bool, cur, lo, hi float64) store.AlertReading {
		return store.AlertReading{Tenant: tenant, Key: key, Rule: key, Metric: metric, Workflow: wf, Bucket: at, EvaluatedAt: at.Add(59 * time.Minute),
			Usable: usable, Current: cur, Baseline: (lo + hi) / 2, Spread: (hi - lo) / 4, BandLow: lo, BandHigh: hi, Samples: 4, BaselineHours: uint32(at.Hour()), Method: "median_mad"}
	}
	in := []store.AlertReading{
		// acme rag_qa on day 0: hours 10 (3 completed) and 11 (1); 12 has no completion, 13 is unusable
		rd("acme", "a/rag_qa", "cost_per_completed", "rag_qa", h(0, 10), true, 0.000001, 0.000000001, 0.000003),
		rd("acme", "a/rag_qa", "cost_per_completed", "rag_qa", h(0, 11), true, 0.000002, 0.000000002, 0.000005),
		rd("acme", "a/rag_qa", "cost_per_completed", "rag_qa", h(0, 12), true, 9, 9, 9),
		rd("acme", "a/rag_qa", "cost_per_completed", "rag_qa", h(0, 13), false, 9, 9, 9),
		// the next day: its own reading
		rd("acme", "a/rag_qa", "cost_per_completed", "rag_qa", h(1, 3), true, 0.5, -0.000000003, 1),
		// the same hours per validated output: weights 6 and 1
		rd("acme", "v/rag_qa", "cost_per_validated", "rag_qa", h(0, 10), true, 0.000001, 0.000000001, 0.000003),
		rd("acme", "v/rag_qa", "cost_per_validated", "rag_qa", h(0, 11), true, 0.000002, 0.000000002, 0.000005),
		// a rule over every tenant and type: hour 10 weighs 7+1, hour 11 weighs 7
		rd("", "fleet", "cost_per_completed", "", h(0, 10), true, 0.000001, 0.000000001, 0.000003),
		rd("", "fleet", "cost_per_completed", "", h(0, 11), true, 0.000002, 0.000000002, 0.000005),
		// a share: weighted by cost, in floating point
		rd("acme", "r/rag_qa", "review_share", "rag_qa", h(0, 10), true, 0.5, 0.25, 0.75),
		rd("acme", "r/rag_qa", "review_share", "rag_qa", h(0, 11), true, 0.1, 0.05, 0.15),
	}
	team := func(at time.Time, cur, lo, hi float64) store.AlertReading {
		r := rd("acme", "team", "cost_per_completed", "", at, true, cur, lo, hi)
		r.Team = "payments"
		return r
	}
	model := func(at time.Time, cur, lo, hi float64) store.AlertReading {
		r := rd("acme", "model", "unpriced_share", "", at, true, cur, lo, hi)
		r.Model = "gpt-4o"
		return r
	}
	in = append(in, team(h(0, 10), 0.000001, 0.000000001, 0.000003), team(h(0, 11), 0.000002, 0.000000002, 0.000005),
		model(h(0, 10), 0.5, 0.25, 0.75), model(h(0, 11), 0.1, 0.05, 0.15))
	got := DayReadings(in, weights)
	var lines []string
	for _, r := range got {
		if r.Unit == "usd" {
			lines = append(lines, fmt.Sprintf("%s %s %s %d h cur=%d base=%d lo=%d hi=%d samples=%d base_h=%d at=%s", r.Tenant, r.AlertKey, r.Bucket.Format(time.DateOnly),
				r.Hours, *r.CurrentNano, *r.BaselineNano, *r.BandLowNano, *r.BandHighNano, r.Samples, r.BaselineHours, r.EvaluatedAt.Format(time.TimeOnly)))
		} else {
			lines = append(lines, fmt.Sprintf("%s %s %s %d h cur=%.4f lo=%.4f hi=%.4f", r.Tenant, r.AlertKey, r.Bucket.Format(time.DateOnly), r.Hours, *r.Current, *r.BandLow, *r.BandHigh))
		}
	}
	// hourly baselines: (lo + hi) / 2 = 1500.5 -> 1501 and 2501 nano
	want := []string{
		// weights 8 (7 + 1: every tenant, every type) and 7: (8x1000 + 7x2000) / 15 = 1466.67 -> 1467;
		// base (8x1501 + 7x2501) / 15 = 1967.67 -> 1968; lo (8 + 14) / 15 -> 1; hi (24000 + 35000) / 15 = 3933.3
		" fleet 2026-11-29 2 h cur=1467 base=1968 lo=1 hi=3933 samples=8 base_h=10 at=11:59:00",
		// weights 3 and 1 (hour 12 has no completion, 13 is unusable): (3000 + 2000) / 4 = 1250;
		// base (4503 + 2501) / 4 = 1751; lo (3 + 2) / 4 = 1.25 -> 1; hi (9000 + 5000) / 4 = 3500
		"acme a/rag_qa 2026-11-29 2 h cur=1250 base=1751 lo=1 hi=3500 samples=8 base_h=10 at=11:59:00",
		// a lone hour is itself; -3 nano stays -3
		"acme a/rag_qa 2026-11-30 1 h cur=500000000 base=499999999 lo=-3 hi=1000000000 samples=4 base_h=3 at=03:59:00",
		// lines 1 and 3 of the model's own: (0.5 + 3x0.1) / 4 = 0.2
		"acme model 2026-11-29 2 h cur=0.2000 lo=0.1000 hi=0.3000",
		// weighted by cost, 900 and 100: (900x0.5 + 100x0.1) / 1000 = 0.46
		"acme r/rag_qa 2026-11-29 2 h cur=0.4600 lo=0.2300 hi=0.6900",
		// weights 6 and 1 (validated outputs): (6000 + 2000) / 7 = 1142.86 -> 1143; base (9006 + 2501) / 7 = 1643.86 -> 1644;
		// lo (6 + 2) / 7 -> 1; hi (18000 + 5000) / 7 = 3285.7 -> 3286
		// the team's completions 2 and 6 (the tenant's would be 3 and 1): (2000 + 12000) / 8 = 1750;
		// base (3002 + 15006) / 8 = 2251; lo (2 + 12) / 8 = 1.75 -> 2; hi (6000 + 30000) / 8 = 4500
		"acme team 2026-11-29 2 h cur=1750 base=2251 lo=2 hi=4500 samples=8 base_h=10 at=11:59:00",
		"acme v/rag_qa 2026-11-29 2 h cur=1143 base=1644 lo=1 hi=3286 samples=8 base_h=10 at=11:59:00",
	}
	if g, w := fmt.Sprintf("%q", lines), fmt.Sprintf("%q", want); g != w {
		t.Errorf("day readings\n got %s\nwant %s", g, w)
	}
}

func TestDivRoundIsHalfAwayFromZero(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]int64{{3, 2, 2}, {-3, 2, -2}, {5, 4, 1}, {-5, 4, -1}, {7, 4, 2}, {-7, 4, -2}, {0, 3, 0}, {9, 3, 3}} {
		if got := divRound(bigOf(c[0]), bigOf(c[1])); got != c[2] {
			t.Errorf("divRound(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}

func bigOf(v int64) *big.Int { return big.NewInt(v) }
