package pricing_test

import (
	"strings"
	"testing"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
)

// Golden costs of the built-in book. Every figure is worked out by hand in the comment
// from the provider's published price ($ per million tokens), not read from the book:
// tokens x $/M = micro-dollars (u$); 1 u$ = 1,000 nano-dollars.
func TestBuiltinGolden(t *testing.T) {
	t.Parallel()
	b, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	type usage struct{ in, read, write, write1h, out uint64 }
	span := func(provider, m, tier string, u usage) *pipeline.Span {
		return &pipeline.Span{Operation: pipeline.OpChat, Provider: provider, Model: m, ServiceTier: tier, Usage: pipeline.Usage{
			InputTokens: u.in, CacheReadTokens: u.read, CacheWriteTokens: u.write, CacheWrite1hTokens: u.write1h, OutputTokens: u.out}}
	}
	cases := []struct {
		name string
		sp   *pipeline.Span
		want pipeline.Money // nano-dollars; 0 with unpriced
	}{
		// --- service tiers: OpenAI
		// gpt-4o-mini batch $0.075/$0.30, cached input keeps $0.075 (no batch cached rate):
		// 800000*0.075 + 200000*0.075 + 100000*0.30 = 60000 + 15000 + 30000 = 105000 u$
		{"gpt-4o-mini batch", span("openai", "gpt-4o-mini", "batch", usage{in: 1_000_000, read: 200_000, out: 100_000}), 105_000_000},
		// gpt-4.1 priority $3.50/$14.00, cached $0.875: 8000*3.5 + 2000*0.875 + 1000*14
		// = 28000 + 1750 + 14000 = 43750 u$
		{"gpt-4.1 priority", span("openai", "gpt-4.1-2025-04-14", "priority", usage{in: 10_000, read: 2000, out: 1000}), 43_750_000},
		// gpt-5 flex $0.625/$5.00: 10000*0.625 + 1000*5 = 6250 + 5000 = 11250 u$
		{"gpt-5 flex", span("openai", "gpt-5", "flex", usage{in: 10_000, out: 1000}), 11_250_000},
		// gpt-5 batch halves cached input too ($0.0625): 6000*0.625 + 4000*0.0625 + 1000*5
		// = 3750 + 250 + 5000 = 9000 u$
		{"gpt-5 batch with cache", span("openai", "gpt-5", "batch", usage{in: 10_000, read: 4000, out: 1000}), 9_000_000},
		// o4-mini flex $0.55/$2.20, cached $0.138 as listed: 6000*0.55 + 4000*0.138 + 1000*2.2
		// = 3300 + 552 + 2200 = 6052 u$
		{"o4-mini flex", span("openai", "o4-mini", "flex", usage{in: 10_000, read: 4000, out: 1000}), 6_052_000},
		// gpt-5-mini priority $0.45/$3.60: 10000*0.45 + 1000*3.6 = 4500 + 3600 = 8100 u$
		{"gpt-5-mini priority", span("openai", "gpt-5-mini", "priority", usage{in: 10_000, out: 1000}), 8_100_000},
		// o3 standard $2/$8 (the June 2025 price): 1000*2 + 1000*8 = 10000 u$
		{"o3 standard", span("openai", "o3-2025-04-16", "", usage{in: 1000, out: 1000}), 10_000_000},
		// --- service tiers: Anthropic Message Batches, 50% of every rate
		// claude-sonnet-4-5 batch: uncached 5000*1.50 + read 3000*0.15 + 5m write 1000*1.875
		// + 1h write 1000*3.00 + out 1000*7.50 = 7500 + 450 + 1875 + 3000 + 7500 = 20325 u$
		{"claude-sonnet-4-5 batch", span("anthropic", "claude-sonnet-4-5-20250929", "batch", usage{in: 10_000, read: 3000, write: 2000, write1h: 1000, out: 1000}), 20_325_000},
		// claude-haiku-4-5 batch $0.50/$2.50: 10000*0.5 + 1000*2.5 = 7500 u$
		{"claude-haiku-4-5 batch", span("anthropic", "claude-haiku-4-5", "batch", usage{in: 10_000, out: 1000}), 7_500_000},
		// claude-opus-4-1 batch $7.50/$37.50: 1000*7.5 + 1000*37.5 = 45000 u$
		{"claude-opus-4-1 batch", span("anthropic", "claude-opus-4-1-20250805", "batch", usage{in: 1000, out: 1000}), 45_000_000},
		// --- service tiers: Gemini batch halves input/output, caching at the standard rate
		// gemini-2.5-flash batch: 8000*0.15 + 2000*0.03 + 1000*1.25 = 1200 + 60 + 1250 = 2510 u$
		{"gemini-2.5-flash batch", span("gcp.gemini", "gemini-2.5-flash", "batch", usage{in: 10_000, read: 2000, out: 1000}), 2_510_000},
		// gemini-2.5-pro batch above 200k ($1.25/$7.50, cache $0.25 standard long rate):
		// 200000*1.25 + 100000*0.25 + 10000*7.5 = 250000 + 25000 + 75000 = 350000 u$
		{"gemini-2.5-pro batch >200k", span("gcp.gemini", "gemini-2.5-pro", "batch", usage{in: 300_000, read: 100_000, out: 10_000}), 350_000_000},
		// gemini-2.5-pro priority 1.8x ($2.25/$18): 10000*2.25 + 1000*18 = 22500 + 18000 = 40500 u$
		{"gemini-2.5-pro priority", span("gcp.gemini", "gemini-2.5-pro", "priority", usage{in: 10_000, out: 1000}), 40_500_000},
		// --- long-context tiers with every rate, 1-hour writes included
		// claude-sonnet-4-5 above 200k: $6 in, $22.50 out, $0.60 read, $7.50 5m, $12 1h:
		// uncached (250000-50000-100000)=100000*6 + 50000*0.6 + 40000*7.5 + 60000*12 + 2000*22.5
		// = 600000 + 30000 + 300000 + 720000 + 45000 = 1695000 u$
		{"claude-sonnet-4-5 >200k 1h writes", span("anthropic", "claude-sonnet-4-5", "", usage{in: 250_000, read: 50_000, write: 100_000, write1h: 60_000, out: 2000}), 1_695_000_000},
		// the same through a Bedrock US profile, 10% more: 100000*6.6 + 50000*0.66 + 40000*8.25
		// + 60000*13.2 + 2000*24.75 = 660000 + 33000 + 330000 + 792000 + 49500 = 1864500 u$
		{"claude-sonnet-4-5 >200k 1h writes, bedrock us.", span("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "", usage{in: 250_000, read: 50_000, write: 100_000, write1h: 60_000, out: 2000}), 1_864_500_000},
		// claude-sonnet-4 above 200k: 200000*6 + 10000*12 (1h writes) + 100*22.5
		// = 1200000 + 120000 + 2250 = 1322250 u$
		{"claude-sonnet-4 >200k 1h writes", span("anthropic", "claude-sonnet-4-20250514", "", usage{in: 210_000, write: 10_000, write1h: 10_000, out: 100}), 1_322_250_000},
		// gemini-2.5-pro above 200k: 250000*2.5 + 1000*15 = 625000 + 15000 = 640000 u$
		{"gemini-2.5-pro >200k", span("gcp.gemini", "gemini-2.5-pro", "", usage{in: 250_000, out: 1000}), 640_000_000},
		// --- Bedrock ids: global = list price, geography profiles and in-region +10%
		// Sonnet 4.5 global $3/$15: 1000*3 + 1000*15 = 18000 u$; regional $3.30/$16.50 = 19800 u$
		{"bedrock global.", span("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "", usage{in: 1000, out: 1000}), 18_000_000},
		{"bedrock us.", span("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "", usage{in: 1000, out: 1000}), 19_800_000},
		{"bedrock eu.", span("aws.bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "", usage{in: 1000, out: 1000}), 19_800_000},
		{"bedrock apac.", span("aws.bedrock", "apac.anthropic.claude-sonnet-4-5-20250929-v1:0", "", usage{in: 1000, out: 1000}), 19_800_000},
		{"bedrock jp.", span("aws.bedrock", "jp.anthropic.claude-sonnet-4-5-20250929-v1:0", "", usage{in: 1000, out: 1000}), 19_800_000},
		{"bedrock au.", span("aws.bedrock", "au.anthropic.claude-sonnet-4-5-20250929-v1:0", "", usage{in: 1000, out: 1000}), 19_800_000},
		// GovCloud has its own price list, 1.2x: 1000*3.60 + 1000*18 = 21600 u$; a model
		// without a GovCloud price there is unknown, not the list price
		{"bedrock us-gov.", span("aws.bedrock", "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", "", usage{in: 1000, out: 1000}), 21_600_000},
		{"bedrock us-gov. without a GovCloud price", span("aws.bedrock", "us-gov.anthropic.claude-sonnet-4-20250514-v1:0", "", usage{in: 1000, out: 1000}), 0},
		// Claude 3 Haiku in GovCloud, 1.2 x $0.25/$1.25: 1000*0.30 + 1000*1.50 = 1800 u$
		{"bedrock us-gov. claude 3 haiku", span("aws.bedrock", "us-gov.anthropic.claude-3-haiku-20240307-v1:0", "", usage{in: 1000, out: 1000}), 1_800_000},
		{"bedrock in-region", span("aws.bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", "", usage{in: 1000, out: 1000}), 19_800_000},
		{"bedrock ARN of the global profile", span("aws.bedrock", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0", "", usage{in: 1000, out: 1000}), 18_000_000},
		// Haiku 4.5 on a US profile, $1.10/$5.50: 1000*1.1 + 1000*5.5 = 6600 u$
		{"bedrock us. haiku 4.5", span("aws.bedrock", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "", usage{in: 1000, out: 1000}), 6_600_000},
		// Opus 4.5 global $5/$25 = 30000 u$; EU profile $5.50/$27.50 = 33000 u$
		{"bedrock global. opus 4.5", span("aws.bedrock", "global.anthropic.claude-opus-4-5-20251101-v1:0", "", usage{in: 1000, out: 1000}), 30_000_000},
		{"bedrock eu. opus 4.5", span("aws.bedrock", "eu.anthropic.claude-opus-4-5-20251101-v1:0", "", usage{in: 1000, out: 1000}), 33_000_000},
		// Claude 4.6 ids carry a bare "-v1" or no version: Opus 4.6 US profile $5.50/$27.50
		// = 33000 u$; Sonnet 4.6 global $3/$15 = 18000 u$, in-region $3.30/$16.50 = 19800 u$
		{"bedrock us. opus 4.6 -v1", span("aws.bedrock", "us.anthropic.claude-opus-4-6-v1", "", usage{in: 1000, out: 1000}), 33_000_000},
		{"bedrock global. sonnet 4.6", span("aws.bedrock", "global.anthropic.claude-sonnet-4-6", "", usage{in: 1000, out: 1000}), 18_000_000},
		{"bedrock in-region sonnet 4.6", span("aws.bedrock", "anthropic.claude-sonnet-4-6", "", usage{in: 1000, out: 1000}), 19_800_000},
		// Opus 4.6 dated id, first party $5/$25 = 30000 u$
		{"opus 4.6 dated", span("anthropic", "claude-opus-4-6-20260205", "", usage{in: 1000, out: 1000}), 30_000_000},
		// older generation: the same price on every profile, $3/$15 = 18000 u$
		{"bedrock us. sonnet 4", span("aws.bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", "", usage{in: 1000, out: 1000}), 18_000_000},
		// Bedrock batch of a regional profile: 50% of $3.30/$16.50 = 1000*1.65 + 1000*8.25 = 9900 u$
		{"bedrock us. batch", span("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "batch", usage{in: 1000, out: 1000}), 9_900_000},
		{"bedrock application profile names no model", span("aws.bedrock", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", "", usage{in: 1000, out: 1000}), 0},
		// --- Vertex ids: @date and publisher paths, list price
		{"vertex @date", span("gcp.vertex_ai", "claude-sonnet-4-5@20250929", "", usage{in: 1000, out: 1000}), 18_000_000},
		{"vertex publisher path", span("gcp.vertex_ai", "projects/p/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929", "", usage{in: 1000, out: 1000}), 18_000_000},
		// gemini-2.5-pro $1.25/$10: 1000*1.25 + 1000*10 = 11250 u$
		{"vertex gemini path", span("gcp.vertex_ai", "publishers/google/models/gemini-2.5-pro", "", usage{in: 1000, out: 1000}), 11_250_000},
		// gemini-2.5-flash $0.30/$2.50: 1000*0.3 + 1000*2.5 = 2800 u$
		{"gemini models/ path", span("gcp.gemini", "models/gemini-2.5-flash", "", usage{in: 1000, out: 1000}), 2_800_000},
		// --- Azure OpenAI: global deployments at the OpenAI price, data zones +10%
		// gpt-4.1 $2/$8: 1000*2 + 1000*8 = 10000 u$; data zone $2.20/$8.80 = 11000 u$
		{"azure model id", span("azure.ai.openai", "gpt-4.1-2025-04-14", "", usage{in: 1000, out: 1000}), 10_000_000},
		{"azure/ prefix", span("azure.ai.openai", "azure/gpt-4.1", "", usage{in: 1000, out: 1000}), 10_000_000},
		{"azure eu data zone", span("azure.ai.openai", "azure/eu/gpt-4.1", "", usage{in: 1000, out: 1000}), 11_000_000},
		// gpt-4o-mini data zone $0.165/$0.66: 1000*0.165 + 1000*0.66 = 825 u$
		{"azure us data zone, dated", span("azure.ai.openai", "azure/us/gpt-4o-mini-2024-07-18", "", usage{in: 1000, out: 1000}), 825_000},
		// a model without a stated data-zone premium is unknown there, not the global price
		{"azure data zone without a premium", span("azure.ai.openai", "azure/eu/o3-pro", "", usage{in: 1000, out: 1000}), 0},
		// gpt-5.2 data zone, 1.1 x $1.75/$14: 1000*1.925 + 1000*15.4 = 17325 u$
		{"azure eu data zone gpt-5.2", span("azure.ai.openai", "azure/eu/gpt-5.2", "", usage{in: 1000, out: 1000}), 17_325_000},
		// gpt-5.2 priority $3.50/$28: 1000*3.5 + 1000*28 = 31500 u$
		{"gpt-5.2 priority", span("openai", "gpt-5.2-2025-12-11", "priority", usage{in: 1000, out: 1000}), 31_500_000},
		// gemini-3-flash-preview batch $0.25/$1.50: 10000*0.25 + 1000*1.5 = 4000 u$
		{"gemini-3-flash-preview batch", span("gcp.gemini", "gemini-3-flash-preview", "batch", usage{in: 10_000, out: 1000}), 4_000_000},
		{"azure path not understood", span("azure.ai.openai", "azure/westeurope/gpt-4.1", "", usage{in: 1000, out: 1000}), 0},
		// --- a variant is never its base model; a snapshot is
		// gpt-5-pro $15/$120: 1000*15 + 1000*120 = 135000 u$ (gpt-5 would give 11250)
		{"gpt-5-pro snapshot", span("openai", "gpt-5-pro-2025-10-06", "", usage{in: 1000, out: 1000}), 135_000_000},
		// o3-pro $20/$80 = 100000 u$
		{"o3-pro", span("openai", "o3-pro", "", usage{in: 1000, out: 1000}), 100_000_000},
		{"realtime preview is not gpt-4o", span("openai", "gpt-4o-realtime-preview-2024-12-17", "", usage{in: 1000, out: 1000}), 0},
		{"audio preview is not gpt-4o", span("openai", "gpt-4o-audio-preview", "", usage{in: 1000, out: 1000}), 0},
		{"search preview is not gpt-4o-mini", span("openai", "gpt-4o-mini-search-preview-2025-03-11", "", usage{in: 1000, out: 1000}), 0},
		{"tts is not gpt-4o-mini", span("openai", "gpt-4o-mini-tts", "", usage{in: 1000, out: 1000}), 0},
		{"flash preview is not flash", span("gcp.gemini", "gemini-2.5-flash-preview-05-20", "", usage{in: 1000, out: 1000}), 0},
		// gpt-4o-2024-05-13 keeps $5/$15 = 20000 u$; gpt-4o-2024-08-06 is $2.50/$10 = 12500 u$
		{"first gpt-4o snapshot", span("openai", "gpt-4o-2024-05-13", "", usage{in: 1000, out: 1000}), 20_000_000},
		{"later gpt-4o snapshot", span("openai", "gpt-4o-2024-08-06", "", usage{in: 1000, out: 1000}), 12_500_000},
		// mistral-medium-latest (Medium 3.5, $1.50/$7.50) = 9000 u$; 2505 keeps $0.40/$2 = 2400 u$
		{"mistral latest moved", span("mistral_ai", "mistral-medium-latest", "", usage{in: 1000, out: 1000}), 9_000_000},
		{"mistral dated keeps its price", span("mistral_ai", "mistral-medium-2505", "", usage{in: 1000, out: 1000}), 2_400_000},
	}
	for _, c := range cases {
		items := b.Price(nil, c.sp, "wf")
		if len(items) != 1 {
			t.Errorf("%s: %d items", c.name, len(items))
			continue
		}
		li := items[0]
		if li.Cost != c.want || li.Priced != (c.want != 0) || (!li.Priced && li.UnpricedReason == "") {
			t.Errorf("%s: cost %d priced %v rule %q reason %q; want %d", c.name, li.Cost, li.Priced, li.PriceRule, li.UnpricedReason, c.want)
		}
	}
}

// An unpriced line says which entry it was not priced as, and what to add.
func TestUnknownModelReasons(t *testing.T) {
	t.Parallel()
	b, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		"gpt-4o-realtime-preview-2024-12-17":             `unknown model "gpt-4o-realtime-preview-2024-12-17" (provider "openai"): not priced as gpt-4o - a variant is a different model; add it to the price book`,
		"o3-deep-research":                               `not priced as o3 - a variant is a different model`,
		"us-gov.anthropic.claude-sonnet-4-20250514-v1:0": `AWS GovCloud has its own prices and claude-sonnet-4 has no govcloud_premium`,
		"azure/westeurope/gpt-4.1":                       `its path is not a form unitcost reads`,
		"gpt-7":                                          `unknown model "gpt-7" (provider "openai"): add it to the price book`,
	} {
		items := b.Price(nil, &pipeline.Span{Provider: "openai", Model: id, Usage: pipeline.Usage{InputTokens: 10}}, "wf")
		if len(items) != 1 || items[0].Priced || !strings.Contains(items[0].UnpricedReason, want) {
			t.Errorf("%s: %+v, want reason with %q", id, items, want)
		}
	}
}

// Every built-in model carries its date and source page; every Anthropic model its batch
// tier; the 4.5 generation its regional premium.
func TestBuiltinCompleteness(t *testing.T) {
	t.Parallel()
	b, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if b.Refreshed == "" || b.RefreshedFrom == "" {
		t.Error("the book does not say when it was last refreshed")
	}
	for _, m := range b.Models {
		if m.AsOf == "" || m.Source == "" {
			t.Errorf("%s: as_of %q source %q", m.Model, m.AsOf, m.Source)
		}
		if (m.Provider == "anthropic" || m.Provider == "openai") && m.ServiceTiers["batch"].Multiplier == "" && !m.ServiceTiers["batch"].Input.Set {
			t.Errorf("%s: no batch tier", m.Model)
		}
	}
}
