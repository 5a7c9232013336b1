package stack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
)

// builtinConfig is testConfig with the built-in price book (what loadgen's truth mirrors).
func builtinConfig(t *testing.T, brokers []string, st *store.Store) config.Config {
	cfg := testConfig(t, brokers, st)
	cfg.Process.PriceBook = ""
	return cfg
}

func waitCounts(t *testing.T, st *store.Store, workflows, lines uint64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var w, l uint64
	var err error
	for time.Now().Before(deadline) {
		if w, l, err = st.Counts(context.Background()); err == nil && w == workflows && l == lines {
			return
		}
		if w > workflows || l > lines {
			t.Fatalf("double counting: %d workflows, %d line items; want %d, %d", w, l, workflows, lines)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("have %d workflows, %d line items (err %v); want %d, %d", w, l, err, workflows, lines)
}

// checkTruth compares every workflow's cost and every unit-economics figure exactly.
func checkTruth(t *testing.T, st *store.Store, truth *loadgen.Truth, from, to time.Time) {
	t.Helper()
	ctx := context.Background()
	for _, tenant := range []string{"", "acme", "globex"} {
		got, err := st.UnitEconomics(ctx, from, to, tenant)
		if err != nil {
			t.Fatal(err)
		}
		sameFigures(t, "line items, tenant "+tenant, got, truth.ByType(tenant))
	}
	checkRollups(t, st, truth, from, to)
	checkLabels(t, st, truth, from, to)
	for _, w := range truth.Workflows {
		cost, lines, err := st.WorkflowCost(ctx, w.Tenant, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cost != w.Cost || lines != uint64(w.LineItems) {
			t.Errorf("workflow %s (%s): %s over %d lines, want %s over %d", w.ID, w.Type, cost, lines, w.Cost, w.LineItems)
		}
	}
}

// checkLabels compares the cost breakdowns by team and by feature, per tenant, with the
// ground truth to the nano-dollar: late reviews handled by an instance that did not remember
// their workflow (after a restart, a rebalance, beyond closed_memory) count under their
// workflow's labels.
func checkLabels(t *testing.T, st *store.Store, truth *loadgen.Truth, from, to time.Time) {
	t.Helper()
	for _, tenant := range []string{"", "acme", "globex"} {
		for _, dim := range []string{"team", "feature"} {
			rows, err := st.Breakdown(context.Background(), dim, from, to, tenant)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]pipeline.Money{}
			for _, r := range rows {
				got[r.Key] = r.Cost
			}
			if want := truth.ByLabel(tenant, dim); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("cost by %s, tenant %q:\n got %v\nwant %v", dim, tenant, got, want)
			}
		}
	}
}

// checkRollups refreshes the rollups and compares them, summed over their hours, with
// the ground truth: replays, duplicates and late reviews must not count twice there either.
func checkRollups(t *testing.T, st *store.Store, truth *loadgen.Truth, from, to time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.RefreshRollups(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	from, to = from.Truncate(time.Hour), to.Truncate(time.Hour).Add(time.Hour)
	for _, tenant := range []string{"", "acme", "globex"} {
		points, err := st.Series(ctx, from, to, "hour", store.SeriesFilter{Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		sameFigures(t, "rollups, tenant "+tenant, store.SumByWorkflow(points), truth.ByType(tenant))
	}
}

// sameFigures compares unit economics per workflow type (sorted by type) with the truth.
func sameFigures(t *testing.T, what string, got []store.UnitEconomics, want []loadgen.TypeTruth) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d types, want %d", what, len(got), len(want))
	}
	for i, w := range want {
		exp := store.UnitEconomics{Workflow: w.Workflow, Workflows: w.Workflows, Completed: w.Completed, ValidatedOutputs: w.ValidatedOutputs,
			Exceptions: w.Exceptions, Cost: w.Cost, ExceptionCost: w.ExceptionCost, ReviewCost: w.ReviewCost}
		if got[i] != exp {
			t.Errorf("%s %s:\n got %+v\nwant %+v", what, w.Workflow, got[i], exp)
		}
	}
}

// The loadgen workload (four workflow types, four attribute families, retries, late human
// reviews) through OTLP -> ingest -> Kafka -> process -> ClickHouse, compared exactly with
// the ground truth; then a replay of the whole topic by a new consumer group changes no
// figure. Runs on kfake and on real Kafka.
func TestEndToEndGroundTruthAndReplay(t *testing.T) {
	for _, k := range testenv.AllKafka(4) {
		t.Run(k.Name, func(t *testing.T) {
			st := testenv.ClickHouse(t)
			cfg := builtinConfig(t, k.Addrs(t), st)
			s := startStack(t, cfg)
			ctx := context.Background()
			exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
			truth := generate(t, exp, loadgen.Config{Seed: 11, Workflows: 300, Start: start})
			waitCounts(t, st, uint64(len(truth.Workflows)), uint64(truth.LineItems))
			from, to := start.Add(-time.Minute), time.Now().Add(time.Hour)
			checkTruth(t, st, truth, from, to)

			// Replay: a second group reads the topic from the beginning and rewrites
			// everything. Rows replace themselves; the figures stay exact.
			replay := cfg
			replay.Kafka.Group = testenv.Unique("replay")
			ctx2, cancel := context.WithCancel(ctx)
			r, err := stack.New(ctx2, replay, stack.Roles{Process: true}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx2) }()
			// Wait until the replaying group has committed to the end of the topic.
			waitGroupCaughtUp(t, cfg.Kafka.Brokers, replay.Kafka.Group, cfg.Kafka.SpansTopic)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			waitCounts(t, st, uint64(len(truth.Workflows)), uint64(truth.LineItems))
			checkTruth(t, st, truth, from, to)
		})
	}
}

// generate runs the workload through exp and flushes it, returning the ground truth.
func generate(t *testing.T, exp sdktrace.SpanExporter, lc loadgen.Config) *loadgen.Truth {
	t.Helper()
	tp := loadgen.NewTracerProvider(exp, lc.Seed)
	truth, err := loadgen.Run(context.Background(), lc, tp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return truth
}

// waitGroupCaughtUp waits until group's committed offsets reach the end of topic.
func waitGroupCaughtUp(t *testing.T, brokers []string, group, topic string) {
	t.Helper()
	adm, cl := admin(t, brokers)
	defer cl.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ends, err1 := adm.ListEndOffsets(ctx, topic)
		lag, err2 := adm.FetchOffsets(ctx, group)
		cancel()
		if err1 == nil && err2 == nil {
			caught := true
			ends.Each(func(o kadmListedOffset) {
				c, ok := lag.Lookup(topic, o.Partition)
				if o.Offset > 0 && (!ok || c.At < o.Offset) {
					caught = false
				}
			})
			if caught {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("group %s did not catch up with %s", group, topic)
}

// Malformed input never stops the pipeline and never disappears: an undecodable record
// and a span with an all-zero trace id go to the dead-letter topic with the reason and
// source; the good workflow produced after them is written exactly.
func TestDeadLettersAndCollectorTopics(t *testing.T) {
	for _, k := range testenv.AllKafka(4) {
		t.Run(k.Name, func(t *testing.T) {
			st := testenv.ClickHouse(t)
			cfg := testConfig(t, k.Addrs(t), st)
			startStack(t, cfg)
			cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx := context.Background()

			bad := ptrace.NewTraces()
			sp := bad.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			sp.SetSpanID(pcommon.SpanID{1})
			sp.SetName("no trace id")
			badPB, _ := otlp.Encode(bad)
			if err := cl.ProduceSync(ctx,
				&kgo.Record{Topic: cfg.Kafka.SpansTopic, Key: []byte("x"), Value: []byte("\x0a\xff\xff\xffnot otlp")},
				&kgo.Record{Topic: cfg.Kafka.SpansTopic, Key: []byte("y"), Value: badPB},
			).FirstErr(); err != nil {
				t.Fatal(err)
			}

			// Collector records: three traces in one unkeyed otlp_json record, and one keyed
			// otlp_proto record, on the Collector's topic.
			multi := ptrace.NewTraces()
			ids := []pcommon.TraceID{{0xa1}, {0xa2}, {0xa3}, {0xa4}}
			for _, id := range ids[:3] {
				workflowSpans(multi, id)
			}
			js, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(multi)
			single := ptrace.NewTraces()
			workflowSpans(single, ids[3])
			pb, _ := otlp.Encode(single)
			topic := cfg.Kafka.CollectorTopics[0]
			if err := cl.ProduceSync(ctx,
				&kgo.Record{Topic: topic, Value: js},
				&kgo.Record{Topic: topic, Key: []byte(pipeline.TraceID(ids[3]).String()), Value: pb},
			).FirstErr(); err != nil {
				t.Fatal(err)
			}
			// chat: 1000*2.00 + 100*8.00 = 2800 $/M -> $0.0028 per workflow
			for _, id := range ids {
				waitCost(t, st, "globex", pipeline.TraceID(id).String(), 2_800_000, 1)
			}
			ue, err := st.UnitEconomics(ctx, time.Unix(1_700_000_000, 0).Add(-time.Hour), time.Unix(1_700_000_000, 0).Add(time.Hour), "globex")
			if err != nil {
				t.Fatal(err)
			}
			if len(ue) != 1 || ue[0].Workflows != 4 || ue[0].Completed != 4 || ue[0].Cost != 4*2_800_000 {
				t.Fatalf("unit economics %+v", ue)
			}

			// Both bad records are in the dead-letter topic with a reason and their source.
			dl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...), kgo.ConsumeTopics(cfg.Kafka.DeadLetterTopic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer dl.Close()
			var reasons []string
			deadline := time.Now().Add(30 * time.Second)
			for len(reasons) < 2 && time.Now().Before(deadline) {
				pctx, cancel := context.WithTimeout(ctx, time.Second)
				dl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
					var reason, source string
					for _, h := range r.Headers {
						switch h.Key {
						case kafka.HeaderReason:
							reason = string(h.Value)
						case kafka.HeaderSource:
							source = string(h.Value)
						}
					}
					reasons = append(reasons, reason+" @ "+source)
				})
				cancel()
			}
			all := strings.Join(reasons, "\n")
			if len(reasons) != 2 || !strings.Contains(all, "undecodable OTLP payload") || !strings.Contains(all, "all-zero trace id") ||
				!strings.Contains(all, cfg.Kafka.SpansTopic+"/") {
				t.Fatalf("dead letters:\n%s", all)
			}
		})
	}
}

// workflowSpans appends a 2-span workflow (root + one priced chat call) of tenant globex.
func workflowSpans(td ptrace.Traces, id pcommon.TraceID) {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("unitcost.tenant", "globex")
	ss := rs.ScopeSpans().AppendEmpty()
	root := ss.Spans().AppendEmpty()
	root.SetTraceID(id)
	root.SetSpanID(pcommon.SpanID{1})
	root.SetName("collector workflow")
	root.SetStartTimestamp(pcommon.Timestamp(1_700_000_000 * 1e9))
	root.SetEndTimestamp(pcommon.Timestamp(1_700_000_002 * 1e9))
	root.Attributes().PutStr("unitcost.workflow.name", "via_collector")
	root.Attributes().PutStr("unitcost.workflow.outcome", "completed")
	call := ss.Spans().AppendEmpty()
	call.SetTraceID(id)
	call.SetSpanID(pcommon.SpanID{2})
	call.SetParentSpanID(pcommon.SpanID{1})
	call.SetStartTimestamp(pcommon.Timestamp(1_700_000_000 * 1e9))
	call.SetEndTimestamp(pcommon.Timestamp(1_700_000_001 * 1e9))
	call.Attributes().PutStr("gen_ai.request.model", "test-model")
	call.Attributes().PutStr("gen_ai.provider.name", "openai")
	call.Attributes().PutInt("gen_ai.usage.input_tokens", 1000)
	call.Attributes().PutInt("gen_ai.usage.output_tokens", 100)
}

// loadgen writing straight to Kafka with the disorder of a real network - every span a
// record of its own, shuffled in windows of 256 (roots before or after their children)
// and 10% of them delivered twice, the copy in a later window - still gives exactly the
// ground truth.
func TestShuffledAndDuplicatedDelivery(t *testing.T) {
	for _, k := range testenv.AllKafka(4) {
		t.Run(k.Name, func(t *testing.T) {
			st := testenv.ClickHouse(t)
			cfg := builtinConfig(t, k.Addrs(t), st)
			startStack(t, cfg)
			start := time.Now().Add(-4 * time.Hour).Truncate(time.Minute)
			truth := deliverShuffled(t, cfg, 3, loadgen.Config{Seed: 17, Workflows: 400, Start: start})
			waitCounts(t, st, uint64(len(truth.Workflows)), uint64(truth.LineItems))
			checkTruth(t, st, truth, start.Add(-time.Minute), time.Now().Add(time.Hour))
		})
	}
}

// deliverShuffled runs the workload straight into the spans topic, one record per span,
// shuffled in windows of 256 with 10% delivered twice, and returns its ground truth.
func deliverShuffled(t *testing.T, cfg config.Config, seed uint64, lc loadgen.Config) *loadgen.Truth {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	del := loadgen.NewKafkaDelivery(cl, cfg.Kafka.SpansTopic, 1, 256, 0.10, seed)
	exp, err := otlptrace.New(context.Background(), del)
	if err != nil {
		t.Fatal(err)
	}
	truth := generate(t, exp, lc)
	if del.Dups == 0 {
		t.Fatal("no duplicate was delivered")
	}
	t.Logf("%d records sent, %d of them duplicates", del.Sent, del.Dups)
	return truth
}

// A span with captured content but no usage (OpenLLMetry <= 0.4 flattened prompts) is
// priced from tokens counted offline and marked estimated.
func TestEstimatedUsageFromCapturedContent(t *testing.T) {
	st := testenv.ClickHouse(t)
	cfg := testConfig(t, testenv.Kfake(t, 4), st)
	startStack(t, cfg)
	td := ptrace.NewTraces()
	id := pcommon.TraceID{0xe5}
	workflowSpans(td, id)
	call := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1)
	call.Attributes().Remove("gen_ai.usage.input_tokens")
	call.Attributes().Remove("gen_ai.usage.output_tokens")
	for i := 0; i < 10; i++ {
		call.Attributes().PutStr(fmt.Sprintf("gen_ai.prompt.%d.content", i), "Hello, world!")
	}
	call.Attributes().PutStr("gen_ai.completion.0.content", "Hello, world!")
	call.Attributes().PutStr("gen_ai.usage.cost", "NaN") // ignored, with an issue (a token count beyond its limits would quarantine the line)
	recs, err := kafka.TraceRecords(td, "", cfg.Kafka.SpansTopic, cfg.Kafka.MaxRecordBytes)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// "Hello, world!" is 4 tokens (cl100k_base): 40 input x $2.00/M + 4 output x $8.00/M
	// = 80,000 + 32,000 nano-dollars.
	waitCost(t, st, "globex", pipeline.TraceID(id).String(), 112_000, 1)
	var est uint8
	var in, out uint64
	if err := st.Conn().QueryRow(context.Background(), "SELECT usage_estimated, input_tokens, output_tokens FROM "+st.Database()+
		".line_items FINAL WHERE trace_id = ?", pipeline.TraceID(id).String()).Scan(&est, &in, &out); err != nil {
		t.Fatal(err)
	}
	if est != 1 || in != 40 || out != 4 {
		t.Fatalf("estimated=%d input=%d output=%d", est, in, out)
	}
	// The ignored value is stored with its reason, queryable by kind. The issues are the
	// batch's last insert, so the line items can be visible a moment before them.
	day := time.Unix(1_700_000_000, 0).UTC().Truncate(24 * time.Hour)
	var issues []store.IssueCount
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if issues, err = st.SpanIssues(context.Background(), day, day.Add(24*time.Hour), "globex"); err != nil {
			t.Fatal(err)
		}
		if len(issues) > 0 {
			break
		}
	}
	if len(issues) != 1 || issues[0].Kind != "gen_ai.usage.cost: NaN; ignored" || issues[0].Spans != 1 {
		t.Fatalf("span issues %+v", issues)
	}
}
