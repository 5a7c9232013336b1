package process_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/process"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

// batches keeps every batch written (concurrently safe).
type batches struct {
	mu sync.Mutex
	b  pipeline.Batch
}

func (c *batches) Write(_ context.Context, b pipeline.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b.LineItems = append(c.b.LineItems, b.LineItems...)
	c.b.Workflows = append(c.b.Workflows, b.Workflows...)
	c.b.Issues = append(c.b.Issues, b.Issues...)
	return nil
}

func (c *batches) get() pipeline.Batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b
}

// A Collector's kafka exporter writes whatever its topic allows; process re-keys those
// records onto the spans topic, whose limit may be far smaller. Re-keying takes the same
// bounded path as ingest: a 2 MB captured prompt on a child (no input usage reported) is
// counted from the whole prompt, then trimmed; 2 MB of captured input on a root that
// reports usage is trimmed; a span that cannot fit even trimmed is dead-lettered with its
// reason. Every record written stays under the spans topic's max.message.bytes (256 KiB
// here), every cost is exact, and nothing is lost. kfake and real Kafka.
func TestOversizedCollectorRecordsAreTrimmedWhenRekeyed(t *testing.T) {
	for _, k := range testenv.AllKafka(2) {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			brokers := k.Addrs(t)
			kcfg := kafka.Defaults()
			kcfg.Brokers = brokers
			kcfg.SpansTopic, kcfg.DeadLetterTopic = testenv.Unique("spans"), testenv.Unique("dlq")
			kcfg.CollectorTopics = []string{testenv.Unique("otlp")}
			kcfg.Group = testenv.Unique("g")
			kcfg.Partitions = 2
			kcfg.SessionTimeout = 6 * time.Second
			ctx := context.Background()

			cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerBatchMaxBytes(8<<20))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			const spansLimit = 256 << 10
			for topic, limit := range map[string]int{kcfg.SpansTopic: spansLimit, kcfg.DeadLetterTopic: spansLimit, kcfg.CollectorTopics[0]: 8 << 20} {
				v := strconv.Itoa(limit)
				if _, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"max.message.bytes": &v}, topic); err != nil {
					t.Fatal(err)
				}
			}

			// One Collector record (otlp_proto, unkeyed) holding two workflows.
			prompt := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 46_000) // ~2 MB
			messages := `[{"role":"user","parts":[{"type":"text","content":"` + prompt + `"}]}]`
			td := ptrace.NewTraces()
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", "answers")
			ss := rs.ScopeSpans().AppendEmpty()
			span := func(trace, id, parent byte, name string, attrs map[string]any) {
				sp := ss.Spans().AppendEmpty()
				sp.SetTraceID(pcommon.TraceID{trace})
				sp.SetSpanID(pcommon.SpanID{trace, id})
				if parent != 0 {
					sp.SetParentSpanID(pcommon.SpanID{trace, parent})
				}
				sp.SetName(name)
				start := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
				sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
				sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
				if err := sp.Attributes().FromRaw(attrs); err != nil {
					t.Fatal(err)
				}
			}
			chat := func(extra map[string]any) map[string]any {
				m := map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}
				for k, v := range extra {
					m[k] = v
				}
				return m
			}
			// Workflow A: the 2 MB prompt on a child that reports output usage only.
			span(0xa, 1, 0, "answer", map[string]any{"unitcost.workflow.name": "qa", "unitcost.workflow.outcome": "completed", "unitcost.outputs.validated": 1})
			span(0xa, 2, 1, "chat gpt-4o-mini", chat(map[string]any{"gen_ai.usage.output_tokens": 300, "gen_ai.input.messages": messages}))
			// Workflow B: a root that is itself a model call carrying 2 MB of captured
			// input and reporting its usage; a small call; and a span of 5,000 short
			// attributes that no trimming can fit.
			span(0xb, 1, 0, "answer", chat(map[string]any{"unitcost.workflow.name": "qa", "unitcost.workflow.outcome": "completed",
				"gen_ai.usage.input_tokens": 5000, "gen_ai.usage.output_tokens": 200, "gen_ai.input.messages": messages}))
			span(0xb, 2, 1, "chat gpt-4o-mini", chat(map[string]any{"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 10}))
			wide := map[string]any{}
			for i := 0; i < 5000; i++ {
				wide[fmt.Sprintf("attr.%d", i)] = strings.Repeat("v", 100)
			}
			span(0xb, 3, 1, "wide", wide)
			pb, err := otlp.Encode(td)
			if err != nil {
				t.Fatal(err)
			}
			if len(pb) < 4<<20 {
				t.Fatalf("record of %d bytes, want over 4 MB", len(pb))
			}
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: kcfg.CollectorTopics[0], Value: pb, Headers: []kgo.RecordHeader{
				{Key: kafka.HeaderContentType, Value: []byte("application/x-protobuf")}, {Key: kafka.HeaderTenant, Value: []byte("acme")}}}).FirstErr(); err != nil {
				t.Fatal(err)
			}

			builtin, err := pricing.Builtin()
			if err != nil {
				t.Fatal(err)
			}
			w := &batches{}
			p, err := process.New(process.Config{FlushInterval: 50 * time.Millisecond, Stitch: stitch.Config{QuietPeriod: 500 * time.Millisecond}},
				kcfg, w, pricing.Single(builtin), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
			if err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- p.Run(rctx) }()
			defer func() { cancel(); <-done }()
			deadline := time.Now().Add(5 * time.Minute) // a liveness bound, not a timing: the race pass on a loaded machine took over 90 s
			for len(w.get().Workflows) < 2 {
				select {
				case err := <-done:
					t.Fatalf("process stopped: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("workflows written: %d of 2", len(w.get().Workflows))
				}
				time.Sleep(50 * time.Millisecond)
			}
			b := w.get()

			var tok pricing.Tokenizer
			n, err := tok.Count("gpt-4o-mini", []string{prompt})
			if err != nil {
				t.Fatal(err)
			}
			// gpt-4o-mini: $0.15 / M input, $0.60 / M output = 150 and 600 nano-dollars per token.
			type want struct {
				cost      pipeline.Money
				in, out   uint64
				estimated bool
			}
			wants := map[pipeline.SpanID]want{
				{0xa, 2}: {pipeline.Money(n*150 + 300*600), n, 300, true},
				{0xb, 1}: {5000*150 + 200*600, 5000, 200, false},
				{0xb, 2}: {1000*150 + 10*600, 1000, 10, false},
			}
			lines := map[pipeline.SpanID]pipeline.LineItem{}
			for _, li := range b.LineItems {
				if li.Component != pipeline.ComponentModel {
					continue
				}
				if _, dup := lines[li.Span.SpanID]; dup {
					t.Errorf("span %s priced twice", li.Span.SpanID)
				}
				lines[li.Span.SpanID] = li
			}
			if len(lines) != len(wants) {
				t.Errorf("%d model lines, want %d", len(lines), len(wants))
			}
			for id, wa := range wants {
				li, ok := lines[id]
				u := li.Span.Usage
				if !ok || !li.Priced || li.Cost != wa.cost || u.InputTokens != wa.in || u.OutputTokens != wa.out || u.Estimated != wa.estimated {
					t.Errorf("span %s: priced %v cost %d, %d in %d out estimated %v; want cost %d, %d in %d out estimated %v (reason %q)",
						id, li.Priced, li.Cost, u.InputTokens, u.OutputTokens, u.Estimated, wa.cost, wa.in, wa.out, wa.estimated, li.UnpricedReason)
				}
				if li.Span.AuthTenant != "acme" {
					t.Errorf("span %s: tenant %q", id, li.Span.AuthTenant)
				}
			}
			issues := map[pipeline.SpanID][]string{}
			for _, is := range b.Issues {
				issues[is.Span.SpanID] = append(issues[is.Span.SpanID], is.Issue)
			}
			stage := "process (re-keying a Collector record)"
			trimmed := fmt.Sprintf("captured content trimmed at %s to fit a Kafka record: gen_ai.input.messages: %d -> 4096 bytes", stage, len(messages))
			if got := issues[pipeline.SpanID{0xa, 2}]; len(got) != 2 ||
				got[0] != fmt.Sprintf("usage estimated at %s from the captured content before it was trimmed (%d input, 0 output tokens)", stage, n) || got[1] != trimmed {
				t.Errorf("issues of the child: %q", got)
			}
			if got := issues[pipeline.SpanID{0xb, 1}]; len(got) != 1 || got[0] != trimmed {
				t.Errorf("issues of the root: %q", got)
			}
			if len(issues) != 2 {
				t.Errorf("issues on %d spans, want 2: %v", len(issues), issues)
			}
			// Both workflows are whole: every span but the dead-lettered one is in one.
			for _, wf := range b.Workflows {
				if wf.Tenant != "acme" && wf.AuthTenant != "acme" {
					t.Errorf("workflow %+v", wf)
				}
			}

			// Every record on the spans topic fits it; the wide span is a dead letter
			// with its reason and its source record.
			// check reads topic until done says it has all it expects (see below), then
			// one more second for anything beyond. (2 minutes at most: a liveness bound for slow race runs.)
			check := func(topic string, done func([]*kgo.Record) bool) []*kgo.Record {
				c, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				var out []*kgo.Record
				end := time.Now().Add(2 * time.Minute)
				for time.Now().Before(end) {
					pctx, cancel := context.WithTimeout(ctx, time.Second)
					out = append(out, c.PollFetches(pctx).Records()...)
					cancel()
					if done(out) && end.Sub(time.Now()) > time.Second {
						end = time.Now().Add(time.Second)
					}
				}
				return out
			}
			countSpans := func(recs []*kgo.Record) int {
				n := 0
				for _, r := range recs {
					if got, err := otlp.Decode(r.Value, otlp.EncodingProto); err == nil {
						n += got.SpanCount()
					}
				}
				return n
			}
			spans := 0
			for _, r := range check(kcfg.SpansTopic, func(recs []*kgo.Record) bool { return countSpans(recs) >= 4 }) {
				if len(r.Value) > spansLimit-16<<10 {
					t.Errorf("spans record of %d bytes", len(r.Value))
				}
				got, err := otlp.Decode(r.Value, otlp.EncodingProto)
				if err != nil {
					t.Fatal(err)
				}
				spans += got.SpanCount()
			}
			if spans != 4 {
				t.Errorf("%d spans re-keyed, want 4", spans)
			}
			dead := check(kcfg.DeadLetterTopic, func(recs []*kgo.Record) bool { return len(recs) >= 1 })
			if len(dead) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dead))
			}
			headers := map[string]string{}
			for _, h := range dead[0].Headers {
				headers[h.Key] = string(h.Value)
			}
			if !strings.Contains(headers[kafka.HeaderReason], `span "wide"`) || !strings.HasPrefix(headers[kafka.HeaderSource], kcfg.CollectorTopics[0]+"/") ||
				headers[kafka.HeaderTenant] != "acme" {
				t.Errorf("dead letter headers %v", headers)
			}
			stub, err := otlp.Decode(dead[0].Value, otlp.EncodingProto)
			if err != nil || stub.SpanCount() != 1 || stub.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID() != (pcommon.SpanID{0xb, 3}) {
				t.Errorf("dead letter: %v %v", stub.SpanCount(), err)
			}
		})
	}
}
