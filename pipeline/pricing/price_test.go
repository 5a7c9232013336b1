package pricing_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
)

const goldenBook = `
version: golden-1
models:
  - provider: anthropic
    model: claude-x
    input: "3.00"
    output: "15.00"
    cache_read: "0.30"
    cache_write: "3.75"
    tiers:
      - {above_input_tokens: 200000, input: "6.00", output: "22.50", cache_read: "0.60", cache_write: "7.50"}
  - {provider: openai, model: gpt-y, aliases: [gpt-y-latest], input: "2.50", output: "10.00", cache_read: "1.25"}
  - {provider: openai, model: gpt-y-mini, input: "0.15", output: "0.60", cache_read: "0.075"}
  - {model: reasoner, input: "1.10", output: "4.40", reasoning: "8.80"}
  - {model: tiny, input: "0.0375", output: "0.0125"}
tools:
  - {name: web_search, per_call: "0.01"}
retrieval:
  - {name: default, per_call: "0.0004", per_unit: "0.00001"}
compute:
  - {name: gpu.a100, per_hour: "2.50"}
review:
  - {name: analyst, per_hour: "60.00"}
`

func book(t *testing.T) *pricing.Book {
	t.Helper()
	b, err := pricing.Parse([]byte(goldenBook))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func model(provider, m string, in, cr, cw, out, reasoning uint64) *pipeline.Span {
	return &pipeline.Span{Operation: pipeline.OpChat, Provider: provider, Model: m, Usage: pipeline.Usage{
		InputTokens: in, CacheReadTokens: cr, CacheWriteTokens: cw, OutputTokens: out, ReasoningTokens: reasoning}}
}

// Every figure below is computed by hand in the comment beside it ($ per million tokens).
func TestGoldenFigures(t *testing.T) {
	t.Parallel()
	b := book(t)
	cases := []struct {
		name     string
		span     *pipeline.Span
		want     pipeline.Money
		rule     string
		unpriced bool
	}{
		// input counted once: 2000 uncached*3 + 6000 read*0.30 + 2000 write*3.75 + 500 out*15
		// = 6000 + 1800 + 7500 + 7500 = 22800 -> $0.0228
		{"cache read and write, input counted once", model("anthropic", "claude-x", 10000, 6000, 2000, 500, 0), 22_800_000, "model:claude-x", false},
		// tier crossed because cached tokens count toward the request size: whole request at
		// tier rates: 60000*6 + 150000*0.60 + 1000*22.50 = 360000 + 90000 + 22500 = 472500
		{"tier crossed by cached tokens", model("anthropic", "claude-x", 210000, 150000, 0, 1000, 0), 472_500_000, "model:claude-x>200000", false},
		// exactly at the threshold is not above it: 50000*3 + 150000*0.30 + 1000*15 = 210000
		{"at the tier threshold", model("anthropic", "claude-x", 200000, 150000, 0, 1000, 0), 210_000_000, "model:claude-x", false},
		// no cache rates given for reasoner: reasoning 600*8.80 + other output 400*4.40 + 100*1.10
		// = 5280 + 1760 + 110 = 7150
		{"reasoning rate", model("", "reasoner", 100, 0, 0, 1000, 600), 7_150_000, "model:reasoner", false},
		// one rounding for the line: 1*0.0375 + 1*0.0125 = 0.05 $/M = 50 nano (rounding each
		// part first would give 38 + 13 = 51)
		{"single rounding", model("", "tiny", 1, 0, 0, 1, 0), 50, "model:tiny", false},
		// 3 * 0.0375 = 0.1125 $/M = 112.5 nano -> 113 (half away from zero)
		{"half rounds up", model("", "tiny", 3, 0, 0, 0, 0), 113, "model:tiny", false},
		// alias, dated id and provider-qualified lookups
		{"alias", model("openai", "gpt-y-latest", 1000, 0, 0, 0, 0), 2_500_000, "model:gpt-y", false},
		{"dated id picks the longest prefix", model("openai", "gpt-y-mini-2024-07-18", 1000, 0, 0, 1000, 0), 750_000, "model:gpt-y-mini", false},
		{"dated id of the shorter name", model("openai", "gpt-y-2024-08-06", 1000, 0, 0, 0, 0), 2_500_000, "model:gpt-y", false},
		{"bedrock model id", model("aws.bedrock", "anthropic.claude-x-v1:0", 100000, 0, 0, 0, 0), 300_000_000, "model:claude-x", false},
		{"unknown model is kept unpriced", model("openai", "gpt-unknown", 1000, 0, 0, 10, 0), 0, "", true},
		// tools, retrieval, compute, review
		{"tool per call", &pipeline.Span{Operation: pipeline.OpTool, ToolName: "web_search"}, 10_000_000, "tool:web_search", false},
		{"tool without a rate", &pipeline.Span{Operation: pipeline.OpTool, ToolName: "get_weather"}, 0, "", true},
		// 0.0004 + 20 * 0.00001 = 0.0006
		{"retrieval per call and unit", &pipeline.Span{Operation: pipeline.OpRetrieval, RetrievalUnits: 20}, 600_000, "retrieval:default", false},
		// 60 $/h * 150 s = 2.50
		{"review active time", &pipeline.Span{Operation: pipeline.OpHumanReview, ReviewRole: "analyst", ReviewActiveMs: 150_000, ReviewQueueMs: 9_000_000}, 2_500_000_000, "review:analyst", false},
		{"review role without a rate", &pipeline.Span{Operation: pipeline.OpHumanReview, ReviewRole: "lawyer", ReviewActiveMs: 1000}, 0, "", true},
	}
	for _, c := range cases {
		items := b.Price(nil, c.span, "wf")
		if len(items) != 1 {
			t.Errorf("%s: %d line items", c.name, len(items))
			continue
		}
		li := items[0]
		if li.Cost != c.want || li.PriceRule != c.rule || li.Priced == c.unpriced || li.PriceVersion != "golden-1" {
			t.Errorf("%s: cost %d rule %q priced %v version %q; want %d %q priced %v", c.name, li.Cost, li.PriceRule, li.Priced, li.PriceVersion, c.want, c.rule, !c.unpriced)
		}
		if c.unpriced && li.UnpricedReason == "" {
			t.Errorf("%s: unpriced line without a reason", c.name)
		}
	}
}

func TestComputeLineBesideModelLine(t *testing.T) {
	t.Parallel()
	// 90 s on an A100 at $2.50/h = $0.0625, plus the model call on it.
	sp := model("", "tiny", 3, 0, 0, 0, 0)
	sp.ComputeClass = "gpu.a100"
	sp.StartUnixNano, sp.EndUnixNano = 1e9, 91e9
	items := book(t).Price(nil, sp, "wf")
	if len(items) != 2 || items[1].Component != pipeline.ComponentCompute || items[1].Cost != 62_500_000 || items[0].Cost != 113 {
		t.Fatalf("got %+v", items)
	}
}

func TestSpansWithoutBillableWorkYieldNothing(t *testing.T) {
	t.Parallel()
	if items := book(t).Price(nil, &pipeline.Span{Name: "workflow root", WorkflowRoot: true}, "wf"); len(items) != 0 {
		t.Fatalf("got %+v", items)
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := pricing.Parse([]byte(`
models:
  - {model: a, input: "1"}
  - {input: "1", output: "2"}
  - {model: b, input: "-1", output: "2"}
review:
  - {name: x}
`))
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"negative price"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	_, err = pricing.Parse([]byte("models:\n  - {model: a, input: \"1\"}\n  - {input: \"1\", output: \"2\"}\nreview:\n  - {name: x}\n"))
	for _, want := range []string{"version: required", "models[0] a: input and output rates required", "models[1]: model name required", "review[0]: name and per_hour required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if _, err := pricing.Parse([]byte("version: x\nmodels:\n  - {model: a, input: \"0.0000000001\", output: \"1\"}\n")); err == nil {
		t.Error("a price finer than a nano-dollar must be refused, not rounded")
	}
}

func TestBuiltinBookParsesAndPricesMajorModels(t *testing.T) {
	t.Parallel()
	b, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range [][2]string{{"openai", "gpt-4o-2024-08-06"}, {"anthropic", "claude-sonnet-4-5-20250929"}, {"gcp.gemini", "gemini-2.5-pro"},
		{"mistral_ai", "mistral-large-latest"}, {"xai", "grok-4"}, {"deepseek", "deepseek-chat"}, {"aws.bedrock", "anthropic.claude-sonnet-4-20250514-v1:0"},
		{"azure.ai.openai", "gpt-4.1-mini"}} {
		if _, ok := b.LookupModel(m[0], m[1]); !ok {
			t.Errorf("built-in book does not price %s/%s", m[0], m[1])
		}
	}
	for _, m := range b.Models {
		if m.AsOf == "" {
			t.Errorf("%s has no as_of date", m.Model)
		}
	}
}

func BenchmarkPrice(b *testing.B) {
	bk, err := pricing.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	sp := model("anthropic", "claude-sonnet-4-5-20250929", 12000, 8000, 1000, 700, 0)
	items := make([]pipeline.LineItem, 0, 4)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		items = bk.Price(items[:0], sp, "wf")
	}
	if items[0].Cost == 0 {
		b.Fatal("not priced")
	}
	// CPU time of the whole process per span: on a shared machine the honest figure.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/span")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The offline tokenizer: exact counts under OpenAI's encodings, no network.
func TestTokenizerEstimates(t *testing.T) {
	t.Parallel()
	var tok pricing.Tokenizer
	// "Hello, world!" is 4 tokens in both o200k_base and cl100k_base: Hello , world !
	for _, m := range []string{"gpt-4o", "gpt-3.5-turbo", "claude-haiku-4-5"} {
		n, err := tok.Count(m, []string{"Hello, world!"})
		if err != nil || n != 4 {
			t.Errorf("%s: %d tokens, %v", m, n, err)
		}
	}
	if pricing.Encoding("openai/gpt-4.1-mini") != "o200k_base" || pricing.Encoding("text-embedding-3-small") != "cl100k_base" {
		t.Error("encoding choice")
	}
	sp := &pipeline.Span{Model: "gpt-4o", InputContent: []pipeline.Piece{{Role: pipeline.RoleSystem, Text: "Hello, world!"},
		{Role: pipeline.RoleUser, Text: "Hello, world!"}}, OutputContent: []string{"Hello, world!"}}
	did, err := tok.Estimate(sp)
	if err != nil || !did || sp.Usage.InputTokens != 8 || sp.Usage.OutputTokens != 4 || !sp.Usage.Estimated || sp.InputContent != nil || sp.Operation != pipeline.OpChat {
		t.Fatalf("estimate: %v %v %+v", did, err, sp)
	}
	if sp.Usage.Mix != (pipeline.TokenMix{System: 4, User: 4}) {
		t.Fatalf("mix %+v", sp.Usage.Mix)
	}
	// Reported usage is never overwritten.
	// Reported usage is never overwritten; the mix is still counted.
	sp = &pipeline.Span{Model: "gpt-4o", InputContent: []pipeline.Piece{{Role: pipeline.RoleContext, Text: "Hello, world!"}}, Usage: pipeline.Usage{InputTokens: 100}}
	if did, _ := tok.Estimate(sp); did || sp.Usage.InputTokens != 100 || sp.Usage.Estimated || sp.Usage.Mix.Context != 4 {
		t.Fatalf("reported usage overwritten or mix missing: %+v", sp.Usage)
	}
}

// Audio and image tokens are parts of input/output billed at their own rates; a span that
// shared a GPU node pays its share of the node's time.
func TestMediaTokensAndNodeShare(t *testing.T) {
	t.Parallel()
	b, err := pricing.Parse([]byte(`
version: media
models:
  - {model: voice, input: "2.50", output: "10.00", cache_read: "1.25", audio_input: "40.00", audio_output: "80.00", image_input: "5.00"}
compute:
  - {name: gpu.h100, per_hour: "4.00"}
`))
	if err != nil {
		t.Fatal(err)
	}
	sp := model("", "voice", 10000, 1000, 0, 2000, 0)
	sp.Usage.AudioInputTokens, sp.Usage.ImageInputTokens, sp.Usage.AudioOutputTokens = 3000, 1000, 1500
	// text in 5000*2.50 + cached 1000*1.25 + audio in 3000*40 + image 1000*5 + text out 500*10
	// + audio out 1500*80 = 12500 + 1250 + 120000 + 5000 + 5000 + 120000 = 263750
	if items := b.Price(nil, sp, "wf"); len(items) != 1 || items[0].Cost != 263_750_000 {
		t.Fatalf("media: %+v", items)
	}
	gpu := &pipeline.Span{ComputeClass: "gpu.h100", ComputeShareBP: 2500, StartUnixNano: 0, EndUnixNano: 90e9}
	// 90 s x 25% of a $4.00/h node = $0.025
	if items := b.Price(nil, gpu, "wf"); len(items) != 1 || items[0].Cost != 25_000_000 || items[0].PriceRule != "compute:gpu.h100 share 25.00%" {
		t.Fatalf("node share: %+v", items)
	}
}

// A model call normalisation could not make billable - tokens without a model, a model
// without usage or content - is an unpriced line with the reason, never nothing.
func TestUnpriceableModelCallsAreVisibleLines(t *testing.T) {
	t.Parallel()
	b := book(t)
	for _, sp := range []*pipeline.Span{
		{Operation: pipeline.OpChat, Usage: pipeline.Usage{InputTokens: 100, OutputTokens: 5}, Unpriced: pipeline.UnpricedNoModel},
		{Operation: pipeline.OpChat, Model: "gpt-y", Unpriced: pipeline.UnpricedNoUsage},
	} {
		got := b.Price(nil, sp, "w")
		if len(got) != 1 || got[0].Priced || got[0].Cost != 0 || got[0].UnpricedReason != sp.Unpriced || got[0].Component != pipeline.ComponentModel {
			t.Errorf("%+v: %+v", sp, got)
		}
	}
}
