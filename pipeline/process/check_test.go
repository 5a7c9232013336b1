package process

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

// bare is a processor without a Kafka client: records go through add (decode, normalise,
// checks, stitch) and closed traces through price, as in Run.
func bare(t *testing.T) *Processor {
	t.Helper()
	builtin, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	kcfg := kafka.Defaults()
	return &Processor{cfg: Config{MaxSpanDuration: DefaultMaxSpanDuration}, kcfg: kcfg, book: pricing.Single(builtin),
		m: NewMetrics(nil), st: stitch.New(stitch.Config{}), handled: map[stitch.Partition]int64{},
		pending: map[*stitch.Trace]*pending{},
		w:       &capture{}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// capture keeps every batch written, merged.
type capture struct{ b pipeline.Batch }

func (c *capture) Write(_ context.Context, b pipeline.Batch) error {
	c.b.LineItems = append(c.b.LineItems, b.LineItems...)
	c.b.Workflows = append(c.b.Workflows, b.Workflows...)
	c.b.Issues = append(c.b.Issues, b.Issues...)
	return nil
}

type testSpan struct {
	id, parent byte
	start, end uint64
	attrs      map[string]any
}

var t0 = uint64(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC).UnixNano())

func record(t *testing.T, kcfg kafka.Config, offset int64, spans ...testSpan) *kgo.Record {
	t.Helper()
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for _, s := range spans {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{0xcc})
		sp.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, s.id})
		if s.parent != 0 {
			sp.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, s.parent})
		}
		sp.SetName("step")
		sp.SetStartTimestamp(pcommon.Timestamp(s.start))
		sp.SetEndTimestamp(pcommon.Timestamp(s.end))
		if err := sp.Attributes().FromRaw(s.attrs); err != nil {
			t.Fatal(err)
		}
	}
	b, err := otlp.Encode(td)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: kcfg.SpansTopic, Offset: offset, Value: b,
		Timestamp: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
}

// run feeds records to a bare processor and prices everything they close into.
func run(t *testing.T, recs func(kafka.Config) []*kgo.Record) pipeline.Batch {
	t.Helper()
	p := bare(t)
	for _, r := range recs(p.kcfg) {
		p.add(r, time.Now())
	}
	p.closeLocked(p.st.Due(time.Now(), true))
	return p.priceAllLocked()
}

func lineOf(t *testing.T, b pipeline.Batch, span byte, c pipeline.Component) pipeline.LineItem {
	t.Helper()
	for _, li := range b.LineItems {
		if li.Span.SpanID[7] == span && li.Component == c {
			return li
		}
	}
	t.Fatalf("no %s line for span %d in %d lines", c, span, len(b.LineItems))
	return pipeline.LineItem{}
}

func issuesOf(b pipeline.Batch, span byte) []string {
	var out []string
	for _, is := range b.Issues {
		if is.Span.SpanID[7] == span {
			out = append(out, is.Issue)
		}
	}
	return out
}

