package normalize_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/normalize"
)

// The wire decoder is held to the pdata path: for every payload, the same spans (every
// field) or both failing. These normalizers exercise the configurable paths too (labels
// mapped from attributes, attribute and evaluation rules, tight limits).
func diffNormalizers() []normalize.Normalizer {
	half := 0.5
	return []normalize.Normalizer{
		{},
		{
			Limits:          normalize.Limits{MaxTokens: 5000, MaxStringBytes: 12, MaxReviewSeconds: 60},
			LabelAttributes: map[string]string{"app.tier": "tier", "service.name": "svc", "gen_ai.request.model": "model"},
			Outcomes: normalize.Outcomes{OnError: "escalated", OnOK: normalize.OutcomeNone, Rules: []normalize.Rule{
				{Attribute: "app.result", Equals: "OK", Outcome: "completed"},
				{Attribute: "app.flag", Validated: 2},
				{Evaluation: "quality", MinScore: &half, Outcome: "completed", Validated: 1},
				{Evaluation: "*", Labels: []string{"pass"}, Validated: 1},
			}},
		},
	}
}

// sameAsPdata decodes payload both ways and fails t where they differ.
func sameAsPdata(t *testing.T, n normalize.Normalizer, payload []byte, tenant string) {
	t.Helper()
	var u ptrace.ProtoUnmarshaler
	td, perr := u.UnmarshalTraces(bytes.Clone(payload))
	var want []pipeline.Span
	var rejected error
	if perr == nil {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					var out pipeline.Span
					if err := n.Span(rs.Resource().Attributes(), sp, tenant, &out); err != nil {
						rejected = err
						continue
					}
					want = append(want, out)
				}
			}
		}
	}
	buf := bytes.Clone(payload)
	d := normalize.Decoder{N: n}
	got, err := d.Decode(buf, tenant)
	// A borrowing decoder (its scratch holding another payload's spans) reads the same,
	// and fails the same (it skips the counting pass).
	bd := normalize.Decoder{N: n, Borrow: true}
	if _, err := bd.Decode(richOnce(t), tenant); err != nil {
		t.Fatal(err)
	}
	borrowed, berr := bd.Decode(bytes.Clone(payload), tenant)
	switch {
	case perr != nil:
		if err == nil || berr == nil {
			t.Fatalf("pdata fails (%v), the wire decoder took %d spans (%v), borrowing %d (%v)", perr, len(got), err, len(borrowed), berr)
		}
		return
	case rejected != nil:
		for _, err := range []error{err, berr} {
			if !errors.Is(err, normalize.ErrInvalidSpan) || !errors.Is(err, normalize.ErrWire) {
				t.Fatalf("pdata rejects a span (%v), the wire decoder says %v", rejected, err)
			}
		}
		return
	case err != nil:
		t.Fatalf("pdata takes %d spans, the wire decoder fails: %v", len(want), err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d spans, pdata %d", len(got), len(want))
	}
	if berr != nil || len(borrowed) != len(want) {
		t.Fatalf("borrowing decoder: %d spans, %v; pdata %d", len(borrowed), berr, len(want))
	}
	for i := range borrowed {
		if g, w := contentOf(&borrowed[i]), contentOf(&want[i]); !slices.Equal(g, w) {
			t.Fatalf("borrowed span %d content:\n got %q\nwant %q", i, g, w)
		}
		b, w := borrowed[i], want[i]
		b.InputContent, b.OutputContent, w.InputContent, w.OutputContent = nil, nil, nil, nil
		if !reflect.DeepEqual(b, w) {
			t.Fatalf("borrowed span %d differs:\n got %+v\nwant %+v", i, b, w)
		}
	}
	// Captured content aliases the payload: compare it first (as multisets: the order of
	// texts within one JSON message follows Go's map order on both paths).
	for i := range got {
		if g, w := contentOf(&got[i]), contentOf(&want[i]); !slices.Equal(g, w) {
			t.Fatalf("span %d content:\n got %q\nwant %q", i, g, w)
		}
		got[i].InputContent, got[i].OutputContent = nil, nil
		want[i].InputContent, want[i].OutputContent = nil, nil
	}
	// Everything else is the spans' own: unchanged when the payload's buffer is reused.
	for i := range buf {
		buf[i] = 0xA5
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("span %d differs:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func contentOf(sp *pipeline.Span) []string {
	var out []string
	for _, p := range sp.InputContent {
		out = append(out, "in/"+string(p.Role)+"/"+p.Text)
	}
	for _, s := range sp.OutputContent {
		out = append(out, "out/"+s)
	}
	slices.Sort(out)
	return out
}

// ---- seeds ----

func encode(_ testing.TB, td ptrace.Traces) []byte {
	var m ptrace.ProtoMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		panic(err)
	}
	return b
}

// richPayload holds a span of every family and value type the normaliser reads.
func richPayload(tb testing.TB) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "support-bot")
	ra.PutStr("deployment.environment.name", "prod")
	ra.PutStr("unitcost.tenant", "acme")
	ra.PutStr("app.tier", "gold")
	ra.PutStr("telemetry.sdk.name", "opentelemetry")
	ra.PutStr("traceloop.association.properties.team", "t-res")
	ra.PutStr("traceloop.association.properties.other", "x")
	ra.PutStr("gen_ai.prompt.0.content", "resource-level prompt")
	ra.PutInt("unitcost.label.res", 7)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("scope")
	ss.Scope().Attributes().PutStr("x", "y")
	spans := []map[string]any{
		{"unitcost.workflow.name": "support", "unitcost.workflow.outcome": "Completed", "unitcost.outputs.validated": 3, "app.result": "ok"},
		{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "OpenAI", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
			"gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": "300", "gen_ai.usage.cache_read.input_tokens": 2000.0,
			"gen_ai.usage.reasoning.output_tokens": 400, "openai.response.service_tier": "Flex", "unitcost.label.team_lead": "ann",
			"gen_ai.usage.cost.amount": 0.25, "gen_ai.usage.cost.currency": "eur", "app.flag": true},
		{"traceloop.span.kind": "workflow", "traceloop.workflow.name": "wf", "traceloop.association.properties.tenant_id": "t1",
			"traceloop.association.properties.user_id": "u1", "llm.request.type": "chat", "gen_ai.system": "Anthropic",
			"gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "be brief", "gen_ai.prompt.1.role": "user",
			"gen_ai.prompt.1.content": "hello there", "gen_ai.completion.0.content": "hi"},
		{"openinference.span.kind": "LLM", "llm.provider": "google", "llm.model_name": "gemini-2.5-flash", "llm.token_count.prompt": 10,
			"llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "what?", "input.value": "raw input",
			"output.value": "raw output", "llm.cost.prompt": 0.001, "llm.cost.completion": 0.002},
		{"ai.operationId": "ai.generateText.doGenerate", "ai.model.provider": "openai.chat", "ai.model.id": "gpt-5-nano",
			"ai.usage.promptTokens": 80, "ai.usage.cachedInputTokens": 20, "ai.usage.completionTokens": 5,
			"ai.prompt.messages": `[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"q1"}]},{"role":"assistant","content":"a1"},{"role":"user","content":"q2"}]`,
			"ai.response.text":   "answer"},
		{"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet-4-5",
			"gen_ai.system_instructions": `[{"type":"text","content":"Answer from the passages."}]`,
			"gen_ai.input.messages":      `[{"role":"user","parts":[{"type":"text","content":"How?"}]},{"role":"tool","parts":[{"type":"tool_call_response","response":"Passage 1"}]}]`,
			"gen_ai.output.messages":     `[{"role":"assistant","parts":[{"type":"text","content":"Like so."}]}]`},
		{"langfuse.observation.usage_details": `{"input": 10, "output": 4, "cache_read_input_tokens": 2}`,
			"langfuse.observation.cost_details": `{"input": 0.1, "output": 0.2}`, "langfuse.observation.model.name": "m",
			"langfuse.session.id": "s", "langfuse.user.id": "u", "gen_ai.invocation.internal": "TRUE"},
		{"unitcost.review.role": "agent", "unitcost.review.active_seconds": 120.5, "unitcost.review.queue_seconds": "-3",
			"unitcost.review.outcome": "approved", "unitcost.team": "a-very-long-team-name-over-the-limit", "unitcost.feature": "f\xff\xfe"},
		{"gen_ai.operation.name": "retrieval", "db.system.name": "Qdrant", "unitcost.retrieval.units": 4, "gen_ai.usage.input_tokens": math.Inf(1)},
		{"unitcost.compute.class": "gpu.l4", "unitcost.compute.share": 0.25, "unitcost.step": "embed", "gen_ai.usage.output_tokens": "abc"},
		{"gen_ai.usage.input_tokens": -5, "gen_ai.usage.output_tokens": 1e12, "gen_ai.request.model": "x"},
	}
	for i, attrs := range spans {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1, 2, 3})
		sp.SetSpanID(pcommon.SpanID{byte(i + 1)})
		if i > 0 {
			sp.SetParentSpanID(pcommon.SpanID{1})
		}
		sp.SetName("op " + string(rune('a'+i)))
		sp.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + i))
		sp.SetEndTimestamp(pcommon.Timestamp(1_700_000_002_000_000_000 + i))
		if i%3 == 0 {
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage("boom")
		}
		for k, v := range attrs {
			switch x := v.(type) {
			case int:
				sp.Attributes().PutInt(k, int64(x))
			case float64:
				sp.Attributes().PutDouble(k, x)
			case string:
				sp.Attributes().PutStr(k, x)
			case bool:
				sp.Attributes().PutBool(k, x)
			}
		}
		ev := sp.Events().AppendEmpty()
		ev.SetName("gen_ai.evaluation.result")
		ev.Attributes().PutStr("gen_ai.evaluation.name", "quality")
		ev.Attributes().PutDouble("gen_ai.evaluation.score.value", 0.4+0.1*float64(i%3))
		ev.Attributes().PutStr("gen_ai.evaluation.score.label", []string{"pass", "fail"}[i%2])
		l := sp.Links().AppendEmpty()
		l.SetTraceID(pcommon.TraceID{9})
		l.Attributes().PutInt("k", 1)
	}
	// composite values: read as strings (labels, content), ingest's issue list
	sp := ss.Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1, 2, 3})
	sp.SetSpanID(pcommon.SpanID{0xEE})
	sp.SetName("composite")
	a := sp.Attributes()
	arr := a.PutEmptySlice("gen_ai.input.messages")
	arr.AppendEmpty().SetStr("one")
	m := arr.AppendEmpty().SetEmptyMap()
	m.PutStr("content", "two <&>")
	m.PutDouble("n", 1e21)
	m.PutEmptyBytes("b").FromRaw([]byte{1, 2})
	m.PutEmptySlice("deep").AppendEmpty().SetEmptyMap().PutBool("t", true)
	a.PutEmptyMap("unitcost.label.m").PutStr("k", "v")
	a.PutEmptyBytes("app.tier").FromRaw([]byte("bytes"))
	a.PutDouble("unitcost.label.d", 1e-7)
	a.PutInt("unitcost.label.i", -42)
	iss := a.PutEmptySlice("unitcost.ingest.issues")
	iss.AppendEmpty().SetStr("content trimmed")
	iss.AppendEmpty().SetInt(7)
	iss.AppendEmpty().SetEmptyMap().PutStr("x", "y")
	a.PutBool("unitcost.usage.estimated", true)
	a.PutEmpty("app.result")
	return encode(tb, td)
}

