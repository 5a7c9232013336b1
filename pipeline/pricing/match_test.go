package pricing_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/unitcost/unitcost/pipeline/pricing"
)

// snapshotForms are decorations that name the same model at the same price.
var snapshotForms = []func(name string) string{
	func(n string) string { return n + "-2025-10-06" },
	func(n string) string { return n + "-20250929" },
	func(n string) string { return n + "@20250514" },
	func(n string) string { return n + "-v1:0" },
	func(n string) string { return n + "-latest" },
	func(n string) string { return n + "-001" },
	func(n string) string { return n + "-0709" },
	func(n string) string { return "models/" + n },
	func(n string) string { return "projects/p/locations/us-central1/publishers/x/models/" + n + "@001" },
	func(n string) string { return "openai/" + n },
	func(n string) string { return "global.anthropic." + n + "-20250929-v1:0" },
	func(n string) string { return "us.anthropic." + n + "-v1" },
	func(n string) string {
		return "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic." + n + "-v1:0"
	},
}

// variantSuffixes make a different model, usually at a different price.
var variantSuffixes = []string{"-pro", "-mini", "-nano", "-lite", "-realtime", "-realtime-preview", "-audio", "-audio-preview",
	"-tts", "-transcribe", "-search", "-search-preview", "-search-api", "-preview", "-exp", "-turbo", "-codex", "-codex-mini",
	"-chat", "-chat-latest", "-instruct", "-vision", "-fast", "-thinking", "-deep-research", "-image", "-live", "-max", "-high",
	"-16k", "-32k", ":free", ":extended", "-preview-05-20", "-preview-09-2025"}

// Over the whole built-in book: every model's dated and cloud forms resolve to it, and
// every variant of it the book does not list is unknown (never priced as the base model).
func TestEveryBookModelMatchesItsSnapshotsNeverItsVariants(t *testing.T) {
	t.Parallel()
	b, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{} // every exact name in the book -> its entry
	for _, m := range b.Models {
		for _, n := range append([]string{m.Model}, m.Aliases...) {
			owner[strings.ToLower(n)] = m.Model
		}
	}
	checked := 0
	for _, m := range b.Models {
		name := strings.ToLower(m.Model)
		for _, form := range snapshotForms {
			id := form(name)
			got, ok := b.LookupModel("", id)
			if !ok || got.Model != m.Model {
				t.Errorf("%s: snapshot form %q resolved to %v (%v), want %s", m.Model, id, name0(got), ok, m.Model)
			}
			checked++
		}
		for _, suf := range variantSuffixes {
			for _, id := range []string{name + suf, name + suf + "-2025-10-06", "us.anthropic." + name + suf + "-v1:0", "publishers/x/models/" + name + suf} {
				got, ok := b.LookupModel("", id)
				// The only right answer is the entry that lists the variant's own name.
				want, listed := owner[name+suf]
				if strings.HasSuffix(suf, "-05-20") || strings.HasSuffix(suf, "-2025") {
					want, listed = owner[strings.TrimSuffix(strings.TrimSuffix(name+suf, "-05-20"), "-09-2025")]
				}
				switch {
				case listed && (!ok || got.Model != want):
					t.Errorf("%s: variant %q resolved to %v, want its own entry %s", m.Model, id, name0(got), want)
				case !listed && ok:
					t.Errorf("%s: variant %q priced as %s; it is not in the book and must be unknown", m.Model, id, got.Model)
				}
				checked++
			}
		}
	}
	if checked < 40*(len(snapshotForms)+4*len(variantSuffixes)) {
		t.Fatalf("only %d forms checked", checked)
	}
}

func name0(m *pricing.Model) string {
	if m == nil {
		return "nothing"
	}
	return m.Model
}

func BenchmarkLookup(b *testing.B) {
	bk, err := pricing.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	for _, id := range []string{"gpt-4.1-mini", "claude-sonnet-4-5-20250929", "gpt-4.1-mini-2025-09-09", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "gpt-4o-realtime-preview-2024-12-17"} {
		b.Run(id, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bk.LookupModel("openai", id)
			}
		})
	}
}

// Lookups are remembered per id, safely under concurrent pricing, and the memory is
// bounded: past it ids still resolve, uncached.
func TestLookupCacheConcurrentAndBounded(t *testing.T) {
	t.Parallel()
	b, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func(g int) {
			ok := true
			for i := 0; i < 3000; i++ {
				m, found := b.LookupModel("openai", fmt.Sprintf("gpt-4.1-mini-%04d", i%2000))
				ok = ok && found && m.Model == "gpt-4.1-mini"
				_, found = b.LookupModel("openai", fmt.Sprintf("gpt-4.1-mega-%d-%d", g, i))
				ok = ok && !found
			}
			done <- ok
		}(g)
	}
	for g := 0; g < 4; g++ {
		if !<-done {
			t.Error("a lookup under concurrency gave the wrong entry")
		}
	}
}
