package whatif

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"

	"github.com/unitcost/unitcost/pipeline"
)

// Options shape one analysis.
type Options struct {
	Pricer Pricer
	// Scenarios are evaluated beside the candidates found in the data (a model never
	// observed on a step, a service tier, user-supplied rates).
	Scenarios []Scenario
	// MinSamples is the cohort size below which a routing has too few samples to be
	// recommended (its range is still shown). Default 30.
	MinSamples uint64
	// MaxCandidates caps the routings enumerated from the data. Default 64.
	MaxCandidates int
}

// Scenario is a routing to evaluate: step key -> change.
type Scenario struct {
	Name    string
	Changes map[string]Change
	// Assumed replaces the observed rates (from an offline evaluation, say); the result
	// is labelled "user-supplied".
	Assumed *Assumed
}

// Assumed are user-supplied rates for a scenario. Zero fields take the observed pooled
// figure of the workflow type.
type Assumed struct {
	ReviewRate           float64 `json:"review_rate"`
	ValidatedPerWorkflow float64 `json:"validated_per_workflow,omitempty"`
	CompletionRate       float64 `json:"completion_rate,omitempty"`
}

// Rates source labels.
const (
	SourceObserved = "observed"
	SourceUser     = "user-supplied"
)

// StepChange is one step of a routing, for output.
type StepChange struct {
	Step        string `json:"step"`
	Model       string `json:"model"`
	ServiceTier string `json:"service_tier"`
}

// Evaluation is the expected unit cost of one routing.
type Evaluation struct {
	Routing     string       `json:"routing"`
	Changes     []StepChange `json:"changes"`
	RatesSource string       `json:"rates_source"`
	// Samples is the cohort size the rates come from; EnoughData says whether it reaches
	// min_samples and every re-priced call has a price (only then may it be recommended).
	Samples    uint64 `json:"samples"`
	EnoughData bool   `json:"enough_data"`
	// MachineCostNano is the machine cost of all the window's workflows of the type under
	// the routing: model calls priced again plus the recorded compute, retrieval and tools.
	MachineCostNano    int64      `json:"machine_cost_nano"`
	MachinePerWorkflow MoneyRange `json:"machine_cost_per_workflow"`
	ReviewPerWorkflow  MoneyRange `json:"review_cost_per_workflow"`
	PerWorkflow        MoneyRange `json:"cost_per_workflow"`
	PerCompleted       MoneyRange `json:"cost_per_completed"`
	PerValidated       MoneyRange `json:"cost_per_validated_output"`
	ReviewRate         Rate       `json:"review_rate"`
	ReviewHoursPer1000 Range      `json:"review_hours_per_1000_workflows"`
	// EstimatedLines were carried to a model of another tokenizer family 1:1;
	// UnpricedLines have no price under the book (their cost is missing).
	EstimatedLines uint64   `json:"estimated_lines"`
	UnpricedLines  uint64   `json:"unpriced_lines"`
	Notes          []string `json:"notes"`

	perValidated Interval
	perValPoint  pipeline.Money
	machine      pipeline.Money
	hours        float64
}

// ModelStats are one model's figures at one step: its share of the step's calls and
// the rates of the workflows that ran the step on it alone.
type ModelStats struct {
	Model          string   `json:"model"`
	Provider       string   `json:"provider"`
	Calls          uint64   `json:"calls"`
	ShareOfCalls   float64  `json:"share_of_calls"`
	CostNano       int64    `json:"cost_nano"`
	Cost           string   `json:"cost"`
	TokenizerModel string   `json:"tokenizer_family"`
	Rates          RateCard `json:"rates"`
}

// RateCard is the quality effect observed for a cohort of workflows.
type RateCard struct {
	Workflows            uint64     `json:"workflows"`
	ReviewRate           Rate       `json:"review_rate"`
	EscalationRate       Rate       `json:"escalation_rate"`
	FailureRate          Rate       `json:"failure_rate"`
	CompletionRate       Rate       `json:"completion_rate"`
	RetryRate            Rate       `json:"retry_rate"`
	ValidatedPerWorkflow Range      `json:"validated_outputs_per_workflow"`
	ReviewCostPerReview  MoneyRange `json:"review_cost_per_reviewed_workflow"`
}

