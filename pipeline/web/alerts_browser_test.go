package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/unitcost/unitcost/internal/apitest"
	"github.com/unitcost/unitcost/pipeline/alert"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/web"
)

const alertRules = `
state_file: %STATE%
rules:
  - {name: tenant-unit-cost, metric: cost_per_completed, group_by: "tenant,workflow", baseline_window: 6h, min_samples: 3, min_baseline_hours: 3, threshold_pct: 50}
  - {name: globex-only, metric: cost_per_completed, scope: {tenant: globex}, group_by: workflow, baseline_window: 6h, min_samples: 3, min_baseline_hours: 3, threshold_pct: 50}
  - {name: fleet-unit-cost, metric: cost_per_completed, group_by: workflow, baseline_window: 6h, min_samples: 3, min_baseline_hours: 3, threshold_pct: 50}
`

type shownBand struct {
	Workflow string  `json:"workflow"`
	AlertKey string  `json:"alert_key"`
	Points   [][]any `json:"points"`
}

type shownMarker struct {
	AlertKey string `json:"alert_key"`
	Workflow string `json:"workflow"`
	Status   string `json:"status"`
	Bucket   string `json:"bucket"`
	YNano    int64  `json:"y_nano"`
}

// The unit-cost trend with the alert baseline band and markers, over the generator's data
// through the real pipeline with a drift injected (rag_qa's prompts 40 times longer for
// one hour): `unitcost alert`'s engine evaluates each hour and records into ClickHouse, and
// the band and markers each tenant's page draws, and its alerts list, equal what the engine
// computed and stored, to the nano-dollar. A tenant's page shows its own rules' alerts only;
// the rules over every tenant are an admin's.
func TestAlertBandAndMarkersInChromium(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-10 * time.Hour)
	drift := t0.Add(8 * time.Hour)
	st, _ := generatedWith(t, loadgen.Config{Seed: 31, Workflows: 400, Start: t0, Spacing: 90 * time.Second,
		Drift: loadgen.Drift{From: drift, Until: drift.Add(time.Hour), PromptScale: 40}})
	ctx := context.Background()
	rules, err := alert.ParseRules([]byte(strings.ReplaceAll(alertRules, "%STATE%", filepath.Join(t.TempDir(), "state.json"))))
	if err != nil {
		t.Fatal(err)
	}
	e, err := alert.New(rules, st, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), alert.WithHistory(st))
	if err != nil {
		t.Fatal(err)
	}
	readings := map[string]alert.Reading{} // key@bucket -> the hour's reading
	var transitions []alert.Alert
	for h := 2; h < 10; h++ {
		at := t0.Add(time.Duration(h+1)*time.Hour - time.Second) // each hour complete, as the live engine sees it at its end
		fired, err := e.Evaluate(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		transitions = append(transitions, fired...)
		for _, rd := range e.LastReadings() {
			readings[rd.Key+"@"+at.Truncate(time.Hour).Format(time.RFC3339)] = rd
		}
	}
	fired := false
	for _, a := range transitions {
		t.Logf("%s %s at %s: %s", a.Status, a.Key, a.StartsAt.Format(time.DateTime), a.Summary)
		fired = fired || a.Key == "tenant-unit-cost/acme/rag_qa" && a.Status == "firing" && a.StartsAt.Truncate(time.Hour).Equal(drift) &&
			a.Explain != nil && a.Explain.Component == "model_tokens"
	}
	if !fired {
		t.Fatalf("the drift did not fire tenant-unit-cost/acme/rag_qa in its hour, explained by model_tokens")
	}

	check := apitest.New(t)
	defer check.Verify(t)
	api := report.NewAPI(st, map[string]string{"tok-acme": "acme", "tok-globex": "globex", "tok-admin": report.AllTenants})
	srv := httptest.NewServer(check.Middleware(web.Handler(api, false)))
	defer srv.Close()
	bctx := browser(t)

	// the band and markers a page draws are of the first rule (by key) on cost per completed
	// workflow per type in its tenant scope: acme's share of the per-tenant rule; for globex
	// the rule scoped to it (globex-only sorts before tenant-unit-cost/globex); for an admin,
	// the rule over every tenant
	for _, c := range []struct{ tok, tenant, rule string }{{"tok-acme", "acme", "tenant-unit-cost/acme"}, {"tok-globex", "globex", "globex-only"},
		{"tok-admin", "", "fleet-unit-cost"}} {
		// a fresh document per token (the same URL with another #token= would not reload)
		if _, err := chromedp.Run(bctx, chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
		if state := page(t, bctx, srv.URL, "/ui/?since=24h", c.tok); state != "ready" {
			t.Fatalf("%s: page state %q", c.tok, state)
		}
		shot(t, bctx, "alerts-"+strings.TrimPrefix(c.tok, "tok-"))
		// the bands drawn: per workflow type, this tenant's rule's usable hours, exact
		var bands []shownBand
		if err := json.Unmarshal([]byte(texts(t, bctx, `[document.querySelector("#trend").dataset.bands || "[]"]`)[0]), &bands); err != nil {
			t.Fatal(err)
		}
		var wantBands []shownBand
		for _, wf := range loadgen.WorkflowTypes {
			b := shownBand{Workflow: wf, AlertKey: c.rule + "/" + wf}
			for h := 2; h < 10; h++ {
				bucket := t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339)
				if rd, ok := readings[b.AlertKey+"@"+bucket]; ok && rd.Usable {
					b.Points = append(b.Points, []any{bucket, float64(report.Nano(rd.BandLow)), float64(report.Nano(rd.BandHigh))})
				}
			}
			if len(b.Points) > 0 {
				wantBands = append(wantBands, b)
			}
		}
		sort.Slice(wantBands, func(i, j int) bool { return wantBands[i].Workflow < wantBands[j].Workflow })
		if g, w := fmt.Sprint(bands), fmt.Sprint(wantBands); g != w || len(wantBands) == 0 {
			t.Errorf("%s: bands drawn\n got %s\nwant %s", c.tok, g, w)
		}
		// the markers drawn: each transition of the tenant's rules (of the rules over every
		// tenant for an admin), at its value
		var markers []shownMarker
		if err := json.Unmarshal([]byte(texts(t, bctx, `[document.querySelector("#trend").dataset.markers || "[]"]`)[0]), &markers); err != nil {
			t.Fatal(err)
		}
		var wantMarkers, wantRows []string
		for _, a := range transitions {
			at := a.StartsAt
			if a.EndsAt != nil {
				at = *a.EndsAt
			}
			row := fmt.Sprintf("%s|%s|%s|%d", a.Key, a.Status, at.Truncate(time.Second).Format(time.RFC3339), report.Nano(a.Current))
			if c.tenant == "" || a.Scope.Tenant == c.tenant {
				wantRows = append(wantRows, row)
			}
			if a.Scope.Tenant == c.tenant { // every alert on the types in the page's tenant scope
				wantMarkers = append(wantMarkers, fmt.Sprintf("%s|%s|%s|%d", a.Key, a.Status, at.Truncate(time.Hour).Format(time.RFC3339), report.Nano(a.Current)))
			}
		}
		var gotMarkers []string
		for _, m := range markers {
			gotMarkers = append(gotMarkers, fmt.Sprintf("%s|%s|%s|%d", m.AlertKey, m.Status, m.Bucket, m.YNano))
		}
		sort.Strings(gotMarkers)
		sort.Strings(wantMarkers)
		if strings.Join(gotMarkers, "\n") != strings.Join(wantMarkers, "\n") {
			t.Errorf("%s: markers drawn\n got %q\nwant %q", c.tok, gotMarkers, wantMarkers)
		}
		// the alerts list: every transition the token may see, with the engine's value
		rows := texts(t, bctx, `[...document.querySelectorAll("#alerts tbody tr[data-alert-key]")].map(tr => tr.dataset.alertKey + "|" + tr.dataset.status + "|" + tr.dataset.at + "|" + tr.children[5].dataset.nano)`)
		sort.Strings(rows)
		sort.Strings(wantRows)
		if strings.Join(rows, "\n") != strings.Join(wantRows, "\n") || len(wantRows) == 0 {
			t.Errorf("%s: alerts list\n got %q\nwant %q", c.tok, rows, wantRows)
		}
		// and what the page shows is what is stored
		stored, err := st.AlertEvents(ctx, t0, time.Now().Add(time.Hour), store.AlertFilter{Tenant: c.tenant})
		if err != nil {
			t.Fatal(err)
		}
		var storedRows []string
		for _, ev := range stored {
			storedRows = append(storedRows, fmt.Sprintf("%s|%s|%s|%d", ev.Key, ev.Status, ev.At.Format(time.RFC3339), report.Nano(ev.Current)))
		}
		sort.Strings(storedRows)
		if strings.Join(storedRows, "\n") != strings.Join(wantRows, "\n") {
			t.Errorf("%s: stored alerts\n got %q\nwant %q", c.tok, storedRows, wantRows)
		}
		// with no tenant chosen, the band is only ever of the page's scope: an admin's page
		// over all tenants, with no rule over every tenant (the readings without
		// fleet-unit-cost), draws no band rather than the first tenant's
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/alerts/readings?since=24h", nil)
		req.Header.Set("Authorization", "Bearer "+c.tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get(report.TokenTenantHeader); got != map[string]string{"": report.AllTenants}[c.tenant]+c.tenant {
			t.Errorf("%s: %s %q", c.tok, report.TokenTenantHeader, got)
		}
		keys := texts(t, bctx, `(() => { const rs = (`+string(rb)+`).rows.filter((r) => r.tenant !== ""); `+
			`return [...bandsByType(rs, "").values()].map((b) => b.key).sort(); })()`)
		wantKeys := []string{}
		if c.tenant != "" {
			for _, b := range wantBands {
				wantKeys = append(wantKeys, b.AlertKey)
			}
			sort.Strings(wantKeys)
		}
		if fmt.Sprint(keys) != fmt.Sprint(wantKeys) {
			t.Errorf("%s: bands without the rules over every tenant: %q, want %q", c.tok, keys, wantKeys)
		}
		if c.tenant != "" {
			html := texts(t, bctx, `[document.documentElement.outerHTML]`)[0]
			for _, other := range []string{"fleet-unit-cost", map[string]string{"acme": "globex", "globex": "acme"}[c.tenant]} { // globex-only names globex
				if strings.Contains(html, other) {
					t.Errorf("%s: the page shows %q", c.tok, other)
				}
			}
		}

		// the daily view (7 days): per day, the same rule's usable hours weighted by the
		// hour's completed workflows of the type in the page's tenant scope (ClickHouse's
		// rollups), as the trend's daily point weighs them; exact, rounded once
		if _, err := chromedp.Run(bctx, chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
		if state := page(t, bctx, srv.URL, "/ui/?since=168h", c.tok); state != "ready" {
			t.Fatalf("%s daily: page state %q", c.tok, state)
		}
		shot(t, bctx, "alerts-daily-"+strings.TrimPrefix(c.tok, "tok-"))
		var dayBands []shownBand
		if err := json.Unmarshal([]byte(texts(t, bctx, `[document.querySelector("#trend").dataset.bands || "[]"]`)[0]), &dayBands); err != nil {
			t.Fatal(err)
		}
		var wantDay []shownBand
		for _, wf := range loadgen.WorkflowTypes {
			pts, err := st.Series(ctx, t0, t0.Add(10*time.Hour), "hour", store.SeriesFilter{Tenant: c.tenant, Workflow: wf})
			if err != nil {
				t.Fatal(err)
			}
			completed := map[string]int64{}
			for _, p := range pts {
				completed[p.Bucket.Format(time.RFC3339)] = int64(p.Completed)
			}
			b := shownBand{Workflow: wf, AlertKey: c.rule + "/" + wf}
			type sums struct{ w, lo, hi *big.Int }
			days := map[string]*sums{}
			var order []string
			for h := 2; h < 10; h++ {
				hour := t0.Add(time.Duration(h) * time.Hour)
				rd, ok := readings[b.AlertKey+"@"+hour.Format(time.RFC3339)]
				w := completed[hour.Format(time.RFC3339)]
				if !ok || !rd.Usable || w == 0 {
					continue
				}
				day := hour.Truncate(24 * time.Hour).Format(time.RFC3339)
				if days[day] == nil {
					days[day] = &sums{new(big.Int), new(big.Int), new(big.Int)}
					order = append(order, day)
				}
				d := days[day]
				d.w.Add(d.w, big.NewInt(w))
				d.lo.Add(d.lo, big.NewInt(w*report.Nano(rd.BandLow)))
				d.hi.Add(d.hi, big.NewInt(w*report.Nano(rd.BandHigh)))
			}
			for _, day := range order {
				d := days[day]
				b.Points = append(b.Points, []any{day, float64(roundHalfAway(d.lo, d.w)), float64(roundHalfAway(d.hi, d.w))})
			}
			if len(b.Points) > 0 {
				wantDay = append(wantDay, b)
			}
		}
		sort.Slice(wantDay, func(i, j int) bool { return wantDay[i].Workflow < wantDay[j].Workflow })
		if g, w := fmt.Sprint(dayBands), fmt.Sprint(wantDay); g != w || len(wantDay) == 0 {
			t.Errorf("%s daily: bands drawn\n got %s\nwant %s", c.tok, g, w)
		}
		markers = nil
		if err := json.Unmarshal([]byte(texts(t, bctx, `[document.querySelector("#trend").dataset.markers || "[]"]`)[0]), &markers); err != nil {
			t.Fatal(err)
		}
		var gotDay, wantDayMarkers []string
		for _, m := range markers {
			gotDay = append(gotDay, fmt.Sprintf("%s|%s|%s|%d", m.AlertKey, m.Status, m.Bucket, m.YNano))
		}
		for _, a := range transitions {
			at := a.StartsAt
			if a.EndsAt != nil {
				at = *a.EndsAt
			}
			if a.Scope.Tenant == c.tenant {
				wantDayMarkers = append(wantDayMarkers, fmt.Sprintf("%s|%s|%s|%d", a.Key, a.Status, at.UTC().Truncate(24*time.Hour).Format(time.RFC3339), report.Nano(a.Current)))
			}
		}
		sort.Strings(gotDay)
		sort.Strings(wantDayMarkers)
		if strings.Join(gotDay, "\n") != strings.Join(wantDayMarkers, "\n") || len(wantDayMarkers) == 0 {
			t.Errorf("%s daily: markers drawn\n got %q\nwant %q", c.tok, gotDay, wantDayMarkers)
		}
		if c.tenant != "" {
			html := texts(t, bctx, `[document.documentElement.outerHTML]`)[0]
			for _, other := range []string{"fleet-unit-cost", map[string]string{"acme": "globex", "globex": "acme"}[c.tenant]} {
				if strings.Contains(html, other) {
					t.Errorf("%s daily: the page shows %q", c.tok, other)
				}
			}
		}
	}
	// a tenant's token cannot read another's alerts through the API the page uses
	for _, path := range []string{"/api/v1/alerts?tenant=globex", "/api/v1/alerts/readings?tenant=globex", "/api/v1/alerts?tenant=",
		"/api/v1/alerts/readings?tenant=globex&bucket=day", "/api/v1/alerts/readings?bucket=day&since=168h"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer tok-acme")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "globex") || strings.Contains(string(b), "fleet-unit-cost") || (strings.HasSuffix(path, "globex") && resp.StatusCode != 403) {
			t.Errorf("acme token, %s: %d %.300s", path, resp.StatusCode, b)
		}
	}
	if _, err := os.Stat(filepath.Join(artefacts(t), "alerts-acme.png")); err != nil {
		t.Error(err)
	}
}

// roundHalfAway is a / b rounded half away from zero, for b > 0.
func roundHalfAway(a, b *big.Int) int64 {
	r := new(big.Rat).SetFrac(a, b)
	f, _ := r.Float64()
	q := new(big.Int).Quo(a, b) // toward zero
	rem := new(big.Rat).Sub(r, new(big.Rat).SetInt(q))
	if rem.Abs(rem).Cmp(big.NewRat(1, 2)) >= 0 {
		if f < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}
