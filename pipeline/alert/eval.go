package alert

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

// Source reads the rollups (pipeline/store implements it).
type Source interface {
	Series(ctx context.Context, from, to time.Time, bucket string, f store.SeriesFilter) ([]store.SeriesPoint, error)
	SeriesCosts(ctx context.Context, from, to time.Time, bucket string, f store.SeriesFilter) ([]store.CostPoint, error)
	// BreakdownRollups by "tenant" lists the tenants with data (group_by tenant).
	BreakdownRollups(ctx context.Context, dim string, from, to time.Time, f store.SeriesFilter) ([]store.BreakdownRow, error)
}

// agg is what one or more hours add up to.
type agg struct {
	workflows, completed, validated, exceptions uint64
	cost, exceptionCost, reviewCost             float64 // dollars
	tokens, lines, unpriced                     uint64
}

func (a *agg) add(b agg) {
	a.workflows += b.workflows
	a.completed += b.completed
	a.validated += b.validated
	a.exceptions += b.exceptions
	a.cost += b.cost
	a.exceptionCost += b.exceptionCost
	a.reviewCost += b.reviewCost
	a.tokens += b.tokens
	a.lines += b.lines
	a.unpriced += b.unpriced
}

// value is the metric over a and the number of units it rests on; ok is false when
// there are none.
func value(m Metric, a agg) (v float64, n uint64, ok bool) {
	div := func(x float64, n uint64) (float64, uint64, bool) {
		if n == 0 {
			return 0, 0, false
		}
		return x / float64(n), n, true
	}
	switch m {
	case CostPerCompleted:
		return div(a.cost, a.completed)
	case CostPerValidated:
		return div(a.cost, a.validated)
	case CostPerException:
		return div(a.exceptionCost, a.exceptions)
	case ReviewShare:
		if a.cost <= 0 {
			return 0, 0, false
		}
		return a.reviewCost / a.cost, a.workflows, a.workflows > 0
	case TokensPerWorkflow:
		return div(float64(a.tokens), a.workflows)
	case UnpricedShare:
		return div(float64(a.unpriced), a.lines)
	}
	return 0, 0, false
}

// unitsOf is the count a component's cost is divided by in an explanation.
func unitsOf(m Metric, a agg) uint64 {
	switch m {
	case CostPerCompleted:
		return a.completed
	case CostPerValidated:
		return a.validated
	}
	return a.workflows
}

// Explanation says what moved.
type Explanation struct {
	// Component whose cost per unit (completed workflow, validated output, or workflow)
	// changed most, in dollars per unit.
	Component        string  `json:"component,omitempty"`
	ComponentCurrent float64 `json:"component_current"`
	ComponentBefore  float64 `json:"component_baseline"`
	// Model and WorkflowVersion whose share of cost (of tokens, for tokens_per_workflow)
	// rose most, or else fell most, when by 10 points or more.
	Model               string  `json:"model,omitempty"`
	ModelShareCurrent   float64 `json:"model_share_current"`
	ModelShareBefore    float64 `json:"model_share_baseline"`
	Version             string  `json:"workflow_version,omitempty"`
	VersionShareCurrent float64 `json:"workflow_version_share_current"`
	VersionShareBefore  float64 `json:"workflow_version_share_baseline"`
	// ExceptionRate is the share of workflows that needed human review, now and in the
	// baseline; named in Text when it moved by a quarter or more.
	ExceptionRateCurrent float64 `json:"exception_rate_current"`
	ExceptionRateBefore  float64 `json:"exception_rate_baseline"`
	Text                 string  `json:"text"`
}

// Window is a time range.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Reading is one rule's evaluation for one group.
type Reading struct {
	Key         string  `json:"key"`
	Rule        string  `json:"rule"`
	Metric      Metric  `json:"metric"`
	Description string  `json:"metric_description"`
	Scope       Scope   `json:"scope"`
	Current     float64 `json:"current"`
	Baseline    float64 `json:"baseline"`
	Spread      float64 `json:"baseline_spread"`
	// BandLow and BandHigh bound the values that do not fire (see band); 0 unless Usable.
	BandLow       float64 `json:"band_low"`
	BandHigh      float64 `json:"band_high"`
	DeviationPct  float64 `json:"deviation_pct"`
	Samples       uint64  `json:"samples"`
	BaselineHours int     `json:"baseline_hours"`
	Method        Method  `json:"method"`
	Window        Window  `json:"window"`
	BaselineRange Window  `json:"baseline_window"`
	// Usable is false when the current window or the baseline lacks samples; Breach and
	// Holding are then false.
	Usable bool   `json:"usable"`
	Reason string `json:"reason,omitempty"`
	// Breach: the firing thresholds are crossed. Holding: the resolve thresholds (lowered
	// by the hysteresis) are still crossed.
	Breach  bool         `json:"-"`
	Holding bool         `json:"-"`
	Explain *Explanation `json:"explanation,omitempty"`
}

