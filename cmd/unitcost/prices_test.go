package main

import (
	"strings"
	"testing"
)

// `prices diff` against the pinned LiteLLM snapshot: with the explanations nothing is left;
// without them the differences are listed tier by tier.
func TestPricesDiff(t *testing.T) {
	out, err := run(t, "prices", "diff", "builtin", "../../testdata/prices/litellm.json", "--explained", "../../deploy/prices/explained-differences.yaml")
	if err != nil || !strings.Contains(out, "vs litellm: 0 difference(s) not explained") {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = run(t, "prices", "diff", "builtin", "../../testdata/prices/genai-prices.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"deepseek-chat  [book entry deepseek-chat; genai-prices deepseek/deepseek-chat]",
		"    standard input                     book 0.28           catalog 0.135"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, "prices", "show", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "--provider", "aws.bedrock")
	if err != nil || !strings.Contains(out, "  standard >200000               6.600000    24.750000     0.660000     8.250000    13.200000") {
		t.Fatalf("%v\n%s", err, out)
	}
}
