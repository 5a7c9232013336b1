package report_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/apitest"
	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/alert"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/store"
)

const scopedRules = `
state_file: %STATE%
rules:
  - {name: by-tenant, metric: cost_per_completed, scope: {tenant: acme}, baseline_window: 2h, min_samples: 1, min_baseline_hours: 2}
  - {name: by-team, metric: cost_per_completed, scope: {tenant: acme, team: pay}, baseline_window: 2h, min_samples: 1, min_baseline_hours: 2}
  - {name: by-service, metric: cost_per_completed, scope: {tenant: acme, service: api}, baseline_window: 2h, min_samples: 1, min_baseline_hours: 2}
  - {name: by-environment, metric: cost_per_completed, scope: {tenant: acme, environment: prod}, baseline_window: 2h, min_samples: 1, min_baseline_hours: 2}
  - {name: by-version, metric: cost_per_completed, scope: {tenant: acme, workflow_version: v1}, baseline_window: 2h, min_samples: 1, min_baseline_hours: 2}
  - {name: by-model, metric: cost_per_completed, scope: {tenant: acme, model: m1}, baseline_window: 2h, min_samples: 1, min_baseline_hours: 2}
  - {name: by-model-lines, metric: unpriced_share, scope: {tenant: acme, model: m1}, baseline_window: 2h, min_samples: 1, min_baseline_hours: 2}
  - {name: by-team-grouped, metric: cost_per_completed, scope: {team: pay}, group_by: "tenant,workflow", baseline_window: 2h, min_samples: 1, min_baseline_hours: 2}
`