// Step is one step of the workflow type with its models.
type Step struct {
	Step      string       `json:"step"`
	Operation string       `json:"operation"`
	Calls     uint64       `json:"calls"`
	Models    []ModelStats `json:"models"`
}

// ContextStep is the context what-if of one step.
type ContextStep struct {
	Step          string `json:"step"`
	Calls         uint64 `json:"calls"`
	CallsWithMix  uint64 `json:"calls_with_token_mix"`
	ContextTokens uint64 `json:"context_tokens"`
	InputTokens   uint64 `json:"input_tokens"`
	CostNano      int64  `json:"cost_nano"`
	Cost          string `json:"cost"`
	CutCostNano   int64  `json:"cut_cost_nano"`
	CutCost       string `json:"cut_cost"`
	SavingNano    int64  `json:"saving_nano"`
	Saving        string `json:"saving"`
}

// ContextCut is the cost if retrieved context were cut by Percent.
type ContextCut struct {
	Percent float64       `json:"percent"`
	Steps   []ContextStep `json:"steps"`
	// Saving over every step, and per validated output of the window.
	SavingNano             int64  `json:"saving_nano"`
	Saving                 string `json:"saving"`
	SavingPerValidatedNano int64  `json:"saving_per_validated_output_nano"`
	SavingPerValidated     string `json:"saving_per_validated_output"`
	Note                   string `json:"note"`
}

// Recommendation is the routing with the lowest expected cost per validated output.
type Recommendation struct {
	Routing           string       `json:"routing"`
	Changes           []StepChange `json:"changes"`
	PerValidated      MoneyRange   `json:"cost_per_validated_output"`
	CurrentPerValid   MoneyRange   `json:"current_cost_per_validated_output"`
	ValidatedPerMonth uint64       `json:"validated_outputs_per_month"`
	SavingNano        int64        `json:"saving_per_month_nano"`
	Saving            string       `json:"saving_per_month"`
	Confidence        string       `json:"confidence"` // clear, uncertain, none
	Why               string       `json:"why"`
}

// Report is the what-if of one workflow type over a window.
type Report struct {
	Workflow         string `json:"workflow"`
	Tenant           string `json:"tenant"`
	From             string `json:"from"`
	To               string `json:"to"`
	Currency         string `json:"currency"`
	PriceVersion     string `json:"price_version"` // "" = in effect at each call
	CachePolicy      string `json:"cache_policy"`
	Workflows        uint64 `json:"workflows"`
	ValidatedOutputs uint64 `json:"validated_outputs"`
	// The model calls' cost as billed, and priced again with the book (as recorded).
	RecordedModelCostNano int64          `json:"recorded_model_cost_nano"`
	RepricedModelCostNano int64          `json:"repriced_model_cost_nano"`
	MinSamples            uint64         `json:"min_samples"`
	Steps                 []Step         `json:"steps"`
	Routings              []Evaluation   `json:"routings"`
	Scenarios             []Evaluation   `json:"scenarios"`
	Pareto                []string       `json:"pareto"`
	Recommendation        Recommendation `json:"recommendation"`
	Context               *ContextCut    `json:"context_cut"`
	Notes                 []string       `json:"notes"`
}

// minReviewsForT is the number of reviewed workflows from which the t-interval of the
// review cost per workflow is used (below it, the skew of mostly-zero costs makes it too
// narrow).
const minReviewsForT = 20

// AsRecorded names the routing as it ran.
const AsRecorded = "as recorded"

