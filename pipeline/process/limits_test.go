package process

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/otlp"
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

// Validated outputs summed from outcome rules (here the default: one per passing
// gen_ai.evaluation.result event) are held to the same limit as a count on the root: a
// hostile trace of many passing evaluations does not invent outputs.
func TestValidatedOutputsFromRulesAreLimited(t *testing.T) {
	for _, c := range []struct {
		max       uint64
		validated uint64
		issue     string
	}{
		{10, 4, ""},
		{3, 0, "validated outputs 4 (summed from the outcome rules matched) above limit 3; not counted"},
	} {
		p := bare(t)
		p.cfg.Limits = normalize.Limits{MaxValidatedOutputs: c.max}
		p.norm = normalize.Normalizer{Limits: p.cfg.Limits}
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
		for id := byte(1); id <= 5; id++ {
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(pcommon.TraceID{0xcd})
			sp.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, id})
			sp.SetName("step")
			sp.SetStartTimestamp(pcommon.Timestamp(t0))
			sp.SetEndTimestamp(pcommon.Timestamp(t0 + 1e9))
			if id == 1 {
				sp.Attributes().PutStr("unitcost.workflow.name", "qa")
				continue
			}
			sp.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, 1})
			ev := sp.Events().AppendEmpty()
			ev.SetName("gen_ai.evaluation.result")
			ev.Attributes().PutStr("gen_ai.evaluation.name", "check")
			ev.Attributes().PutStr("gen_ai.evaluation.score.label", "pass")
		}
		b, err := otlp.Encode(td)
		if err != nil {
			t.Fatal(err)
		}
		p.add(&kgo.Record{Topic: p.kcfg.SpansTopic, Value: b, Timestamp: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}, time.Now())
		p.closeLocked(p.st.Due(time.Now(), true))
		batch := p.priceAllLocked()
		if len(batch.Workflows) != 1 || batch.Workflows[0].ValidatedOutputs != c.validated {
			t.Fatalf("limit %d: workflows %+v, want %d validated outputs", c.max, batch.Workflows, c.validated)
		}
		if got := strings.Join(issuesOf(batch, 1), "; "); got != c.issue {
			t.Errorf("limit %d: root issues %q, want %q", c.max, got, c.issue)
		}
	}
}
