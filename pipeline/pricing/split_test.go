package pricing

import (
	"strings"
	"testing"
)

// Text without a run of over maxRun same-class bytes is counted whole (exactly as
// before); a long run is cut at UTF-8 boundaries, every byte kept once, so one hostile
// prompt of 2 MB without a space is counted in seconds, not hours.
func TestSplitRunsBoundsTheRunsEncodedWhole(t *testing.T) {
	prose := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 100)
	var segs []string
	splitRuns(prose, func(s string) { segs = append(segs, s) })
	if len(segs) != 1 || segs[0] != prose {
		t.Fatalf("prose cut into %d pieces", len(segs))
	}
	long := strings.Repeat("é", 1000) + " tail " + strings.Repeat(" ", 600)
	segs = nil
	splitRuns(long, func(s string) { segs = append(segs, s) })
	if strings.Join(segs, "") != long {
		t.Fatal("bytes lost or repeated")
	}
	for _, s := range segs {
		run, space := 0, false
		for k := 0; k < len(s); k++ {
			sp := s[k] == ' '
			if sp != space {
				space, run = sp, 0
			}
			if run++; run > maxRun+1 {
				t.Fatalf("piece %q... holds a run over %d bytes", s[:8], maxRun)
			}
		}
	}
	if len(segs) < 8 {
		t.Fatalf("%d pieces", len(segs))
	}
	var tok Tokenizer
	n, err := tok.Count("gpt-4o", []string{strings.Repeat("x", 2<<20)})
	if err != nil || n < 200_000 || n > 300_000 {
		t.Fatalf("2 MiB of x: %d tokens, %v", n, err)
	}
}
