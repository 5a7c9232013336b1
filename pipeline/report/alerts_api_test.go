package report_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/apitest"
	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/store"
)

// The alert history over the API: each token sees its tenant's alerts only (an admin every
// one, with the rules over all tenants); dollar figures are *_nano and *_usd, shares plain
// numbers; every response matches openapi.yaml and both operations are exercised.
func TestAlertsAPI(t *testing.T) {
	check := apitest.New(t)
	defer check.Verify(t)
	st := testenv.ClickHouse(t)
	ctx := context.Background()
	hour := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Hour)
	at := hour.Add(59 * time.Minute)
	var readings []store.AlertReading
	var events []store.AlertEvent
	for _, c := range []struct {
		tenant, key, metric, workflow string
		current, baseline, spread     float64
	}{
		{"acme", "cpc/qa", "cost_per_completed", "qa", 0.123456789012, 0.1, 0.004},
		{"globex", "cpc/qa", "cost_per_completed", "qa", 7, 1, 0.5},
		{"", "review", "review_share", "", 0.5, 0.1, 0.02},
	} {
		lo, hi := c.baseline-0.02, c.baseline+0.02
		readings = append(readings,
			store.AlertReading{Tenant: c.tenant, Key: c.key, Bucket: hour, EvaluatedAt: at, Rule: strings.Split(c.key, "/")[0], Metric: c.metric, Workflow: c.workflow,
				Usable: true, Current: c.current, Baseline: c.baseline, Spread: c.spread, BandLow: lo, BandHigh: hi, DeviationPct: 100 * (c.current - c.baseline) / c.baseline,
				Samples: 40, BaselineHours: 24, Method: "median_mad"},
			store.AlertReading{Tenant: c.tenant, Key: c.key, Bucket: hour.Add(-time.Hour), EvaluatedAt: at.Add(-time.Hour), Rule: strings.Split(c.key, "/")[0],
				Metric: c.metric, Workflow: c.workflow, Reason: "3 usable baseline hours, need 6", Method: "median_mad"})
		events = append(events, store.AlertEvent{Tenant: c.tenant, Key: c.key, StartsAt: at, Status: "firing", At: at, Bucket: hour, Rule: strings.Split(c.key, "/")[0],
			Metric: c.metric, Workflow: c.workflow, Severity: "warning", Current: c.current, Baseline: c.baseline, Spread: c.spread, BandLow: lo, BandHigh: hi,
			DeviationPct: math.Inf(1), Samples: 40, Summary: c.key + " rose", Explanation: "model_tokens moved most"})
	}
	if err := st.WriteAlertReadings(ctx, readings); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteAlertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(check.Middleware(report.NewAPI(st, map[string]string{"tok-acme": "acme", "tok-admin": report.AllTenants})))
	defer srv.Close()
	get := func(path, token string) (int, map[string]any) { return do(t, http.MethodGet, srv.URL+path, token) }
	rows := func(body map[string]any) []map[string]any {
		var out []map[string]any
		for _, r := range body["rows"].([]any) {
			out = append(out, r.(map[string]any))
		}
		return out
	}

	code, body := get("/api/v1/alerts", "tok-acme")
	if r := rows(body); code != 200 || len(r) != 1 || r[0]["tenant"] != "acme" || r[0]["unit"] != "usd" || r[0]["current_nano"] != 123456789.0 ||
		r[0]["current_usd"] != "0.123456789" || r[0]["current"] != nil || r[0]["band_high_nano"] != 120000000.0 || r[0]["band_low_usd"] != "0.080000000" ||
		r[0]["spread_nano"] != 4000000.0 || r[0]["deviation_pct"] != nil || r[0]["status"] != "firing" || r[0]["bucket"] != hour.Format(time.RFC3339) ||
		r[0]["explanation"] != "model_tokens moved most" || body["currency"] != "USD" {
		t.Fatalf("acme alerts: %d %v", code, body)
	}
	code, body = get("/api/v1/alerts/readings?workflow=qa&metric=cost_per_completed", "tok-acme")
	if r := rows(body); code != 200 || len(r) != 2 || r[0]["usable"] != false || r[0]["current_nano"] != nil || r[0]["reason"] == "" ||
		r[1]["usable"] != true || r[1]["baseline_nano"] != 100000000.0 || r[1]["evaluated_at"] != at.Format(time.RFC3339) {
		t.Fatalf("acme readings: %d %v", code, body)
	}
	code, body = get("/api/v1/alerts?metric=review_share", "tok-admin")
	if r := rows(body); code != 200 || len(r) != 1 || r[0]["tenant"] != "" || r[0]["unit"] != "ratio" || r[0]["current"] != 0.5 || r[0]["current_nano"] != nil {
		t.Fatalf("admin review share alerts: %d %v", code, body)
	}
	if code, body := get("/api/v1/alerts/readings", "tok-admin"); code != 200 || len(rows(body)) != 6 {
		t.Fatalf("admin readings: %d %v", code, body)
	}
	if code, body := get("/api/v1/alerts?tenant=globex", "tok-admin"); code != 200 || len(rows(body)) != 1 || rows(body)[0]["current_nano"] != 7e9 {
		t.Fatalf("admin picks globex: %d %v", code, body)
	}
	if code, body := get("/api/v1/alerts?since=1h", "tok-acme"); code != 200 || body["rows"] == nil || len(body["rows"].([]any)) != 0 {
		t.Fatalf("acme, nothing in the window: %d %v", code, body)
	}
	for _, c := range []struct {
		path, token string
		code        int
		msg         string
	}{
		{"/api/v1/alerts?tenant=globex", "tok-acme", 403, `sees tenant "acme" only`},
		{"/api/v1/alerts/readings?tenant=globex", "tok-acme", 403, `sees tenant "acme" only`},
		{"/api/v1/alerts", "", 401, "bearer token"},
		{"/api/v1/alerts?metric=cost", "tok-acme", 400, "use cost_per_completed"},
		{"/api/v1/alerts/readings?since=soon", "tok-acme", 400, "positive duration"},
	} {
		code, body := get(c.path, c.token)
		if msg, _ := body["error"].(string); code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %q, want %d containing %q", c.path, code, msg, c.code, c.msg)
		}
	}
	for _, p := range []string{"/api/v1/alerts", "/api/v1/alerts/readings"} {
		if code, _ := do(t, http.MethodPost, srv.URL+p, "tok-acme"); code != 405 {
			t.Errorf("POST %s: %d, want 405", p, code)
		}
	}
	check.RequireAllOperations(t, 200, "/api/v1/openapi.json", "/api/v1/summary", "/api/v1/unit-economics", "/api/v1/breakdown", "/api/v1/workflows",
		"/api/v1/reported-cost", "/api/v1/context-share", "/api/v1/series", "/api/v1/whatif")
}
