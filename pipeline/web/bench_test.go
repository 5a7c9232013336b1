package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/bench"
	"github.com/unitcost/unitcost/internal/benchdata"
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
// BENCHMARKS.md records 10,000,000) of 30 days, in time order. It reports p50 and p95 of
// each page over UNITCOST_BENCH_RUNS runs (default 20) and the CPU time this process (the
// handler and the client) spent per load; every page but the what-if and the assets is
// loaded in turn from a second handler whose requests share no rollup read
// (report.WithoutSharedReads), and the ratio of the two p50s is given.
//
//	UNITCOST_BENCH_LINE_ITEMS=10000000 go test -run '^$' -bench DashboardPages -benchtime 1x -timeout 90m ./pipeline/web
//
// UNITCOST_BENCH_DATABASE=name keeps the data in that database (written once, reused by the
// next run with the same line-item count, never dropped: drop it by hand afterwards).
func BenchmarkDashboardPages(b *testing.B) {
	n := benchdata.EnvCount(b, "UNITCOST_BENCH_LINE_ITEMS", 200_000)
	runs := benchdata.EnvCount(b, "UNITCOST_BENCH_RUNS", 20)
	ctx := context.Background()
	st, end := benchdata.Store(b, benchdata.Options{LineItems: n, Labels: true}, true)
	bk, err := pricing.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	api := report.NewAPI(st, nil).EnableWhatif(whatifch.New(st), pricing.Single(bk))
	srv := httptest.NewServer(web.Handler(api, false))
	defer srv.Close()
	// the same handler with every request running its own rollup reads, loaded in turn with
	// the first (interleaved, so the machine's load weighs on both alike)
	unshared := httptest.NewServer(web.Handler(report.NewAPI(st, nil, report.WithoutSharedReads()), false))
	defer unshared.Close()

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

	// each window ends where the data does (the hour after its last line item), not now: a
	// later re-run on the kept database loads the same windows of the same data
	for i := range pages {
		for j, u := range pages[i].urls {
			pages[i].urls[j] = anchored(u, end)
		}
	}
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
			compare := !strings.HasPrefix(p.name, "what-if") && p.name != "assets"
			w0 := time.Now()
			first, err := load(ctx, srv.URL, p.urls) // warm-up, and a check that every read answers 200
			if err != nil {
				b.Fatalf("%s: %v", p.name, err)
			}
			warm := time.Since(w0)
			if compare {
				if _, err := load(ctx, unshared.URL, p.urls); err != nil {
					b.Fatalf("%s (unshared): %v", p.name, err)
				}
			}
			n := runs
			if warm > 3*time.Second { // a slow page: about a minute of runs, at least 3
				n = max(3, min(runs, int(time.Minute/warm)))
			}
			var lat, latU []time.Duration
			var cpu, cpuU time.Duration
			reads := make([][]time.Duration, len(p.urls))
			if warm > 20*time.Second { // a very slow page: the one load is the figure
				n, lat = 0, []time.Duration{warm}
				for i, d := range first {
					reads[i] = []time.Duration{d}
				}
			}
			for range n {
				c0 := cpuTime()
				t0 := time.Now()
				each, err := load(ctx, srv.URL, p.urls)
				if err != nil {
					b.Fatalf("%s: %v", p.name, err)
				}
				lat = append(lat, time.Since(t0))
				cpu += cpuTime() - c0
				for i, d := range each {
					reads[i] = append(reads[i], d)
				}
				if compare {
					c0 = cpuTime()
					t0 = time.Now()
					if _, err := load(ctx, unshared.URL, p.urls); err != nil {
						b.Fatalf("%s (unshared): %v", p.name, err)
					}
					latU = append(latU, time.Since(t0))
					cpuU += cpuTime() - c0
				}
			}
			slowest, slowestP50 := "", time.Duration(0)
			for i, r := range reads {
				sort.Slice(r, func(i, j int) bool { return r[i] < r[j] })
				if r[len(r)/2] > slowestP50 {
					slowest, slowestP50 = p.urls[i], r[len(r)/2]
				}
			}
			path, _, _ := strings.Cut(slowest, "?")
			r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
			p50, p95 := pct(lat, 50), pct(lat, 95)
			line := fmt.Sprintf("%-36s %2d reads  p50 %9s  p95 %9s  %2d runs", p.name, len(p.urls), r(p50), r(p95), max(n, 1))
			if n > 0 {
				line += fmt.Sprintf("  Go CPU %7s/load", r(cpu/time.Duration(n)))
			}
			if len(latU) > 0 {
				u50 := pct(latU, 50)
				line += fmt.Sprintf("  | unshared p50 %9s p95 %9s Go CPU %7s/load, shared/unshared p50 %.2f", r(u50), r(pct(latU, 95)),
					r(cpuU/time.Duration(n)), float64(p50)/float64(u50))
			}
			fmt.Fprintf(os.Stderr, "%s  (load %s; slowest read %s p50 %s)\n", line, bench.LoadAvg(), strings.TrimPrefix(path, "/api/v1/"), r(slowestP50))
		}
	}
}

// anchored replaces a URL's since=D by from=end-D&to=end.
func anchored(u string, end time.Time) string {
	path, raw, ok := strings.Cut(u, "?")
	q, err := url.ParseQuery(raw)
	if !ok || err != nil || q.Get("since") == "" {
		return u
	}
	d, err := time.ParseDuration(q.Get("since"))
	if err != nil {
		panic(err)
	}
	q.Del("since")
	q.Set("from", end.Add(-d).UTC().Format(time.RFC3339))
	q.Set("to", end.UTC().Format(time.RFC3339))
	return path + "?" + q.Encode()
}

// pct is the p-th percentile of d (nearest rank); d is sorted in place.
func pct(d []time.Duration, p int) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := (len(d)*p + 99) / 100
	return d[max(0, min(len(d)-1, i-1))]
}

// cpuTime is the CPU time this process (the handler and the client) has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
	af.Set("metric", "cost_per_completed") // the alert band, per hour or per day
	af.Set("bucket", bucket)
	reads = append(reads, "/api/v1/alerts/readings?"+af.Encode())
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

// sampleWorkflow is a workflow of the last day, for the drill-down.
func sampleWorkflow(b *testing.B, st *store.Store, end time.Time) string {
	rows, err := st.TopWorkflows(context.Background(), end.Add(-24*time.Hour), end, "", 1)
	if err != nil || len(rows) == 0 {
		b.Fatalf("no workflow to drill into: %v", err)
	}
	return rows[0].WorkflowID
}
