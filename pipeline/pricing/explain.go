package pricing

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Explain describes how a model is priced for a tenant on a day: which book version, which
// entry (and how the name matched), every rate, context tiers, service tiers and the
// tenant's discount. It is what `unitcost prices show` prints.
func (bs *Books) Explain(provider, model, tenant string, day time.Time) (string, error) {
	b := bs.At(day)
	m, discount, override, ok := b.LookupTenantModel(tenant, provider, model)
	if !ok {
		return "", fmt.Errorf("model %q (provider %q) is not in price book %s: spans of it are kept unpriced; add it to the book", model, provider, b.Version)
	}
	var w strings.Builder
	eff := b.EffectiveFrom
	if eff == "" {
		eff = "always"
	}
	fmt.Fprintf(&w, "price book    %s (effective %s)\n", b.Version, eff)
	fmt.Fprintf(&w, "entry         %s", m.Model)
	if m.Provider != "" {
		fmt.Fprintf(&w, " (provider %s)", m.Provider)
	}
	if !strings.EqualFold(m.Model, model) {
		fmt.Fprintf(&w, ", matched from %q", model)
	}
	fmt.Fprintln(&w)
	if len(m.Aliases) > 0 {
		fmt.Fprintf(&w, "aliases       %s\n", strings.Join(m.Aliases, ", "))
	}
	if override {
		fmt.Fprintf(&w, "tenant        %s has its own price for this model\n", tenant)
	}
	if m.AsOf != "" {
		fmt.Fprintf(&w, "taken         %s\n", m.AsOf)
	}
	fmt.Fprintf(&w, "rates ($ per million tokens)\n")
	row := func(name string, r Rate, def string) {
		if r.Set {
			fmt.Fprintf(&w, "  %-22s %s\n", name, r.Money.Dollars(6))
		} else {
			fmt.Fprintf(&w, "  %-22s = %s\n", name, def)
		}
	}
	row("input (uncached)", m.Input, "")
	row("output", m.Output, "")
	row("cache read", m.CacheRead, "input")
	row("cache write (5 min)", m.CacheWrite, "input")
	row("cache write (1 hour)", m.CacheWrite1h, "cache write")
	row("reasoning", m.Reasoning, "output")
	for _, t := range m.Tiers {
		fmt.Fprintf(&w, "above %d input tokens (cached included) the whole request is billed at: input %s, output %s",
			t.AboveInputTokens, t.Input.Money.Dollars(6), t.Output.Money.Dollars(6))
		if t.CacheRead.Set {
			fmt.Fprintf(&w, ", cache read %s", t.CacheRead.Money.Dollars(6))
		}
		fmt.Fprintln(&w)
	}
	names := make([]string, 0, len(m.ServiceTiers))
	for n := range m.ServiceTiers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		st := m.ServiceTiers[n]
		if st.Multiplier != "" {
			fmt.Fprintf(&w, "service tier  %s: every rate x %s\n", n, st.Multiplier)
			continue
		}
		fmt.Fprintf(&w, "service tier  %s: input %s, output %s\n", n, st.Input.Money.Dollars(6), st.Output.Money.Dollars(6))
	}
	if discount > 0 {
		fmt.Fprintf(&w, "discount      %d.%02d%% negotiated by %s, applied to the computed cost\n", discount/100, discount%100, tenant)
	}
	return w.String(), nil
}
