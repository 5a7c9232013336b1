package stack_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/encoding/json"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
)

const tenancyBook = `
version: tenancy-1
models:
  - {provider: openai, model: test-model, input: "2.00", output: "8.00"}
review:
  - {name: analyst, per_hour: "60.00"}
`

// tenancySpan is one hand-made span of trace id (the ids a hostile client would copy).
type tenancySpan struct {
	id, parent byte
	name       string
	attrs      map[string]any
}

func tenancyTraces(trace pcommon.TraceID, start time.Time, spans ...tenancySpan) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for _, s := range spans {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(trace)
		sp.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, s.id})
		if s.parent != 0 {
			sp.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, s.parent})
		}
		sp.SetName(s.name)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(2 * time.Second)))
		if err := sp.Attributes().FromRaw(s.attrs); err != nil {
			panic(err)
		}
	}
	return td
}

func postOTLP(t *testing.T, addr, token string, td ptrace.Traces) {
	t.Helper()
	body, err := otlp.Encode(td)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("OTLP export with %s: %d %s", token, resp.StatusCode, b)
	}
}

// An authenticated tenant that knows another tenant's trace id cannot write into that
// tenant's figures, on every write path: OTLP with its token (while the victim's trace is
// open, and after it closed), the Collector topic with its tenant header, and a replay of
// the whole topic. acme copies globex's trace id, root span id and model call span id,
// sends its own root (another workflow name, team and outcome), a model call with 1M
// tokens and two 29-day reviews. globex's workflow, line items, unit economics and
// breakdown stay exactly its own; acme sees only what it sent; through the HTTP API each
// token gets its own lines of the same workflow id.
func TestCrossTenantWritesStayWithTheirTenant(t *testing.T) {
	for _, k := range testenv.AllKafka(4) {
		t.Run(k.Name, func(t *testing.T) {
			st := testenv.ClickHouse(t)
			cfg := testConfig(t, k.Addrs(t), st)
			book := filepath.Join(t.TempDir(), "book.yaml")
			if err := os.WriteFile(book, []byte(tenancyBook), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg.Process.PriceBook = book
			cfg.Process.Stitch.OrphanQuiet = 500 * time.Millisecond
			cfg.Ingest.Tokens = map[string]string{"tok-acme": "acme", "tok-globex": "globex"}
			s := startStack(t, cfg)
			ctx := context.Background()
			start := time.Now().Add(-time.Hour).Truncate(time.Second)
			trace := pcommon.TraceID{0xbe, 0xef, 1}
			wid := pipeline.TraceID(trace).String()
			chat := func(in int) map[string]any {
				return map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "test-model",
					"gen_ai.usage.input_tokens": in, "gen_ai.usage.output_tokens": 100}
			}
			review := map[string]any{"unitcost.review.role": "analyst", "unitcost.review.active_seconds": 29 * 24 * 3600}

			// globex's workflow and, while it is open, acme's model call under the same ids.
			postOTLP(t, s.Receiver.HTTPAddr(), "tok-globex", tenancyTraces(trace, start,
				tenancySpan{1, 0, "answer", map[string]any{"unitcost.workflow.name": "qa", "unitcost.workflow.outcome": "completed",
					"unitcost.outputs.validated": 1, "unitcost.team": "search", "unitcost.feature": "answers"}},
				tenancySpan{2, 1, "chat", chat(1000)}))
			postOTLP(t, s.Receiver.HTTPAddr(), "tok-acme", tenancyTraces(trace, start, tenancySpan{2, 1, "chat", chat(1_000_000)}))
			// 1000 x $2/M + 100 x $8/M = $0.0028
			waitCost(t, st, "globex", wid, 2_800_000, 1)

			// After globex's trace closed: acme's root (replacing globex's, if it could) and a
			// review over OTLP, another review through the Collector topic with acme's header.
			postOTLP(t, s.Receiver.HTTPAddr(), "tok-acme", tenancyTraces(trace, start,
				tenancySpan{1, 0, "hijack", map[string]any{"unitcost.workflow.name": "hijack", "unitcost.workflow.outcome": "failed",
					"unitcost.team": "evil", "unitcost.tenant": "globex"}},
				tenancySpan{9, 1, "review", review}))
			col := tenancyTraces(trace, start, tenancySpan{10, 1, "review", review})
			pb, _ := otlp.Encode(col)
			cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Kafka.CollectorTopics[0], Value: pb,
				Headers: []kgo.RecordHeader{{Key: kafka.HeaderTenant, Value: []byte("acme")}}}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			// acme: $2.0008 + 2 x 29 days x 24 h x $60 = $2.0008 + $83,520
			const acmeCost = 2_000_800_000 + 2*41_760_000_000_000
			waitCost(t, st, "acme", wid, acmeCost, 3)
			check := func(when string) {
				t.Helper()
				waitCounts(t, st, 2, 4)
				checkTenancy(t, st, wid, acmeCost, start, when)
			}
			check("after the writes")

			// Replay: a new group re-reads the spans topic from the start.
			replay := cfg
			replay.Kafka.Group = testenv.Unique("replay")
			rctx, cancel := context.WithCancel(ctx)
			r, err := stack.New(rctx, replay, stack.Roles{Process: true}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- r.Run(rctx) }()
			waitGroupCaughtUp(t, cfg.Kafka.Brokers, replay.Kafka.Group, cfg.Kafka.SpansTopic)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			check("after a replay")
		})
	}
}