// A value beyond a limit is never billed at its clamp: the line it prices is kept
// unpriced with the reason (quarantined), and the issue is stored. Values within the
// limits are billed as usual.
func TestValuesBeyondLimitsAreQuarantinedNotBilled(t *testing.T) {
	root := testSpan{1, 0, t0, t0 + 1e9, map[string]any{"unitcost.workflow.name": "qa"}}
	review := func(id byte, secs float64) testSpan {
		return testSpan{id, 1, t0, t0 + 1e9, map[string]any{"unitcost.review.role": "analyst", "unitcost.review.active_seconds": secs}}
	}
	chat := func(id byte, in int64) testSpan {
		return testSpan{id, 1, t0, t0 + 1e9, map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
			"gen_ai.usage.input_tokens": in, "gen_ai.usage.output_tokens": 10}}
	}
	gpu := func(id byte, dur uint64) testSpan {
		return testSpan{id, 1, t0, t0 + dur, map[string]any{"unitcost.compute.class": "gpu.l4"}}
	}
	retrieval := func(id byte, units int64) testSpan {
		return testSpan{id, 1, t0, t0 + 1e9, map[string]any{"gen_ai.operation.name": "retrieval", "unitcost.retrieval.units": units}}
	}
	b := run(t, func(k kafka.Config) []*kgo.Record {
		return []*kgo.Record{record(t, k, 0, root, review(2, 3600), review(3, 40*24*3600), chat(4, 1000), chat(5, 1e9),
			gpu(6, uint64(time.Hour)), gpu(7, uint64(40*24*time.Hour)), retrieval(8, 5), retrieval(9, 1e12))}
	})
	for _, c := range []struct {
		span      byte
		comp      pipeline.Component
		cost      pipeline.Money
		priced    bool
		reasonHas string
	}{
		{2, pipeline.ComponentReview, 60_000_000_000, true, ""},
		{3, pipeline.ComponentReview, 0, false, "quarantined: review active seconds 3.456e+06 above limit"},
		{4, pipeline.ComponentModel, 156_000, true, ""}, // 1000 x $0.15/M + 10 x $0.60/M
		{5, pipeline.ComponentModel, 0, false, "quarantined: input tokens 1000000000 above limit 100000000"},
		{6, pipeline.ComponentCompute, 800_000_000, true, ""}, // an hour of gpu.l4
		{7, pipeline.ComponentCompute, 0, false, "quarantined: span duration 3456000s above limit 2592000s"},
		{8, pipeline.ComponentRetrieval, 100_000, true, ""}, // $0.0001 per call
		{9, pipeline.ComponentRetrieval, 0, false, "quarantined: retrieval units 1000000000000 above limit"},
	} {
		li := lineOf(t, b, c.span, c.comp)
		if li.Priced != c.priced || (c.priced && li.Cost != c.cost) || (!c.priced && li.Cost != 0) ||
			(c.reasonHas != "" && !strings.HasPrefix(li.UnpricedReason, c.reasonHas)) {
			t.Errorf("span %d %s: cost %d priced %v reason %q; want cost %d priced %v reason %q...",
				c.span, c.comp, li.Cost, li.Priced, li.UnpricedReason, c.cost, c.priced, c.reasonHas)
		}
		if !c.priced && len(issuesOf(b, c.span)) != 1 {
			t.Errorf("span %d: issues %q, want the limit's", c.span, issuesOf(b, c.span))
		}
	}
	if retr := lineOf(t, b, 8, pipeline.ComponentRetrieval); retr.Quantity != 5 {
		t.Errorf("retrieval within the limit: %+v", retr)
	}
}

// A span id used twice in one request, or twice in a trace with different content, is
// recorded as an issue on the span kept; an identical copy from another record (Kafka's
// at-least-once redelivery) is not an issue. Either way one line is priced.
func TestDuplicateSpanIDsAreRecorded(t *testing.T) {
	root := testSpan{1, 0, t0, t0 + 1e9, map[string]any{"unitcost.workflow.name": "qa"}}
	chat := func(id byte, in int64) testSpan {
		return testSpan{id, 1, t0, t0 + 1e9, map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
			"gen_ai.usage.input_tokens": in}}
	}
	b := run(t, func(k kafka.Config) []*kgo.Record {
		return []*kgo.Record{
			record(t, k, 0, root, chat(2, 1000), chat(2, 5000)), // the same id twice in one request
			record(t, k, 1, chat(3, 1000)),
			record(t, k, 2, chat(3, 1000)), // redelivered
			record(t, k, 3, chat(4, 1000)),
			record(t, k, 4, chat(4, 9000)), // another span under the same id
		}
	})
	if len(b.LineItems) != 3 {
		t.Fatalf("%d line items, want one per span id (3)", len(b.LineItems))
	}
	for span, want := range map[byte]string{
		2: "duplicate span id in one request; the second span was dropped",
		3: "",
		4: "duplicate span id with different content in the trace; the later span was dropped",
	} {
		got := strings.Join(issuesOf(b, span), "; ")
		if got != want {
			t.Errorf("span %d: issues %q, want %q", span, got, want)
		}
		if li := lineOf(t, b, span, pipeline.ComponentModel); li.Span.Usage.InputTokens != 1000 {
			t.Errorf("span %d: the first copy must be kept, got %d input tokens", span, li.Span.Usage.InputTokens)
		}
	}
}

