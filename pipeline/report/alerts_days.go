package report

import (
	"math"
	"math/big"
	"sort"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

// Alert readings by day (GET /api/v1/alerts/readings?bucket=day), for the trend's daily
// view. A day's point on the trend is the day's metric from the rollups - cost / completed
// for cost per completed workflow - which is the mean of the hours' values weighted by each
// hour's denominator (completed workflows). A day's reading weights its hours' figures the
// same way: value, baseline, spread and band edges are each the mean over the day's usable
// hourly readings weighted by the hour's denominator in the reading's scope: the rule's
// whole scope as the engine read it (tenant, workflow type, version, team, model, service,
// environment; "" = all), stored with the reading. Days are UTC days, the trend's day
// buckets; a daily view reads whole days. So a day's point lies inside the
// day's band whenever each of its hours lay inside its own band (a weighted mean of values
// within their bands lies within the weighted mean of the bands), and a point outside it
// means some hour of the day was outside its band.

// weightOf is the denominator of metric in one rollup point: what the trend divides by.
func weightOf(metric string, p store.SeriesPoint) *big.Int {
	switch metric {
	case "cost_per_completed":
		return new(big.Int).SetUint64(p.Completed)
	case "cost_per_validated":
		return new(big.Int).SetUint64(p.ValidatedOutputs)
	case "cost_per_exception":
		return new(big.Int).SetUint64(p.Exceptions)
	case "review_share":
		if p.Cost < 0 {
			return new(big.Int)
		}
		return big.NewInt(int64(p.Cost))
	case "tokens_per_workflow":
		return new(big.Int).SetUint64(p.Workflows)
	case "unpriced_share":
		return new(big.Int).SetUint64(p.LineItems)
	}
	return new(big.Int)
}

// hourWeights holds, per reading scope (store.AlertReading.Filter: the filter the alert
// engine read the rollups with), the scope's hourly rollup points, and for a scope with a
// model its hourly cost points (the model's own cost and lines, as the engine reads them).
type hourWeights map[store.SeriesFilter]scopeHours

type scopeHours struct {
	points []store.SeriesPoint
	costs  []store.CostPoint
}

// weight is the denominator of the reading's metric in the reading's hour over the
// reading's scope, as the engine computed it: completed workflows, validated outputs,
// exceptions and workflows are the scope's workflows' (a model in scope narrows only the
// cost, tokens and lines, to the model's own); review share is over the cost, unpriced
// share over the line items.
func (w hourWeights) weight(r store.AlertReading) *big.Int {
	sh := w[r.Filter()]
	sum := new(big.Int)
	if r.Model != "" && (r.Metric == "review_share" || r.Metric == "unpriced_share") {
		for _, c := range sh.costs {
			if !c.Bucket.Equal(r.Bucket) {
				continue
			}
			if r.Metric == "unpriced_share" {
				sum.Add(sum, new(big.Int).SetUint64(c.LineItems))
			} else {
				sum.Add(sum, big.NewInt(int64(c.Cost)))
			}
		}
		if sum.Sign() < 0 {
			return new(big.Int)
		}
		return sum
	}
	for _, p := range sh.points {
		if p.Bucket.Equal(r.Bucket) {
			sum.Add(sum, weightOf(r.Metric, p))
		}
	}
	return sum
}

// dayOf is the UTC day an hour falls in: the trend's day bucket (toStartOfDay on a server
// in UTC, deploy/local/clickhouse.sh).
func dayOf(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// DayReadings aggregates hourly readings into one per alert and UTC day, over the hours
// that are usable and have a positive weight; a day without one has no reading. Dollar
// figures are the weighted means of the hours' nano-dollar figures (as the hourly readings
// give them), exact and rounded once, half away from zero; other figures are weighted means
// in floating point. EvaluatedAt is the newest evaluation, Samples the sum, BaselineHours
// the fewest, Hours the number of hours aggregated.
func DayReadings(in []store.AlertReading, weights hourWeights) []AlertReading {
	type acc struct {
		first store.AlertReading
		hours int
		w     *big.Int
		// dollar metrics: sums of weight x nano; others: sums of weight x value
		nano    [5]*big.Int
		float   [5]float64
		latest  time.Time
		samples uint64
		minBase uint32
	}
	groups := map[string]*acc{}
	var keys []string
	for _, r := range in {
		if !r.Usable {
			continue
		}
		w := weights.weight(r)
		if w.Sign() <= 0 {
			continue
		}
		day := dayOf(r.Bucket)
		k := r.Tenant + "\x00" + r.Key + "\x00" + day.Format(time.RFC3339)
		g := groups[k]
		if g == nil {
			g = &acc{first: r, w: new(big.Int), minBase: r.BaselineHours}
			g.first.Bucket = day
			for i := range g.nano {
				g.nano[i] = new(big.Int)
			}
			groups[k] = g
			keys = append(keys, k)
		}
		g.hours++
		g.w.Add(g.w, w)
		wf, _ := new(big.Float).SetInt(w).Float64()
		for i, v := range [5]float64{r.Current, r.Baseline, r.Spread, r.BandLow, r.BandHigh} {
			g.nano[i].Add(g.nano[i], new(big.Int).Mul(w, big.NewInt(Nano(v))))
			g.float[i] += wf * v
		}
		if r.EvaluatedAt.After(g.latest) {
			g.latest = r.EvaluatedAt
		}
		g.samples += r.Samples
		g.minBase = min(g.minBase, r.BaselineHours)
	}
	sort.Strings(keys)
	out := make([]AlertReading, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		r := g.first
		f := AlertFigures{Unit: unitOf(r.Metric)}
		if f.Unit == "usd" {
			var n [5]int64
			for i := range n {
				n[i] = divRound(g.nano[i], g.w)
			}
			f = nanoFigures(n[0], n[1], n[2], n[3], n[4])
		} else {
			wf, _ := new(big.Float).SetInt(g.w).Float64()
			var v [5]float64
			for i := range v {
				v[i] = g.float[i] / wf
			}
			dev := math.Inf(1)
			if v[1] != 0 {
				dev = (v[0] - v[1]) / math.Abs(v[1]) * 100
			}
			f = figures(r.Metric, true, v[0], v[1], v[2], v[3], v[4], dev)
		}
		out = append(out, AlertReading{Tenant: r.Tenant, AlertKey: r.Key, Rule: r.Rule, Metric: r.Metric, Workflow: r.Workflow,
			Bucket: r.Bucket, EvaluatedAt: g.latest.UTC(), Usable: true, Samples: g.samples, BaselineHours: g.minBase, Method: r.Method,
			Hours: g.hours, AlertFigures: f})
	}
	return out
}

// nanoFigures are a dollar metric's figures from exact nano-dollars; the deviation is
// (current - baseline) / |baseline| in percent, null for a zero baseline.
func nanoFigures(cur, base, spread, lo, hi int64) AlertFigures {
	f := AlertFigures{Unit: "usd"}
	set := func(n int64, nano **int64, s **string) {
		u := usd(n)
		*nano, *s = &n, &u
	}
	set(cur, &f.CurrentNano, &f.CurrentUSD)
	set(base, &f.BaselineNano, &f.BaselineUSD)
	set(spread, &f.SpreadNano, &f.SpreadUSD)
	set(lo, &f.BandLowNano, &f.BandLowUSD)
	set(hi, &f.BandHighNano, &f.BandHighUSD)
	if base != 0 {
		d := float64(cur-base) / math.Abs(float64(base)) * 100
		f.DeviationPct = &d
	}
	return f
}

// divRound is round(a / b) half away from zero, for b > 0.
func divRound(a, b *big.Int) int64 {
	q, r := new(big.Int).QuoRem(a, b, new(big.Int))
	if twice := new(big.Int).Abs(r); twice.Lsh(twice, 1).Cmp(b) >= 0 {
		if a.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}
