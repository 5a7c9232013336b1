package whatif

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"

	"github.com/unitcost/unitcost/pipeline"
)

// Analyze evaluates the routings found in d (every step with more than one observed
// model, each sent wholly to one of them), the scenarios of opts, and recommends.
func Analyze(d Data, opts Options) (*Report, error) {
	if opts.MinSamples == 0 {
		opts.MinSamples = 30
	}
	if opts.MaxCandidates == 0 {
		opts.MaxCandidates = 64
	}
	// The context cut is its own what-if (Report.Context); routings are priced without it.
	cut := opts.Pricer.CutContextPct
	opts.Pricer.CutContextPct = 0
	a := &analysis{d: d, opts: opts, cut: cut}
	for _, c := range d.Cohorts {
		a.total.add(&c)
	}
	if a.total.Workflows == 0 {
		return nil, fmt.Errorf("what-if %q: %w", d.Workflow, ErrNoWorkflows)
	}
	var recorded pipeline.Money
	for _, g := range d.Groups {
		recorded += g.Cost
	}
	for _, g := range d.Sums {
		recorded += g.Cost
	}
	if len(d.Sums) > 0 && (cut > 0 || opts.Pricer.CachePolicy == CacheSystem) {
		return nil, fmt.Errorf("what-if %q: %w: the context cut and the %s cache policy change each call by its own token mix", d.Workflow, ErrNotExact, CacheSystem)
	}
	a.other = a.total.MachineCost - recorded
	rep := &Report{Workflow: d.Workflow, Tenant: d.Tenant, From: d.From.UTC().Format("2006-01-02T15:04:05Z"), To: d.To.UTC().Format("2006-01-02T15:04:05Z"),
		Currency: Currency, PriceVersion: opts.Pricer.Version, CachePolicy: opts.Pricer.CachePolicy, Workflows: a.total.Workflows,
		ValidatedOutputs: a.total.ValidatedOutputs, MinSamples: opts.MinSamples,
		Steps: []Step{}, Routings: []Evaluation{}, Scenarios: []Evaluation{}, Pareto: []string{}, Notes: []string{}}
	if rep.CachePolicy == "" {
		rep.CachePolicy = CacheAsRecorded
	}
	rep.Steps = a.steps()

	cur, err := a.evaluate(AsRecorded, nil, nil)
	if err != nil {
		return nil, err
	}
	rep.Routings = append(rep.Routings, cur)
	rep.RecordedModelCostNano, rep.RepricedModelCostNano = int64(recorded), int64(a.asRecorded)
	rep.RecordedModelCostUSD, rep.RepricedModelCostUSD = recorded.Dollars(9), a.asRecorded.Dollars(9)
	if a.asRecorded != recorded {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the recorded model calls cost %s as billed and %s priced again with this book; every routing, %q included, is priced again so they compare like for like (a price change since, a named version, or `unitcost reprice` not yet run)",
			"$"+recorded.Dollars(6), "$"+a.asRecorded.Dollars(6), AsRecorded))
	}
	cands, truncated := a.candidates(rep.Steps)
	if truncated {
		rep.Notes = append(rep.Notes, fmt.Sprintf("more than %d routings: only the first %d were evaluated", opts.MaxCandidates, opts.MaxCandidates))
	}
	for _, c := range cands {
		ev, err := a.evaluate(c.Name, c.Changes, nil)
		if err != nil {
			return nil, err
		}
		rep.Routings = append(rep.Routings, ev)
	}
	for _, s := range opts.Scenarios {
		name := s.Name
		if name == "" {
			name = routingName(s.Changes)
		}
		ev, err := a.evaluate(name, s.Changes, s.Assumed)
		if err != nil {
			return nil, err
		}
		rep.Scenarios = append(rep.Scenarios, ev)
	}
	all := append(append([]Evaluation{}, rep.Routings...), rep.Scenarios...)
	rep.Pareto = pareto(all)
	rep.Recommendation = a.recommend(all, cur)
	if cut > 0 {
		cc, err := a.contextCut()
		if err != nil {
			return nil, err
		}
		rep.Context = cc
	}
	if a.total.Workflows < opts.MinSamples {
		rep.Notes = append(rep.Notes, fmt.Sprintf("only %d workflows in the window (min_samples %d): widen the window", a.total.Workflows, opts.MinSamples))
	}
	return rep, nil
}