// Times the tables cannot store (before 2000, after 2100, 0, max uint64 read as a negative
// int64) are replaced with an issue, never wrapped; an end before the start is recorded
// and gives duration 0.
func TestSpanTimesAreStorableOrRecorded(t *testing.T) {
	y2200 := uint64(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	rec := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	for _, c := range []struct {
		name       string
		start, end uint64
		wantStart  int64
		wantEnd    int64
		issue      string
	}{
		{"valid", t0, t0 + 2e9, int64(t0), int64(t0) + 2e9, ""},
		{"end before start", t0 + 5e9, t0, int64(t0) + 5e9, int64(t0) + 5e9, "end before start by 5s; duration 0"},
		{"start in 2200", y2200, t0, int64(t0), int64(t0), "start time " + "7258118400000000000 (2200-01-01T00:00:00Z)"},
		{"start max uint64", ^uint64(0), t0, int64(t0), int64(t0), "start time 18446744073709551615"},
		{"zero times", 0, 0, rec, rec, "both set to the record's time"},
		{"end in 2200", t0, y2200, int64(t0), int64(t0), "end time 7258118400000000000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := run(t, func(k kafka.Config) []*kgo.Record {
				return []*kgo.Record{record(t, k, 0, testSpan{1, 0, c.start, c.end, map[string]any{"unitcost.workflow.name": "qa"}})}
			})
			if len(b.Workflows) != 1 {
				t.Fatalf("%d workflows", len(b.Workflows))
			}
			w := b.Workflows[0]
			if w.StartUnixNano != c.wantStart || w.EndUnixNano != c.wantEnd {
				t.Errorf("stored %d..%d, want %d..%d", w.StartUnixNano, w.EndUnixNano, c.wantStart, c.wantEnd)
			}
			got := strings.Join(issuesOf(b, 1), "; ")
			if (c.issue == "") != (got == "") || !strings.Contains(got, c.issue) {
				t.Errorf("issues %q, want one containing %q", got, c.issue)
			}
		})
	}
}

