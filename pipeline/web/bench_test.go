package web_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/web"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

// BenchmarkDashboardPages times every page of the dashboard as its script loads it: all the
// API reads the page makes, sent at once over HTTP to the real handler (web.Handler over
// report.API with the what-if enabled) on the local ClickHouse, for every window the page
// offers, over UNITCOST_BENCH_LINE_ITEMS synthetic line items (default 200,000;
// BENCHMARKS.md records 10,000,000) of 30 days, in time order. It reports p50 and p99 of
// each page over UNITCOST_BENCH_RUNS runs (default 20).
//
//	UNITCOST_BENCH_LINE_ITEMS=10000000 go test -run '^$' -bench DashboardPages -benchtime 1x -timeout 90m ./pipeline/web
//
// UNITCOST_BENCH_DATABASE=name keeps the data in that database (written once, reused by the
// next run with the same line-item count, never dropped: drop it by hand afterwards).
func BenchmarkDashboardPages(b *testing.B) {
	n := 200_000
	if s := os.Getenv("UNITCOST_BENCH_LINE_ITEMS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	runs := 20
	if s := os.Getenv("UNITCOST_BENCH_RUNS"); s != "" {
		var err error
		if runs, err = strconv.Atoi(s); err != nil || runs < 1 {
			b.Fatalf("UNITCOST_BENCH_RUNS=%q: want a positive integer", s)
		}
	}
	ctx := context.Background()
	st, end := benchStore(b, n)
	bk, err := pricing.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	api := report.NewAPI(st, nil).EnableWhatif(whatifch.New(st), pricing.Single(bk))
	srv := httptest.NewServer(web.Handler(api, false))
	defer srv.Close()

	sample := sampleWorkflow(b, st, end)
	windows := []string{"1h", "6h", "24h", "168h", "720h"}
	type page struct {
		name string
		urls []string
	}
	var pages []page
	for _, w := range windows {
		pages = append(pages, page{"overview " + w, overviewReads(url.Values{"since": {w}}, "model")})
	}
	// the breakdown selector reloads the overview with ?by=; every dimension it offers
	for _, by := range []string{"provider", "component", "workflow_version", "team", "feature", "tenant", "outcome", "workflow", "service", "environment"} {
		for _, w := range []string{"24h", "720h"} {
			pages = append(pages, page{"overview by " + by + " " + w, overviewReads(url.Values{"since": {w}}, by)})
		}
	}
	// the filters: one tenant, one workflow type and version, one model
	for _, w := range []string{"24h", "720h"} {
		pages = append(pages,
			page{"overview tenant=acme " + w, overviewReads(url.Values{"since": {w}, "tenant": {"acme"}}, "model")},
			page{"overview workflow=rag_qa v1 " + w, overviewReads(url.Values{"since": {w}, "workflow": {"rag_qa"}, "workflow_version": {"v1"}}, "model")},
			page{"overview model=gpt-5 " + w, overviewReads(url.Values{"since": {w}, "model": {"gpt-5"}}, "model")})
	}
	pages = append(pages, page{"drill-down", []string{"/api/v1/workflows/" + sample + "/lines?"}})
	for _, w := range windows {
		pages = append(pages, page{"what-if " + w, []string{"/api/v1/whatif?" + url.Values{"since": {w}}.Encode()}})
	}
	pages = append(pages, page{"what-if rag_qa 720h", []string{"/api/v1/whatif?" + url.Values{"since": {"720h"}, "workflow": {"rag_qa"}}.Encode()}})
	// the assets every page loads before its reads
	pages = append(pages, page{"assets", []string{"/ui/", "/ui/app.js", "/ui/app.css", "/ui/vendor/uPlot.iife.min.js", "/ui/vendor/uPlot.min.css"}})

	var only *regexp.Regexp
	if s := os.Getenv("UNITCOST_BENCH_PAGES"); s != "" {
		only = regexp.MustCompile(s)
	}
	b.ResetTimer()
	for range b.N {
		for _, p := range pages {
			if only != nil && !only.MatchString(p.name) {
				continue
			}
			w0 := time.Now()
			first, err := load(ctx, srv.URL, p.urls) // warm-up, and a check that every read answers 200
			if err != nil {
				b.Fatalf("%s: %v", p.name, err)
			}
			warm := time.Since(w0)
			n := runs
			if warm > 3*time.Second { // a slow page: about a minute of runs, at least 3
				n = max(3, min(runs, int(time.Minute/warm)))
			}
			var lat []time.Duration
			reads := make([][]time.Duration, len(p.urls))
			if warm > 20*time.Second { // a very slow page: the one load is the figure
				n, lat = 0, []time.Duration{warm}
				for i, d := range first {
					reads[i] = []time.Duration{d}
				}
			}
			for range n {
				t0 := time.Now()
				each, err := load(ctx, srv.URL, p.urls)
				if err != nil {
					b.Fatalf("%s: %v", p.name, err)
				}
				lat = append(lat, time.Since(t0))
				for i, d := range each {
					reads[i] = append(reads[i], d)
				}
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			slowest, slowestP50 := "", time.Duration(0)
			for i, r := range reads {
				sort.Slice(r, func(i, j int) bool { return r[i] < r[j] })
				if r[len(r)/2] > slowestP50 {
					slowest, slowestP50 = p.urls[i], r[len(r)/2]
				}
			}
			path, _, _ := strings.Cut(slowest, "?")
			fmt.Fprintf(os.Stderr, "%-40s %2d reads  p50 %9s  p99 %9s  %2d runs  (load %s; slowest read %s p50 %s)\n", p.name, len(p.urls), lat[len(lat)/2].Round(100*time.Microsecond),
				lat[len(lat)*99/100].Round(100*time.Microsecond), n, loadavg(), strings.TrimPrefix(path, "/api/v1/"), slowestP50.Round(100*time.Microsecond))
		}
	}
}

// overviewReads are the reads app.js's overview() makes at once for the URL's filters.
func overviewReads(q url.Values, by string) []string {
	since := q.Get("since")
	f := url.Values{"since": {since}}
	for _, k := range []string{"tenant", "workflow", "workflow_version"} {
		if q.Get(k) != "" {
			f.Set(k, q.Get(k))
		}
	}
	with := func(kv ...string) string {
		v := url.Values{}
		for k, x := range f {
			v[k] = x
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v.Encode()
	}
	bucket := "hour"
	if h, _ := strconv.Atoi(strings.TrimSuffix(since, "h")); strings.HasSuffix(since, "h") && h > 48 {
		bucket = "day"
	}
	topq := url.Values{"since": {since}, "limit": {"10"}, "source": {"rollups"}}
	ueq := url.Values{"since": {since}, "source": {"rollups"}}
	if t := q.Get("tenant"); t != "" {
		topq.Set("tenant", t)
		ueq.Set("tenant", t)
	}
	af := url.Values{"since": {since}}
	for _, k := range []string{"tenant", "workflow"} {
		if q.Get(k) != "" {
			af.Set(k, q.Get(k))
		}
	}
	reads := []string{"/api/v1/alerts?" + af.Encode()}
	if bucket == "hour" { // the alert band, on hourly views
		af.Set("metric", "cost_per_completed")
		reads = append(reads, "/api/v1/alerts/readings?"+af.Encode())
	}
	return append(reads,
		"/api/v1/summary?"+with(),
		"/api/v1/series/costs?"+with("bucket", bucket, "model", q.Get("model")),
		"/api/v1/series?"+with("bucket", bucket),
		"/api/v1/unit-economics?"+ueq.Encode(),
		"/api/v1/breakdown?"+with("by", by, "source", "rollups", "model", q.Get("model")),
		"/api/v1/workflows/top?"+topq.Encode(),
	)
}

// load fetches urls at once, as the browser does, reads every body and returns the time
// each took.
func load(ctx context.Context, base string, urls []string) ([]time.Duration, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(urls))
	took := make([]time.Duration, len(urls))
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			defer func() { took[i] = time.Since(t0) }()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+u, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, body)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return took, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

// sampleWorkflow is a workflow of the last day, for the drill-down.
func sampleWorkflow(b *testing.B, st *store.Store, end time.Time) string {
	rows, err := st.TopWorkflows(context.Background(), end.Add(-24*time.Hour), end, "", 1)
	if err != nil || len(rows) == 0 {
		b.Fatalf("no workflow to drill into: %v", err)
	}
	return rows[0].WorkflowID
}

// benchStore returns a store holding n line items ending at the returned hour, written
// now or by an earlier run into UNITCOST_BENCH_DATABASE.
func benchStore(b *testing.B, n int) (*store.Store, time.Time) {
	ctx := context.Background()
	db := os.Getenv("UNITCOST_BENCH_DATABASE")
	if db == "" {
		st := testenv.ClickHouse(b)
		return st, write(b, st, n)
	}
	st, err := store.Open(ctx, store.Config{Addr: []string{testenv.ClickHouseAddr(b)}, Database: db, Username: "default"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var have uint64
	var last time.Time
	if err := st.Conn().QueryRow(ctx, "SELECT count(), max(start_time) FROM "+db+".line_items").Scan(&have, &last); err != nil {
		b.Fatal(err)
	}
	if have == uint64(n/5*5) {
		fmt.Fprintf(os.Stderr, "reusing %d line items in %s (written up to %s)\n", have, db, last.UTC().Format(time.RFC3339))
		began := time.Now() // the rollups as this version builds them (all hours after an upgrade that needs it)
		rs, err := st.RefreshRollups(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "rollups: refreshed %d hours in %s (load %s)\n", len(rs.Hours), time.Since(began).Round(time.Millisecond), loadavg())
		return st, last.UTC().Truncate(time.Hour).Add(time.Hour)
	}
	if have != 0 {
		b.Fatalf("%s holds %d line items, not %d: drop it first", db, have, n)
	}
	return st, write(b, st, n)
}

// write inserts n line items (five per workflow) over the 30 days before the current hour
// in time order, as the processor's writer does, then rebuilds the rollups. Four workflow
// types of two steps, each step on one of two models (two calls each), a tool call, a
// review in one workflow of eight; 3 tenants, 3 versions, 2 teams, features, services and
// environments; one workflow in ten fails.
func write(b *testing.B, st *store.Store, n int) time.Time {
	ctx := context.Background()
	end := time.Now().UTC().Truncate(time.Hour)
	start := end.Add(-30 * 24 * time.Hour)
	const linesPerWorkflow = 5
	workflows := n / linesPerWorkflow
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"support_agent", "rag_qa", "invoice_extraction", "ticket_classification"}
	steps := [][2]string{{"classify", "answer"}, {"plan", "respond"}, {"extract", "check"}, {"classify", "summarise"}}
	models := [][2]string{{"gpt-5-nano", "gpt-5"}, {"gpt-4.1-mini", "claude-sonnet-4-5"}}
	tenants := []string{"acme", "globex", "initech"}
	teams, features := []string{"core", "growth"}, []string{"chat", "search", "billing"}
	services, envs := []string{"agent-api", "worker"}, []string{"prod", "staging"}
	bk, err := pricing.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	books := pricing.Single(bk)
	var batch pipeline.Batch
	written := 0
	began := time.Now()
	for w := 0; w < workflows; w++ {
		var tid pipeline.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(w+1))
		ts := start.Add(time.Duration(w)*(30*24*time.Hour/time.Duration(workflows)) + time.Duration(rng.Int64N(int64(time.Minute)))).UnixNano()
		tenant, kind := tenants[w%len(tenants)], w%len(types)
		wid := tid.String()
		outcome := "completed"
		if rng.IntN(10) == 0 {
			outcome = "failed"
		}
		wf := pipeline.Workflow{ID: wid, Tenant: tenant, TraceID: tid, Name: types[kind], Version: "v" + strconv.Itoa(w%3), Outcome: outcome,
			ValidatedOutputs: 1, StartUnixNano: ts, EndUnixNano: ts + 30e9, Team: teams[w%2], Feature: features[w%3], Service: services[w%2], Environment: envs[w/2%2]}
		batch.Workflows = append(batch.Workflows, wf)
		for c := 0; c < linesPerWorkflow; c++ {
			sp := &pipeline.Span{Tenant: tenant, TraceID: tid, StartUnixNano: ts + int64(c)*1e9, EndUnixNano: ts + int64(c)*1e9 + 8e8,
				Team: wf.Team, Feature: wf.Feature, Service: wf.Service, Environment: wf.Environment}
			sp.SpanID[7] = byte(c + 2)
			li := pipeline.LineItem{Span: sp, WorkflowID: wid, Component: pipeline.ComponentModel}
			switch {
			case c < 4:
				step := c / 2
				sp.Step, sp.Operation, sp.Provider = steps[kind][step], pipeline.OpChat, "openai"
				sp.Model = models[step][(w/7+step)%2]
				sp.Usage = pipeline.Usage{InputTokens: uint64(500 + rng.IntN(8000)), OutputTokens: uint64(50 + rng.IntN(800))}
				if rng.IntN(3) == 0 {
					sp.Usage.Mix = pipeline.TokenMix{System: 200, Context: uint64(rng.IntN(4000)), User: 100}
				}
				li.Cost, li.Priced = books.Price(nil, sp, wid)[0].Cost, true
			case rng.IntN(8) == 0:
				sp.Operation, sp.ReviewRole, sp.ReviewActiveMs = pipeline.OpHumanReview, "support_agent", uint64(30_000+rng.IntN(570_000))
				li.Component, li.Cost, li.Priced = pipeline.ComponentReview, books.Price(nil, sp, wid)[0].Cost, true
			default:
				sp.Operation, sp.ToolName, sp.Name = pipeline.OpTool, "web_search", "web_search"
				li.Component, li.Cost, li.Priced = pipeline.ComponentTool, 10_000_000, true
			}
			batch.LineItems = append(batch.LineItems, li)
		}
		if len(batch.LineItems) >= 100_000 || w == workflows-1 {
			if err := st.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
			written += len(batch.LineItems)
			batch = pipeline.Batch{}
		}
	}
	fmt.Fprintf(os.Stderr, "inserted %d line items and %d workflows in %s (load %s)\n", written, workflows, time.Since(began).Round(time.Millisecond), loadavg())
	began = time.Now()
	rs, err := st.RefreshRollups(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "rollups: rebuilt %d hours in %s (load %s)\n", len(rs.Hours), time.Since(began).Round(time.Millisecond), loadavg())
	return end
}
