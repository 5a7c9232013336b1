package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/unitcost/unitcost/internal/apitest"
	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/web"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

// generated runs the generator's workload through the real pipeline (OTLP ingest,
// embedded Kafka, process) into a fresh database on the real ClickHouse, refreshes the
// rollups, and returns the store and the ground truth.
func generated(t *testing.T, workflows int) (*store.Store, *loadgen.Truth) {
	t.Helper()
	return generatedWith(t, loadgen.Config{Seed: 11, Workflows: workflows, Start: time.Now().Add(-90 * time.Minute).Truncate(time.Minute), Spacing: 20 * time.Second})
}

// generatedWith runs the workload lc (its seed also seeds the span ids) as generated does.
func generatedWith(t *testing.T, lc loadgen.Config) (*store.Store, *loadgen.Truth) {
	t.Helper()
	st := testenv.ClickHouse(t)
	cfg := testenv.Config(t, testenv.Kfake(t, 4), st)
	cfg.Process.Stitch.QuietPeriod = 200 * time.Millisecond
	cfg.Process.FlushInterval = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	s, err := stack.New(ctx, cfg, stack.Roles{Ingest: true, Process: true}, nil, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stack: %v", err)
		}
	}()
	exp, err := otlptrace.New(ctx, otlptracegrpc.NewClient(otlptracegrpc.WithEndpoint(s.Receiver.GRPCAddr()), otlptracegrpc.WithInsecure()))
	if err != nil {
		t.Fatal(err)
	}
	tp := loadgen.NewTracerProvider(exp, lc.Seed)
	truth, err := loadgen.Run(ctx, lc, tp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		w, l, err := st.Counts(ctx)
		if err == nil && w == uint64(len(truth.Workflows)) && l == uint64(truth.LineItems) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipeline wrote %d/%d workflows, %d/%d line items (%v)", w, len(truth.Workflows), l, truth.LineItems, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := st.RefreshRollups(ctx, 0); err != nil {
		t.Fatal(err)
	}
	return st, truth
}

