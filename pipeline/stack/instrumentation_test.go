package stack_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/unitcost/unitcost/internal/fakeopenai"
	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/store"
)

// wantWorkflow is one workflow's exact figures.
type wantWorkflow struct {
	name, outcome, source string
	validated             uint64
	session, user         string
	cost                  pipeline.Money
	lines                 uint64
}

// instrumentationBook prices what the fake server answers as (its dated model ids match
// by prefix): gpt-4o-mini $0.15 / $0.60 per M tokens, cached reads $0.075;
// text-embedding-3-small $0.02; retrieval $0.0001 a call. In nano-dollars per token: 150,
// 600, 75 and 20. The fake server's answers are fixed (internal/fakeopenai). A book of
// the test's own, so a change of the built-in prices does not move these figures.
const instrumentationBook = `
version: instrumentation-1
models:
  - {provider: openai, model: gpt-4o-mini, input: "0.15", output: "0.60", cache_read: "0.075"}
  - {provider: openai, model: text-embedding-3-small, input: "0.02", output: "0"}
retrieval:
  - {name: default, per_call: "0.0001"}
`

// withBook points cfg at instrumentationBook.
func withBook(t *testing.T, cfg *config.Config) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "book.yaml")
	if err := os.WriteFile(path, []byte(instrumentationBook), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Process.PriceBook = path
}

const (
	costChatCached   = pipeline.Money(200*150 + 1000*75 + 300*600) // 1200 in, 1000 of them cached, 300 out
	costChatUncached = pipeline.Money(1200*150 + 300*600)          // the same call, cache not reported
	costStream       = pipeline.Money(800*150 + 100*600)
	costEmbeddings   = pipeline.Money(42 * 20)
	costToolCalls    = pipeline.Money(500*150+20*600) + pipeline.Money(700*150+50*600)
)

// expected is what each client's workflows must become. The three Python libraries
// report the same calls in three attribute families; the official openai-v2
// instrumentation does not report cached prompt tokens, so its chat is billed uncached
// (what the instrumentation said, not a unitcost choice).
func expected(run string) map[string]wantWorkflow {
	qaCost := costChatCached
	if run == "openai-v2" {
		qaCost = costChatUncached
	}
	return map[string]wantWorkflow{
		"qa": {name: "qa", outcome: "completed", source: "status UNSET", validated: 1, session: run + "-s1", user: "alice", cost: qaCost, lines: 1},
		"travel-planner": {name: "travel-planner", outcome: "completed", source: "status UNSET", session: run + "-c2", user: "bob",
			cost: costStream, lines: 1},
		"index documents": {name: "index documents", outcome: "completed", source: "status UNSET", session: run + "-s1", user: "alice",
			cost: costEmbeddings, lines: 1},
		"support-bot": {name: "support-bot", outcome: "failed", source: "status ERROR", session: run + "-s3", user: "carol", cost: costToolCalls, lines: 2},
	}
}

// noUnitcostAttributes is an OTLP/HTTP proxy in front of ingest that fails the test if
// any span or resource carries a unitcost.* attribute: the clients are unmodified
// instrumentation.
func noUnitcostAttributes(t *testing.T, ingest string) (string, func() int) {
	t.Helper()
	target, _ := url.Parse("http://" + ingest)
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	spans := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw := body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err == nil {
				raw, _ = io.ReadAll(zr)
			}
		}
		if td, err := otlp.Decode(raw, otlp.EncodingFor(r.Header.Get("Content-Type"), raw)); err == nil {
			check := func(where string, m pcommon.Map) {
				m.Range(func(k string, _ pcommon.Value) bool {
					if strings.HasPrefix(k, "unitcost.") {
						t.Errorf("%s carries %s: the clients must be unmodified instrumentation", where, k)
					}
					return true
				})
			}
			rss := td.ResourceSpans()
			for i := 0; i < rss.Len(); i++ {
				check("resource", rss.At(i).Resource().Attributes())
				for j := 0; j < rss.At(i).ScopeSpans().Len(); j++ {
					ss := rss.At(i).ScopeSpans().At(j).Spans()
					for k := 0; k < ss.Len(); k++ {
						check("span "+ss.At(k).Name(), ss.At(k).Attributes())
					}
					mu.Lock()
					spans += ss.Len()
					mu.Unlock()
				}
			}
		} else {
			t.Errorf("undecodable OTLP request: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/traces", func() int { mu.Lock(); defer mu.Unlock(); return spans }
}

// runClient runs a client (with extra environment variables env) and returns its
// "NAME TRACE_ID" lines by name.
func runClient(ctx context.Context, env []string, name string, args ...string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	ids := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			ids[line[:i]] = line[i+1:]
		}
	}
	return ids, nil
}

