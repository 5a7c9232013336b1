package process

import (
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/normalize"
)

// Validated outputs and retrieval units have limits of their own
// (process.limits.max_validated_outputs, max_retrieval_units), not max_tokens: a token limit
// lowered below them leaves them counted, and a count beyond its own limit is not counted
// (validated outputs 0 with the issue on the root; the retrieval line quarantined), on both
// decoders.
func TestValidatedOutputsAndRetrievalUnitsHaveTheirOwnLimits(t *testing.T) {
	lim := normalize.Limits{MaxTokens: 5_000, MaxValidatedOutputs: 10_000, MaxRetrievalUnits: 10_000}
	for _, c := range []struct {
		name      string
		count     int64 // validated outputs on the root and units on the retrieval span
		validated uint64
		rootIssue string
		units     float64
		cost      pipeline.Money // the builtin default retrieval rate: $0.0001 per call
		reason    string
	}{
		{"within their limits, above max_tokens", 6_000, 6_000, "", 6_000, 100_000, ""},
		{"above their limits", 20_000, 0, "validated outputs 20000 above limit 10000; not counted",
			0, 0, "quarantined: retrieval units 20000 above limit 10000; not counted"},
	} {
		for _, wire := range []bool{false, true} {
			t.Run(c.name, func(t *testing.T) {
				p := bare(t)
				p.norm = normalize.Normalizer{Limits: lim}
				if wire {
					p.wire = &normalize.Decoder{N: normalize.Normalizer{Limits: lim}, Borrow: true}
				}
				p.add(record(t, p.kcfg, 0,
					testSpan{1, 0, t0, t0 + 1e9, map[string]any{"unitcost.workflow.name": "qa", "unitcost.workflow.outcome": "completed",
						"unitcost.outputs.validated": c.count}},
					testSpan{2, 1, t0, t0 + 1e9, map[string]any{"gen_ai.operation.name": "retrieval", "unitcost.retrieval.units": c.count}},
					testSpan{3, 1, t0, t0 + 1e9, map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
						"gen_ai.usage.input_tokens": 6_000}},
				), time.Now())
				p.closeLocked(p.st.Due(time.Now(), true))
				b := p.priceAllLocked()
				if len(b.Workflows) != 1 || b.Workflows[0].ValidatedOutputs != c.validated {
					t.Fatalf("workflows %+v, want one with %d validated outputs", b.Workflows, c.validated)
				}
				if got := strings.Join(issuesOf(b, 1), "; "); got != c.rootIssue {
					t.Errorf("root issues %q, want %q", got, c.rootIssue)
				}
				retr := lineOf(t, b, 2, pipeline.ComponentRetrieval)
				if retr.Priced != (c.reason == "") || retr.UnpricedReason != c.reason || retr.Quantity != c.units || retr.Cost != c.cost {
					t.Errorf("retrieval line: priced %v quantity %v cost %d reason %q; want quantity %v cost %d reason %q",
						retr.Priced, retr.Quantity, retr.Cost, retr.UnpricedReason, c.units, c.cost, c.reason)
				}
				// The token limit still holds for tokens.
				if li := lineOf(t, b, 3, pipeline.ComponentModel); li.Priced || li.Cost != 0 ||
					li.UnpricedReason != "quarantined: input tokens 6000 above limit 5000; not counted" {
					t.Errorf("model line: priced %v cost %d reason %q", li.Priced, li.Cost, li.UnpricedReason)
				}
			})
		}
	}
}
