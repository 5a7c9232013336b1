package report_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/internal/apitest"
	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/report"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

// /api/v1/whatif on real ClickHouse: a tenant's token gets its own workflows only, lists
// are [] never null, money comes as *_nano with a decimal string, bad input is a 400.
func TestWhatifAPI(t *testing.T) {
	st := testenv.ClickHouse(t)
	ctx := context.Background()
	var b pipeline.Batch
	for i, tenant := range []string{"acme", "acme", "acme", "globex"} {
		root, call := apiSpan(byte(i+1), 1, 0, tenant), apiSpan(byte(i+1), 2, 1, tenant)
		call.Model, call.Provider, call.Step, call.Operation = "gpt-5-nano", "openai", "classify", pipeline.OpChat
		call.Usage = pipeline.Usage{InputTokens: 1000, OutputTokens: 10}
		if i == 2 {
			call.Model = "gpt-5"
		}
		b.Workflows = append(b.Workflows, pipeline.Workflow{ID: root.TraceID.String(), TraceID: root.TraceID, Tenant: tenant, Name: "tickets",
			Outcome: "completed", ValidatedOutputs: 1, StartUnixNano: root.StartUnixNano, EndUnixNano: root.EndUnixNano})
		b.LineItems = append(b.LineItems, pipeline.LineItem{Span: call, WorkflowID: root.TraceID.String(), Component: pipeline.ComponentModel,
			Cost: 90_000, Priced: true})
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	bk, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	api := report.NewAPI(st, map[string]string{"tok-acme": "acme", "tok-admin": report.AllTenants}).EnableWhatif(whatifch.New(st), pricing.Single(bk))
	check := apitest.New(t)
	defer check.Verify(t)
	srv := httptest.NewServer(check.Middleware(api))
	defer srv.Close()
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	code, body := get("/api/v1/whatif?workflow=tickets&min_samples=1&scenario=classify=gpt-4.1&assume=review_rate=0.05", "tok-acme")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var resp struct {
		Currency string `json:"currency"`
		Reports  []struct {
			Workflows uint64 `json:"workflows"`
			Routings  []struct {
				Routing      string `json:"routing"`
				PerValidated struct {
					PointNano int64  `json:"point_nano"`
					PointUSD  string `json:"point_usd"`
				} `json:"cost_per_validated_output"`
			} `json:"routings"`
			Scenarios []struct {
				RatesSource string `json:"rates_source"`
			} `json:"scenarios"`
			Recommendation struct {
				Routing string `json:"routing"`
			} `json:"recommendation"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	r := resp.Reports[0]
	// acme's three workflows priced again with the built-in book (recorded at 90,000 nano
	// each): two gpt-5-nano calls at 54,000 and a gpt-5 call at 1,350,000; no review.
	if resp.Currency != "USD" || r.Workflows != 3 || r.Routings[0].Routing != "as recorded" || r.Routings[0].PerValidated.PointNano != 486_000 ||
		r.Routings[0].PerValidated.PointUSD != "0.000486000" || !strings.Contains(body, `"recorded_model_cost_nano":270000,"recorded_model_cost_usd":"0.000270000"`) || len(r.Routings) != 3 || r.Scenarios[0].RatesSource != "user-supplied" {
		t.Fatalf("acme what-if: %s", body)
	}
	if strings.Contains(strings.NewReplacer(`"hi_nano":null`, "", `"hi_usd":null`, "", `"hi":null`, "", `"context_cut":null`, "").Replace(body), "null") {
		t.Fatalf("null in the response: %s", body)
	}
	// a context cut; and only "as recorded" with enough data (no alternative)
	if code, body = get("/api/v1/whatif?workflow=tickets&min_samples=3&cut_context=10", "tok-acme"); code != http.StatusOK ||
		!strings.Contains(body, `"confidence":"no_alternative"`) || !strings.Contains(body, `"context_cut":{"percent":10`) {
		t.Fatalf("no alternative, context cut: %d %s", code, body)
	}
	if code, body = get("/api/v1/whatif/steps", "tok-admin"); code != http.StatusOK || !strings.Contains(body, `"step":"classify"`) || !strings.Contains(body, `"workflows":4`) {
		t.Fatalf("steps as admin: %d %s", code, body)
	}
	for _, bad := range []string{"/api/v1/whatif?cut_context=120", "/api/v1/whatif?scenario=classify", "/api/v1/whatif?cache=sometimes",
		"/api/v1/whatif?assume=review_rate=0.1", "/api/v1/whatif?price_version=no-such-version"} {
		if code, body = get(bad, "tok-acme"); code != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
	if code, _ = get("/api/v1/whatif?workflow=nope", "tok-acme"); code != http.StatusNotFound {
		t.Errorf("unknown workflow type: %d", code)
	}
	if code, _ = get("/api/v1/whatif?tenant=globex", "tok-acme"); code != http.StatusForbidden {
		t.Errorf("acme asking for globex: %d", code)
	}
	check.Require(t, 200, "/api/v1/whatif", "/api/v1/whatif/steps")
}
