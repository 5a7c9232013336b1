package pricing_test

import (
	"os"
	"strings"
	"testing"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
)

func TestImportLiteLLM(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../testdata/litellm_sample.json")
	if err != nil {
		t.Fatal(err)
	}
	y, notes, err := pricing.ImportLiteLLM(raw, "litellm-2026-11-22", "2026-11-22")
	if err != nil {
		t.Fatal(err)
	}
	// A tier that omits a cache rate its model sets is not imported: the long-context
	// cache price would be a guess.
	// LiteLLM gives no batch rates above 200k for claude-sonnet-4-5: the batch tier is left
	// out rather than guessed.
	if len(notes) != 3 || notes[0] != "claude-sonnet-4-5-20250929: batch rates not imported (none given above 200000 input tokens)" ||
		!strings.Contains(notes[1], "claude-tier-gap: skipped (claude-tier-gap: tiers[0]: the model sets cache_write") ||
		!strings.Contains(notes[2], "dall-e-3: skipped") {
		t.Errorf("notes %q", notes)
	}
	for _, want := range []string{`input: "2.500000000"`, `cache_read: "1.250000000"`, "above_input_tokens: 200000", "batch:"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("imported YAML lacks %q:\n%s", want, y)
		}
	}
	b, err := pricing.Parse(y)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		span *pipeline.Span
		want pipeline.Money
	}{
		// 2.5e-06/token = $2.50/M: 1000*2.50 + 500*10.00 = 7500
		{model("openai", "gpt-4o", 1000, 0, 0, 500, 0), 7_500_000},
		// batch: 1000*1.25 + 500*5.00 = 3750
		{func() *pipeline.Span {
			s := model("openai", "gpt-4o", 1000, 0, 0, 500, 0)
			s.ServiceTier = "batch"
			return s
		}(), 3_750_000},
		// above 200k: 250000*6.00 + 100*22.50 = 1,502,250 -> $1.50225
		{model("anthropic", "claude-sonnet-4-5-20250929", 250000, 0, 0, 100, 0), 1_502_250_000},
		// above 200k with 1-hour cache writes: 50000 uncached*6 + 200000 1h writes*12 + 100*22.50
		// = 300000 + 2400000 + 2250 = 2,702,250 -> $2.70225
		{func() *pipeline.Span {
			s := model("anthropic", "claude-sonnet-4-5-20250929", 250000, 0, 200000, 100, 0)
			s.Usage.CacheWrite1hTokens = 200000
			return s
		}(), 2_702_250_000},
		// the Bedrock key is found by its model id: 1000*0.80 + 100*4 = 1200
		{model("aws.bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1:0", 1000, 0, 0, 100, 0), 1_200_000},
		// an Azure data-zone key keeps its own (higher) price under its whole key:
		// 1000*2.75 + 500*11 = 8250; the plain id on Azure is the global price, 7500
		{model("azure", "azure/eu/gpt-4o", 1000, 0, 0, 500, 0), 8_250_000},
		{model("azure", "gpt-4o", 1000, 0, 0, 500, 0), 7_500_000},
		// 2e-08/token = $0.02/M: 1,000,000 tokens = $0.02
		{model("openai", "text-embedding-3-small", 1_000_000, 0, 0, 0, 0), 20_000_000},
	}
	for _, c := range cases {
		items := b.Price(nil, c.span, "wf")
		if len(items) != 1 || items[0].Cost != c.want || !items[0].Priced {
			t.Errorf("%s: %+v, want %d", c.span.Model, items, c.want)
		}
	}
}