// windows returns a rule's current window and baseline hours at now.
func windows(r *Rule, now time.Time) (cur, base Window) {
	hourEnd := now.UTC().Truncate(time.Hour).Add(time.Hour)
	cur = Window{From: hourEnd.Add(-r.Window), To: now.UTC()}
	if r.Baseline == "same_hours_last_week" {
		end := hourEnd.Add(-7 * 24 * time.Hour)
		return cur, Window{From: end.Add(-r.BaselineWindow), To: end}
	}
	return cur, Window{From: cur.From.Add(-r.BaselineWindow), To: cur.From}
}

// read evaluates one rule at now: one Reading per group (one unless group_by). Grouped by
// tenant, each tenant with data in the rule's windows is read on its own, keyed
// rule/tenant[/workflow] and scoped to it.
func read(ctx context.Context, src Source, r *Rule, now time.Time) ([]Reading, error) {
	if !strings.Contains(r.GroupBy, "tenant") {
		return readScope(ctx, src, r, r.Scope, r.Name, now)
	}
	cur, base := windows(r, now)
	from := cur.From
	if base.From.Before(from) {
		from = base.From
	}
	tenants, err := src.BreakdownRollups(ctx, "tenant", from, cur.To, r.Scope.filter())
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(tenants))
	for _, t := range tenants {
		// Lines without a tenant are no tenant's: a scope with tenant "" means every
		// tenant, so reading them as a group would judge all tenants' data again under
		// rule/ (a drift of one tenant firing twice). They are left to rules not grouped
		// by tenant.
		if t.Key == "" {
			continue
		}
		names = append(names, t.Key)
	}
	sort.Strings(names)
	var out []Reading
	for _, t := range names {
		sc := r.Scope
		sc.Tenant = t
		rds, err := readScope(ctx, src, r, sc, r.Name+"/"+keyPart(t), now)
		if err != nil {
			return nil, err
		}
		out = append(out, rds...)
	}
	return out, nil
}

// keyPart escapes a tenant for an alert key: "%" and "/" become %25 and %2F, so that
// rule/tenant/workflow keys stay distinct whatever the names hold (tenant "a/b" and
// workflow "c" against tenant "a" and workflow "b/c").
func keyPart(s string) string {
	if !strings.ContainsAny(s, "%/") {
		return s
	}
	return strings.NewReplacer("%", "%25", "/", "%2F").Replace(s)
}