var richBytes = sync.OnceValue(func() []byte { return richPayload(nil) })

func richOnce(testing.TB) []byte { return richBytes() }

// loadgenPayloads are the generator's records, as `loadgen --kafka` writes them.
func loadgenPayloads(tb testing.TB, workflows int) [][]byte {
	tb.Helper()
	ctx := context.Background()
	var out [][]byte
	sink := &loadgen.RecordSink{Topic: "spans", MaxBytes: 900 << 10, Emit: func(_ context.Context, rs []*kgo.Record) error {
		for _, r := range rs {
			out = append(out, r.Value)
		}
		return nil
	}}
	exp, err := otlptrace.New(ctx, sink)
	if err != nil {
		tb.Fatal(err)
	}
	tp := loadgen.NewTracerProvider(exp, 3)
	if _, err := loadgen.Run(ctx, loadgen.Config{Seed: 5, Workflows: workflows}, tp, nil); err != nil {
		tb.Fatal(err)
	}
	if err := tp.Shutdown(ctx); err != nil {
		tb.Fatal(err)
	}
	return out
}

// protobuf builders for payloads pdata's marshaller never writes
func tag(num, wt uint64) []byte { return binary.AppendUvarint(nil, num<<3|wt) }
func lenField(num uint64, b ...[]byte) []byte {
	body := bytes.Join(b, nil)
	return append(binary.AppendUvarint(tag(num, 2), uint64(len(body))), body...)
}
func varintField(num, v uint64) []byte { return binary.AppendUvarint(tag(num, 0), v) }
func fixed64Field(num, v uint64) []byte {
	return binary.LittleEndian.AppendUint64(tag(num, 1), v)
}
func kvStr(k, v string) []byte {
	return append(lenField(1, []byte(k)), lenField(2, lenField(1, []byte(v)))...)
}
func kvInt(k string, v uint64) []byte {
	return append(lenField(1, []byte(k)), lenField(2, varintField(3, v))...)
}

