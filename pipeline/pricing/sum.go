package pricing

import (
	"github.com/unitcost/unitcost/pipeline"
)

// CallSums is the usage of several model calls of one tenant, provider, model and service
// tier added up, with the range of their input tokens (cached included), which selects
// the context tier. Every call must be regular - input at least its cache, audio and
// image tokens, output at least its reasoning and audio tokens, 1-hour cache writes at
// most all cache writes - and billable (some input or output): then each part of a call
// Price bills (text input, cache reads, 5-minute and 1-hour writes, audio, image, text
// output, reasoning, audio output) is a difference of its stored counts, and the parts
// of all the calls add up to the parts of the sums.
type CallSums struct {
	Calls              uint64
	Usage              pipeline.Usage // the calls' counts added up (Mix and Estimated unused)
	MinInput, MaxInput uint64
}

// PriceSum returns what Price gives the calls of s added up, without pricing each call,
// when that sum follows from s alone: every call bills at the same context tier (the
// smallest and the largest input select the same one, and tiers rise with the input) and
// no call's cost is rounded (each rate billed for a part some call has, after the
// tenant's discount, is a whole number of nano-dollars per token, so a call's cost is
// exact and costs add up). exact is false otherwise (a rate finer than a nano-dollar per
// token, calls on both sides of a context threshold, a sum beyond 128 bits or int64):
// then price each call. An unknown model leaves every call unpriced with the reason
// Price gives.
func (b *Book) PriceSum(tenant, provider, model, serviceTier string, s CallSums) (cost pipeline.Money, priced bool, reason string, exact bool) {
	m, discount, _, ok := b.LookupTenantModel(tenant, provider, model)
	if !ok {
		return 0, false, b.unknownReason(provider, model), true
	}
	r, rule := m.resolve(s.MinInput, serviceTier)
	if _, hi := m.resolve(s.MaxInput, serviceTier); hi != rule {
		return 0, false, "", false
	}
	u := &s.Usage
	special := u.CacheReadTokens + u.CacheWriteTokens + u.AudioInputTokens + u.ImageInputTokens
	if u.InputTokens < special || u.OutputTokens < u.ReasoningTokens+u.AudioOutputTokens || u.CacheWrite1hTokens > u.CacheWriteTokens {
		return 0, false, "", false // not regular: Price's per-call clamps would not add up
	}
	per, mult := uint64(perMillion), uint64(1)
	if discount > 0 {
		per, mult = perMillion*10_000, 10_000-discount
	}
	var acc acc128
	for _, p := range []struct {
		q    uint64
		rate pipeline.Money
	}{
		{u.InputTokens - special, r.in}, {u.CacheReadTokens, r.read}, {u.CacheWriteTokens - u.CacheWrite1hTokens, r.write},
		{u.CacheWrite1hTokens, r.write1h}, {u.AudioInputTokens, r.audioIn}, {u.ImageInputTokens, r.imageIn},
		{u.OutputTokens - u.ReasoningTokens - u.AudioOutputTokens, r.out}, {u.ReasoningTokens, r.reasoning}, {u.AudioOutputTokens, r.audioOut},
	} {
		if p.q == 0 || p.rate <= 0 {
			continue
		}
		if hi, lo := mulMod(uint64(p.rate), mult, per); hi || lo != 0 {
			return 0, false, "", false // a call of this part may round
		}
		acc.add(p.q, p.rate)
	}
	if mult != 1 && !acc.mul(mult) {
		return 0, false, "", false
	}
	cost, priced = acc.div(per)
	if !priced {
		return 0, false, "", false // per call it may still fit: let Price say
	}
	return cost, true, "", true
}

// mulMod reports a x b mod m, and whether a x b overflowed 64 bits (then treated as not
// a multiple).
func mulMod(a, b, m uint64) (overflow bool, rem uint64) {
	if a != 0 && b > (1<<64-1)/a {
		return true, 0
	}
	return false, a * b % m
}