// readScope evaluates rule r over scope, its readings keyed key[/workflow].
func readScope(ctx context.Context, src Source, r *Rule, scope Scope, key string, now time.Time) ([]Reading, error) {
	cur, base := windows(r, now)
	from := cur.From
	if base.From.Before(from) {
		from = base.From
	}
	f := scope.filter()
	points, err := src.Series(ctx, from, cur.To, "hour", f)
	if err != nil {
		return nil, err
	}
	costs, err := src.SeriesCosts(ctx, from, cur.To, "hour", f)
	if err != nil {
		return nil, err
	}
	group := func(workflow string) string {
		if strings.Contains(r.GroupBy, "workflow") {
			return workflow
		}
		return ""
	}
	type hours map[time.Time]*agg
	byGroup := map[string]hours{}
	at := func(g string, h time.Time) *agg {
		if byGroup[g] == nil {
			byGroup[g] = hours{}
		}
		if byGroup[g][h] == nil {
			byGroup[g][h] = &agg{}
		}
		return byGroup[g][h]
	}
	for _, p := range points {
		a := at(group(p.Workflow), p.Bucket)
		a.add(agg{workflows: p.Workflows, completed: p.Completed, validated: p.ValidatedOutputs, exceptions: p.Exceptions,
			exceptionCost: dollars(int64(p.ExceptionCost)), reviewCost: dollars(int64(p.ReviewCost))})
		if scope.Model == "" {
			a.cost += dollars(int64(p.Cost))
			a.tokens += p.InputTokens + p.OutputTokens
			a.lines += p.LineItems
			a.unpriced += p.UnpricedLines
		}
	}
	if scope.Model != "" { // the model's own cost, tokens and lines over the scope's workflows
		for _, c := range costs {
			a := at(group(c.Workflow), c.Bucket)
			a.cost += dollars(int64(c.Cost))
			a.tokens += c.InputTokens + c.OutputTokens
			a.lines += c.LineItems
			a.unpriced += c.UnpricedLines
		}
	}
	in := func(w Window, t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }
	groups := make([]string, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		groups = append(groups, "")
	}
	sort.Strings(groups)
	var out []Reading
	for _, g := range groups {
		rd := Reading{Key: key, Rule: r.Name, Metric: r.Metric, Description: metrics[r.Metric], Scope: scope, Method: r.Method,
			Window: cur, BaselineRange: base}
		if g != "" {
			rd.Key += "/" + g
			rd.Scope.Workflow = g
		}
		var now agg
		type hv struct {
			h time.Time
			v float64
		}
		var series []hv
		minHour := max(1, r.MinSamples/10)
		for h, a := range byGroup[g] {
			if in(cur, h) {
				now.add(*a)
			}
			if in(base, h) {
				if v, n, ok := value(r.Metric, *a); ok && n >= minHour {
					series = append(series, hv{h, v})
				}
			}
		}
		sort.Slice(series, func(i, j int) bool { return series[i].h.Before(series[j].h) })
		vals := make([]float64, len(series))
		for i, s := range series {
			vals[i] = s.v
		}
		v, n, ok := value(r.Metric, now)
		rd.Current, rd.Samples, rd.BaselineHours = v, n, len(vals)
		switch {
		case !ok || n < r.MinSamples:
			rd.Reason = fmt.Sprintf("%d samples in the current window, need %d", n, r.MinSamples)
		case len(vals) < r.MinBaselineHours:
			rd.Reason = fmt.Sprintf("%d usable baseline hours, need %d", len(vals), r.MinBaselineHours)
		default:
			rd.Usable = true
			if r.Method == EWMA {
				rd.Baseline, rd.Spread = ewma(vals, r.Alpha)
			} else {
				rd.Baseline, rd.Spread = medianMAD(vals)
			}
			rd.BandLow, rd.BandHigh = band(r, rd.Baseline, rd.Spread)
			dev := rd.Current - rd.Baseline
			switch {
			case rd.Baseline != 0:
				rd.DeviationPct = 100 * dev / math.Abs(rd.Baseline)
			case dev > 0:
				rd.DeviationPct = math.Inf(1)
			case dev < 0:
				rd.DeviationPct = math.Inf(-1)
			}
			rd.Breach = crosses(r, dev, rd.DeviationPct, rd.Spread, r.ThresholdPct)
			rd.Holding = crosses(r, dev, rd.DeviationPct, rd.Spread, r.ThresholdPct-r.HysteresisPct)
			if rd.Breach || rd.Holding {
				var before agg
				for h, a := range byGroup[g] {
					if in(base, h) {
						before.add(*a)
					}
				}
				rd.Explain = explain(r, g, costs, cur, base, now, before)
			}
		}
		out = append(out, rd)
	}
	return out, nil
}

// crosses applies the percent, absolute and sigma thresholds in the rule's direction.
func crosses(r *Rule, dev, pct, spread, thresholdPct float64) bool {
	up := dev > 0 && pct >= thresholdPct && dev >= r.ThresholdAbs && dev >= r.Sigmas*spread
	down := dev < 0 && -pct >= thresholdPct && -dev >= r.ThresholdAbs && -dev >= r.Sigmas*spread
	switch r.Direction {
	case "down":
		return down
	case "both":
		return up || down
	}
	return up
}

func dollars(nano int64) float64 { return float64(nano) / 1e9 }

