package pricing_test

import (
	"strings"
	"testing"

	"github.com/pkoukk/tiktoken-go"

	"github.com/unitcost/unitcost/pipeline/pricing"
)

// The count memo never changes a figure: every count, first or remembered, short or
// long, equals tiktoken's own encoding of the text.
func TestCountMemoIsExact(t *testing.T) {
	t.Parallel()
	var tok pricing.Tokenizer
	if _, err := tok.Count("", nil); err != nil { // loads the offline tables
		t.Fatal(err)
	}
	texts := []string{"", "a", " ", "Hello, world!", "How do I rotate my API key?", "Answer from the retrieved passages only.",
		"Open Settings, then API keys, then Rotate.", "héllo wörld 你好 🙂", "  \n\t  ", strings.Repeat("Passage 1: API keys are managed under Settings. ", 40)}
	for _, m := range []string{"gpt-4o", "claude-sonnet-4-5"} {
		enc, err := tiktoken.GetEncoding(pricing.Encoding(m))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			want := uint64(len(enc.EncodeOrdinary(s)))
			for range 3 {
				if n, err := tok.Count(m, []string{s}); err != nil || n != want {
					t.Fatalf("%s %q: %d tokens (%v), tiktoken %d", m, s, n, err, want)
				}
			}
		}
	}
	// pinned: the loadgen's captured texts under cl100k_base
	for s, want := range map[string]uint64{"How do I rotate my API key?": 8, "Open Settings, then API keys, then Rotate.": 10} {
		if n, _ := tok.Count("claude-sonnet-4-5", []string{s}); n != want {
			t.Errorf("%q: %d tokens, want %d", s, n, want)
		}
	}
}
