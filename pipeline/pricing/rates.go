package pricing

import (
	"fmt"
	"sort"

	"github.com/unitcost/unitcost/pipeline"
)

// rateSet is every rate one request is billed at, $ per million tokens in nano-dollars,
// once the context tier, the service tier and the endpoint are applied.
type rateSet struct {
	in, out, read, write, write1h, reasoning, audioIn, imageIn, audioOut pipeline.Money
}

// resolve returns the rates a request of inputTokens (cached included) in serviceTier is
// billed at, and the suffix of the price rule that says which tiers applied.
func (m *Model) resolve(inputTokens uint64, serviceTier string) (rateSet, string) {
	rule := m.route
	ctx := -1
	for i := len(m.Tiers) - 1; i >= 0; i-- {
		if inputTokens > m.Tiers[i].AboveInputTokens {
			ctx = i
			rule += fmt.Sprintf(">%d", m.Tiers[i].AboveInputTokens)
			break
		}
	}
	in, out, cr, cw, cw1h := m.Input, m.Output, m.CacheRead, m.CacheWrite, m.CacheWrite1h
	if ctx >= 0 {
		t := &m.Tiers[ctx]
		in, out, cr, cw, cw1h = t.Input, t.Output, t.CacheRead, t.CacheWrite, t.CacheWrite1h
	}
	var mult *ServiceTier
	if serviceTier != "" {
		st, ok := m.ServiceTiers[serviceTier]
		switch {
		case !ok:
			rule += "+tier:" + serviceTier + "(no tier price; standard rates)"
		case st.den != 0:
			mult = &st
			rule += "+tier:" + serviceTier + "x" + st.Multiplier
		default:
			src := Tier{Input: st.Input, Output: st.Output, CacheRead: st.CacheRead, CacheWrite: st.CacheWrite, CacheWrite1h: st.CacheWrite1h}
			if ctx >= 0 {
				src = st.tierAbove(m.Tiers[ctx].AboveInputTokens)
			}
			for _, p := range []struct{ dst, r *Rate }{{&in, &src.Input}, {&out, &src.Output}, {&cr, &src.CacheRead}, {&cw, &src.CacheWrite}, {&cw1h, &src.CacheWrite1h}} {
				if p.r.Set {
					*p.dst = *p.r
				}
			}
			rule += "+tier:" + serviceTier
		}
	}
	r := rateSet{in: in.Money, out: out.Money, read: in.Money, write: in.Money}
	if cr.Set {
		r.read = cr.Money
	}
	if cw.Set {
		r.write = cw.Money
	}
	r.write1h = r.write
	if cw1h.Set {
		r.write1h = cw1h.Money
	}
	r.reasoning, r.audioIn, r.imageIn, r.audioOut = r.out, r.in, r.in, r.out
	for _, p := range []struct {
		dst *pipeline.Money
		r   Rate
	}{{&r.reasoning, m.Reasoning}, {&r.audioIn, m.AudioInput}, {&r.imageIn, m.ImageInput}, {&r.audioOut, m.AudioOutput}} {
		if p.r.Set {
			*p.dst = p.r.Money
		}
	}
	if mult != nil {
		for _, p := range []*pipeline.Money{&r.in, &r.out, &r.read, &r.write, &r.write1h, &r.reasoning, &r.audioIn, &r.imageIn, &r.audioOut} {
			*p = pipeline.Money(uint64(*p) * mult.num / mult.den) // exact: Parse refuses inexact multipliers
		}
	}
	return r, rule
}

// tierAbove returns the service tier's own context tier at threshold (validate guarantees
// it exists for explicit service tiers of a model with context tiers).
func (st *ServiceTier) tierAbove(threshold uint64) Tier {
	for _, t := range st.Tiers {
		if t.AboveInputTokens == threshold {
			return t
		}
	}
	return Tier{}
}

// coversTiers reports whether an explicit service tier prices every context tier.
func (st *ServiceTier) coversTiers(tiers []Tier) bool {
	for _, t := range tiers {
		if got := st.tierAbove(t.AboveInputTokens); !got.Input.Set || !got.Output.Set {
			return false
		}
	}
	return true
}

// sortedTiers lists service-tier names in order.
func sortedTiers(m map[string]ServiceTier) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// rates lists every rate of the model, tiers and explicit service-tier rates included.
func (m *Model) rates() []pipeline.Money {
	var out []pipeline.Money
	for _, r := range []Rate{m.Input, m.Output, m.CacheRead, m.CacheWrite, m.CacheWrite1h, m.Reasoning, m.AudioInput, m.AudioOutput, m.ImageInput} {
		out = append(out, r.Money)
	}
	tier := func(t Tier) {
		out = append(out, t.Input.Money, t.Output.Money, t.CacheRead.Money, t.CacheWrite.Money, t.CacheWrite1h.Money)
	}
	for _, t := range m.Tiers {
		tier(t)
	}
	for _, st := range m.ServiceTiers {
		tier(Tier{Input: st.Input, Output: st.Output, CacheRead: st.CacheRead, CacheWrite: st.CacheWrite, CacheWrite1h: st.CacheWrite1h})
		for _, t := range st.Tiers {
			tier(t)
		}
	}
	return out
}

