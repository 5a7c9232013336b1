package process

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/semconv"
)

// forged is a trace of a workflow root and one call (span id 2) whose client set
// unitcost's reserved marks itself: a made-up issue and "usage estimated". With
// markedBy, the call carries instead the marks that stage would have written.
func forged(trace byte, markedBy string) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for _, id := range []byte{1, 2} {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{trace})
		sp.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, id})
		sp.SetName("step")
		sp.SetStartTimestamp(pcommon.Timestamp(t0))
		sp.SetEndTimestamp(pcommon.Timestamp(t0 + 1e9))
		a := sp.Attributes()
		if id == 1 {
			a.PutStr(semconv.WorkflowName, "qa")
			continue
		}
		sp.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, 1})
		a.PutStr(semconv.GenAIProviderName, "openai")
		a.PutStr(semconv.GenAIRequestModel, "gpt-4o-mini")
		a.PutInt(semconv.GenAIInputTokens, 1000)
		iss := a.PutEmptySlice(semconv.IngestIssues)
		if markedBy != "" {
			iss.AppendEmpty().SetStr("captured content trimmed at " + markedBy)
		} else {
			iss.AppendEmpty().SetStr("forged")
		}
		a.PutBool(semconv.UsageEstimated, true)
	}
	return td
}

// A client cannot forge unitcost's own marks (semconv.Reserved) nor pass them off, on any
// path: through ingest (kafka.Bound) and through a Collector's topic (re-keyed by
// process through Bound) its values are removed, with an issue naming what was removed;
// on a record something else wrote straight onto the spans topic they are ignored, with
// an issue. The marks Bound writes itself still count. The call is billed the same
// (1,000 input tokens of gpt-4o-mini, $0.00015) on every path: only the flags differ.
func TestClientCannotForgeReservedMarks(t *testing.T) {
	const (
		removedAt = "attribute unitcost.ingest.issues set by the client removed at %s: it is reserved for unitcost's own marks (value [\"forged\"])" +
			"; attribute unitcost.usage.estimated set by the client removed at %s: it is reserved for unitcost's own marks (value true)"
		ignored = "attribute unitcost.ingest.issues ignored: it is reserved for unitcost ingest and this record did not come through it" +
			"; attribute unitcost.usage.estimated ignored: it is reserved for unitcost ingest and this record did not come through it"
		rekeyStage = "process (re-keying a Collector record)"
	)
	raw := func(t *testing.T, topic string, td ptrace.Traces, headers ...kgo.RecordHeader) *kgo.Record {
		b, err := otlp.Encode(td)
		if err != nil {
			t.Fatal(err)
		}
		return &kgo.Record{Topic: topic, Key: []byte("k"), Value: b, Headers: headers,
			Timestamp: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	}
	origin := kgo.RecordHeader{Key: kafka.HeaderOrigin, Value: []byte(kafka.OriginUnitcost)}
	cases := []struct {
		name      string
		recs      func(t *testing.T, p *Processor) []*kgo.Record
		issues    string
		estimated bool
		// cutover is process.trust_unstamped_before (records are stamped at 12:00).
		cutover time.Time
	}{
		{"ingest", func(t *testing.T, p *Processor) []*kgo.Record {
			recs, err := kafka.TraceRecords(forged(0xa1, ""), "", p.kcfg.SpansTopic, p.kcfg.MaxRecordBytes)
			if err != nil {
				t.Fatal(err)
			}
			return recs
		}, strings.ReplaceAll(removedAt, "%s", "ingest"), false, time.Time{}},
		{"collector topic, re-keyed", func(t *testing.T, p *Processor) []*kgo.Record {
			p.add(raw(t, p.kcfg.CollectorTopics[0], forged(0xa2, "")), time.Now())
			recs := p.produce
			p.produce = nil
			if len(recs) != 1 || recs[0].Topic != p.kcfg.SpansTopic {
				t.Fatalf("re-key produced %d records, want 1 for the spans topic", len(recs))
			}
			return recs
		}, strings.ReplaceAll(removedAt, "%s", rekeyStage), false, time.Time{}},
		{"spans topic, not written by unitcost", func(t *testing.T, p *Processor) []*kgo.Record {
			return []*kgo.Record{raw(t, p.kcfg.SpansTopic, forged(0xa3, ""))}
		}, ignored, false, time.Time{}},
		{"spans topic, a forged origin value", func(t *testing.T, p *Processor) []*kgo.Record {
			return []*kgo.Record{raw(t, p.kcfg.SpansTopic, forged(0xa4, ""), kgo.RecordHeader{Key: kafka.HeaderOrigin, Value: []byte("x")})}
		}, ignored, false, time.Time{}},
		{"written by unitcost", func(t *testing.T, p *Processor) []*kgo.Record {
			return []*kgo.Record{raw(t, p.kcfg.SpansTopic, forged(0xa5, "ingest"), origin)}
		}, "captured content trimmed at ingest", true, time.Time{}},
		// R1-1: an ingest older than the origin header wrote its marks on records without
		// it. Before process.trust_unstamped_before they count; after it (a Collector
		// writing straight to the spans topic), or with the header set to anything else,
		// or on a Collector topic, they do not.
		{"spans topic, unstamped, before the upgrade cut-over", func(t *testing.T, p *Processor) []*kgo.Record {
			return []*kgo.Record{raw(t, p.kcfg.SpansTopic, forged(0xa6, "ingest"))}
		}, "captured content trimmed at ingest", true, time.Date(2026, 11, 1, 12, 0, 1, 0, time.UTC)},
		{"spans topic, unstamped, at the upgrade cut-over", func(t *testing.T, p *Processor) []*kgo.Record {
			return []*kgo.Record{raw(t, p.kcfg.SpansTopic, forged(0xa7, ""))}
		}, ignored, false, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)},
		{"spans topic, a forged origin value before the cut-over", func(t *testing.T, p *Processor) []*kgo.Record {
			return []*kgo.Record{raw(t, p.kcfg.SpansTopic, forged(0xa8, ""), kgo.RecordHeader{Key: kafka.HeaderOrigin, Value: []byte("x")})}
		}, ignored, false, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)},
		{"collector topic before the cut-over, re-keyed", func(t *testing.T, p *Processor) []*kgo.Record {
			p.add(raw(t, p.kcfg.CollectorTopics[0], forged(0xa9, "")), time.Now())
			recs := p.produce
			p.produce = nil
			return recs
		}, strings.ReplaceAll(removedAt, "%s", rekeyStage), false, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)},
	}
	for _, wire := range []bool{false, true} {
		for _, c := range cases {
			name := c.name + "/pdata"
			if wire {
				name = c.name + "/wire"
			}
			t.Run(name, func(t *testing.T) {
				p := bare(t)
				p.cfg.TrustUnstampedBefore = c.cutover
				if wire {
					p.wire = &normalize.Decoder{Borrow: true}
				}
				p.rekey = kafka.Bound{Topic: p.kcfg.SpansTopic, DeadLetterTopic: p.kcfg.DeadLetterTopic, MaxRecordBytes: p.kcfg.MaxRecordBytes, Stage: rekeyStage}
				for _, r := range c.recs(t, p) {
					p.add(r, time.Now())
				}
				p.closeLocked(p.st.Due(time.Now(), true))
				b := p.priceAllLocked()
				if got := strings.Join(issuesOf(b, 2), "; "); got != c.issues {
					t.Errorf("issues of the call:\n got %q\nwant %q", got, c.issues)
				}
				if got := issuesOf(b, 1); len(got) != 0 {
					t.Errorf("issues of the root: %q, want none", got)
				}
				li := lineOf(t, b, 2, pipeline.ComponentModel)
				if li.Span.Usage.Estimated != c.estimated || li.Cost != 150_000 || !li.Priced || li.Span.Usage.InputTokens != 1000 {
					t.Errorf("call line: estimated %v cost %d priced %v input %d; want estimated %v, 150000 nano-dollars, priced, 1000",
						li.Span.Usage.Estimated, li.Cost, li.Priced, li.Span.Usage.InputTokens, c.estimated)
				}
			})
		}
	}
}
