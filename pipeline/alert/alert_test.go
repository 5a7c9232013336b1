package alert_test

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/alert"
	"github.com/unitcost/unitcost/pipeline/store"
)

// hour describes one synthetic hour of a support agent's traffic.
type hour struct {
	inputScale  float64 // input tokens x
	priceScale  float64 // model price x
	model       string
	reviewRate  float64
	workflowsPH int
}

var normal = hour{inputScale: 1, priceScale: 1, model: "gpt-4o", reviewRate: 0.05, workflowsPH: 60}

// writeHours writes one workload hour per entry of hs, from start, with noise: the number
// of workflows varies by day time and at random, each of five model calls draws its
// input tokens +-25%, and reviews happen at random at the hour's rate ($1 each).
func writeHours(t *testing.T, st *store.Store, seed uint64, start time.Time, hs []hour) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var b pipeline.Batch
	var n uint64
	for i, h := range hs {
		hourStart := start.Add(time.Duration(i) * time.Hour)
		count := h.workflowsPH + int(20*float64((hourStart.Hour()+18)%24)/24) + rng.IntN(11) - 5
		for w := 0; w < count; w++ {
			n++
			var tid pipeline.TraceID
			binary.BigEndian.PutUint64(tid[8:], seed<<40|n)
			ts := hourStart.Add(time.Duration(rng.IntN(3000)) * time.Second).UnixNano()
			sp := func(id byte, op pipeline.Operation) *pipeline.Span {
				s := &pipeline.Span{Tenant: "acme", TraceID: tid, StartUnixNano: ts + int64(id)*1e9, EndUnixNano: ts + int64(id)*1e9 + 5e8, Operation: op}
				s.SpanID[7] = id
				s.ParentSpanID[7] = 1
				return s
			}
			wid := tid.String()
			b.Workflows = append(b.Workflows, pipeline.Workflow{ID: wid, Tenant: "acme", TraceID: tid, Name: "support_agent", Version: "v1",
				Outcome: "completed", ValidatedOutputs: 1, StartUnixNano: ts, EndUnixNano: ts + 60e9})
			for c := byte(0); c < 5; c++ {
				call := sp(2+c, pipeline.OpChat)
				call.Model = h.model
				in := uint64(8000 * h.inputScale * (0.75 + 0.5*rng.Float64()))
				call.Usage = pipeline.Usage{InputTokens: in, OutputTokens: 500}
				rate := 2500 * h.priceScale // nano-dollars per input token; output x4
				if h.model == "gpt-4o-mini" {
					rate /= 16
				}
				cost := pipeline.Money(rate * float64(in+4*500))
				b.LineItems = append(b.LineItems, pipeline.LineItem{Span: call, WorkflowID: wid, Component: pipeline.ComponentModel, Cost: cost, Priced: true})
			}
			if rng.Float64() < h.reviewRate {
				rev := sp(9, pipeline.OpHumanReview)
				b.LineItems = append(b.LineItems, pipeline.LineItem{Span: rev, WorkflowID: wid, Component: pipeline.ComponentReview, Cost: 1_000_000_000, Priced: true})
			}
		}
		if len(b.LineItems) > 20_000 || i == len(hs)-1 {
			if err := st.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			b = pipeline.Batch{}
		}
	}
	if _, err := st.RefreshRollups(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

func steady(n int) []hour {
	hs := make([]hour, n)
	for i := range hs {
		hs[i] = normal
	}
	return hs
}

const rulesYAML = `
state_file: %STATE%
notifiers:
  - {name: hook, type: webhook, url: "%URL%/hook", headers: {X-Token: s3cret}}
  - {name: chat, type: slack, url: "%URL%/slack"}
  - {name: am, type: alertmanager, url: "%URL%"}
rules:
  # Hourly cost per completed workflow swings with the number of $1 reviews (a Poisson
  # count of about 3): in the steady week its largest robust z-score is 3.24, so 4 sigmas.
  - name: cost-per-completed
    metric: cost_per_completed
    scope: {workflow: support_agent}
    min_samples: 30
    threshold_pct: 25
    sigmas: 4
  - name: tokens-per-workflow
    metric: tokens_per_workflow
    group_by: workflow
    min_samples: 30
    threshold_pct: 25
  - name: review-share
    metric: review_share
    scope: {tenant: acme}
    min_samples: 30
    threshold_pct: 25
    threshold_abs: 0.05
  - name: cost-per-completed-weekly
    metric: cost_per_completed
    baseline: same_hours_last_week
    baseline_window: 12h
    method: ewma
    min_samples: 30
    threshold_pct: 25
    notify: [hook]
`

// receiver is a real HTTP server that records what each path got; while down it answers 503.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  map[string][][]byte
	down bool
	hdr  map[string]string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: map[string][][]byte{}, hdr: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.down {
			http.Error(w, "receiver down", http.StatusServiceUnavailable)
			return
		}
		r.got[req.URL.Path] = append(r.got[req.URL.Path], b)
		r.hdr[req.URL.Path] = req.Header.Get("X-Token")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) take(path string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got[path]
	delete(r.got, path)
	return out
}

