package pricing_test

import (
	"math/rand/v2"
	"testing"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
)

// PriceSum equals the sum of Price over the calls whenever it says it is exact, and says
// so for the cases the what-if's rollup relies on (whole nano-dollars per token, one
// context tier), over the built-in book's tiered, service-tiered and discounted prices.
func TestPriceSumEqualsSumOfPrices(t *testing.T) {
	t.Parallel()
	bk, err := pricing.Parse([]byte(goldenBook + `
tenants:
  - tenant: acme
    discounts: [{provider: anthropic, percent: "12.5"}]
  - tenant: initech
    discounts: [{provider: anthropic, percent: "10"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		book                         *pricing.Book
		tenant, provider, model, svc string
		wantExact                    bool // for calls on one side of every threshold
	}
	targets := []target{
		{builtin, "", "openai", "gpt-5", "", true},
		{builtin, "", "openai", "gpt-5-nano", "batch", false}, // batch cache reads: 0.0025 per million
		{builtin, "", "anthropic", "claude-sonnet-4-5", "", true},
		{builtin, "", "anthropic", "claude-sonnet-4-5", "batch", true},
		{builtin, "", "google", "gemini-2.5-pro", "flex", true},
		{builtin, "", "google", "gemini-2.5-pro", "priority", true},
		{bk, "", "anthropic", "claude-x", "", true},
		{bk, "initech", "anthropic", "claude-x", "", true}, // 10% off: 2.70 per million is whole nano-dollars per token
		{bk, "acme", "anthropic", "claude-x", "", false},   // 12.5% off 0.30: 0.2625 per million, finer
		{bk, "", "", "tiny", "", false},                    // 0.0375 per million
		{bk, "", "openai", "gpt-y-mini", "", false},        // cache read 0.075 per million: exact only without cache reads
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tg := range targets {
		for round := 0; round < 200; round++ {
			n := 1 + rng.IntN(20)
			big := round%2 == 1 // every call above 200k input, or every call at most 200k
			var s pricing.CallSums
			var want pipeline.Money
			allPriced := true
			for i := 0; i < n; i++ {
				in := uint64(1 + rng.IntN(200_000))
				if big {
					in = 200_001 + uint64(rng.IntN(300_000))
				}
				u := pipeline.Usage{InputTokens: in, OutputTokens: uint64(rng.IntN(5000))}
				if rng.IntN(2) == 0 {
					u.CacheReadTokens = uint64(rng.IntN(int(in/2) + 1))
					u.CacheWriteTokens = uint64(rng.IntN(int(in/4) + 1))
					u.CacheWrite1hTokens = uint64(rng.IntN(int(u.CacheWriteTokens) + 1))
					u.ReasoningTokens = uint64(rng.IntN(int(u.OutputTokens) + 1))
				}
				sp := &pipeline.Span{Tenant: tg.tenant, Operation: pipeline.OpChat, Provider: tg.provider, Model: tg.model, ServiceTier: tg.svc, Usage: u}
				li := tg.book.Price(nil, sp, "w")[0]
				allPriced = allPriced && li.Priced
				want += li.Cost
				s.Calls++
				add(&s.Usage, &u)
				if s.Calls == 1 || in < s.MinInput {
					s.MinInput = in
				}
				s.MaxInput = max(s.MaxInput, in)
			}
			got, priced, reason, exact := tg.book.PriceSum(tg.tenant, tg.provider, tg.model, tg.svc, s)
			if !exact {
				if tg.wantExact {
					t.Fatalf("%s/%s %s: PriceSum not exact for %+v", tg.tenant, tg.model, tg.svc, s)
				}
				continue
			}
			if got != want || priced != allPriced || reason != "" {
				t.Fatalf("%s/%s %s: PriceSum = %d %v %q, the calls priced one by one add up to %d (all priced %v)", tg.tenant, tg.model, tg.svc, got, priced, reason, want, allPriced)
			}
		}
	}
	// calls on both sides of a context threshold are never summed
	s := pricing.CallSums{Calls: 2, Usage: pipeline.Usage{InputTokens: 400_001, OutputTokens: 2}, MinInput: 200_000, MaxInput: 200_001}
	if _, _, _, exact := builtin.PriceSum("", "anthropic", "claude-sonnet-4-5", "", s); exact {
		t.Fatal("calls at 200,000 and 200,001 input tokens summed across Claude's 200k threshold")
	}
	// an unknown model: every call unpriced with Price's reason
	sp := &pipeline.Span{Operation: pipeline.OpChat, Model: "no-such-model", Usage: pipeline.Usage{InputTokens: 10}}
	li := builtin.Price(nil, sp, "w")[0]
	if _, priced, reason, exact := builtin.PriceSum("", "", "no-such-model", "", pricing.CallSums{Calls: 3, Usage: pipeline.Usage{InputTokens: 30}, MinInput: 10, MaxInput: 10}); !exact || priced || reason != li.UnpricedReason {
		t.Fatalf("unknown model: exact %v priced %v reason %q, want unpriced %q", exact, priced, reason, li.UnpricedReason)
	}
}

func add(s, u *pipeline.Usage) {
	s.InputTokens += u.InputTokens
	s.OutputTokens += u.OutputTokens
	s.CacheReadTokens += u.CacheReadTokens
	s.CacheWriteTokens += u.CacheWriteTokens
	s.CacheWrite1hTokens += u.CacheWrite1hTokens
	s.ReasoningTokens += u.ReasoningTokens
	s.AudioInputTokens += u.AudioInputTokens
	s.ImageInputTokens += u.ImageInputTokens
	s.AudioOutputTokens += u.AudioOutputTokens
}