type analysis struct {
	d     Data
	opts  Options
	total Cohort
	other pipeline.Money // recorded machine cost that is not a model call
	// the calls by step key, and each (step, change)'s re-priced cost (see reprice)
	byStep     map[string][]LineGroup
	sumsByStep map[string][]CallSum
	stepKeys   []string
	stepCost   map[stepChange]Repriced
	// asRecorded is the model calls' cost priced again as they ran.
	asRecorded pipeline.Money
	cut        float64 // percent of retrieved context the context what-if removes
}

func (c *Cohort) add(o *Cohort) {
	c.Workflows += o.Workflows
	c.Completed += o.Completed
	c.Failed += o.Failed
	c.Escalated += o.Escalated
	c.ValidatedWorkflows += o.ValidatedWorkflows
	c.ValidatedOutputs += o.ValidatedOutputs
	c.ValidatedSq += o.ValidatedSq
	c.Reviewed += o.Reviewed
	c.ReviewCost += o.ReviewCost
	c.ReviewCostSq += o.ReviewCostSq
	c.ReviewActiveMs += o.ReviewActiveMs
	c.ReviewActiveMsSq += o.ReviewActiveMsSq
	c.MachineCost += o.MachineCost
	c.Calls += o.Calls
	c.ErrorCalls += o.ErrorCalls
}

// cohort sums the cohorts whose mapped steps ran only on the mapped models. With ran,
// only workflows that ran every mapped step count (the rates of a step and model);
// without, a workflow that never ran a mapped step counts too (a routing does not
// change it).
func (a *analysis) cohort(changes map[string]Change, ran bool) Cohort {
	var out Cohort
	for i := range a.d.Cohorts {
		c := &a.d.Cohorts[i]
		ok := true
		seen := 0
		for _, sm := range c.Routing {
			ch, mapped := changes[StepKey(sm.Step, sm.Operation, sm.Model)]
			if !mapped || ch.Model == "" {
				continue
			}
			if !sameModel(sm.Model, ch.Model) {
				ok = false
				break
			}
			seen++
		}
		if ok && (!ran || seen > 0) {
			out.add(c)
		}
	}
	return out
}

// sameModel matches a recorded model id against a candidate name, allowing a dated
// suffix on either ("gpt-4.1-mini-2025-04-14" is "gpt-4.1-mini"; "gpt-5-nano" is not
// "gpt-5").
func sameModel(recorded, cand string) bool {
	r, c := strings.ToLower(recorded), strings.ToLower(cand)
	if len(c) > len(r) {
		r, c = c, r
	}
	if r == c {
		return true
	}
	rest, ok := strings.CutPrefix(r, c+"-")
	return ok && rest != "" && rest[0] >= '0' && rest[0] <= '9'
}

func (a *analysis) rateCard(c Cohort) RateCard {
	rc := RateCard{Workflows: c.Workflows, ReviewRate: rate(c.Reviewed, c.Workflows), EscalationRate: rate(c.Escalated, c.Workflows),
		FailureRate: rate(c.Failed, c.Workflows), CompletionRate: rate(c.Completed, c.Workflows), RetryRate: rate(c.ErrorCalls, c.Calls),
		ValidatedPerWorkflow: rangeOf(validatedPerWorkflow(c))}
	per := MeanT(c.Reviewed, float64(c.ReviewCost), c.ReviewCostSq, 0)
	rc.ReviewCostPerReview = moneyRange(ratRound(ratFrac(c.ReviewCost, c.Reviewed)), per)
	return rc
}

// validatedPerWorkflow: Wilson when every workflow validates 0 or 1 output (a rate),
// else the t-interval of the mean.
func validatedPerWorkflow(c Cohort) Interval {
	if c.ValidatedSq == float64(c.ValidatedOutputs) && c.ValidatedWorkflows == c.ValidatedOutputs {
		return Wilson(c.ValidatedWorkflows, c.Workflows)
	}
	return MeanT(c.Workflows, float64(c.ValidatedOutputs), c.ValidatedSq, 0)
}

