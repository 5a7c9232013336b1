package pricing_test

import (
	"os"
	"reflect"
	"testing"

	"github.com/unitcost/unitcost/pipeline/pricing"
)

// The built-in book against pinned snapshots of LiteLLM's and genai-prices' catalogs:
// every difference is listed with its reason in deploy/prices/explained-differences.yaml,
// and every explanation still matches a difference.
func TestBuiltinAgainstPinnedCatalogs(t *testing.T) {
	t.Parallel()
	b, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../deploy/prices/explained-differences.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := pricing.ParseExplanations(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"litellm.json", "genai-prices.json"} {
		raw, err := os.ReadFile("../../testdata/prices/" + f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := pricing.ReadCatalog(raw)
		if err != nil {
			t.Fatal(err)
		}
		rep := pricing.CompareCatalog(b, c, ex)
		if len(rep.Differences) > 0 || len(rep.Stale) > 0 {
			t.Errorf("%s: explain each difference in deploy/prices/explained-differences.yaml or fix the book:\n%s", f, rep.Text())
		}
		if rep.Explained < 100 || len(rep.Keys) < 30 {
			t.Errorf("%s: only %d differences over %d entries: the snapshot no longer covers the book", f, rep.Explained, len(rep.Keys))
		}
	}
}

// Diff reports, tier by tier: a rate that differs, a tier only one side has, a rate only one
// side has, and an entry the catalog lacks.
func TestDiffTierByTier(t *testing.T) {
	t.Parallel()
	b, err := pricing.Parse([]byte(`
version: d
models:
  - provider: anthropic
    model: claude-x
    input: "3.00"
    output: "15.00"
    cache_read: "0.30"
    cache_write: "3.75"
    cache_write_1h: "6.00"
    tiers: [{above_input_tokens: 200000, input: "6.00", output: "22.50", cache_read: "0.60", cache_write: "7.50", cache_write_1h: "12.00"}]
    service_tiers: {batch: {multiplier: "0.5"}}
  - {provider: openai, model: gpt-y, input: "2.00", output: "8.00", cache_read: "0.50", service_tiers: {priority: {input: "3.50", output: "14.00", cache_read: "0.875"}}}
  - {provider: openai, model: gpt-gone, input: "1.00", output: "1.00"}
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := pricing.ReadCatalog([]byte(`{
  "claude-x": {"litellm_provider": "anthropic", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
    "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06, "cache_creation_input_token_cost_above_1hr": 6e-06,
    "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05,
    "cache_read_input_token_cost_above_200k_tokens": 6e-07, "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
    "cache_creation_input_token_cost_above_1hr_above_200k_tokens": 1.5e-05,
    "input_cost_per_token_batches": 1.5e-06, "output_cost_per_token_batches": 7.5e-06,
    "cache_read_input_token_cost_batches": 1.5e-07, "cache_creation_input_token_cost_batches": 1.875e-06},
  "gpt-y": {"litellm_provider": "openai", "input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06, "cache_read_input_token_cost": 5e-07,
    "input_cost_per_token_priority": 4e-06, "output_cost_per_token_priority": 1.4e-05, "cache_read_input_token_cost_priority": 8.75e-07,
    "input_cost_per_token_flex": 1e-06, "output_cost_per_token_flex": 4e-06}
}`))
	if err != nil {
		t.Fatal(err)
	}
	diffs, keys := pricing.Diff(b, c)
	want := []pricing.Difference{
		// the 1-hour long-context write: $12 in the book, $15 in the catalog
		{ID: "claude-x", Entry: "claude-x", CatalogKey: "claude-x", Rate: "standard >200000 cache_write_1h", Book: "12.000000000", Catalog: "15.000000000"},
		// the catalog's batch has no 1-hour write (its standard one applies) and no long-context rates
		{ID: "claude-x", Entry: "claude-x", CatalogKey: "claude-x", Rate: "batch cache_write_1h", Book: "3.000000000", Catalog: "6.000000000"},
		{ID: "claude-x", Entry: "claude-x", CatalogKey: "claude-x", Rate: "batch >200000 input", Book: "3.000000000"},
		{ID: "claude-x", Entry: "claude-x", CatalogKey: "claude-x", Rate: "batch >200000 output", Book: "11.250000000"},
		{ID: "claude-x", Entry: "claude-x", CatalogKey: "claude-x", Rate: "batch >200000 cache_read", Book: "0.300000000"},
		{ID: "claude-x", Entry: "claude-x", CatalogKey: "claude-x", Rate: "batch >200000 cache_write", Book: "3.750000000"},
		{ID: "claude-x", Entry: "claude-x", CatalogKey: "claude-x", Rate: "batch >200000 cache_write_1h", Book: "6.000000000"},
		// flex only in the catalog; a priority input that differs
		{ID: "gpt-y", Entry: "gpt-y", CatalogKey: "gpt-y", Rate: "flex input", Catalog: "1.000000000"},
		{ID: "gpt-y", Entry: "gpt-y", CatalogKey: "gpt-y", Rate: "flex output", Catalog: "4.000000000"},
		{ID: "gpt-y", Entry: "gpt-y", CatalogKey: "gpt-y", Rate: "flex cache_read", Catalog: "0.500000000"},
		{ID: "gpt-y", Entry: "gpt-y", CatalogKey: "gpt-y", Rate: "priority input", Book: "3.500000000", Catalog: "4.000000000"},
		{ID: "gpt-gone", Entry: "gpt-gone", Rate: "*", Book: "listed"},
	}
	if !reflect.DeepEqual(diffs, want) {
		t.Errorf("diff:\n got %+v\nwant %+v", diffs, want)
	}
	if !reflect.DeepEqual(keys, []string{"claude-x", "gpt-y"}) {
		t.Errorf("keys %v", keys)
	}
	open, stale := pricing.Unexplained("litellm", diffs, []pricing.Explanation{
		{Catalog: "litellm", IDs: []string{"claude-*"}, Rates: []string{"batch"}, Reason: "r"},
		{Catalog: "litellm", IDs: []string{"gpt-gone"}, Reason: "r"},
		{Catalog: "litellm", IDs: []string{"gpt-y"}, Rates: []string{"priority output"}, Reason: "stale"},
		{Catalog: "genai-prices", IDs: []string{"gpt-y"}, Reason: "other catalog"},
	})
	if len(open) != 5 || open[0].Rate != "standard >200000 cache_write_1h" || len(stale) != 1 || stale[0].Reason != "stale" {
		t.Errorf("open %+v stale %+v", open, stale)
	}
}

// genai-prices data: tiered prices, dated price lists (time-of-day discounts skipped),
// batch and priority variants, and match clauses including a negative lookahead.
func TestReadGenAIPrices(t *testing.T) {
	t.Parallel()
	c, err := pricing.ReadCatalog([]byte(`[
 {"id": "google", "pricing_urls": ["https://ai.google.dev/gemini-api/docs/pricing"], "models": [
  {"id": "gemini-p", "match": {"and": [{"starts_with": "gemini-p"}, {"regex": "^(?!.*-tts)"}]},
   "prices": {"input_mtok": {"base": "1.25", "tiers": [{"start": 200000, "price": "2.5"}]}, "output_mtok": {"base": 10, "tiers": [{"start": 200000, "price": 15}]}},
   "price_variants": [{"when": {"processing": "batch"}, "prices": {"input_mtok": {"base": "0.625", "tiers": [{"start": 200000, "price": "1.25"}]},
     "output_mtok": {"base": "5", "tiers": [{"start": 200000, "price": "7.5"}]}}},
     {"when": {"service_tier": "priority"}, "prices": {"input_mtok": {"base": "2.25", "tiers": [{"start": 200000, "price": "4.5"}]}, "output_mtok": {"base": "18", "tiers": [{"start": 200000, "price": 27}]}}}]}]},
 {"id": "deepseek", "models": [
  {"id": "deepseek-chat", "match": {"starts_with": "deepseek-chat"},
   "prices": [{"prices": {"input_mtok": "0.28", "output_mtok": "0.42"}},
              {"constraint": {"start_time": "16:30:00+00:00", "end_time": "00:30:00+00:00"}, "prices": {"input_mtok": "0.14", "output_mtok": "0.21"}}]}]}
]`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := pricing.Parse([]byte(`
version: g
models:
  - provider: gcp.gemini
    model: gemini-p
    aliases: [gemini-p-tts]
    input: "1.25"
    output: "10"
    tiers: [{above_input_tokens: 200000, input: "2.50", output: "15"}]
    service_tiers:
      batch: {input: "0.625", output: "5", tiers: [{above_input_tokens: 200000, input: "1.25", output: "7.50"}]}
      priority: {input: "2.25", output: "18", tiers: [{above_input_tokens: 200000, input: "4.50", output: "27"}]}
  - {provider: deepseek, model: deepseek-chat, input: "0.28", output: "0.42"}
`))
	if err != nil {
		t.Fatal(err)
	}
	diffs, keys := pricing.Diff(b, c)
	// Everything agrees, except that the -tts alias has no catalog entry (the lookahead
	// excludes it) - only a missing name is reported, not a missing alias.
	if len(diffs) != 0 || !reflect.DeepEqual(keys, []string{"deepseek/deepseek-chat", "google/gemini-p"}) {
		t.Errorf("diffs %+v keys %v", diffs, keys)
	}
	sub, err := c.Subset([]string{"google/gemini-p"})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := pricing.ReadCatalog(sub)
	if err != nil {
		t.Fatalf("subset does not read back: %v\n%s", err, sub)
	}
	if _, keys := pricing.Diff(b, c2); !reflect.DeepEqual(keys, []string{"google/gemini-p"}) {
		t.Errorf("subset keys %v", keys)
	}
}

// Catalog files are outside input: reading one never panics, whatever its bytes.
func FuzzReadCatalog(f *testing.F) {
	for _, name := range []string{"../../testdata/litellm_sample.json"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`[{"id":"p","models":[{"id":"m","match":{"or":[{"regex":"^(?!x)"},{"equals":"m"}]},"prices":{"input_mtok":{"base":"1","tiers":[{"start":5,"price":2}]},"output_mtok":1}}]}]`))
	f.Add([]byte(`{"m":{"input_cost_per_token":1e-300,"output_cost_per_token":-1,"input_cost_per_token_above_9999999999999999999k_tokens_priority":1}}`))
	f.Add([]byte(`[{"id":"p","models":[{"id":"m","prices":[{"constraint":{"start_time":"x"}}]}]}, 3]`))
	b, err := pricing.Builtin()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := pricing.ReadCatalog(raw)
		if err != nil {
			return
		}
		diffs, keys := pricing.Diff(b, c)
		if _, err := c.Subset(keys); err != nil {
			t.Fatalf("subset of a catalog that read: %v", err)
		}
		_ = diffs
	})
}