func rawSpan(extra ...[]byte) []byte {
	return bytes.Join(append([][]byte{lenField(1, bytes.Repeat([]byte{7}, 16)), lenField(2, bytes.Repeat([]byte{8}, 8)),
		lenField(5, []byte("raw")), fixed64Field(7, 5), fixed64Field(8, 9)}, extra...), nil)
}

func rawRequest(resource []byte, spans ...[]byte) []byte {
	var ss [][]byte
	for _, s := range spans {
		ss = append(ss, lenField(2, s))
	}
	return lenField(1, lenField(1, resource), lenField(2, ss...))
}

// edgePayloads are hand-built wire forms: unknown fields of every wire type and groups,
// merged repeated messages, the deprecated scope list, profile string indexes, bad ids,
// wrong wire types, a value field repeated.
func edgePayloads() [][]byte {
	res := lenField(1, kvStr("service.name", "svc"))
	model := lenField(9, kvStr("gen_ai.request.model", "gpt-4o"))
	out := [][]byte{
		nil,
		{},
		rawRequest(res, rawSpan(model, lenField(9, kvInt("gen_ai.usage.input_tokens", 12)))),
		// unknown fields everywhere, of every wire type
		append(rawRequest(append(res, varintField(99, 1)...), rawSpan(model, varintField(77, 3), fixed64Field(78, 1),
			lenField(79, []byte("x")), append(tag(80, 5), 1, 2, 3, 4), tag(81, 3), varintField(1, 1), tag(81, 4))), varintField(5, 1)...),
		// a group as an unknown field of the span
		rawRequest(res, rawSpan(model, tag(60, 3), fixed64Field(2, 3), tag(60, 4))),
		// a lone end-group, an illegal wire type
		rawRequest(res, rawSpan(tag(60, 4))),
		rawRequest(res, rawSpan(tag(60, 6))),
		// wrong wire type of a known field
		rawRequest(res, rawSpan(varintField(5, 1))),
		rawRequest(res, rawSpan(lenField(7, []byte("12345678")))),
		rawRequest(res, rawSpan(lenField(9, varintField(1, 3)))),
		// ids of the wrong length, empty ids
		rawRequest(res, rawSpan(lenField(1, []byte{1, 2, 3}))),
		rawRequest(res, rawSpan(lenField(4, []byte{1}))),
		rawRequest(res, rawSpan(lenField(1, nil))),
		rawRequest(res, rawSpan(lenField(4, nil), lenField(4, bytes.Repeat([]byte{3}, 8)))),
		// the resource in two parts, after its spans
		lenField(1, lenField(2, lenField(2, rawSpan(model))), lenField(1, kvStr("service.name", "a")), lenField(1, kvStr("unitcost.tenant", "b"))),
		// deprecated instrumentation_library_spans: checked, not read
		lenField(1, lenField(1000, lenField(2, rawSpan(model)))),
		lenField(1, lenField(1000, lenField(2, rawSpan(varintField(5, 1))))),
		// a repeated value field merges; the last oneof member wins
		rawRequest(res, rawSpan(model, lenField(9, lenField(1, []byte("gen_ai.usage.input_tokens")), lenField(2, varintField(3, 5)),
			lenField(2, lenField(1, []byte("77")))))),
		rawRequest(res, rawSpan(model, lenField(9, lenField(1, []byte("unitcost.team")), lenField(2, lenField(1, []byte("a"))), lenField(2)))),
		// a string index (profiles) as a value
		rawRequest(res, rawSpan(model, lenField(9, lenField(1, []byte("unitcost.team")), lenField(2, varintField(8, 3))))),
		// status twice (merged), a status code beyond the enum
		rawRequest(res, rawSpan(model, lenField(15, varintField(3, 2)), lenField(15, lenField(2, []byte("m"))))),
		rawRequest(res, rawSpan(lenField(15, varintField(3, 1<<32|2)))),
		rawRequest(res, rawSpan(lenField(15, varintField(3, 7)))),
		// key index, a value-less attribute, nested composites
		rawRequest(res, rawSpan(lenField(9, lenField(1, []byte("unitcost.label.x")), varintField(3, 4)),
			lenField(9, lenField(1, []byte("unitcost.label.arr")), lenField(2, lenField(5, lenField(1, lenField(6, lenField(1, kvStr("a", "b"))))))))),
		// field numbers that truncate to a known one
		rawRequest(res, rawSpan(append(binary.AppendUvarint(nil, (1<<32|5)<<3|2), 1, 'z'))),
		// overflowing varint, huge length
		append(rawRequest(res, rawSpan()), append(tag(9, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)...),
		append(tag(1, 2), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
		// field number zero
		{0x00, 0x01},
		// zero trace id: rejected span
		rawRequest(res, rawSpan(lenField(1, make([]byte, 16)))),
		// invalid UTF-8 in keys and values
		rawRequest(res, rawSpan(model, lenField(5, []byte("n\xc3")), lenField(9, kvStr("unitcost.label.\xff", "\xfe")), lenField(9, kvStr("gen_ai.request.model", "\xc3\x28")))),
		// events and links with every field
		rawRequest(res, rawSpan(lenField(11, fixed64Field(1, 1), lenField(2, []byte("gen_ai.evaluation.result")),
			lenField(3, kvStr("gen_ai.evaluation.score.label", "PASS")), varintField(4, 1)),
			lenField(13, lenField(1, make([]byte, 16)), lenField(2, make([]byte, 8)), lenField(3, []byte("ts")), lenField(4, kvStr("a", "b")), varintField(5, 1), append(tag(6, 5), 0, 0, 0, 0)))),
		rawRequest(res, rawSpan(lenField(13, lenField(2, make([]byte, 7))))),
		// resource with an entity ref
		rawRequest(append(res, lenField(3, lenField(1, []byte("s")), lenField(2, []byte("t")), lenField(3, []byte("k")), lenField(4, []byte("d")))...), rawSpan(model)),
		rawRequest(append(res, lenField(3, varintField(3, 1))...), rawSpan(model)),
	}
	return out
}

func seeds(tb testing.TB) [][]byte {
	var out [][]byte
	buf, _ := payload()
	out = append(out, buf, richPayload(tb))
	out = append(out, edgePayloads()...)
	lg := loadgenPayloads(tb, 12)
	if len(lg) > 40 {
		lg = lg[:40]
	}
	out = append(out, lg...)
	// truncations of a rich payload
	rich := richPayload(tb)
	for _, n := range []int{1, 2, 5, 17, 100, len(rich) / 2, len(rich) - 1} {
		out = append(out, rich[:n])
	}
	return out
}

func TestDecoderEqualsPdata(t *testing.T) {
	t.Parallel()
	for _, n := range diffNormalizers() {
		for _, p := range seeds(t) {
			sameAsPdata(t, n, p, "")
			sameAsPdata(t, n, p, "tenant-a")
		}
	}
}

// Every one-byte change of the rich payload: the two paths agree on each.
func TestDecoderEqualsPdataMutated(t *testing.T) {
	t.Parallel()
	rich := richPayload(t)
	n := diffNormalizers()[1]
	for i := range rich {
		for _, x := range []byte{0x00, 0xff} {
			p := bytes.Clone(rich)
			p[i] = x
			sameAsPdata(t, n, p, "")
		}
	}
}

func FuzzDecoderEqualsPdata(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	ns := diffNormalizers()
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, n := range ns {
			sameAsPdata(t, n, b, "")
		}
	})
}