// Every count on a span is checked against its limits and a value beyond them is never
// counted or billed as the bound: validated outputs (the denominator of cost per
// validated output) beyond the limit count 0 with the issue, not 1e8; a negative token
// count, negative retrieval units (which used to bill one query), a compute share above 1
// (which used to bill the whole node), audio tokens above the input they are part of and
// an end before the start (which billed compute for 0 s) each leave their line unpriced
// with the reason. Values within the limits are billed.
func TestValidatedOutputsAndOtherCountsBeyondLimitsAreNotCounted(t *testing.T) {
	root := testSpan{1, 0, t0, t0 + 1e9, map[string]any{"unitcost.workflow.name": "qa", "unitcost.workflow.outcome": "completed",
		"unitcost.outputs.validated": int64(1e12)}}
	chat := func(id byte, attrs map[string]any) testSpan {
		a := map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.output_tokens": 10}
		for k, v := range attrs {
			a[k] = v
		}
		return testSpan{id, 1, t0, t0 + 1e9, a}
	}
	b := run(t, func(k kafka.Config) []*kgo.Record {
		return []*kgo.Record{record(t, k, 0, root,
			chat(2, map[string]any{"gen_ai.usage.input_tokens": -1000}),
			testSpan{3, 1, t0, t0 + 1e9, map[string]any{"gen_ai.operation.name": "retrieval", "unitcost.retrieval.units": -5}},
			testSpan{4, 1, t0, t0 + uint64(time.Hour), map[string]any{"unitcost.compute.class": "gpu.l4", "unitcost.compute.share": 3.0}},
			chat(5, map[string]any{"gen_ai.usage.input_tokens": 100, "gen_ai.usage.audio.input_tokens": 500}),
			chat(6, map[string]any{"gen_ai.usage.input_tokens": 1000}),
			testSpan{7, 1, t0, t0 + 1e9, map[string]any{"unitcost.review.role": "analyst", "unitcost.review.active_seconds": -60}},
			testSpan{8, 1, t0, t0 + uint64(time.Hour), map[string]any{"unitcost.compute.class": "gpu.l4", "unitcost.compute.share": 0.5}},
			testSpan{9, 1, t0 + 5e9, t0, map[string]any{"unitcost.compute.class": "gpu.l4"}},
		)}
	})
	if len(b.Workflows) != 1 || b.Workflows[0].ValidatedOutputs != 0 || b.Workflows[0].Outcome != "completed" {
		t.Fatalf("workflows %+v", b.Workflows)
	}
	if got := issuesOf(b, 1); len(got) != 1 || got[0] != "validated outputs 1000000000000 above limit 100000000; not counted" {
		t.Errorf("root issues %q", got)
	}
	for _, c := range []struct {
		span   byte
		comp   pipeline.Component
		cost   pipeline.Money
		reason string
	}{
		{2, pipeline.ComponentModel, 0, "quarantined: input tokens -1000 below limit 0; not counted"},
		{3, pipeline.ComponentRetrieval, 0, "quarantined: retrieval units -5 below limit 0; not counted"},
		{4, pipeline.ComponentCompute, 0, "quarantined: compute share 3 above limit 1; not counted"},
		{5, pipeline.ComponentModel, 0, "quarantined: audio input tokens 500 above limit 100 (the input tokens they are part of); not counted"},
		{6, pipeline.ComponentModel, 156_000, ""}, // 1000 x $0.15/M + 10 x $0.60/M
		{7, pipeline.ComponentReview, 0, "quarantined: review active seconds -60 below limit 0; not counted"},
		{8, pipeline.ComponentCompute, 400_000_000, ""}, // half an hour's worth of gpu.l4 ($0.80/h)
		{9, pipeline.ComponentCompute, 0, "quarantined: end before start by 5s; duration 0"},
	} {
		li := lineOf(t, b, c.span, c.comp)
		if li.Cost != c.cost || li.Priced != (c.reason == "") || li.UnpricedReason != c.reason || (c.reason != "" && li.Quantity != 0) {
			t.Errorf("span %d %s: cost %d priced %v quantity %v reason %q; want cost %d reason %q",
				c.span, c.comp, li.Cost, li.Priced, li.Quantity, li.UnpricedReason, c.cost, c.reason)
		}
	}
	if li := lineOf(t, b, 2, pipeline.ComponentModel); li.Span.Usage.InputTokens != 0 || li.Span.Usage.OutputTokens != 10 {
		t.Errorf("a count beyond its limit is stored as 0, never the bound: %+v", li.Span.Usage)
	}
}

// A dead letter never exceeds its topic's limit: an undecodable record from a Collector
// topic that allows larger records keeps its first bytes, and the reason says so (else
// every flush would fail on MESSAGE_TOO_LARGE and hold the partition).
func TestDeadLettersFitTheirTopic(t *testing.T) {
	p := bare(t)
	p.deadMax = 64 << 10
	junk := append([]byte{0x0a, 0xff, 0xff, 0xff, 0x7f}, make([]byte, 300<<10)...)
	p.add(&kgo.Record{Topic: p.kcfg.CollectorTopics[0], Partition: 1, Offset: 7, Value: junk}, time.Now())
	if len(p.produce) != 1 {
		t.Fatalf("%d records to produce", len(p.produce))
	}
	r := p.produce[0]
	reason := ""
	for _, h := range r.Headers {
		if h.Key == kafka.HeaderReason {
			reason = string(h.Value)
		}
	}
	if r.Topic != p.kcfg.DeadLetterTopic || len(r.Value) != 56<<10 || !strings.HasSuffix(reason, "(value cut from 307205 to its first 57344 bytes to fit the dead-letter topic)") {
		t.Fatalf("dead letter of %d bytes to %s: %q", len(r.Value), r.Topic, reason)
	}
}