// browser starts headless Chromium (Debian's package) with a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(testenv.Chromium(t)),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1100),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // allocates the browser; no timeout on this first call
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artefacts is where screenshots go: .unitcost/screenshots at the repository root.
func artefacts(t *testing.T) string {
	dir, _ := filepath.Abs(filepath.Join("..", "..", ".unitcost", "screenshots"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// page loads path with token and waits until the page says it is ready (or failed).
func page(t *testing.T, ctx context.Context, base, path, token string) string {
	t.Helper()
	url := base + path
	if token != "" {
		url += "#token=" + token
	}
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-state]`))); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	state, err := chromedp.Run(tctx, chromedp.AttributeValue(chromedp.CSS(`body`), "data-state"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return state.Value
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artefacts(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// texts evaluates js, which must return an array of strings.
func texts(t *testing.T, ctx context.Context, js string) []string {
	t.Helper()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return out
}

func nano(m pipeline.Money) string { return strconv.FormatInt(int64(m), 10) }

// The dashboard over real ClickHouse with the generator's data: every figure a tenant's
// page shows equals the ground truth for that tenant; another tenant's figures appear on
// no page and in no asset; every API response the pages caused matches openapi.yaml.
func TestDashboardInChromium(t *testing.T) {
	st, truth := generated(t, 120)
	check := apitest.New(t)
	defer check.Verify(t)
	bk, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	api := report.NewAPI(st, map[string]string{"tok-acme": "acme", "tok-globex": "globex", "tok-admin": report.AllTenants}).
		EnableWhatif(whatifch.New(st), pricing.Single(bk))
	srv := httptest.NewServer(check.Middleware(web.Handler(api, false)))
	defer srv.Close()
	ctx := browser(t)

	for _, tenant := range []string{"acme", "globex", ""} {
		tok := "tok-" + tenant
		if tenant == "" {
			tok = "tok-admin"
		}
		if state := page(t, ctx, srv.URL, "/ui/?since=24h", tok); state != "ready" {
			t.Fatalf("%s: page state %q", tok, state)
		}
		shot(t, ctx, "overview-"+strings.TrimPrefix(tok, "tok-"))
		want := truth.ByType(tenant)
		var ue []store.UnitEconomics
		for _, w := range want {
			ue = append(ue, store.UnitEconomics{Workflow: w.Workflow, Workflows: w.Workflows, Completed: w.Completed, ValidatedOutputs: w.ValidatedOutputs,
				Exceptions: w.Exceptions, Cost: w.Cost, ExceptionCost: w.ExceptionCost, ReviewCost: w.ReviewCost})
		}
		doc := report.NewUnitEconomicsDoc(time.Time{}, time.Time{}, "rollups", ue)
		// the unit economics table: workflow, counts, then the exact amounts behind each cell
		got := texts(t, ctx, `[...document.querySelectorAll("#unit tbody tr")].map(tr => [...tr.children].map(td => td.dataset.nano ?? td.dataset.bp ?? td.textContent).join("|"))`)
		var exp []string
		rows := doc.Rows
		if len(rows) > 1 {
			rows = append(rows, doc.Total)
		}
		for _, r := range rows {
			opt := func(p *int64) string {
				if p == nil {
					return ""
				}
				return strconv.FormatInt(*p, 10)
			}
			exp = append(exp, strings.Join([]string{r.Workflow, fmt.Sprint(r.Workflows), fmt.Sprint(r.Completed), fmt.Sprint(r.ValidatedOutputs),
				fmt.Sprint(r.Exceptions), strconv.FormatInt(r.CostNano, 10), opt(r.PerCompletedNano), opt(r.PerValidatedNano), opt(r.PerExceptionNano),
				fmt.Sprint(r.ReviewShareBP), "0"}, "|"))
		}
		if strings.Join(got, "\n") != strings.Join(exp, "\n") {
			t.Errorf("%s: unit economics table\n got %q\nwant %q", tok, got, exp)
		}
		// KPI tiles: the window's totals, shown as rounded dollars and backed by exact values
		kpi := texts(t, ctx, `[...document.querySelectorAll(".kpi .value")].map(v => v.closest(".kpi").dataset.kpi + "=" + (v.dataset.nano ?? v.dataset.bp) + "=" + v.textContent)`)
		tot := doc.Total
		wantKPI := []string{
			"cost_per_completed=" + fmt.Sprint(*tot.PerCompletedNano) + "=$" + pipeline.Money(*tot.PerCompletedNano).Dollars(6),
			"cost_per_validated_output=" + fmt.Sprint(*tot.PerValidatedNano) + "=$" + pipeline.Money(*tot.PerValidatedNano).Dollars(6),
			"cost_per_exception=" + fmt.Sprint(*tot.PerExceptionNano) + "=$" + pipeline.Money(*tot.PerExceptionNano).Dollars(6),
			fmt.Sprintf("review_share=%d=%d.%02d%%", tot.ReviewShareBP, tot.ReviewShareBP/100, tot.ReviewShareBP%100),
			"unpriced_share=0=0.00%",
			"cost=" + fmt.Sprint(tot.CostNano) + "=$" + pipeline.Money(tot.CostNano).Dollars(2),
		}
		if strings.Join(kpi, "\n") != strings.Join(wantKPI, "\n") {
			t.Errorf("%s: KPI tiles\n got %q\nwant %q", tok, kpi, wantKPI)
		}
		// the breakdown by tenant adds up to the total and names only visible tenants
		bd := texts(t, ctx, `[...document.querySelectorAll("#breakdown tbody tr")].map(tr => tr.dataset.key + "=" + tr.children[1].dataset.nano)`)
		if len(bd) == 0 {
			t.Errorf("%s: empty breakdown", tok)
		}
		var sum int64
		for _, b := range bd {
			n, _ := strconv.ParseInt(b[strings.LastIndexByte(b, '=')+1:], 10, 64)
			sum += n
		}
		if sum != tot.CostNano {
			t.Errorf("%s: breakdown by model adds up to %d, want %d (%q)", tok, sum, tot.CostNano, bd)
		}
		// both charts drew
		if n := texts(t, ctx, `[...document.querySelectorAll(".chart canvas")].map(c => String(c.width))`); len(n) != 2 {
			t.Errorf("%s: %d charts drawn, want 2", tok, len(n))
		}
		// top workflows: only this tenant's, most expensive first, each drills down to its exact cost
		top := texts(t, ctx, `[...document.querySelectorAll("#top tbody tr")].map(tr => tr.dataset.workflowId + "=" + tr.children[1].textContent + "=" + tr.children[5].dataset.nano)`)
		byID := map[string]loadgen.WorkflowTruth{}
		for _, w := range truth.Workflows {
			byID[w.ID] = w
		}
		if len(top) != 10 {
			t.Fatalf("%s: %d top workflows, want 10", tok, len(top))
		}
		for _, row := range top {
			f := strings.Split(row, "=")
			w := byID[f[0]]
			if (tenant != "" && (f[1] != tenant || w.Tenant != tenant)) || f[2] != nano(w.Cost) {
				t.Errorf("%s: top workflow %q, truth %+v", tok, row, w)
			}
		}
		html := texts(t, ctx, `[document.documentElement.outerHTML]`)[0]
		for _, w := range truth.Workflows {
			if tenant != "" && w.Tenant != tenant && strings.Contains(html, w.ID) {
				t.Errorf("%s: the page shows workflow %s of tenant %s", tok, w.ID, w.Tenant)
			}
		}
		if tenant != "" {
			other := map[string]string{"acme": "globex", "globex": "acme"}[tenant]
			if strings.Contains(html, other) {
				t.Errorf("%s: the page names tenant %s", tok, other)
			}
		}

		// drill-down of the most expensive workflow
		first := strings.Split(top[0], "=")[0]
		if state := page(t, ctx, srv.URL, "/ui/workflow?id="+first, ""); state != "ready" {
			t.Fatalf("%s: drill-down state %q", tok, state)
		}
		if tenant != "" {
			shot(t, ctx, "workflow-"+tenant)
		}
		lines := texts(t, ctx, `[...document.querySelectorAll("#lines tr.line")].map(tr => tr.children[6].dataset.nano + "|" + tr.children[7].textContent + "|" + tr.children[8].textContent)`)
		total := texts(t, ctx, `[document.querySelector("#wf-total").dataset.nano]`)[0]
		if len(lines) != byID[first].LineItems || total != nano(byID[first].Cost) {
			t.Errorf("%s: drill-down of %s: %d lines costing %s, truth %d lines costing %d", tok, first, len(lines), total, byID[first].LineItems, byID[first].Cost)
		}
		if facts := texts(t, ctx, `[document.querySelector("[data-fact=tenant]").textContent, document.querySelector("[data-fact=type]").textContent]`); facts[0] != byID[first].Tenant || facts[1] != byID[first].Type {
			t.Errorf("%s: drill-down facts %q, truth %s %s", tok, facts, byID[first].Tenant, byID[first].Type)
		}
		for _, l := range lines {
			if f := strings.Split(l, "|"); f[1] == "" || f[2] == "" {
				t.Errorf("%s: a line without price provenance: %q", tok, l)
			}
		}
	}

	// the what-if page shows the API's routings for the token's tenant, figure for figure
	if state := page(t, ctx, srv.URL, "/ui/whatif?since=24h&workflow=ticket_classification", "tok-acme"); state != "ready" {
		t.Fatalf("what-if page state %q", state)
	}
	shot(t, ctx, "whatif-acme")
	shown := texts(t, ctx, `[...document.querySelectorAll(".whatif tr[data-routing]")].map(tr => tr.dataset.routing + "=" + tr.children[1].dataset.nano)`)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/whatif?since=24h&workflow=ticket_classification", nil)
	req.Header.Set("Authorization", "Bearer tok-acme")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var wi struct {
		Reports []struct {
			Tenant              string
			Routings, Scenarios []struct {
				Routing      string
				PerValidated struct {
					PointNano int64 `json:"point_nano"`
				} `json:"cost_per_validated_output"`
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&wi); err != nil || len(wi.Reports) != 1 || wi.Reports[0].Tenant != "acme" {
		t.Fatalf("what-if API: %v %+v", err, wi)
	}
	resp.Body.Close()
	var wantWI []string
	for _, e := range append(wi.Reports[0].Routings, wi.Reports[0].Scenarios...) {
		wantWI = append(wantWI, fmt.Sprintf("%s=%d", e.Routing, e.PerValidated.PointNano))
	}
	if len(shown) == 0 || strings.Join(shown, "\n") != strings.Join(wantWI, "\n") {
		t.Errorf("what-if page\n got %q\nwant %q", shown, wantWI)
	}

	// a tenant's token cannot reach another tenant's figures through the page's URL
	if state := page(t, ctx, srv.URL, "/ui/?tenant=globex", "tok-acme"); state != "error" {
		t.Errorf("acme token with ?tenant=globex: page state %q, want error", state)
	}
	if msg := texts(t, ctx, `[document.querySelector("#error").textContent, document.querySelector("#unit tbody").textContent]`); !strings.Contains(msg[0], `sees tenant "acme" only`) || msg[1] != "" {
		t.Errorf("acme token with ?tenant=globex: %q", msg)
	}
	shot(t, ctx, "forbidden-tenant")
	var globexWF string
	for _, w := range truth.Workflows {
		if w.Tenant == "globex" {
			globexWF = w.ID
			break
		}
	}
	if state := page(t, ctx, srv.URL, "/ui/workflow?id="+globexWF, "tok-acme"); state != "error" {
		t.Errorf("acme token on a globex workflow: state %q, want error", state)
	}
	if n := texts(t, ctx, `[...document.querySelectorAll("#lines tr")].map(tr => tr.textContent)`); len(n) != 1 { // the header only
		t.Errorf("acme token on a globex workflow shows lines: %q", n)
	}
	// no token: the login form, no figures
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`sessionStorage.clear()`)); err != nil {
		t.Fatal(err)
	}
	if state := page(t, ctx, srv.URL, "/ui/", ""); state != "error" {
		t.Errorf("no token: state %q, want error", state)
	}
	if vis := texts(t, ctx, `[String(!document.querySelector("#login").hidden), String(document.querySelector("#overview").hidden)]`); vis[0] != "true" || vis[1] != "true" {
		t.Errorf("no token: login shown %s, overview hidden %s", vis[0], vis[1])
	}

	// assets are the same bytes for every caller and hold no tenant's data
	for _, a := range []string{"/ui/", "/ui/app.js", "/ui/app.css", "/ui/vendor/uPlot.iife.min.js", "/ui/vendor/uPlot.min.css"} {
		var bodies []string
		for _, tok := range []string{"", "tok-acme", "tok-globex"} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+a, nil)
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("%s: %d, CSP %q", a, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
			}
			bodies = append(bodies, string(b))
		}
		if bodies[0] != bodies[1] || bodies[1] != bodies[2] || strings.Contains(bodies[0], "globex") || strings.Contains(bodies[0], "acme") {
			t.Errorf("%s differs by token or names a tenant", a)
		}
		if strings.Contains(bodies[0], "https://") && a != "/ui/vendor/uPlot.iife.min.js" {
			t.Errorf("%s refers to another origin", a)
		}
	}
}