// The wire path reads spans without allocating per attribute: on the benchmark payload
// (ten attributes a span, no captured content) one allocation per payload (the spans).
func TestDecoderAllocations(t *testing.T) {
	buf, n := payload()
	var d normalize.Decoder
	if _, err := d.Decode(buf, ""); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := d.Decode(buf, ""); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations for %d spans", allocs, n)
	}
}

func BenchmarkDecoderLoadgen(b *testing.B) {
	recs := loadgenPayloads(b, 200)
	var d normalize.Decoder
	spans := 0
	for _, r := range recs {
		s, _ := d.Decode(r, "")
		spans += len(s)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		for _, r := range recs {
			if _, err := d.Decode(r, ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*spans), "cpu-ns/span")
}

// A record of many empty spans (two bytes each) is rejected (zero ids) without the
// decoder allocating a span for each before reading them, and a borrowing decoder keeps
// no huge scratch space afterwards.
func TestDecoderBoundsHostileRecords(t *testing.T) {
	empty := lenField(2)
	spans := bytes.Repeat(empty, 200_000)
	payload := lenField(1, lenField(2, spans))
	for _, borrow := range []bool{false, true} {
		d := normalize.Decoder{Borrow: borrow}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := d.Decode(payload, ""); !errors.Is(err, normalize.ErrInvalidSpan) {
			t.Fatalf("borrow %v: %v", borrow, err)
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
			t.Errorf("borrow %v: %d bytes allocated for a %d-byte record", borrow, grew, len(payload))
		}
	}
	// many valid spans: decoded, and the scratch space is not kept
	var many [][]byte
	for i := range 5000 {
		many = append(many, rawSpan(lenField(2, binary.BigEndian.AppendUint64(nil, uint64(i+1)))))
	}
	d := normalize.Decoder{Borrow: true}
	got, err := d.Decode(rawRequest(nil, many...), "")
	if err != nil || len(got) != 5000 {
		t.Fatalf("%d spans, %v", len(got), err)
	}
	sameAsPdata(t, normalize.Normalizer{}, rawRequest(nil, many...), "")
}

func TestDecoderErrorsWrapErrWire(t *testing.T) {
	var d normalize.Decoder
	if _, err := d.Decode([]byte{0x0a, 0x05}, ""); !errors.Is(err, normalize.ErrWire) {
		t.Fatalf("truncated payload: %v", err)
	}
}