func engine(t *testing.T, st *store.Store, url, statePath string) *alert.Engine {
	t.Helper()
	y := strings.NewReplacer("%STATE%", statePath, "%URL%", url).Replace(rulesYAML)
	rules, err := alert.ParseRules([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	e, err := alert.New(rules, st, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var day0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// A long steady week with normal noise (eight days, evaluated every hour of the last
// seven) fires nothing.
func TestSteadyWeekFiresNothing(t *testing.T) {
	st := testenv.ClickHouse(t)
	rcv := newReceiver(t)
	writeHours(t, st, 1, day0, steady(8*24))
	e := engine(t, st, rcv.srv.URL, filepath.Join(t.TempDir(), "state.json"))
	evaluated := 0
	for h := 24; h < 8*24; h++ {
		now := day0.Add(time.Duration(h)*time.Hour + 59*time.Minute)
		fired, err := e.Evaluate(context.Background(), now)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range fired {
			t.Errorf("%s: %s", now.Format(time.DateTime), a.Summary)
		}
		if testing.Verbose() {
			for _, rd := range e.LastReadings() {
				t.Logf("%s %s cur %.4f base %.4f spread %.4f dev %.1f%% z %.2f", now.Format(time.DateTime), rd.Key, rd.Current, rd.Baseline, rd.Spread, rd.DeviationPct, (rd.Current-rd.Baseline)/rd.Spread)
			}
		}
		evaluated++
	}
	if evaluated != 168 || e.Pending() != 0 {
		t.Fatalf("evaluated %d hours, %d notifications queued", evaluated, e.Pending())
	}
	// Then the price doubles: the weekly rule (EWMA over the same hours a week earlier)
	// fires at the first evaluation, with the trailing-day rule.
	drifted := normal
	drifted.priceScale = 2
	writeHours(t, st, 3, day0.Add(8*24*time.Hour), []hour{drifted})
	fired, err := e.Evaluate(context.Background(), day0.Add(8*24*time.Hour+59*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, a := range fired {
		rules[a.Rule] = true
		if a.Rule == "cost-per-completed-weekly" && (a.Method != alert.EWMA || !a.BaselineRange.To.Equal(day0.Add(24*time.Hour+time.Hour)) ||
			a.Explain == nil || a.Explain.Component != "model_tokens") {
			t.Errorf("weekly: %+v", a)
		}
	}
	if len(fired) != 2 || !rules["cost-per-completed-weekly"] || !rules["cost-per-completed"] {
		for _, a := range fired {
			t.Log(a.Summary)
		}
		t.Fatalf("after the price change %d alerts fired, want the two cost rules", len(fired))
	}
}

type firing struct {
	rule, component, model string
}

// drift writes two steady days and then one drifted hour, evaluates at the end of the
// hour before it (nothing fires) and of the drifted hour (the listed alerts fire).
func drift(t *testing.T, changed hour, want []firing) (*store.Store, *alert.Engine, *receiver, time.Time) {
	st := testenv.ClickHouse(t)
	rcv := newReceiver(t)
	writeHours(t, st, 2, day0, append(steady(48), changed, normal, normal))
	e := engine(t, st, rcv.srv.URL, filepath.Join(t.TempDir(), "state.json"))
	before := day0.Add(47*time.Hour + 59*time.Minute)
	if fired, err := e.Evaluate(context.Background(), before); err != nil || len(fired) != 0 {
		t.Fatalf("before the drift: %v %+v", err, fired)
	}
	now := before.Add(time.Hour)
	fired, err := e.Evaluate(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]alert.Alert{}
	for _, a := range fired {
		got[a.Rule] = a
	}
	if len(got) != len(want) {
		for _, a := range fired {
			t.Log(a.Summary)
		}
		t.Fatalf("%d alerts fired, want %d", len(got), len(want))
	}
	for _, a := range fired {
		t.Log(a.Summary)
	}
	for _, w := range want {
		a, ok := got[w.rule]
		if !ok {
			t.Fatalf("%s did not fire", w.rule)
		}
		if a.Status != "firing" || a.Explain == nil || a.Explain.Component != w.component || a.Explain.Model != w.model {
			t.Errorf("%s: %s (explanation %+v)", w.rule, a.Summary, a.Explain)
		}
	}
	return st, e, rcv, now
}

// A price change (the model's price doubled) fires cost per completed workflow at once;
// the unit-cost gauges on /metrics carry the same figures as the rollups.
func TestPriceChangeFires(t *testing.T) {
	changed := normal
	changed.priceScale = 2
	st, fired, rcv, now := drift(t, changed, []firing{{"cost-per-completed", "model_tokens", ""}})
	firedState := fired.StateFile()

	reg := prometheus.NewRegistry()
	y := strings.NewReplacer("%STATE%", filepath.Join(t.TempDir(), "s.json"), "%URL%", rcv.srv.URL).Replace(rulesYAML)
	rules, err := alert.ParseRules([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	e, err := alert.New(rules, st, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.UpdateGauges(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// The rule is then removed from the file: its firing alert resolves (an hour with
		// no data would not resolve it; a removed rule does).
		rules, err := alert.ParseRules([]byte(`
state_file: ` + firedState + `
notifiers: [{name: hook, type: webhook, url: "` + rcv.srv.URL + `/hook"}]
rules: [{name: tokens-per-workflow, metric: tokens_per_workflow, min_samples: 30}]
`))
		if err != nil {
			t.Fatal(err)
		}
		e, err := alert.New(rules, st, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		fired, err := e.Evaluate(context.Background(), now.Add(time.Minute))
		if err != nil || len(fired) != 1 || fired[0].Status != "resolved" || fired[0].Rule != "cost-per-completed" ||
			!strings.Contains(fired[0].Summary, "removed from the rules file") || e.Pending() != 4 { // 3 firing ones still queued
			t.Fatalf("removed rule: %v %+v (pending %d)", err, fired, e.Pending())
		}
		if fired, _ := e.Evaluate(context.Background(), now.Add(2*time.Minute)); len(fired) != 0 {
			t.Fatalf("resolved twice: %+v", fired)
		}
	}()
	pts, err := st.Series(context.Background(), now.Truncate(time.Hour), now, "hour", store.SeriesFilter{})
	if err != nil || len(pts) != 1 {
		t.Fatalf("series: %+v %v", pts, err)
	}
	p := pts[0]
	per, _ := p.PerCompleted()
	for _, c := range []struct {
		name string
		want float64
	}{
		{`unitcost_workflows{workflow="support_agent"}`, float64(p.Workflows)},
		{`unitcost_cost_dollars{workflow="_all"}`, float64(p.Cost) / 1e9},
		{`unitcost_cost_per_completed_workflow_dollars{workflow="support_agent"}`, float64(p.Cost) / 1e9 / float64(p.Completed)},
		{`unitcost_model_tokens_per_workflow{workflow="_all"}`, float64(p.InputTokens+p.OutputTokens) / float64(p.Workflows)},
	} {
		got := gauge(t, reg, c.name)
		if diff := got - c.want; diff > 1e-9*c.want || diff < -1e-9*c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if got := gauge(t, reg, `unitcost_cost_per_completed_workflow_dollars{workflow="support_agent"}`); int64(got*1e9+0.5) != int64(per) {
		t.Errorf("cost per completed gauge %v vs exact %d nano", got, per)
	}
}

// gauge reads one series from reg by its text-format name.
func gauge(t *testing.T, reg *prometheus.Registry, series string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			if name == series {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s", series)
	return 0
}

// A prompt that doubled input tokens fires tokens per workflow and cost per completed.
func TestDoubledPromptFires(t *testing.T) {
	changed := normal
	changed.inputScale = 2
	// Cost per completed rises about 57% too, but under its 4-sigma bar for this noise.
	drift(t, changed, []firing{{"tokens-per-workflow", "model_tokens", ""}})
}

// A model swap that doubled the review rate fires the review share, naming the new model
// and human review (cost per completed falls: the new model is 16x cheaper); then the
// receivers get every payload, a receiver that is down gets it later, a restart keeps the
// state, and the alert resolves.
func TestModelSwapFiresNotifiesAndResolves(t *testing.T) {
	changed := normal
	changed.model, changed.reviewRate = "gpt-4o-mini", 2*normal.reviewRate
	// The component that moved most is the model's cost, which fell 16-fold.
	st, e, rcv, now := drift(t, changed, []firing{{"review-share", "model_tokens", "gpt-4o-mini"}})
	ctx := context.Background()

	rcv.mu.Lock()
	rcv.down = true
	rcv.mu.Unlock()
	if sent, err := e.Deliver(ctx, now); sent != 0 || err == nil || e.Pending() != 3 {
		t.Fatalf("delivery to a receiver that is down: sent %d, err %v, pending %d", sent, err, e.Pending())
	}
	rcv.mu.Lock()
	rcv.down = false
	rcv.mu.Unlock()
	if sent, _ := e.Deliver(ctx, now.Add(time.Second)); sent != 0 {
		t.Fatalf("retried before its backoff: %d", sent)
	}
	// A restart: a new engine from the same state file still has the queued notifications.
	e = engine(t, st, rcv.srv.URL, e.StateFile())
	if e.Pending() != 3 {
		t.Fatalf("after restart %d pending, want 3", e.Pending())
	}
	if sent, err := e.Deliver(ctx, now.Add(10*time.Second)); sent != 3 || err != nil {
		t.Fatalf("redelivery: sent %d, err %v", sent, err)
	}
	// Each receiver got the alert; look at review-share's.
	pick := func(path string, rule string, v any) {
		t.Helper()
		got := rcv.take(path)
		if len(got) != 1 {
			t.Fatalf("%s got %d payloads, want 1", path, len(got))
		}
		for _, b := range got {
			if strings.Contains(string(b), `"`+rule+``) {
				if err := json.Unmarshal(b, v); err != nil {
					t.Fatalf("%s: %v: %s", path, err, b)
				}
				return
			}
		}
		t.Fatalf("%s: no payload for %s: %q", path, rule, got)
	}
	var hook alert.Alert
	pick("/hook", "review-share", &hook)
	if hook.Status != "firing" || hook.Rule != "review-share" || hook.Metric != alert.ReviewShare || hook.Scope.Tenant != "acme" ||
		hook.Baseline <= 0 || hook.Current < 2*hook.Baseline || hook.Samples < 30 || hook.Explain.Model != "gpt-4o-mini" ||
		hook.Explain.Component != "model_tokens" || hook.Explain.ComponentCurrent*10 >= hook.Explain.ComponentBefore ||
		hook.Explain.ExceptionRateCurrent < 1.5*hook.Explain.ExceptionRateBefore || !strings.Contains(hook.Summary, "of workflows needed human review, was") ||
		hook.Explain.ModelShareCurrent != 1 || hook.Explain.ModelShareBefore != 0 || !strings.Contains(hook.Summary, "model gpt-4o-mini now has 100% of model cost, was 0%") ||
		!hook.Window.From.Equal(now.Truncate(time.Hour)) || !hook.BaselineRange.To.Equal(now.Truncate(time.Hour)) || hook.BaselineHours != 24 {
		t.Errorf("webhook payload: %+v", hook)
	}
	if rcv.hdr["/hook"] != "s3cret" {
		t.Errorf("webhook header: %q", rcv.hdr["/hook"])
	}
	var slack struct {
		Text string `json:"text"`
	}
	pick("/slack", "review-share", &slack)
	if !strings.HasPrefix(slack.Text, "review-share: human review share of cost (tenant=acme) rose +") {
		t.Fatalf("slack got %q", slack.Text)
	}
	var am []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      *time.Time        `json:"endsAt"`
	}
	pick("/api/v2/alerts", "review-share", &am)
	if len(am) != 1 || am[0].Labels["alertname"] != "UnitCostDrift" || am[0].Labels["rule"] != "review-share" || am[0].Labels["tenant"] != "acme" ||
		!am[0].StartsAt.Equal(now) || am[0].EndsAt != nil || !strings.Contains(am[0].Annotations["explanation"], "model_tokens moved most") {
		t.Fatalf("alertmanager got %+v", am)
	}
	// Still firing after the restart: the same hour evaluated again notifies nobody.
	if fired, err := e.Evaluate(ctx, now.Add(time.Minute)); err != nil || len(fired) != 0 {
		t.Fatalf("re-evaluation after restart: %v %+v", err, fired)
	}
	if err := e.RefreshAlertmanager(ctx); err != nil || len(rcv.take("/api/v2/alerts")) != 1 {
		t.Fatalf("alertmanager refresh: %v", err)
	}
	// The next hour is normal again: resolved, and the receivers hear of it.
	next := now.Add(time.Hour)
	fired, err := e.Evaluate(ctx, next)
	if err != nil || len(fired) != 1 {
		t.Fatalf("resolve: %v %+v", err, fired)
	}
	for _, a := range fired {
		if a.Status != "resolved" || a.EndsAt == nil || !a.EndsAt.Equal(next) || !a.StartsAt.Equal(now) || !strings.HasPrefix(a.Summary, "RESOLVED "+a.Rule) {
			t.Errorf("resolved: %+v", a)
		}
	}
	if sent, err := e.Deliver(ctx, next); sent != 3 || err != nil {
		t.Fatalf("resolved delivery: %d %v", sent, err)
	}
	pick("/api/v2/alerts", "review-share", &am)
	if am[0].EndsAt == nil || !am[0].EndsAt.Equal(next) {
		t.Fatalf("alertmanager resolved: %+v", am)
	}
	pick("/hook", "review-share", &hook)
	if hook.Status != "resolved" {
		t.Fatalf("webhook resolved: %+v", hook)
	}
	// Within the cooldown the same drift does not fire again.
	if fired, err := e.Evaluate(ctx, now); err != nil || len(fired) != 0 {
		t.Fatalf("fired again within the cooldown: %v %+v", err, fired)
	}
}

func TestRulesAreValidated(t *testing.T) {
	_, err := alert.ParseRules([]byte(`
notifiers: [{name: a, type: pager, url: ""}]
rules:
  - {name: x, metric: cost_per_day, window: 90m, method: magic}
  - {name: x, metric: review_share, scope: {model: gpt-4o}, threshold_pct: 10, hysteresis_pct: 12, notify: [b]}
  - {name: y, metric: review_share, group_by: team}
  - {name: z, metric: review_share, group_by: "workflow, tenant", scope: {tenant: acme}}
`))
	if err == nil {
		t.Fatal("bad rules accepted")
	}
	for _, want := range []string{"is not webhook, slack or alertmanager", "url: required", "cost_per_day", "window: 1h30m0s must be whole hours",
		"median_mad or ewma", "must be unique", "cannot be narrowed to one model", "must be below threshold_pct", `no notifier named "b"`,
		`group_by: "team": use workflow, tenant or tenant,workflow`, "has nothing to group by tenant"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// The shipped example rules parse (with their ${ENV} placeholders expanded).
func TestExampleRulesParse(t *testing.T) {
	b, err := os.ReadFile("../../deploy/alert-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := alert.ParseRules([]byte(os.Expand(string(b), func(string) string { return "http://127.0.0.1:1" })))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) != 6 || len(rs.Notifiers) != 3 || rs.Rules[1].Baseline != "same_hours_last_week" || rs.Rules[1].Method != alert.EWMA {
		t.Fatalf("example rules: %+v", rs)
	}
}
