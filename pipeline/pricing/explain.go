package pricing

import (
	"fmt"
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
		return "", fmt.Errorf("price book %s: %s (spans of it are kept unpriced)", b.Version, b.unknownReason(provider, model))
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
	if m.AsOf != "" || m.Source != "" {
		fmt.Fprintf(&w, "taken         %s", m.AsOf)
		if m.Source != "" {
			fmt.Fprintf(&w, " from %s", m.Source)
		}
		fmt.Fprintln(&w)
	}
	if b.Refreshed != "" {
		fmt.Fprintf(&w, "book checked  %s against %s\n", b.Refreshed, b.RefreshedFrom)
	}
	if m.route != "" {
		fmt.Fprintf(&w, "endpoint      %s: %q is a cloud endpoint that bills every rate below at that multiple of the list price\n", strings.TrimPrefix(m.route, "@"), model)
	} else {
		if m.RegionalPremium != "" {
			fmt.Fprintf(&w, "endpoint      regional endpoints (Bedrock in-region and us./eu./apac./jp./au. profiles, Azure data zones) bill every rate x %s\n", m.RegionalPremium)
		}
		if m.GovCloudPremium != "" {
			fmt.Fprintf(&w, "endpoint      AWS GovCloud (us-gov.) bills every rate x %s\n", m.GovCloudPremium)
		}
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
	for _, r := range []struct {
		name string
		r    Rate
	}{{"audio input", m.AudioInput}, {"audio output", m.AudioOutput}, {"image input", m.ImageInput}} {
		if r.r.Set {
			row(r.name, r.r, "")
		}
	}
	// Every combination of service tier and context tier, as billed (resolve is what
	// prices spans, so this table cannot drift from the bill).
	fmt.Fprintf(&w, "billed at ($ per million tokens; context tiers bill the whole request)\n")
	fmt.Fprintf(&w, "  %-26s %12s %12s %12s %12s %12s\n", "tier", "input", "output", "cache read", "write 5m", "write 1h")
	tiers := append([]string{""}, sortedTiers(m.ServiceTiers)...)
	for _, st := range tiers {
		for c := -1; c < len(m.Tiers); c++ {
			var tokens uint64
			label := "standard"
			if st != "" {
				label = st
				if x := m.ServiceTiers[st]; x.Multiplier != "" {
					label += " (x" + x.Multiplier + ")"
				}
			}
			if c >= 0 {
				tokens = m.Tiers[c].AboveInputTokens + 1
				label += fmt.Sprintf(" >%d", m.Tiers[c].AboveInputTokens)
			}
			r, _ := m.resolve(tokens, st)
			fmt.Fprintf(&w, "  %-26s %12s %12s %12s %12s %12s\n", label, r.in.Dollars(6), r.out.Dollars(6), r.read.Dollars(6), r.write.Dollars(6), r.write1h.Dollars(6))
		}
	}
	for _, n := range tiers[1:] {
		if st := m.ServiceTiers[n]; st.AsOf != "" && st.Source == "" {
			fmt.Fprintf(&w, "service tier  %s taken %s from the entry's source\n", n, st.AsOf)
		} else if st.AsOf != "" || st.Source != "" {
			fmt.Fprintf(&w, "service tier  %s taken %s\n", n, strings.TrimSpace(st.AsOf+" from "+st.Source))
		}
	}
	if discount > 0 {
		fmt.Fprintf(&w, "discount      %d.%02d%% negotiated by %s, applied to the computed cost\n", discount/100, discount%100, tenant)
	}
	return w.String(), nil
}