// The daily alert band of rules scoped by team, service, environment, workflow version and
// model, on ClickHouse, from what the alert engine itself recorded: each day's figures are
// the mean of exactly the engine's usable hourly readings of that UTC day weighted by the
// hour's denominator over the rule's own scope (which, with a one-hour window, is the
// reading's own sample count), to the nano-dollar; days are whole UTC days whatever hour
// the window names (as the trend's day buckets), and a tenant sees its own readings only.
func TestDayBandWeighsOverTheRulesOwnScope(t *testing.T) {
	check := apitest.New(t)
	defer check.Verify(t)
	st := testenv.ClickHouse(t)
	ctx := context.Background()
	day0 := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	start := day0.Add(16 * time.Hour) // 14 hours: 16:00 on day 0 to 05:59 on day 1
	// Each hour i: team pay (service api, prod, v1, model m1) runs 1 workflow at $1000n when i
	// is even, 3 at $2000n when odd; team ship (batch, dev, v2, model m2, and a m1 line of
	// unpriced tokens on odd hours) always 5 at $3000n. A rule on team pay weighs an hour by
	// pay's completions (1 or 3), never by the tenant's (6 or 8).
	var b pipeline.Batch
	n := uint64(0)
	for i := 0; i < 14; i++ {
		hour := start.Add(time.Duration(i) * time.Hour)
		add := func(team, service, env, version, model string, cost pipeline.Money, unpriced bool) {
			n++
			var tid pipeline.TraceID
			binary.BigEndian.PutUint64(tid[8:], n)
			ts := hour.Add(time.Duration(n%50) * time.Minute).UnixNano()
			wid := tid.String()
			b.Workflows = append(b.Workflows, pipeline.Workflow{ID: wid, Tenant: "acme", TraceID: tid, Name: "wf", Version: version, Outcome: "completed",
				ValidatedOutputs: 1, Team: team, Service: service, Environment: env, StartUnixNano: ts, EndUnixNano: ts + 1e9})
			line := func(id byte, model string, cost pipeline.Money, priced bool) {
				sp := &pipeline.Span{Tenant: "acme", TraceID: tid, StartUnixNano: ts, EndUnixNano: ts + 5e8, Operation: pipeline.OpChat, Model: model,
					Team: team, Service: service, Environment: env, WorkflowVersion: version}
				sp.SpanID[7] = id
				b.LineItems = append(b.LineItems, pipeline.LineItem{Span: sp, WorkflowID: wid, Component: pipeline.ComponentModel, Cost: cost, Priced: priced})
			}
			line(2, model, cost, true)
			if unpriced {
				line(3, "m1", 0, false)
			}
		}
		for w := 0; w < 1+2*(i%2); w++ {
			add("pay", "api", "prod", "v1", "m1", pipeline.Money(1000*(1+i%2)), false)
		}
		for w := 0; w < 5; w++ {
			add("ship", "batch", "dev", "v2", "m2", 3000, i%2 == 1 && w == 0)
		}
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RefreshRollups(ctx, 0); err != nil {
		t.Fatal(err)
	}
	rules, err := alert.ParseRules([]byte(strings.ReplaceAll(scopedRules, "%STATE%", filepath.Join(t.TempDir(), "state.json"))))
	if err != nil {
		t.Fatal(err)
	}
	e, err := alert.New(rules, st, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), alert.WithHistory(st))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 14; i++ {
		if _, err := e.Evaluate(ctx, start.Add(time.Duration(i+1)*time.Hour-time.Second)); err != nil {
			t.Fatal(err)
		}
	}

	srv := httptest.NewServer(check.Middleware(report.NewAPI(st, map[string]string{"tok-acme": "acme", "tok-globex": "globex", "tok-admin": report.AllTenants})))
	defer srv.Close()
	get := func(path, token string) []map[string]any {
		t.Helper()
		code, body := do(t, http.MethodGet, srv.URL+path, token)
		if code != 200 {
			t.Fatalf("%s: %d %v", path, code, body)
		}
		var out []map[string]any
		for _, r := range body["rows"].([]any) {
			out = append(out, r.(map[string]any))
		}
		return out
	}
	// the window names 21:00 on day 0: the daily view reads whole UTC days from midnight
	window := "from=2026-10-05T21:00:00Z&to=2026-10-07T00:00:00Z"
	hourly := get("/api/v1/alerts/readings?from=2026-10-05T00:00:00Z&to=2026-10-07T00:00:00Z", "tok-acme")
	daily := get("/api/v1/alerts/readings?bucket=day&"+window, "tok-acme")

	// expected: per alert and UTC day, the engine's usable hours weighted by their samples
	// (completed workflows, or the model's lines, in the hour over the rule's scope)
	figs := []string{"current", "baseline", "spread", "band_low", "band_high"}
	type acc struct {
		w     *big.Int
		sum   []*big.Int
		float []float64
		hours int
	}
	want := map[string]*acc{}
	for _, r := range hourly {
		if r["usable"] != true {
			continue
		}
		k := r["alert_key"].(string) + " " + r["bucket"].(string)[:10]
		a := want[k]
		if a == nil {
			a = &acc{w: new(big.Int), float: make([]float64, len(figs))}
			for range figs {
				a.sum = append(a.sum, new(big.Int))
			}
			want[k] = a
		}
		s := int64(r["samples"].(float64))
		a.w.Add(a.w, big.NewInt(s))
		a.hours++
		for i, f := range figs {
			if r["unit"] == "usd" {
				a.sum[i].Add(a.sum[i], new(big.Int).Mul(big.NewInt(s), big.NewInt(int64(r[f+"_nano"].(float64)))))
			} else {
				a.float[i] += float64(s) * r[f].(float64)
			}
		}
	}
	line := func(r map[string]any) string {
		var parts []string
		for _, f := range figs {
			if r["unit"] == "usd" {
				parts = append(parts, fmt.Sprintf("%s=%d", f, int64(r[f+"_nano"].(float64))))
			} else {
				parts = append(parts, fmt.Sprintf("%s=%.9f", f, r[f].(float64)))
			}
		}
		return fmt.Sprintf("%s %s %vh %s", r["alert_key"], r["bucket"].(string)[:10], r["hours"], strings.Join(parts, " "))
	}
	var got, exp []string
	usd := map[string]bool{}
	for _, r := range daily {
		got = append(got, line(r))
		usd[r["alert_key"].(string)] = r["unit"] == "usd"
	}
	for k, a := range want {
		key, day, _ := strings.Cut(k, " ")
		var parts []string
		for i, f := range figs {
			if strings.Contains(key, "lines") {
				parts = append(parts, fmt.Sprintf("%s=%.9f", f, a.float[i]/float64(a.w.Int64())))
			} else {
				parts = append(parts, fmt.Sprintf("%s=%d", f, report.DivRound(a.sum[i], a.w)))
			}
		}
		exp = append(exp, fmt.Sprintf("%s %s %dh %s", key, day, a.hours, strings.Join(parts, " ")))
	}
	sort.Strings(got)
	sort.Strings(exp)
	t.Logf("daily band:\n%s", strings.Join(got, "\n"))
	if g, w := strings.Join(got, "\n"), strings.Join(exp, "\n"); g != w {
		t.Errorf("daily band\n got:\n%s\nwant:\n%s", g, w)
	}
	// every scope is there, both days, and the engine's first two hours (no baseline yet) are not
	if len(got) != 16 {
		t.Errorf("%d daily readings, want 8 alerts x 2 days:\n%s", len(got), strings.Join(got, "\n"))
	}
	// the figures by hand: team pay's day 0 from 18:00 (16:00 and 17:00 had too short a
	// baseline) weighs hours 19, 21, 23 (3 x $2000n) and 18, 20, 22 (1 x $1000n):
	// 21000 / 12 = 1750 (the tenant's weights 8 and 6 would give 66000 / 42 = 1571; the
	// hours from 21:00 only, 13000 / 7 = 1857); day 1 the same hours: 1750
	for _, r := range daily {
		if r["alert_key"] == "by-team" || r["alert_key"] == "by-service" || r["alert_key"] == "by-environment" || r["alert_key"] == "by-version" ||
			r["alert_key"] == "by-team-grouped/acme/wf" {
			if r["current_nano"] != 1750.0 || r["hours"] != 6.0 {
				t.Errorf("%s %s: current_nano %v over %v hours, want 1750 over 6", r["alert_key"], r["bucket"], r["current_nano"], r["hours"])
			}
		}
	}
	// the trend's daily view starts at the same midnight: team pay's day 0 is every hour
	// from 16:00, (4 x 1000 + 12 x 2000) / 16 completed = 1750
	code, body := do(t, http.MethodGet, srv.URL+"/api/v1/series?bucket=day&team=pay&"+window, "tok-acme")
	if rows, _ := body["rows"].([]any); code != 200 || body["from"] != "2026-10-05T00:00:00Z" || len(rows) != 2 ||
		rows[0].(map[string]any)["bucket"] != "2026-10-05T00:00:00Z" || rows[0].(map[string]any)["cost_per_completed_nano"] != 1750.0 {
		t.Errorf("daily trend: %d %v", code, body)
	}
	code, body = do(t, http.MethodGet, srv.URL+"/api/v1/alerts/readings?bucket=day&"+window, "tok-acme")
	if code != 200 || body["from"] != "2026-10-05T00:00:00Z" {
		t.Errorf("daily readings window: %d from %v", code, body["from"])
	}
	// tenant isolation: globex sees nothing of acme's; an admin sees the same acme rows
	if rows := get("/api/v1/alerts/readings?bucket=day&"+window, "tok-globex"); len(rows) != 0 {
		t.Errorf("globex sees %d readings", len(rows))
	}
	if rows := get("/api/v1/alerts/readings?bucket=day&tenant=acme&"+window, "tok-admin"); len(rows) != len(daily) {
		t.Errorf("admin sees %d acme day readings, acme %d", len(rows), len(daily))
	}
}

