package benchdata

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline"
)

// TestGenerateIsPinned pins what the generator writes, field by field, for both shapes:
// the benchmarks' figures (and databases kept between runs) are comparable only while it
// writes exactly this. The digests were taken from the two benchmarks' own generators
// before they were merged here (checked equal at 5, 250,003 and 1,000,000 line items).
func TestGenerateIsPinned(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		labels bool
		digest string
	}{
		{true, "a7fe81b3a91aad3db9a31cce69ea573dcb6980f0393d195cd12615f720afd639"},
		{false, "5607d4561abc6ae09d19c0c6e992a8ec86df54fec73fea7ef519a0799696e6bf"},
	} {
		h := sha256.New()
		var batches []int
		workflows, failed := 0, 0
		err := Generate(Options{LineItems: 250_003, End: end, Labels: c.labels}, func(b pipeline.Batch) error {
			batches = append(batches, len(b.LineItems))
			for _, w := range b.Workflows {
				fmt.Fprintf(h, "%+v\n", w)
				workflows++
				if w.Outcome == "failed" {
					failed++
				}
				if w.StartUnixNano < end.Add(-Window).UnixNano() || w.StartUnixNano >= end.UnixNano() {
					t.Fatalf("workflow %s starts at %d, outside the window", w.ID, w.StartUnixNano)
				}
			}
			for _, li := range b.LineItems {
				s := *li.Span
				li.Span = nil
				fmt.Fprintf(h, "%+v %+v\n", li, s)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(batches); got != "[100000 100000 50000]" || workflows != 50_000 {
			t.Errorf("labels=%v: batches %s, %d workflows; want [100000 100000 50000], 50000", c.labels, got, workflows)
		}
		if (failed > 0) != c.labels {
			t.Errorf("labels=%v: %d failed workflows", c.labels, failed)
		}
		if got := fmt.Sprintf("%x", h.Sum(nil)); got != c.digest {
			t.Errorf("labels=%v: digest %s, want %s", c.labels, got, c.digest)
		}
	}
}

func TestGenerateRefusesLessThanAWorkflow(t *testing.T) {
	t.Parallel()
	if err := Generate(Options{LineItems: 4}, func(pipeline.Batch) error { return nil }); err == nil {
		t.Fatal("4 line items: want an error")
	}
}
