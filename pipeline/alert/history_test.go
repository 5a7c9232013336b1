package alert_test

import (
	"context"
	"errors"
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

// flaky is a History that fails while down, then writes to the store.
type flaky struct {
	st   *store.Store
	down bool
}

func (f *flaky) WriteAlertReadings(ctx context.Context, rs []store.AlertReading) error {
	if f.down {
		return errors.New("clickhouse down")
	}
	return f.st.WriteAlertReadings(ctx, rs)
}

func (f *flaky) WriteAlertEvents(ctx context.Context, es []store.AlertEvent) error {
	if f.down {
		return errors.New("clickhouse down")
	}
	return f.st.WriteAlertEvents(ctx, es)
}

// Every evaluation's readings and every transition land in ClickHouse exactly once: the
// hour's newest evaluation is its row, a transition that could not be written is kept in
// the state file across a restart and written later, and a replay with --record over the
// same hours adds no row. What is stored equals what the engine computed, figure for figure,
// and the band is where the rule fires: a firing reading is above band_high, the others not.
func TestHistoryRecordsReadingsAndTransitionsOnce(t *testing.T) {
	st := testenv.ClickHouse(t)
	changed := normal
	changed.priceScale = 2
	writeHours(t, st, 2, day0, append(steady(48), changed, normal, normal))
	rcv := newReceiver(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	rules, err := alert.ParseRules([]byte(strings.NewReplacer("%STATE%", statePath, "%URL%", rcv.srv.URL).Replace(rulesYAML)))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &flaky{st: st}
	e, err := alert.New(rules, st, nil, quiet, alert.WithHistory(h))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := map[string]alert.Reading{} // key/hour -> the hour's last reading
	var transitions []alert.Alert
	eval := func(e *alert.Engine, at time.Time) {
		t.Helper()
		fired, err := e.Evaluate(ctx, at)
		if err != nil && !h.down {
			t.Fatal(err)
		}
		transitions = append(transitions, fired...)
		for _, rd := range e.LastReadings() {
			want[rd.Key+"@"+at.Truncate(time.Hour).Format(time.RFC3339)] = rd
		}
	}
	for hr := 44; hr < 48; hr++ {
		eval(e, day0.Add(time.Duration(hr)*time.Hour+30*time.Minute))
		eval(e, day0.Add(time.Duration(hr)*time.Hour+59*time.Minute))
	}
	// ClickHouse is down when the drift fires: the firing waits in the state file; the
	// process restarts and writes it at its next evaluation, with the hour's readings.
	h.down = true
	eval(e, day0.Add(48*time.Hour+59*time.Minute))
	if len(transitions) != 1 || transitions[0].Rule != "cost-per-completed" || transitions[0].Status != "firing" {
		t.Fatalf("transitions %+v, want cost-per-completed firing", transitions)
	}
	h.down = false
	e, err = alert.New(rules, st, nil, quiet, alert.WithHistory(h))
	if err != nil {
		t.Fatal(err)
	}
	eval(e, day0.Add(48*time.Hour+59*time.Minute+30*time.Second))
	eval(e, day0.Add(49*time.Hour+59*time.Minute))
	if len(transitions) != 2 || transitions[1].Status != "resolved" {
		t.Fatalf("transitions %+v, want the firing then its resolution", transitions)
	}
	// what the live engine computed is stored: each hour's last evaluation
	checkReadings := func(want map[string]alert.Reading) {
		t.Helper()
		rows, err := st.AlertReadings(ctx, day0, day0.Add(72*time.Hour), store.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(want) {
			t.Errorf("%d readings stored, want %d", len(rows), len(want))
		}
		for _, r := range rows {
			k := r.Key + "@" + r.Bucket.Format(time.RFC3339)
			rd, ok := want[k]
			if !ok {
				t.Errorf("stored reading %s was not computed", k)
				continue
			}
			if r.Current != rd.Current || r.Baseline != rd.Baseline || r.Spread != rd.Spread || r.BandLow != rd.BandLow || r.BandHigh != rd.BandHigh ||
				r.Usable != rd.Usable || r.Samples != rd.Samples || r.Reason != rd.Reason || r.Tenant != rd.Scope.Tenant || r.Workflow != rd.Scope.Workflow {
				t.Errorf("%s stored %+v\nengine %+v", k, r, rd)
			}
			// the band is where the rule fires (direction up): above band_high
			if rd.Usable && rd.Breach != (rd.Current > rd.BandHigh) {
				t.Errorf("%s: breach %v with current %v and band_high %v", k, rd.Breach, rd.Current, rd.BandHigh)
			}
		}
	}
	checkReadings(want)

	// a replay with --record of the same hours and one more evaluates at each hour's last
	// second, its firing at another instant than the live one: it writes the readings of
	// the hour the history has none of and nothing else (the live readings and episode
	// stay as they are). Twice: the second writes nothing.
	replayRules, _ := alert.ParseRules([]byte(strings.NewReplacer("%STATE%", statePath, "%URL%", rcv.srv.URL).Replace(rulesYAML)))
	replayed := map[string]alert.Reading{}
	for i := 0; i < 2; i++ {
		re, err := alert.New(replayRules, st, nil, quiet, alert.Fresh(), alert.WithHistory(st))
		if err != nil {
			t.Fatal(err)
		}
		hr := 44
		res, err := re.Replay(ctx, day0.Add(44*time.Hour), day0.Add(51*time.Hour), func(done, total int) {
			for _, rd := range re.LastReadings() {
				if hr == 50 {
					replayed[rd.Key+"@"+day0.Add(time.Duration(hr)*time.Hour).Format(time.RFC3339)] = rd
				}
			}
			hr++
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Transitions) != 2 || !res.Transitions[0].StartsAt.Equal(day0.Add(49*time.Hour-time.Second)) {
			t.Fatalf("replay transitions %+v", res.Transitions)
		}
		perHour := res.Readings / 7
		wantRec, wantKept := [4]int{perHour, 0, 6 * perHour, 2}, [4]int{0, 0, 7 * perHour, 2}
		if got := [4]int{res.RecordedReadings, res.RecordedEvents, res.KeptReadings, res.KeptEvents}; got != map[int][4]int{0: wantRec, 1: wantKept}[i] || perHour == 0 {
			t.Errorf("replay %d: recorded %d readings, %d transitions; kept %d, %d", i, got[0], got[1], got[2], got[3])
		}
	}
	for k, rd := range want { // the live rows stay
		replayed[k] = rd
	}
	checkReadings(replayed)

	evs, err := st.AlertEvents(ctx, day0, day0.Add(72*time.Hour), store.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	all := transitions // the live episode only
	if len(evs) != len(all) {
		t.Fatalf("%d events stored, want %d: %+v", len(evs), len(all), evs)
	}
	for _, a := range all {
		at := a.StartsAt
		if a.EndsAt != nil {
			at = *a.EndsAt
		}
		found := false
		for _, ev := range evs {
			if ev.Key == a.Key && ev.Status == a.Status && ev.At.Equal(at.Truncate(time.Second)) && ev.StartsAt.Equal(a.StartsAt.Truncate(time.Second)) {
				found = true
				if ev.Current != a.Current || ev.Baseline != a.Baseline || ev.Spread != a.Spread || ev.BandLow != a.BandLow || ev.BandHigh != a.BandHigh ||
					ev.Summary != a.Summary || ev.Tenant != a.Scope.Tenant || ev.Workflow != a.Scope.Workflow || ev.Metric != string(a.Metric) ||
					!ev.Bucket.Equal(at.Truncate(time.Hour)) {
					t.Errorf("stored %+v\nengine %+v", ev, a)
				}
				if a.Status == "firing" && !(a.Current > a.BandHigh) {
					t.Errorf("%s fired at %v inside its band [%v, %v]", a.Key, a.Current, a.BandLow, a.BandHigh)
				}
			}
		}
		if !found {
			t.Errorf("transition %s %s at %v not stored", a.Status, a.Key, at)
		}
	}
}

// Replays with --record from different --since agree with what is recorded: a drift of
// three hours replayed from before it fires at its first hour; replayed again from its
// second hour (a fresh state sees it first there), it fires an hour later, an episode
// overlapping the recorded one, so nothing is written; the history keeps one episode.
func TestReplayRecordFromAnotherSinceAddsNothing(t *testing.T) {
	st := testenv.ClickHouse(t)
	changed := normal
	changed.priceScale = 2
	writeHours(t, st, 2, day0, append(steady(48), changed, changed, changed, normal, normal))
	rules, err := alert.ParseRules([]byte(strings.NewReplacer("%STATE%", filepath.Join(t.TempDir(), "state.json"), "%URL%", "http://127.0.0.1:1").Replace(rulesYAML)))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	replay := func(since time.Time) alert.ReplayResult {
		t.Helper()
		re, err := alert.New(rules, st, nil, quiet, alert.Fresh(), alert.WithHistory(st))
		if err != nil {
			t.Fatal(err)
		}
		res, err := re.Replay(ctx, since, day0.Add(53*time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := replay(day0.Add(40 * time.Hour))
	second := replay(day0.Add(49 * time.Hour))
	starts := func(r alert.ReplayResult) (out []string) {
		for _, a := range r.Transitions {
			if a.Rule == "cost-per-completed" {
				out = append(out, a.Status+"@"+a.StartsAt.Sub(day0).String())
			}
		}
		return out
	}
	// the two replays disagree on when the episode started
	if g1, g2 := strings.Join(starts(first), " "), strings.Join(starts(second), " "); g1 != "firing@48h59m59s resolved@48h59m59s" || g2 != "firing@49h59m59s resolved@49h59m59s" {
		t.Fatalf("replays: %q and %q", g1, g2)
	}
	if first.RecordedEvents != len(first.Transitions) || first.RecordedReadings != first.Readings || second.RecordedEvents != 0 || second.RecordedReadings != 0 ||
		second.KeptEvents != len(second.Transitions) || second.KeptReadings != second.Readings {
		t.Errorf("first recorded %d/%d events, %d/%d readings; second recorded %d events, %d readings, kept %d, %d", first.RecordedEvents, len(first.Transitions),
			first.RecordedReadings, first.Readings, second.RecordedEvents, second.RecordedReadings, second.KeptEvents, second.KeptReadings)
	}
	evs, err := st.AlertEvents(ctx, day0, day0.Add(72*time.Hour), store.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		if ev.Rule == "cost-per-completed" {
			got = append(got, ev.Status+"@"+ev.StartsAt.Sub(day0).String())
		}
	}
	if strings.Join(got, " ") != "firing@48h59m59s resolved@48h59m59s" {
		t.Errorf("stored %q, want the first replay's one episode", got)
	}
}