// validate checks the tiers of one model and derives its regional-endpoint rates.
func (m *Model) validate(what string, errs []error) []error {
	m.rule = "model:" + m.Model + m.route
	for j, t := range m.Tiers {
		if j > 0 && t.AboveInputTokens <= m.Tiers[j-1].AboveInputTokens {
			errs = append(errs, fmt.Errorf("%s: tiers must ascend by above_input_tokens", what))
		}
		errs = tierCarriesRates(fmt.Sprintf("%s: tiers[%d]", what, j), m, t, errs)
	}
	for name, st := range m.ServiceTiers {
		if st.Multiplier == "" {
			if !st.coversTiers(m.Tiers) {
				errs = append(errs, fmt.Errorf("%s: service_tiers.%s gives explicit rates, so it needs its own tier (input and output at least) above each of the model's context thresholds, or a multiplier",
					what, name))
			}
			continue
		}
		if len(st.Tiers) > 0 || st.Input.Set || st.Output.Set || st.CacheRead.Set || st.CacheWrite.Set || st.CacheWrite1h.Set {
			errs = append(errs, fmt.Errorf("%s: service_tiers.%s: give a multiplier or explicit rates, not both", what, name))
		}
		num, den, err := decimalRatio(st.Multiplier)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: service_tiers.%s.multiplier: %w", what, name, err))
			continue
		}
		st.num, st.den = num, den
		m.ServiceTiers[name] = st
		for _, r := range m.rates() {
			if uint64(r)*num%den != 0 {
				errs = append(errs, fmt.Errorf("%s: service_tiers.%s: multiplier %s of rate %s is finer than a nano-dollar per million tokens; give explicit rates",
					what, name, st.Multiplier, r.Dollars(9)))
				break
			}
		}
	}
	for _, d := range []struct {
		field, mult, route string
		dst                **Model
	}{{"regional_premium", m.RegionalPremium, "@regional x", &m.regional}, {"govcloud_premium", m.GovCloudPremium, "@us-gov x", &m.govcloud}} {
		if d.mult == "" {
			continue
		}
		num, den, err := decimalRatio(d.mult)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", what, d.field, err))
			continue
		}
		derived, ok := m.scaled(num, den)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s %s of a rate is finer than a nano-dollar per million tokens", what, d.field, d.mult))
			continue
		}
		derived.route = d.route + d.mult
		derived.rule = "model:" + derived.Model + derived.route
		*d.dst = derived
	}
	return errs
}

// tierCarriesRates refuses a context tier that omits a cache rate the model sets: the
// long-context price of that rate would otherwise silently be the short-context one.
func tierCarriesRates(what string, m *Model, t Tier, errs []error) []error {
	if !t.Input.Set || !t.Output.Set {
		errs = append(errs, fmt.Errorf("%s: input and output required", what))
	}
	for _, c := range []struct {
		name       string
		base, tier Rate
	}{{"cache_read", m.CacheRead, t.CacheRead}, {"cache_write", m.CacheWrite, t.CacheWrite}, {"cache_write_1h", m.CacheWrite1h, t.CacheWrite1h}} {
		if c.base.Set && !c.tier.Set {
			errs = append(errs, fmt.Errorf("%s: the model sets %s, so the tier must give its own %s rate", what, c.name, c.name))
		}
	}
	return errs
}

// scaled returns a copy of m with every rate times num/den; false if a rate would be finer
// than a nano-dollar per million tokens.
func (m *Model) scaled(num, den uint64) (*Model, bool) {
	ok := true
	sc := func(r Rate) Rate {
		if !r.Set {
			return r
		}
		if uint64(r.Money)*num%den != 0 {
			ok = false
		}
		r.Money = pipeline.Money(uint64(r.Money) * num / den)
		return r
	}
	tier := func(t Tier) Tier {
		t.Input, t.Output, t.CacheRead, t.CacheWrite, t.CacheWrite1h = sc(t.Input), sc(t.Output), sc(t.CacheRead), sc(t.CacheWrite), sc(t.CacheWrite1h)
		return t
	}
	c := *m
	c.Input, c.Output, c.CacheRead, c.CacheWrite, c.CacheWrite1h = sc(m.Input), sc(m.Output), sc(m.CacheRead), sc(m.CacheWrite), sc(m.CacheWrite1h)
	c.Reasoning, c.AudioInput, c.AudioOutput, c.ImageInput = sc(m.Reasoning), sc(m.AudioInput), sc(m.AudioOutput), sc(m.ImageInput)
	c.Tiers = make([]Tier, len(m.Tiers))
	for i, t := range m.Tiers {
		c.Tiers[i] = tier(t)
	}
	c.ServiceTiers = make(map[string]ServiceTier, len(m.ServiceTiers))
	for name, st := range m.ServiceTiers {
		if st.den == 0 {
			t := tier(Tier{Input: st.Input, Output: st.Output, CacheRead: st.CacheRead, CacheWrite: st.CacheWrite, CacheWrite1h: st.CacheWrite1h})
			st.Input, st.Output, st.CacheRead, st.CacheWrite, st.CacheWrite1h = t.Input, t.Output, t.CacheRead, t.CacheWrite, t.CacheWrite1h
			tiers := make([]Tier, len(st.Tiers))
			for i, t := range st.Tiers {
				tiers[i] = tier(t)
			}
			st.Tiers = tiers
		}
		c.ServiceTiers[name] = st
	}
	c.regional, c.govcloud = nil, nil
	return &c, ok
}
