package report_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/internal/apitest"
	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/report"
)

func apiSpan(trace, id, parent byte, tenant string) *pipeline.Span {
	sp := &pipeline.Span{Tenant: tenant, StartUnixNano: time.Now().Add(-time.Hour).UnixNano()}
	sp.TraceID[0], sp.SpanID[7], sp.ParentSpanID[7] = trace, id, parent
	sp.EndUnixNano = sp.StartUnixNano + 1e9
	return sp
}

// The HTTP API on real ClickHouse: a tenant's token sees only its own workflows and line
// items; errors are JSON with a message that says what to do; every response, errors
// included, matches schemas/openapi.yaml, and every operation in it is exercised.
func TestAPITenantIsolation(t *testing.T) {
	check := apitest.New(t)
	st := testenv.ClickHouse(t)
	ctx := context.Background()
	var b pipeline.Batch
	for i, tenant := range []string{"acme", "globex"} {
		root, call := apiSpan(byte(i+1), 1, 0, tenant), apiSpan(byte(i+1), 2, 1, tenant)
		call.Model = "gpt-x"
		call.Session, call.User, call.Service = "s-"+tenant, "u-"+tenant, "api"
		call.ProviderCost, call.HasProviderCost = pipeline.Money(900*(i+1)), true
		b.Workflows = append(b.Workflows, pipeline.Workflow{ID: root.TraceID.String(), TraceID: root.TraceID, Tenant: tenant, Name: "qa", Outcome: "completed",
			OutcomeSource: "status UNSET", ValidatedOutputs: 1, StartUnixNano: root.StartUnixNano, EndUnixNano: root.EndUnixNano, Session: "s-" + tenant, User: "u-" + tenant,
			Service: "api", Labels: []pipeline.Label{{Key: "tier", Value: "gold"}}})
		b.LineItems = append(b.LineItems, pipeline.LineItem{Span: call, WorkflowID: root.TraceID.String(), Component: pipeline.ComponentModel,
			Cost: pipeline.Money(1000 * (i + 1)), Priced: true})
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	acmeWF, globexWF := b.Workflows[0].ID, b.Workflows[1].ID
	srv := httptest.NewServer(check.Middleware(report.NewAPI(st, map[string]string{"tok-acme": "acme", "tok-admin": report.AllTenants})))
	defer srv.Close()
	defer check.Verify(t)

	get := func(path, token string) (int, map[string]any) {
		return do(t, http.MethodGet, srv.URL+path, token)
	}
	costOf := func(body map[string]any) []float64 {
		var out []float64
		for _, r := range body["rows"].([]any) {
			out = append(out, r.(map[string]any)["cost_nano"].(float64))
		}
		return out
	}

	if code, body := get("/api/v1/unit-economics", "tok-acme"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 1000 {
		t.Fatalf("acme unit economics: %d %v", code, body)
	}
	if code, body := get("/api/v1/unit-economics", "tok-admin"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 3000 {
		t.Fatalf("admin unit economics: %d %v", code, body)
	}
	if code, body := get("/api/v1/unit-economics?tenant=globex", "tok-admin"); code != 200 || costOf(body)[0] != 2000 {
		t.Fatalf("admin picks globex: %d %v", code, body)
	}
	if code, body := get("/api/v1/breakdown?by=tenant&since=2d", "tok-acme"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 1000 {
		t.Fatalf("acme breakdown: %d %v", code, body)
	}
	// dimension filters and breakdowns never cross the token's tenant
	if code, body := get("/api/v1/breakdown?by=session&service=api", "tok-acme"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 1000 {
		t.Fatalf("acme cost per session: %d %v", code, body)
	}
	if code, body := get("/api/v1/breakdown?by=user", "tok-admin"); code != 200 || len(costOf(body)) != 2 {
		t.Fatalf("admin cost per user: %d %v", code, body)
	}
	if code, body := get("/api/v1/breakdown?by=label:tier&user=u-globex", "tok-admin"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 2000 {
		t.Fatalf("admin label breakdown of globex's user: %d %v", code, body)
	}
	if code, body := get("/api/v1/unit-economics?user=u-globex", "tok-acme"); code != 200 || len(body["rows"].([]any)) != 0 {
		t.Fatalf("acme filtering on globex's user: %d %v", code, body)
	}
	if code, body := get("/api/v1/unit-economics?session=s-acme&label=tier=gold", "tok-acme"); code != 200 || costOf(body)[0] != 1000 {
		t.Fatalf("acme by session and label: %d %v", code, body)
	}
	if code, body := get("/api/v1/reported-cost", "tok-acme"); code != 200 || len(body["rows"].([]any)) != 1 ||
		body["rows"].([]any)[0].(map[string]any)["difference_nano"].(float64) != 100 {
		t.Fatalf("acme computed vs reported: %d %v", code, body)
	}
	if code, body := get("/api/v1/workflows/top?limit=5&user=u-acme", "tok-acme"); code != 200 || len(costOf(body)) != 1 ||
		body["rows"].([]any)[0].(map[string]any)["session"] != "s-acme" {
		t.Fatalf("acme top by user: %d %v", code, body)
	}
	if code, body := get("/api/v1/workflows/top?limit=5", "tok-acme"); code != 200 || len(costOf(body)) != 1 {
		t.Fatalf("acme top: %d %v", code, body)
	}
	if code, body := get("/api/v1/workflows/"+acmeWF+"/lines", "tok-acme"); code != 200 || costOf(body)[0] != 1000 {
		t.Fatalf("acme drill-down: %d %v", code, body)
	} else if wf := body["workflow"].(map[string]any); wf["outcome"] != "completed" || wf["outcome_source"] != "status UNSET" ||
		wf["session"] != "s-acme" || wf["labels"].(map[string]any)["tier"] != "gold" {
		t.Fatalf("acme drill-down facts: %v", wf)
	}
	if _, err := st.RefreshRollups(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/api/v1/unit-economics?source=rollups&since=48h", "tok-acme"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 1000 {
		t.Fatalf("acme unit economics from the rollups: %d %v", code, body)
	}
	if code, body := get("/api/v1/series?bucket=day", "tok-acme"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 1000 {
		t.Fatalf("acme series: %d %v", code, body)
	}
	if code, body := get("/api/v1/series?tenant=globex", "tok-admin"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 2000 {
		t.Fatalf("admin globex series: %d %v", code, body)
	}
	if code, body := get("/api/v1/series/costs?model=gpt-x", "tok-admin"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 3000 {
		t.Fatalf("admin series costs: %d %v", code, body)
	}
	if code, body := get("/api/v1/breakdown?by=tenant&source=rollups&since=48h", "tok-admin"); code != 200 || len(costOf(body)) != 2 || costOf(body)[0] != 2000 {
		t.Fatalf("admin breakdown from the rollups: %d %v", code, body)
	}
	if code, body := get("/api/v1/breakdown?by=model&source=rollups&workflow=qa&model=gpt-x", "tok-acme"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 1000 {
		t.Fatalf("acme breakdown from the rollups, filtered: %d %v", code, body)
	}
	if code, body := get("/api/v1/workflows/top?source=rollups&limit=5", "tok-acme"); code != 200 || len(costOf(body)) != 1 || costOf(body)[0] != 1000 ||
		body["source"] != "rollups" || body["rows"].([]any)[0].(map[string]any)["session"] != "s-acme" {
		t.Fatalf("acme top from the rollups: %d %v", code, body)
	}
	if code, body := get("/api/v1/workflows/top?source=rollups&since=48h", "tok-admin"); code != 200 || fmt.Sprint(costOf(body)) != "[2000 1000]" {
		t.Fatalf("admin top from the rollups: %d %v", code, body)
	}
	if code, body := get("/api/v1/context-share", "tok-acme"); code != 200 || len(body["rows"].([]any)) != 0 {
		t.Fatalf("acme context share: %d %v", code, body)
	}
	code, body := get("/api/v1/summary?since=48h", "tok-acme")
	if cur := body["current"].(map[string]any); code != 200 || cur["cost_nano"] != 1000.0 || cur["cost_usd"] != "0.000001000" ||
		cur["cost_per_completed_nano"] != 1000.0 || cur["line_items"] != 1.0 || body["currency"] != "USD" {
		t.Fatalf("acme summary: %d %v", code, body)
	}
	if prev := body["previous"].(map[string]any); prev["cost_nano"] != 0.0 || prev["cost_per_completed_nano"] != nil || body["change"].(map[string]any)["cost_bp"] != nil {
		t.Fatalf("acme summary, previous window: %v", body)
	}
	if code, body := get("/api/v1/openapi.json", ""); code != 200 || body["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %d %v", code, body)
	}
	for _, c := range []struct {
		path, token string
		code        int
		msg         string
	}{
		{"/api/v1/workflows/" + globexWF + "/lines", "tok-acme", 404, "no workflow"},
		{"/api/v1/unit-economics?tenant=globex", "tok-acme", 403, `sees tenant "acme" only`},
		{"/api/v1/unit-economics", "", 401, "bearer token"},
		{"/api/v1/unit-economics", "wrong", 401, "bearer token"},
		{"/api/v1/unit-economics?since=yesterday", "tok-acme", 400, "positive duration"},
		{"/api/v1/unit-economics?since=-5h", "tok-acme", 400, "positive duration"},
		{"/api/v1/breakdown?by=colour", "tok-acme", 400, "use one of component"},
		{"/api/v1/breakdown?by=label:no%20spaces", "tok-acme", 400, "label:KEY"},
		{"/api/v1/unit-economics?label=tier", "tok-acme", 400, "want key=value"},
		{"/api/v1/unit-economics?source=rollups&session=x", "tok-acme", 400, "rollups carry no service"},
		{"/api/v1/workflows/top?limit=0", "tok-acme", 400, "1 to 1000"},
		{"/api/v1/workflows/top?source=rollups&limit=101", "tok-acme", 400, "top 100 of each hour"},
		{"/api/v1/workflows/top?source=rollups&user=u-acme", "tok-acme", 400, "use source=line_items"},
		{"/api/v1/workflows/top?source=cache", "tok-acme", 400, "use line_items or rollups"},
		{"/api/v1/nope", "tok-acme", 404, "no such endpoint"},
		{"/api/v1/series?bucket=week", "tok-acme", 400, "use hour or day"},
		{"/api/v1/unit-economics?source=cache", "tok-acme", 400, "use line_items or rollups"},
		{"/api/v1/series/costs?tenant=globex", "tok-acme", 403, `sees tenant "acme" only`},
		{"/api/v1/breakdown?by=model&workflow=qa", "tok-acme", 400, "need source=rollups"},
		{"/api/v1/series?model=gpt-x", "tok-acme", 400, "series/costs"},
	} {
		code, body := get(c.path, c.token)
		if msg, _ := body["error"].(string); code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %q, want %d containing %q", c.path, code, msg, c.code, c.msg)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodDelete, http.MethodPut} {
		if code, body := do(t, m, srv.URL+"/api/v1/unit-economics", "tok-acme"); code != 405 || !strings.Contains(body["error"].(string), "GET only") {
			t.Errorf("%s unit-economics: %d %v, want 405", m, code, body)
		}
	}
	if code, _ := do(t, http.MethodPost, srv.URL+"/api/v1/workflows/"+acmeWF+"/lines", "tok-acme"); code != 405 {
		t.Errorf("POST lines: %d, want 405", code)
	}
	if code, _ := do(t, http.MethodPost, srv.URL+"/api/v1/nope", "tok-acme"); code != 404 {
		t.Errorf("POST to no endpoint: %d, want 404", code)
	}
	check.RequireAllOperations(t, 200, "/api/v1/whatif", "/api/v1/alerts") // whatif_api_test.go and alerts_api_test.go cover those
}

func do(t *testing.T, method, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, url, raw)
	}
	if resp.StatusCode == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("%s %s: 405 without Allow: GET, HEAD", method, url)
	}
	return resp.StatusCode, body
}