// explain finds the component whose cost per unit moved most, and the model and workflow
// version whose share changed most.
func explain(r *Rule, group string, costs []store.CostPoint, cur, base Window, now, before agg) *Explanation {
	in := func(w Window, t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }
	type pair struct{ cur, base float64 }
	comp, model, version := map[string]*pair{}, map[string]*pair{}, map[string]*pair{}
	var modelTotal, versionTotal pair
	add := func(m map[string]*pair, k string, isCur bool, v float64) {
		if m[k] == nil {
			m[k] = &pair{}
		}
		if isCur {
			m[k].cur += v
		} else {
			m[k].base += v
		}
	}
	tokens := r.Metric == TokensPerWorkflow
	for _, c := range costs {
		if group != "" && c.Workflow != group {
			continue
		}
		isCur, isBase := in(cur, c.Bucket), in(base, c.Bucket)
		if !isCur && !isBase {
			continue
		}
		cost := dollars(int64(c.Cost))
		add(comp, c.Component, isCur, cost)
		share := cost
		if tokens {
			share = float64(c.InputTokens + c.OutputTokens)
		}
		if c.Model != "" {
			add(model, c.Model, isCur, share)
			if isCur {
				modelTotal.cur += share
			} else {
				modelTotal.base += share
			}
		}
		add(version, c.WorkflowVersion, isCur, share)
		if isCur {
			versionTotal.cur += share
		} else {
			versionTotal.base += share
		}
	}
	e := &Explanation{}
	nu, bu := float64(unitsOf(r.Metric, now)), float64(unitsOf(r.Metric, before))
	best := -1.0
	for _, k := range sortedKeys(comp) {
		if nu == 0 || bu == 0 {
			break
		}
		c, b := comp[k].cur/nu, comp[k].base/bu
		if d := math.Abs(c - b); d > best {
			best, e.Component, e.ComponentCurrent, e.ComponentBefore = d, k, c, b
		}
	}
	shift := func(m map[string]*pair, total pair) (string, float64, float64) {
		var key string
		var sc, sb, bestD float64
		if total.cur == 0 || total.base == 0 {
			return "", 0, 0
		}
		// the share that rose most (a new model or version), else the one that fell most
		for _, k := range sortedKeys(m) {
			c, b := m[k].cur/total.cur, m[k].base/total.base
			if d := c - b; d >= 0.10 && d > bestD {
				key, sc, sb, bestD = k, c, b, d
			}
		}
		if key == "" {
			for _, k := range sortedKeys(m) {
				c, b := m[k].cur/total.cur, m[k].base/total.base
				if d := b - c; d >= 0.10 && d > bestD {
					key, sc, sb, bestD = k, c, b, d
				}
			}
		}
		return key, sc, sb
	}
	e.Model, e.ModelShareCurrent, e.ModelShareBefore = shift(model, modelTotal)
	e.Version, e.VersionShareCurrent, e.VersionShareBefore = shift(version, versionTotal)
	var parts []string
	if e.Component != "" {
		unit := map[Metric]string{CostPerCompleted: "completed workflow", CostPerValidated: "validated output"}[r.Metric]
		if unit == "" {
			unit = "workflow"
		}
		parts = append(parts, fmt.Sprintf("%s moved most: $%.6f per %s, was $%.6f", e.Component, e.ComponentCurrent, unit, e.ComponentBefore))
	}
	what := "cost"
	if tokens {
		what = "tokens"
	}
	if e.Model != "" {
		parts = append(parts, fmt.Sprintf("model %s now has %.0f%% of model %s, was %.0f%%", e.Model, 100*e.ModelShareCurrent, what, 100*e.ModelShareBefore))
	}
	if e.Version != "" {
		v := e.Version
		if v == "" {
			v = "(none)"
		}
		parts = append(parts, fmt.Sprintf("workflow version %s now has %.0f%% of %s, was %.0f%%", v, 100*e.VersionShareCurrent, what, 100*e.VersionShareBefore))
	}
	if now.workflows > 0 && before.workflows > 0 {
		e.ExceptionRateCurrent = float64(now.exceptions) / float64(now.workflows)
		e.ExceptionRateBefore = float64(before.exceptions) / float64(before.workflows)
		if b := e.ExceptionRateBefore; math.Abs(e.ExceptionRateCurrent-b) >= 0.25*b && e.ExceptionRateCurrent != b {
			parts = append(parts, fmt.Sprintf("%.1f%% of workflows needed human review, was %.1f%%", 100*e.ExceptionRateCurrent, 100*b))
		}
	}
	e.Text = strings.Join(parts, "; ")
	return e
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
