package pricing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
)

const datedBooks = `
version: v2
effective_from: "2026-11-01"
models:
  - provider: openai
    model: gpt-z
    input: "2.00"
    output: "8.00"
    cache_read: "0.50"
    service_tiers:
      batch: {multiplier: "0.5"}
      priority: {input: "3.50", output: "14.00", cache_read: "0.875"}
  - provider: anthropic
    model: claude-w
    input: "3.00"
    output: "15.00"
    cache_read: "0.30"
    cache_write: "3.75"
    cache_write_1h: "6.00"
tenants:
  - tenant: acme
    models:
      - {provider: openai, model: gpt-z, input: "1.60", output: "6.40"}
    discounts:
      - {percent: "10"}
      - {provider: anthropic, percent: "12.5"}
---
version: v1
effective_from: "2026-01-01"
models:
  - {provider: openai, model: gpt-z, input: "4.00", output: "16.00"}
  - {provider: anthropic, model: claude-w, input: "3.00", output: "15.00"}
`

func at(day string, sp *pipeline.Span) *pipeline.Span {
	t, _ := time.Parse("2006-01-02", day)
	sp.StartUnixNano = t.UnixNano()
	return sp
}

// Figures computed by hand in the comments ($ per million tokens unless said).
func TestTiersTenantsDiscountsAndDates(t *testing.T) {
	t.Parallel()
	bs, err := pricing.ParseBooks([]byte(datedBooks))
	if err != nil {
		t.Fatal(err)
	}
	tier := func(s *pipeline.Span, tier string) *pipeline.Span { s.ServiceTier = tier; return s }
	tenant := func(s *pipeline.Span, t string) *pipeline.Span { s.Tenant = t; return s }
	w1h := func(s *pipeline.Span, n uint64) *pipeline.Span { s.Usage.CacheWrite1hTokens = n; return s }
	cases := []struct {
		name    string
		span    *pipeline.Span
		want    pipeline.Money
		rule    string
		version string
	}{
		// batch halves every rate: 1000*1.00 + 500*4.00 = 3000
		{"batch multiplier", at("2026-11-05", tier(model("openai", "gpt-z", 1000, 0, 0, 500, 0), "batch")), 3_000_000, "model:gpt-z+tier:batchx0.5", "v2"},
		// priority's own rates: 800*3.50 + 200*0.875 + 500*14 = 2800 + 175 + 7000 = 9975
		{"priority rates", at("2026-11-05", tier(model("openai", "gpt-z", 1000, 200, 0, 500, 0), "priority")), 9_975_000, "model:gpt-z+tier:priority", "v2"},
		// a tier the book does not price: standard rates, and the rule says so
		{"unpriced tier", at("2026-11-05", tier(model("openai", "gpt-z", 1000, 0, 0, 500, 0), "scale")), 6_000_000, "model:gpt-z+tier:scale(no tier price; standard rates)", "v2"},
		// 6000 uncached*3 + 3000 5-minute writes*3.75 + 1000 1-hour writes*6 + 100*15
		// = 18000 + 11250 + 6000 + 1500 = 36750
		{"1-hour cache writes", at("2026-11-05", w1h(model("anthropic", "claude-w", 10000, 0, 4000, 100, 0), 1000)), 36_750_000, "model:claude-w", "v2"},
		// acme's negotiated gpt-z: 1000*1.60 + 500*6.40 = 4800, less its 10% on all = 4320
		{"tenant override and discount", at("2026-11-05", tenant(model("openai", "gpt-z", 1000, 0, 0, 500, 0), "acme")), 4_320_000, "tenant:acme/model:gpt-z-10.00%", "v2"},
		// the provider discount is more specific than the general one: (3000 + 1500) * 0.875
		{"provider discount wins", at("2026-11-05", tenant(model("anthropic", "claude-w", 1000, 0, 0, 100, 0), "acme")), 3_937_500, "model:claude-w-12.50%", "v2"},
		// earlier in the year the v1 prices apply: 1000*4 + 500*16 = 12000
		{"effective dating", at("2026-06-01", model("openai", "gpt-z", 1000, 0, 0, 500, 0)), 12_000_000, "model:gpt-z", "v1"},
		{"before every version", at("2025-01-01", model("openai", "gpt-z", 1000, 0, 0, 500, 0)), 12_000_000, "model:gpt-z", "v1"},
		{"other tenants pay list", at("2026-11-05", tenant(model("openai", "gpt-z", 1000, 0, 0, 500, 0), "globex")), 6_000_000, "model:gpt-z", "v2"},
	}
	for _, c := range cases {
		items := bs.Price(nil, c.span, "wf")
		if len(items) != 1 || items[0].Cost != c.want || items[0].PriceRule != c.rule || items[0].PriceVersion != c.version || !items[0].Priced {
			t.Errorf("%s: %+v\nwant cost %d rule %q version %s", c.name, items, c.want, c.rule, c.version)
		}
	}
}

func TestBookSeriesErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ yaml, want string }{
		{"version: a\nmodels: [{model: m, input: \"1\", output: \"1\"}]\n---\nversion: b\nmodels: [{model: m, input: \"1\", output: \"1\"}]\n", "effective_from is required"},
		{"version: a\neffective_from: \"2026-01-01\"\n---\nversion: b\neffective_from: \"2026-01-01\"\n", "same day"},
		{"version: a\neffective_from: \"2026-01-01\"\n---\nversion: a\neffective_from: \"2026-02-01\"\n", "appears twice"},
		{"version: a\neffective_from: 1st of May\n", "not YYYY-MM-DD"},
		{"version: a\nmodels: [{model: m, input: \"0.000000001\", output: \"1\", service_tiers: {batch: {multiplier: \"0.5\"}}}]\n", "finer than a nano-dollar"},
		{"version: a\ntenants: [{tenant: x, discounts: [{percent: \"150\"}]}]\n", "above 100"},
		{"version: a\ntenants: [{tenant: x}, {tenant: x}]\n", "appears twice"},
	} {
		if _, err := pricing.ParseBooks([]byte(c.yaml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.yaml, err, c.want)
		}
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	bs, err := pricing.ParseBooks([]byte(datedBooks))
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)
	got, err := bs.Explain("openai", "gpt-z-2026-10-01", "acme", day)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"price book    v2 (effective 2026-11-01)", `entry         gpt-z (provider openai), matched from "gpt-z-2026-10-01"`,
		"tenant        acme has its own price", "input (uncached)       1.600000", "discount      10.00% negotiated by acme"} {
		if !strings.Contains(got, want) {
			t.Errorf("explain lacks %q:\n%s", want, got)
		}
	}
	list, _ := bs.Explain("openai", "gpt-z", "", day)
	if !strings.Contains(list, "  batch (x0.5)                   1.000000     4.000000") || !strings.Contains(list, "  priority                       3.500000    14.000000") {
		t.Errorf("list prices:\n%s", list)
	}
	if _, err := bs.Explain("openai", "nope", "", day); err == nil || !strings.Contains(err.Error(), "kept unpriced") {
		t.Errorf("unknown model: %v", err)
	}
}