// steps lists each step key with its models, shares and per-model rates.
func (a *analysis) steps() []Step {
	type mk struct{ step, model string }
	idx := map[string]*Step{}
	models := map[mk]*ModelStats{}
	var order []string
	add := func(step, op, provider, model string, lines uint64, cost pipeline.Money) {
		key := StepKey(step, op, model)
		s := idx[key]
		if s == nil {
			s = &Step{Step: key, Operation: op, Models: []ModelStats{}}
			idx[key] = s
			order = append(order, key)
		}
		s.Calls += lines
		m := models[mk{key, model}]
		if m == nil {
			m = &ModelStats{Model: model, Provider: provider, TokenizerModel: TokenizerFamily(provider, model)}
			models[mk{key, model}] = m
		}
		m.Calls += lines
		m.CostNano += int64(cost)
	}
	for i := range a.d.Groups {
		g := &a.d.Groups[i]
		add(g.Step, g.Operation, g.Provider, g.Model, g.Lines, g.Cost)
	}
	for i := range a.d.Sums {
		g := &a.d.Sums[i]
		add(g.Step, g.Operation, g.Provider, g.Model, g.Sums.Calls, g.Cost)
	}
	sort.Strings(order)
	out := make([]Step, 0, len(order))
	for _, key := range order {
		s := idx[key]
		for k, m := range models {
			if k.step != key {
				continue
			}
			m.ShareOfCalls = float64(m.Calls) / float64(s.Calls)
			m.CostUSD = pipeline.Money(m.CostNano).Dollars(9)
			m.Rates = a.rateCard(a.cohort(map[string]Change{key: {Model: m.Model}}, true))
			s.Models = append(s.Models, *m)
		}
		sort.Slice(s.Models, func(i, j int) bool {
			if s.Models[i].Calls != s.Models[j].Calls {
				return s.Models[i].Calls > s.Models[j].Calls
			}
			return s.Models[i].Model < s.Models[j].Model
		})
		out = append(out, *s)
	}
	return out
}

// candidates enumerates routings that send each multi-model step wholly to one of its
// observed models.
func (a *analysis) candidates(steps []Step) ([]Scenario, bool) {
	type opt struct {
		step   string
		models []ModelStats
	}
	var opts []opt
	for _, s := range steps {
		if len(s.Models) > 1 {
			opts = append(opts, opt{s.Step, s.Models})
		}
	}
	if len(opts) == 0 {
		return nil, false
	}
	var out []Scenario
	truncated := false
	var rec func(i int, ch map[string]Change)
	rec = func(i int, ch map[string]Change) {
		if len(out) >= a.opts.MaxCandidates {
			truncated = true
			return
		}
		if i == len(opts) {
			cp := make(map[string]Change, len(ch))
			for k, v := range ch {
				cp[k] = v
			}
			out = append(out, Scenario{Name: routingName(cp), Changes: cp})
			return
		}
		for _, m := range opts[i].models {
			ch[opts[i].step] = Change{Model: m.Model, Provider: m.Provider}
			rec(i+1, ch)
		}
		delete(ch, opts[i].step)
	}
	rec(0, map[string]Change{})
	return out, truncated
}