func checkTenancy(t *testing.T, st *store.Store, wid string, acmeCost pipeline.Money, start time.Time, when string) {
	t.Helper()
	ctx := context.Background()
	from, to := start.Add(-time.Hour), start.Add(time.Hour)
	for _, c := range []struct {
		tenant, name string
		cost         pipeline.Money
		lines        uint64
	}{{"globex", "qa", 2_800_000, 1}, {"acme", "hijack", acmeCost, 3}} {
		cost, n, err := st.WorkflowCost(ctx, c.tenant, wid)
		if err != nil || cost != c.cost || n != c.lines {
			t.Errorf("%s: %s's workflow costs %s over %d lines (%v), want %s over %d", when, c.tenant, cost, n, err, c.cost, c.lines)
		}
		ue, err := st.UnitEconomics(ctx, from, to, c.tenant)
		if err != nil || len(ue) != 1 || ue[0].Workflow != c.name || ue[0].Workflows != 1 || ue[0].Cost != c.cost {
			t.Errorf("%s: %s's unit economics %+v (%v), want one %s workflow costing %s", when, c.tenant, ue, err, c.name, c.cost)
		}
	}
	team, err := st.Breakdown(ctx, "team", from, to, "globex")
	if err != nil || len(team) != 1 || team[0].Key != "search" || team[0].Cost != 2_800_000 {
		t.Errorf("%s: globex's cost by team %+v (%v)", when, team, err)
	}

	// The HTTP API: each token reads its own lines of the same workflow id.
	srv := httptest.NewServer(report.NewAPI(st, map[string]string{"api-acme": "acme", "api-globex": "globex"}))
	defer srv.Close()
	for _, c := range []struct {
		token, workflow, tenant string
		lines                   []string
	}{
		{"api-globex", "qa", "globex", []string{"0000000000000002:2800000"}},
		{"api-acme", "hijack", "acme", []string{"0000000000000002:2000800000", "0000000000000009:41760000000000", "000000000000000a:41760000000000"}},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/workflows/"+wid+"/lines", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var doc report.LinesDoc
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		var got []string
		for _, l := range doc.Rows {
			got = append(got, l.SpanID+":"+strconv.FormatInt(l.CostNano, 10))
		}
		if err != nil || resp.StatusCode != http.StatusOK || fmt.Sprint(got) != fmt.Sprint(c.lines) {
			t.Errorf("%s: %s reads lines %v (status %d, %v), want %v", when, c.token, got, resp.StatusCode, err, c.lines)
		}
		if doc.Workflow == nil || doc.Workflow.Workflow != c.workflow || doc.Workflow.Tenant != c.tenant {
			t.Errorf("%s: %s reads workflow facts %+v, want its own %s workflow", when, c.token, doc.Workflow, c.workflow)
		}
	}
}
