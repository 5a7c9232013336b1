package alert_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/alert"
	"github.com/unitcost/unitcost/pipeline/store"
)

const episodeRules = `
state_file: %STATE%
notifiers:
  - {name: hook, type: webhook, url: "%URL%/hook"}
rules:
  - name: cost-per-completed
    metric: cost_per_completed
    scope: {workflow: support_agent}
    min_samples: 30
    threshold_pct: 25
    sigmas: 4
`

// An episode fires once: a replay with --record that ends while a drift still fires
// records an open episode; a live engine that then starts with no state (no state file)
// takes that episode up from alert_events instead of firing it again, notifies nothing
// while it lasts, and resolves it - the same episode, closed in the history with one
// resolution notified. An open episode of another tenant under the same alert key is not
// taken up: the live engine fires its own. On ClickHouse 18.16.
func TestLiveEngineTakesUpTheEpisodesTheHistoryHoldsOpen(t *testing.T) {
	changed := normal
	changed.priceScale = 2
	hours := append(steady(48), changed, changed, changed, normal, normal) // the drift: hours 48-50
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	setup := func(t *testing.T) (*store.Store, *receiver, *alert.Rules) {
		st := testenv.ClickHouse(t)
		writeHours(t, st, 2, day0, hours)
		rcv := newReceiver(t)
		rules, err := alert.ParseRules([]byte(strings.NewReplacer("%STATE%", filepath.Join(t.TempDir(), "state.json"), "%URL%", rcv.srv.URL).Replace(episodeRules)))
		if err != nil {
			t.Fatal(err)
		}
		return st, rcv, rules
	}
	events := func(t *testing.T, st *store.Store) []string {
		t.Helper()
		evs, err := st.AlertEvents(ctx, day0, day0.Add(72*time.Hour), store.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Tenant+"/"+ev.Key+" "+ev.Status+" from "+ev.StartsAt.Sub(day0).String()+" at "+ev.At.Sub(day0).String())
		}
		return out
	}

	t.Run("replay then live", func(t *testing.T) {
		st, rcv, rules := setup(t)
		re, err := alert.New(rules, st, nil, quiet, alert.Fresh(), alert.WithHistory(st))
		if err != nil {
			t.Fatal(err)
		}
		res, err := re.Replay(ctx, day0.Add(40*time.Hour), day0.Add(50*time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Transitions) != 1 || len(res.StillFiring) != 1 || res.RecordedEvents != 1 {
			t.Fatalf("replay: %d transitions, %d still firing, %d recorded; want the drift's firing, open", len(res.Transitions), len(res.StillFiring), res.RecordedEvents)
		}
		fired := res.Transitions[0]
		start := day0.Add(49*time.Hour - time.Second) // the replay evaluates at each hour's last second

		live, err := alert.New(rules, st, nil, quiet, alert.WithHistory(st)) // no state file
		if err != nil {
			t.Fatal(err)
		}
		got, err := live.Evaluate(ctx, day0.Add(50*time.Hour+30*time.Minute)) // the drift still on
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("the live engine fired the recorded episode again: %+v", got)
		}
		firing := live.Firing()
		if len(firing) != 1 || !firing[0].StartsAt.Equal(start) || firing[0].Current != fired.Current || firing[0].Baseline != fired.Baseline ||
			firing[0].BandHigh != fired.BandHigh || firing[0].Summary != fired.Summary {
			t.Fatalf("firing %+v\nwant the replay's episode %+v", firing, fired)
		}
		if sent, err := live.Deliver(ctx, day0.Add(50*time.Hour+30*time.Minute)); err != nil || sent != 0 {
			t.Fatalf("delivered %d (%v), want nothing", sent, err)
		}
		got, err = live.Evaluate(ctx, day0.Add(51*time.Hour+59*time.Minute)) // a normal hour
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Status != "resolved" || !got[0].StartsAt.Equal(start) || !got[0].EndsAt.Equal(day0.Add(51*time.Hour+59*time.Minute)) {
			t.Fatalf("transitions %+v, want the episode's resolution", got)
		}
		if sent, err := live.Deliver(ctx, day0.Add(51*time.Hour+59*time.Minute)); err != nil || sent != 1 {
			t.Fatalf("delivered %d (%v), want the resolution", sent, err)
		}
		if hook := rcv.take("/hook"); len(hook) != 1 || !strings.Contains(string(hook[0]), `"status":"resolved"`) || !strings.Contains(string(hook[0]), `"starts_at":"2026-10-03T00:59:59Z"`) {
			t.Errorf("webhook got %d payloads: %s", len(hook), hook)
		}
		want := "/cost-per-completed firing from 48h59m59s at 48h59m59s|/cost-per-completed resolved from 48h59m59s at 51h59m0s"
		if g := strings.Join(events(t, st), "|"); g != want {
			t.Errorf("alert_events:\n got %s\nwant %s", g, want)
		}
	})

	t.Run("another tenant's open episode", func(t *testing.T) {
		st, _, rules := setup(t)
		at := day0.Add(49*time.Hour - time.Second)
		if err := st.WriteAlertEvents(ctx, []store.AlertEvent{{Tenant: "globex", Key: "cost-per-completed", Rule: "cost-per-completed",
			Metric: "cost_per_completed", Workflow: "support_agent", StartsAt: at, Status: "firing", At: at, Bucket: at.Truncate(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		live, err := alert.New(rules, st, nil, quiet, alert.WithHistory(st))
		if err != nil {
			t.Fatal(err)
		}
		got, err := live.Evaluate(ctx, day0.Add(50*time.Hour+30*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Status != "firing" || got[0].Scope.Tenant != "" || !got[0].StartsAt.Equal(day0.Add(50*time.Hour+30*time.Minute)) {
			t.Fatalf("transitions %+v, want the engine's own firing", got)
		}
		want := "globex/cost-per-completed firing from 48h59m59s at 48h59m59s|/cost-per-completed firing from 50h30m0s at 50h30m0s"
		if g := strings.Join(events(t, st), "|"); g != want {
			t.Errorf("alert_events:\n got %s\nwant %s", g, want)
		}
	})
}
