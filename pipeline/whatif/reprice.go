package whatif

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
)

// Cache policies a scenario may ask for.
const (
	// CacheAsRecorded keeps the recorded cache reads and writes (the default).
	CacheAsRecorded = "as_recorded"
	// CacheNone bills every cached token as plain input: what the calls cost without
	// prompt caching.
	CacheNone = "none"
	// CacheSystem reads the system instructions from the cache on every call (where the
	// token mix was captured): what caching the system prompt would save.
	CacheSystem = "system_prompt"
)

// Change is what a scenario does to one step.
type Change struct {
	Model       string `json:"model"`                  // candidate model ("" keeps the recorded one)
	Provider    string `json:"provider,omitempty"`     // its provider, when the book needs it
	ServiceTier string `json:"service_tier,omitempty"` // batch, flex, priority ("" keeps the recorded one)
}

// Pricer re-prices line groups. Books are dated: each group is priced with the version in
// effect on its day, unless Version names one ("at today's prices").
type Pricer struct {
	Books   *pricing.Books
	Version string
	// CachePolicy applies to every re-priced call (CacheAsRecorded when empty).
	CachePolicy string
	// CutContextPct removes this percentage of the retrieved-context tokens of every call
	// whose token mix was captured (0 = none).
	CutContextPct float64
}

// Validate reports a named version the books do not hold and an unknown cache policy.
func (p *Pricer) Validate() error {
	if p.Books == nil {
		return fmt.Errorf("what-if: no price book")
	}
	switch p.CachePolicy {
	case "", CacheAsRecorded, CacheNone, CacheSystem:
	default:
		return fmt.Errorf("cache policy %q: use %s, %s or %s", p.CachePolicy, CacheAsRecorded, CacheNone, CacheSystem)
	}
	if p.CutContextPct < 0 || p.CutContextPct > 100 {
		return fmt.Errorf("context cut %g%%: want 0 to 100", p.CutContextPct)
	}
	_, err := p.book(time.Time{})
	return err
}

// book is the version that prices calls of day: the named one, else the one in effect.
func (p *Pricer) book(day time.Time) (*pricing.Book, error) {
	if p.Version == "" {
		return p.Books.At(day), nil
	}
	for _, b := range p.Books.Versions() {
		if b.Version == p.Version {
			return b, nil
		}
	}
	var names []string
	for _, b := range p.Books.Versions() {
		names = append(names, b.Version)
	}
	return nil, fmt.Errorf("price book version %q not found (have %s)", p.Version, strings.Join(names, ", "))
}

// Repriced is the outcome of pricing a set of groups again.
type Repriced struct {
	Cost     pipeline.Money
	Lines    uint64
	Unpriced uint64 // lines without a price under the book (unknown model, overflow)
	// Estimated counts lines whose tokens were carried over to a model of another
	// tokenizer family 1:1 (see TokenizerFamily).
	Estimated uint64
	// NoMix counts lines a context cut could not apply to (no captured token mix).
	NoMix   uint64
	Reasons []string // distinct unpriced reasons
}

// Price prices g with change applied (nil: as recorded, under the book in effect).
func (p *Pricer) Price(g *LineGroup, change *Change) (pipeline.Money, bool, string, error) {
	bk, err := p.book(g.Day)
	if err != nil {
		return 0, false, "", err
	}
	sp := pipeline.Span{Tenant: g.Tenant, Name: g.Step, Operation: pipeline.Operation(g.Operation), Provider: g.Provider,
		Model: g.Model, ServiceTier: g.ServiceTier, Usage: g.Usage, StartUnixNano: g.Day.UnixNano()}
	if change != nil {
		if change.Model != "" {
			sp.Model, sp.Provider = change.Model, change.Provider
		}
		if change.ServiceTier != "" {
			sp.ServiceTier = change.ServiceTier
			if change.ServiceTier == "standard" || change.ServiceTier == "default" {
				sp.ServiceTier = ""
			}
		}
	}
	u := &sp.Usage
	switch p.CachePolicy {
	case "", CacheAsRecorded:
	case CacheNone:
		u.CacheReadTokens, u.CacheWriteTokens, u.CacheWrite1hTokens = 0, 0, 0
	case CacheSystem:
		if u.Mix.System > 0 {
			u.CacheReadTokens = max(u.CacheReadTokens, min(u.Mix.System, u.InputTokens-min(u.InputTokens, u.CacheWriteTokens)))
		}
	default:
		return 0, false, "", fmt.Errorf("cache policy %q: use %s, %s or %s", p.CachePolicy, CacheAsRecorded, CacheNone, CacheSystem)
	}
	if p.CutContextPct > 0 && u.Mix.Context > 0 {
		cut := uint64(float64(u.Mix.Context)*p.CutContextPct/100 + 0.5)
		cut = min(cut, u.InputTokens)
		u.InputTokens -= cut
		u.Mix.Context -= cut
		// cached tokens are a prefix (system prompt first): they shrink only if the
		// remaining input is smaller than them
		if c := u.CacheReadTokens + u.CacheWriteTokens; c > u.InputTokens {
			over := c - u.InputTokens
			d := min(over, u.CacheReadTokens)
			u.CacheReadTokens -= d
			u.CacheWriteTokens -= min(over-d, u.CacheWriteTokens)
			u.CacheWrite1hTokens = min(u.CacheWrite1hTokens, u.CacheWriteTokens)
		}
	}
	items := bk.Price(nil, &sp, "")
	for _, li := range items {
		if li.Component == pipeline.ComponentModel {
			return li.Cost, li.Priced, li.UnpricedReason, nil
		}
	}
	return 0, false, "not a billable model call under price book " + bk.Version, nil
}