// ErrNoWorkflows is returned for a workflow type with no workflow in the window.
var ErrNoWorkflows = errors.New("no workflows of this type in the window")

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
	byStep   map[string][]LineGroup
	stepKeys []string
	stepCost map[stepChange]Repriced
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
	for i := range a.d.Groups {
		g := &a.d.Groups[i]
		key := StepKey(g.Step, g.Operation, g.Model)
		s := idx[key]
		if s == nil {
			s = &Step{Step: key, Operation: g.Operation, Models: []ModelStats{}}
			idx[key] = s
			order = append(order, key)
		}
		s.Calls += g.Lines
		m := models[mk{key, g.Model}]
		if m == nil {
			m = &ModelStats{Model: g.Model, Provider: g.Provider, TokenizerModel: TokenizerFamily(g.Provider, g.Model)}
			models[mk{key, g.Model}] = m
		}
		m.Calls += g.Lines
		m.CostNano += int64(g.Cost)
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
			m.Cost = pipeline.Money(m.CostNano).Dollars(9)
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
	ev.MachineCostNano = int64(machine)
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
	r := Recommendation{Confidence: "none", Changes: []StepChange{}, CurrentPerValid: cur.PerValidated}
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
		r.SavingNano, r.Saving = int64(s), s.Dollars(2)
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
		r.Confidence = "no alternative"
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

// reprice prices the window's calls under a routing. A routing's cost is the sum over
// steps of the step's calls priced under that step's change, so each (step, change) is
// priced once however many routings share it: groups x models, not groups x routings.
func (a *analysis) reprice(changes map[string]Change) (Repriced, error) {
	if a.byStep == nil {
		a.byStep, a.stepCost = map[string][]LineGroup{}, map[stepChange]Repriced{}
		for _, g := range a.d.Groups {
			k := StepKey(g.Step, g.Operation, g.Model)
			a.byStep[k] = append(a.byStep[k], g)
		}
		for k := range a.byStep {
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
	return out, nil
}

type stepChange struct {
	step   string
	change Change
}

// contextCut prices each step with the retrieved context cut, models as recorded.
func (a *analysis) contextCut() (*ContextCut, error) {
	cc := &ContextCut{Percent: a.cut, Steps: []ContextStep{},
		Note: "calls without a captured token mix keep their input; review and validation rates are assumed unchanged by the cut (the data cannot show its effect on quality)"}
	byStep := map[string][]LineGroup{}
	var order []string
	for _, g := range a.d.Groups {
		k := StepKey(g.Step, g.Operation, g.Model)
		if _, ok := byStep[k]; !ok {
			order = append(order, k)
		}
		byStep[k] = append(byStep[k], g)
	}
	sort.Strings(order)
	plain, cutting := a.opts.Pricer, a.opts.Pricer
	cutting.CutContextPct = a.cut
	for _, k := range order {
		gs := byStep[k]
		before, err := plain.Reprice(gs, nil)
		if err != nil {
			return nil, err
		}
		after, err := cutting.Reprice(gs, nil)
		if err != nil {
			return nil, err
		}
		cs := ContextStep{Step: k, Calls: before.Lines, CallsWithMix: before.Lines - after.NoMix,
			CostNano: int64(before.Cost), CutCostNano: int64(after.Cost), SavingNano: int64(before.Cost - after.Cost)}
		for _, g := range gs {
			cs.ContextTokens += g.Usage.Mix.Context * g.Lines
			cs.InputTokens += g.Usage.InputTokens * g.Lines
		}
		cs.Cost, cs.CutCost, cs.Saving = before.Cost.Dollars(9), after.Cost.Dollars(9), (before.Cost - after.Cost).Dollars(9)
		cc.Steps = append(cc.Steps, cs)
		cc.SavingNano += cs.SavingNano
	}
	per := ratRound(ratFrac(pipeline.Money(cc.SavingNano), a.total.ValidatedOutputs))
	cc.Saving, cc.SavingPerValidatedNano, cc.SavingPerValidated = pipeline.Money(cc.SavingNano).Dollars(9), int64(per), per.Dollars(9)
	return cc, nil
}
