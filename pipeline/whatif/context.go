package whatif

import (
	"sort"

	"github.com/unitcost/unitcost/pipeline"
)

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
		cs.CostUSD, cs.CutCostUSD, cs.SavingUSD = before.Cost.Dollars(9), after.Cost.Dollars(9), (before.Cost - after.Cost).Dollars(9)
		cc.Steps = append(cc.Steps, cs)
		cc.SavingNano += cs.SavingNano
	}
	per := ratRound(ratFrac(pipeline.Money(cc.SavingNano), a.total.ValidatedOutputs))
	cc.SavingUSD, cc.SavingPerValidatedNano, cc.SavingPerValidatedUSD = pipeline.Money(cc.SavingNano).Dollars(9), int64(per), per.Dollars(9)
	return cc, nil
}