func routingName(ch map[string]Change) string {
	if len(ch) == 0 {
		return AsRecorded
	}
	var parts []string
	for _, c := range changeList(ch) {
		p := c.Step + "="
		if c.Model != "" {
			p += c.Model
		} else {
			p += "(recorded model)"
		}
		if c.ServiceTier != "" {
			p += "@" + c.ServiceTier
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func changeList(ch map[string]Change) []StepChange {
	out := make([]StepChange, 0, len(ch))
	for k, c := range ch {
		out = append(out, StepChange{Step: k, Model: c.Model, ServiceTier: c.ServiceTier})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out
}

// evaluate prices the routing and applies its cohort's (or the assumed) rates.
func (a *analysis) evaluate(name string, changes map[string]Change, assumed *Assumed) (Evaluation, error) {
	ev := Evaluation{Routing: name, Changes: changeList(changes), RatesSource: SourceObserved, Notes: []string{}}
	rp, err := a.reprice(changes)
	if err != nil {
		return ev, err
	}
	ev.EstimatedLines, ev.UnpricedLines = rp.Estimated, rp.Unpriced
	if len(changes) == 0 {
		a.asRecorded = rp.Cost
	}
	machine := rp.Cost + a.other
	n := a.total.Workflows
	ev.MachineCostNano, ev.MachineCostUSD = int64(machine), machine.Dollars(9)
	machinePer := ratFrac(machine, n)
	ev.machine = ratRound(machinePer)
	ev.MachinePerWorkflow = moneyRange(ev.machine, Interval{Point: float64(ev.machine), Lo: float64(ev.machine), Hi: float64(ev.machine)})
	if rp.Unpriced > 0 {
		ev.Notes = append(ev.Notes, fmt.Sprintf("%d calls have no price under the book and count as 0: %s", rp.Unpriced, strings.Join(rp.Reasons, "; ")))
	}
	if rp.Estimated > 0 {
		ev.Notes = append(ev.Notes, fmt.Sprintf("%d calls moved to a model of another tokenizer family: tokens carried over 1:1 (an estimate)", rp.Estimated))
	}

	c := a.cohort(changes, false)
	var reviewRate, perReview, validated, completion Interval
	pooledPerReview := MeanT(a.total.Reviewed, float64(a.total.ReviewCost), a.total.ReviewCostSq, 0)
	pooledHours := MeanT(a.total.Reviewed, float64(a.total.ReviewActiveMs), a.total.ReviewActiveMsSq, 0)
	perReviewPoint := ratFrac(c.ReviewCost, max(c.Reviewed, 1))
	hoursPer := MeanT(c.Reviewed, float64(c.ReviewActiveMs), c.ReviewActiveMsSq, 0)
	if assumed != nil {
		ev.RatesSource = SourceUser
		ev.Samples = c.Workflows
		reviewRate = Interval{Point: assumed.ReviewRate, Lo: assumed.ReviewRate, Hi: assumed.ReviewRate}
		ev.ReviewRate = Rate{Point: assumed.ReviewRate, Lo: assumed.ReviewRate, Hi: assumed.ReviewRate}
		perReview, hoursPer = pooledPerReview, pooledHours
		perReviewPoint = ratFrac(a.total.ReviewCost, max(a.total.Reviewed, 1))
		validated = validatedPerWorkflow(a.total)
		if assumed.ValidatedPerWorkflow > 0 {
			validated = Interval{Point: assumed.ValidatedPerWorkflow, Lo: assumed.ValidatedPerWorkflow, Hi: assumed.ValidatedPerWorkflow}
		}
		completion = Wilson(a.total.Completed, a.total.Workflows)
		if assumed.CompletionRate > 0 {
			completion = Interval{Point: assumed.CompletionRate, Lo: assumed.CompletionRate, Hi: assumed.CompletionRate}
		}
		ev.EnoughData = rp.Unpriced == 0
		ev.Notes = append(ev.Notes, "rates supplied by the user, not observed; review cost per reviewed workflow pooled over the workflow type")
	} else {
		ev.Samples = c.Workflows
		ev.ReviewRate = rate(c.Reviewed, c.Workflows)
		reviewRate = Wilson(c.Reviewed, c.Workflows)
		perReview = MeanT(c.Reviewed, float64(c.ReviewCost), c.ReviewCostSq, 0)
		if c.Reviewed < 2 && a.total.Reviewed >= 2 {
			perReview, hoursPer = pooledPerReview, pooledHours
			perReviewPoint = ratFrac(a.total.ReviewCost, a.total.Reviewed)
			if c.Reviewed == 0 && a.total.Reviewed > 0 {
				ev.Notes = append(ev.Notes, "no reviewed workflow in this cohort: review cost per reviewed workflow pooled over the workflow type")
			}
		}
		validated = validatedPerWorkflow(c)
		completion = Wilson(c.Completed, c.Workflows)
		ev.EnoughData = c.Workflows >= a.opts.MinSamples && rp.Unpriced == 0 && c.ValidatedOutputs > 0
	}
	// Points exactly: review per workflow = rate x cost per reviewed workflow.
	reviewPer := new(big.Rat).Mul(new(big.Rat).SetFloat64(reviewRate.Point), perReviewPoint)
	if assumed == nil {
		reviewPer = ratFrac(c.ReviewCost, c.Workflows)
	}
	// Review cost per workflow: the t-interval of the per-workflow cost (zeros included)
	// once there are enough reviews for it to hold; with few, the product of the rate's
	// Wilson interval and the cost per review's t-interval, which is wider and safe.
	reviewI := product(reviewRate, perReview)
	if assumed == nil && c.Reviewed >= minReviewsForT {
		reviewI = MeanT(c.Workflows, float64(c.ReviewCost), c.ReviewCostSq, 0)
	}
	ev.ReviewPerWorkflow = moneyRange(ratRound(reviewPer), reviewI)
	perWf := new(big.Rat).Add(machinePer, reviewPer)
	perWfI := Interval{Point: float64(ev.machine) + reviewI.Point, Lo: float64(ev.machine) + reviewI.Lo, Hi: float64(ev.machine) + reviewI.Hi}
	ev.PerWorkflow = moneyRange(ratRound(perWf), perWfI)
	div := func(point *big.Rat, by Interval, exact *big.Rat) (pipeline.Money, Interval, bool) {
		if exact == nil || exact.Sign() == 0 {
			return 0, Interval{Lo: 0, Hi: math.Inf(1)}, false
		}
		p := ratRound(new(big.Rat).Quo(point, exact))
		i := Interval{Point: float64(p), Lo: perWfI.Lo / by.Hi, Hi: math.Inf(1)}
		if by.Lo > 0 {
			i.Hi = perWfI.Hi / by.Lo
		}
		return p, i, true
	}
	var vExact, cExact *big.Rat
	if assumed != nil {
		vExact, cExact = new(big.Rat).SetFloat64(validated.Point), new(big.Rat).SetFloat64(completion.Point)
	} else if c.Workflows > 0 {
		vExact = new(big.Rat).SetFrac(new(big.Int).SetUint64(c.ValidatedOutputs), new(big.Int).SetUint64(c.Workflows))
		cExact = new(big.Rat).SetFrac(new(big.Int).SetUint64(c.Completed), new(big.Int).SetUint64(c.Workflows))
	}
	pv, pvI, okV := div(perWf, validated, vExact)
	ev.perValPoint, ev.perValidated = pv, pvI
	ev.PerValidated = moneyRange(pv, pvI)
	if !okV {
		ev.EnoughData = false
		ev.Notes = append(ev.Notes, "no validated output in this cohort: cost per validated output unbounded")
	}
	pc, pcI, _ := div(perWf, completion, cExact)
	ev.PerCompleted = moneyRange(pc, pcI)
	hours := product(reviewRate, hoursPer).scale(1000.0 / 3_600_000)
	ev.hours = hours.Point
	ev.ReviewHoursPer1000 = rangeOf(hours)
	if assumed == nil && c.Workflows < a.opts.MinSamples {
		ev.Notes = append(ev.Notes, fmt.Sprintf("too few samples: %d workflows ran this routing (min_samples %d); cost per validated output between %s and %s",
			c.Workflows, a.opts.MinSamples, dollars(ev.PerValidated.LoNano), hiDollars(ev.PerValidated)))
	}
	return ev, nil
}

// reprice prices the window's calls under a routing. A routing's cost is the sum over
// steps of the step's calls priced under that step's change, so each (step, change) is
// priced once however many routings share it: groups x models, not groups x routings.
func (a *analysis) reprice(changes map[string]Change) (Repriced, error) {
	if a.byStep == nil {
		a.byStep, a.sumsByStep, a.stepCost = map[string][]LineGroup{}, map[string][]CallSum{}, map[stepChange]Repriced{}
		keys := map[string]bool{}
		for _, g := range a.d.Groups {
			k := StepKey(g.Step, g.Operation, g.Model)
			a.byStep[k] = append(a.byStep[k], g)
			keys[k] = true
		}
		for _, g := range a.d.Sums {
			k := StepKey(g.Step, g.Operation, g.Model)
			a.sumsByStep[k] = append(a.sumsByStep[k], g)
			keys[k] = true
		}
		for k := range keys {
			a.stepKeys = append(a.stepKeys, k)
		}
		sort.Strings(a.stepKeys)
	}
	var out Repriced
	seen := map[string]bool{}
	for _, k := range a.stepKeys {
		sc := stepChange{step: k}
		var ch map[string]Change
		if c, ok := changes[k]; ok {
			sc.change, ch = c, map[string]Change{k: c}
		}
		r, ok := a.stepCost[sc]
		if !ok {
			var err error
			if r, err = a.opts.Pricer.Reprice(a.byStep[k], ch); err != nil {
				return out, err
			}
			rs, err := a.opts.Pricer.RepriceSums(a.sumsByStep[k], ch)
			if err != nil {
				return out, err
			}
			r.Cost += rs.Cost
			r.Lines += rs.Lines
			r.Unpriced += rs.Unpriced
			r.Estimated += rs.Estimated
			r.Reasons = append(r.Reasons, rs.Reasons...)
			a.stepCost[sc] = r
		}
		out.Cost += r.Cost
		out.Lines += r.Lines
		out.Unpriced += r.Unpriced
		out.Estimated += r.Estimated
		out.NoMix += r.NoMix
		for _, reason := range r.Reasons {
			if !seen[reason] {
				seen[reason] = true
				out.Reasons = append(out.Reasons, reason)
			}
		}
	}
	// the same reasons in the same order whether the calls came one by one or summed
	sort.Strings(out.Reasons)
	return out, nil
}

type stepChange struct {
	step   string
	change Change
}