// boundedSeries counts the rollup queries in flight.
type boundedSeries struct {
	report.Querier
	readings    []store.AlertReading
	mu          sync.Mutex
	now, most   int
	calls       int
	seenFilters map[store.SeriesFilter]bool
}

func (q *boundedSeries) AlertReadings(context.Context, time.Time, time.Time, store.AlertFilter) ([]store.AlertReading, error) {
	return q.readings, nil
}

func (q *boundedSeries) Series(_ context.Context, _, _ time.Time, _ string, f store.SeriesFilter) ([]store.SeriesPoint, error) {
	q.mu.Lock()
	q.now++
	q.calls++
	q.most = max(q.most, q.now)
	q.seenFilters[f] = true
	q.mu.Unlock()
	time.Sleep(time.Millisecond)
	q.mu.Lock()
	q.now--
	q.mu.Unlock()
	return nil, nil
}

// An admin's daily readings over many tenants read each scope's rollups once, at most four
// queries at a time.
func TestDayBandRollupQueriesAreBounded(t *testing.T) {
	t.Parallel()
	q := &boundedSeries{seenFilters: map[store.SeriesFilter]bool{}}
	at := time.Date(2026, 10, 5, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 40; i++ {
		for _, team := range []string{"", "pay"} {
			q.readings = append(q.readings, store.AlertReading{Tenant: fmt.Sprintf("t%02d", i), Key: "k" + team, Team: team, Bucket: at, Metric: "cost_per_completed", Usable: true},
				store.AlertReading{Tenant: fmt.Sprintf("t%02d", i), Key: "k" + team, Team: team, Bucket: at.Add(time.Hour), Metric: "cost_per_completed", Usable: true})
		}
	}
	srv := httptest.NewServer(report.NewAPI(q, map[string]string{"tok-admin": report.AllTenants}))
	defer srv.Close()
	if code, body := do(t, http.MethodGet, srv.URL+"/api/v1/alerts/readings?bucket=day&since=48h", "tok-admin"); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	if q.calls != 80 || len(q.seenFilters) != 80 || q.most > 4 {
		t.Fatalf("%d rollup queries over %d scopes, %d at once; want 80 over 80, at most 4 at once", q.calls, len(q.seenFilters), q.most)
	}
}