// Reprice prices every group again with the scenario's changes (keyed by step key) and
// returns the total. A group's cost is its one call's cost times its line count: exact,
// as every line of a group has the same inputs.
func (p *Pricer) Reprice(groups []LineGroup, changes map[string]Change) (Repriced, error) {
	var r Repriced
	seen := map[string]bool{}
	for i := range groups {
		g := &groups[i]
		var ch *Change
		if c, ok := changes[StepKey(g.Step, g.Operation, g.Model)]; ok && !(c.ServiceTier == "" && sameModel(g.Model, c.Model)) {
			ch = &c
			if c.Model != "" && TokenizerFamily(c.Provider, c.Model) != TokenizerFamily(g.Provider, g.Model) {
				r.Estimated += g.Lines
			}
		}
		cost, priced, reason, err := p.Price(g, ch)
		if err != nil {
			return r, err
		}
		r.Lines += g.Lines
		if p.CutContextPct > 0 && g.Usage.Mix == (pipeline.TokenMix{}) {
			r.NoMix += g.Lines
		}
		if !priced {
			r.Unpriced += g.Lines
			if !seen[reason] {
				seen[reason] = true
				r.Reasons = append(r.Reasons, reason)
			}
			continue
		}
		total, ok := pipeline.MulDiv(g.Lines, cost, 1)
		if !ok {
			return r, fmt.Errorf("re-priced cost of step %q overflows int64 nano-dollars", g.Step)
		}
		r.Cost += total
	}
	return r, nil
}

// ErrNotExact says that summed calls (Data.Sums) cannot be re-priced exactly under the
// options or a routing: a rate finer than a nano-dollar per token, calls on both sides of
// a context threshold, the system-prompt cache policy or a context cut (both change each
// call by its own token mix). Run then reads the calls one by one.
var ErrNotExact = errors.New("summed calls cannot be re-priced exactly")

// PriceSum prices the calls of s with change applied (nil: as recorded), as Price would
// price each of them, added up; ErrNotExact where that does not follow from the sums.
func (p *Pricer) PriceSum(s *CallSum, change *Change) (pipeline.Money, bool, string, error) {
	bk, err := p.book(s.Day)
	if err != nil {
		return 0, false, "", err
	}
	if p.CutContextPct > 0 {
		return 0, false, "", ErrNotExact
	}
	provider, model, tier := s.Provider, s.Model, s.ServiceTier
	if change != nil {
		if change.Model != "" {
			model, provider = change.Model, change.Provider
		}
		if change.ServiceTier != "" {
			tier = change.ServiceTier
			if tier == "standard" || tier == "default" {
				tier = ""
			}
		}
	}
	sums := s.Sums
	switch p.CachePolicy {
	case "", CacheAsRecorded:
	case CacheNone:
		sums.Usage.CacheReadTokens, sums.Usage.CacheWriteTokens, sums.Usage.CacheWrite1hTokens = 0, 0, 0
	default:
		return 0, false, "", ErrNotExact
	}
	if model == "" || pipeline.Operation(s.Operation) == pipeline.OpHumanReview {
		// Price makes no model line of such a span (see Price's last return)
		return 0, false, "not a billable model call under price book " + bk.Version, nil
	}
	cost, priced, reason, exact := bk.PriceSum(s.Tenant, provider, model, tier, sums)
	if !exact {
		return 0, false, "", ErrNotExact
	}
	return cost, priced, reason, nil
}

// RepriceSums is Reprice over summed calls.
func (p *Pricer) RepriceSums(sums []CallSum, changes map[string]Change) (Repriced, error) {
	var r Repriced
	seen := map[string]bool{}
	for i := range sums {
		s := &sums[i]
		var ch *Change
		if c, ok := changes[StepKey(s.Step, s.Operation, s.Model)]; ok && !(c.ServiceTier == "" && sameModel(s.Model, c.Model)) {
			ch = &c
			if c.Model != "" && TokenizerFamily(c.Provider, c.Model) != TokenizerFamily(s.Provider, s.Model) {
				r.Estimated += s.Sums.Calls
			}
		}
		cost, priced, reason, err := p.PriceSum(s, ch)
		if err != nil {
			return r, err
		}
		r.Lines += s.Sums.Calls
		if !priced {
			r.Unpriced += s.Sums.Calls
			if !seen[reason] {
				seen[reason] = true
				r.Reasons = append(r.Reasons, reason)
			}
			continue
		}
		r.Cost += cost
	}
	return r, nil
}

// TokenizerFamily names the tokenizer a model counts with: OpenAI's o200k_base or
// cl100k_base (pricing.Encoding), or the provider's own, which has no offline table.
//
// Tokens carry over between families 1:1. That is an estimate, stated on every figure it
// touches (estimated_lines): on English prose o200k_base and cl100k_base counts differ by
// under 3% (TestTokenizerFamiliesAgree measures it), and other providers publish no
// tokenizer to count with. Captured message text is counted when a span is read and not
// kept, so a recorded call cannot be re-counted afterwards.
func TokenizerFamily(provider, model string) string {
	p := strings.ToLower(provider)
	m := strings.ToLower(model)
	switch {
	case strings.Contains(p, "openai") || strings.Contains(p, "azure") || strings.HasPrefix(m, "gpt") ||
		strings.HasPrefix(m, "o1") || strings.HasPrefix(m, "o3") || strings.HasPrefix(m, "o4") || strings.HasPrefix(m, "text-embedding"):
		return "openai/" + pricing.Encoding(model)
	case strings.Contains(p, "anthropic") || strings.Contains(m, "claude"):
		return "anthropic"
	case strings.Contains(p, "gemini") || strings.Contains(p, "google") || strings.Contains(p, "vertex") || strings.Contains(m, "gemini"):
		return "google"
	case p != "":
		return p
	}
	return "unknown"
}
