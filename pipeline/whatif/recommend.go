package whatif

import (
	"fmt"
	"strings"

	"github.com/unitcost/unitcost/pipeline"
)

func dollars(n int64) string { return "$" + pipeline.Money(n).Dollars(4) }

func hiDollars(m MoneyRange) string {
	if m.HiNano == nil {
		return "unbounded"
	}
	return dollars(*m.HiNano)
}

// pareto lists the routings with enough data that no other beats on both expected cost
// per validated output and review hours per 1,000 workflows.
func pareto(evs []Evaluation) []string {
	out := []string{}
	for i, e := range evs {
		if !e.EnoughData {
			continue
		}
		dominated := false
		for j, o := range evs {
			if i == j || !o.EnoughData {
				continue
			}
			if o.perValPoint <= e.perValPoint && o.hours <= e.hours && (o.perValPoint < e.perValPoint || o.hours < e.hours) {
				dominated = true
				break
			}
		}
		if !dominated {
			out = append(out, e.Routing)
		}
	}
	return out
}

func (a *analysis) recommend(evs []Evaluation, cur Evaluation) Recommendation {
	// Without a recommendation its amounts are zero, still in the API's decimal form.
	r := Recommendation{Confidence: "none", Changes: []StepChange{}, CurrentPerValid: cur.PerValidated,
		PerValidated: moneyRange(0, Interval{}), SavingUSD: pipeline.Money(0).Dollars(9)}
	best := -1
	for i, e := range evs {
		if e.EnoughData && (best < 0 || e.perValPoint < evs[best].perValPoint) {
			best = i
		}
	}
	if best < 0 {
		r.Why = fmt.Sprintf("no routing has enough data (min_samples %d workflows with validated outputs and every call priced): widen the window or supply rates", a.opts.MinSamples)
		return r
	}
	b := evs[best]
	r.Routing, r.Changes, r.PerValidated = b.Routing, b.Changes, b.PerValidated
	r.ValidatedPerMonth = monthly(a.total.ValidatedOutputs, a.d.From, a.d.To)
	if cur.perValPoint > 0 {
		diff := cur.perValPoint - b.perValPoint
		s, _ := pipeline.MulDiv(r.ValidatedPerMonth, diff, 1)
		if diff < 0 {
			s, _ = pipeline.MulDiv(r.ValidatedPerMonth, -diff, 1)
			s = -s
		}
		r.SavingNano, r.SavingUSD = int64(s), s.Dollars(9)
	}
	// Sure when its 95% range lies below every other contender's.
	var overlaps []string
	for i, e := range evs {
		if i == best || !e.EnoughData || e.Routing == b.Routing {
			continue
		}
		if b.perValidated.Hi >= e.perValidated.Lo {
			overlaps = append(overlaps, e.Routing)
		}
	}
	contenders := 0
	for _, e := range evs {
		if e.EnoughData {
			contenders++
		}
	}
	switch {
	case contenders == 1:
		r.Confidence = "no_alternative"
	case len(overlaps) > 0:
		r.Confidence = "uncertain"
	default:
		r.Confidence = "clear"
	}
	r.Why = a.why(evs, best, cur, overlaps)
	return r
}

func (a *analysis) why(evs []Evaluation, best int, cur Evaluation, overlaps []string) string {
	b := evs[best]
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s has the lowest expected cost per validated output, %s (95%% range %s to %s)",
		b.Routing, dollars(b.PerValidated.PointNano), dollars(b.PerValidated.LoNano), hiDollars(b.PerValidated))
	if b.Routing != AsRecorded {
		fmt.Fprintf(&sb, ", against %s as recorded", dollars(cur.PerValidated.PointNano))
	}
	// Name the routing that is cheapest on machine cost when that is not the winner: the
	// case where review outweighs tokens.
	cheap := -1
	for i, e := range evs {
		if e.EnoughData && (cheap < 0 || e.machine < evs[cheap].machine) {
			cheap = i
		}
	}
	if cheap >= 0 && evs[cheap].machine < b.machine && evs[cheap].Routing != b.Routing {
		c := evs[cheap]
		fmt.Fprintf(&sb, ". %s is cheaper in machine cost by %s per workflow, but its review rate is %.1f%% (%.1f-%.1f%%) against %.1f%% (%.1f-%.1f%%), which costs %s more in human review per workflow",
			c.Routing, dollars(int64(b.machine-c.machine)), 100*c.ReviewRate.Point, 100*c.ReviewRate.Lo, 100*c.ReviewRate.Hi,
			100*b.ReviewRate.Point, 100*b.ReviewRate.Lo, 100*b.ReviewRate.Hi, dollars(c.ReviewPerWorkflow.PointNano-b.ReviewPerWorkflow.PointNano))
	} else {
		fmt.Fprintf(&sb, "; review rate %.1f%% (%.1f-%.1f%%, %d workflows), %.2f review hours per 1,000 workflows",
			100*b.ReviewRate.Point, 100*b.ReviewRate.Lo, 100*b.ReviewRate.Hi, b.Samples, b.hours)
	}
	contenders := 0
	for _, e := range evs {
		if e.EnoughData {
			contenders++
		}
	}
	switch {
	case contenders == 1:
		sb.WriteString(". No other routing has enough data: every step ran on one model (evaluate another with a scenario)")
	case len(overlaps) > 0:
		fmt.Fprintf(&sb, ". Not yet certain: its range overlaps %s", strings.Join(overlaps, "; "))
	default:
		sb.WriteString(". Its range lies below every other routing with enough data")
	}
	return sb.String()
}
