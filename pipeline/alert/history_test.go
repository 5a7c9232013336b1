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

	// a replay with --record of the same hours evaluates at each hour's last second: its
	// readings replace the hours' rows (its evaluation is the newest) and its transitions,
	// at other instants than the live ones, are rows of their own. Twice: nothing changes.
	replayRules, _ := alert.ParseRules([]byte(strings.NewReplacer("%STATE%", statePath, "%URL%", rcv.srv.URL).Replace(rulesYAML)))
	var res alert.ReplayResult
	replayed := map[string]alert.Reading{}
	for i := 0; i < 2; i++ {
		re, err := alert.New(replayRules, st, nil, quiet, alert.Fresh(), alert.WithHistory(st))
		if err != nil {
			t.Fatal(err)
		}
		hr := 44
		res, err = re.Replay(ctx, day0.Add(44*time.Hour), day0.Add(50*time.Hour), func(done, total int) {
			for _, rd := range re.LastReadings() {
				replayed[rd.Key+"@"+day0.Add(time.Duration(hr)*time.Hour).Format(time.RFC3339)] = rd
			}
			hr++
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Transitions) != 2 {
			t.Fatalf("replay transitions %+v", res.Transitions)
		}
	}
	for k, rd := range want { // hours the replay did not cover keep the live rows
		if _, ok := replayed[k]; !ok {
			replayed[k] = rd
		}
	}
	checkReadings(replayed)

	evs, err := st.AlertEvents(ctx, day0, day0.Add(72*time.Hour), store.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]alert.Alert{}, transitions...), res.Transitions...)
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