// Unmodified instrumentation gives the right unit economics: the real openai Python
// client, instrumented by OpenLLMetry, OpenInference and the official openai-v2
// instrumentation, and a JS service instrumented with the official OTel JS SDK, talk to a
// fake OpenAI server (chat, streaming chat with usage, embeddings, cached prompt tokens, a
// tool call) and export OTLP/HTTP to ingest; through Kafka (kfake) and process into
// ClickHouse, each workflow's cost, outcome, name, session and user are exact.
func TestUnmodifiedInstrumentation(t *testing.T) {
	clients := testenv.InstrumentationClients(t)
	st := testenv.ClickHouse(t)
	cfg := testenv.Config(t, testenv.Kfake(t, 4), st)
	cfg.Process.Stitch.QuietPeriod = 300 * time.Millisecond
	cfg.Process.FlushInterval = 100 * time.Millisecond
	withBook(t, &cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, cfg)
	fake := fakeopenai.New()
	defer fake.Close()
	otlpURL, spansSeen := noUnitcostAttributes(t, s.Receiver.HTTPAddr())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		run string
		ids map[string]string
		err error
	}
	results := make(chan result)
	libs := []string{"openllmetry", "openinference", "openai-v2"}
	for _, lib := range libs {
		go func() {
			ids, err := runClient(ctx, nil, clients.Python, filepath.Join(clients.Repo, "testdata/clients/python/drive.py"),
				lib, otlpURL, fake.BaseURL(), lib)
			results <- result{lib, ids, err}
		}()
	}
	go func() {
		ids, err := runClient(ctx, []string{"NODE_PATH=" + filepath.Join(clients.JSDir, "node_modules")}, "node", filepath.Join(clients.Repo, "testdata/clients/js/drive.js"), otlpURL, fake.BaseURL(), "js")
		results <- result{"js", ids, err}
	}()
	want := map[string]wantWorkflow{} // by trace id
	services := map[string]string{}   // trace id -> service.name
	for range len(libs) + 1 {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		exp := expected(r.run)
		if r.run == "js" {
			exp = map[string]wantWorkflow{"js-assistant": {name: "js-assistant", outcome: "completed", source: "status OK", validated: 1,
				session: "js-js", user: "dave", cost: costChatCached, lines: 1}}
		}
		if len(r.ids) != len(exp) {
			t.Fatalf("%s printed %v, want %d workflows", r.run, r.ids, len(exp))
		}
		for name, w := range exp {
			id, ok := r.ids[name]
			if !ok {
				t.Fatalf("%s: no trace for %s in %v", r.run, name, r.ids)
			}
			want[id] = w
			services[id] = r.run + "-app"
		}
	}

	for id, w := range want {
		waitCost(t, st, "", id, w.cost, w.lines)
		var got wantWorkflow
		var service, env string
		row := st.Conn().QueryRow(context.Background(), "SELECT name, outcome, outcome_source, validated_outputs, session, end_user, service, environment FROM "+
			st.Database()+".workflows FINAL WHERE workflow_id = ?", id)
		if err := row.Scan(&got.name, &got.outcome, &got.source, &got.validated, &got.session, &got.user, &service, &env); err != nil {
			t.Fatalf("workflow %s: %v", id, err)
		}
		got.cost, got.lines = w.cost, w.lines
		if got != w || service != services[id] || env != "test" {
			t.Errorf("workflow %s (%s) = %+v service %q env %q\nwant %+v service %q env test", id, services[id], got, service, env, w, services[id])
		}
	}
	if n := spansSeen(); n != 3*9+2 {
		t.Errorf("%d spans went through ingest, want %d (9 per Python client, 2 from JS)", n, 3*9+2)
	}

	// The dimensions work as filters and breakdowns: cost per session and per end user of
	// one client's service, and unit economics where every workflow has an outcome.
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	bySession, err := st.BreakdownWhere(context.Background(), "session", from, to, store.Filter{Service: "openllmetry-app"})
	if err != nil {
		t.Fatal(err)
	}
	wantSessions := map[string]pipeline.Money{"openllmetry-s1": costChatCached + costEmbeddings, "openllmetry-c2": costStream, "openllmetry-s3": costToolCalls}
	if len(bySession) != len(wantSessions) {
		t.Fatalf("cost per session %+v, want %v", bySession, wantSessions)
	}
	for _, r := range bySession {
		if wantSessions[r.Key] != r.Cost {
			t.Errorf("session %s costs %s, want %s", r.Key, r.Cost, wantSessions[r.Key])
		}
	}
	byUser, err := st.BreakdownWhere(context.Background(), "user", from, to, store.Filter{Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	wantUsers := map[string]pipeline.Money{"alice": 2*costChatCached + costChatUncached + 3*costEmbeddings, "bob": 3 * costStream,
		"carol": 3 * costToolCalls, "dave": costChatCached}
	for _, r := range byUser {
		if wantUsers[r.Key] != r.Cost {
			t.Errorf("user %s costs %s, want %s", r.Key, r.Cost, wantUsers[r.Key])
		}
	}
	ue, err := st.UnitEconomicsWhere(context.Background(), from, to, store.Filter{Service: "openinference-app"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ue {
		wantCompleted := uint64(1)
		if u.Workflow == "support-bot" {
			wantCompleted = 0
		}
		if u.Workflows != 1 || u.Completed != wantCompleted || u.UnpricedLines != 0 {
			t.Errorf("unit economics %+v", u)
		}
	}
}
