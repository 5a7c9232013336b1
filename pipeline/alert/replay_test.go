package alert_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/alert"
)

// A replay over two steady days and a price change: cost per completed workflow fires at
// the changed hour and resolves at the next, nothing else fires, and no state file is
// written nor any notification sent.
func TestReplayShowsWhatWouldHaveFired(t *testing.T) {
	st := testenv.ClickHouse(t)
	changed := normal
	changed.priceScale = 2
	writeHours(t, st, 2, day0, append(steady(48), changed, normal, normal))
	rcv := newReceiver(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	y := strings.NewReplacer("%STATE%", statePath, "%URL%", rcv.srv.URL).Replace(rulesYAML)
	rules, err := alert.ParseRules([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	e, err := alert.New(rules, st, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), alert.Fresh())
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Replay(context.Background(), day0, day0.Add(51*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range res.Transitions {
		at := a.StartsAt
		if a.EndsAt != nil {
			at = *a.EndsAt
		}
		got = append(got, a.Status+" "+a.Key+" "+at.Sub(day0).Truncate(time.Hour).String())
	}
	want := []string{"firing cost-per-completed 48h0m0s", "resolved cost-per-completed 49h0m0s"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("transitions %q, want %q", got, want)
	}
	if res.Hours != 51 || res.Usable == 0 || len(res.StillFiring) != 0 {
		t.Errorf("hours %d usable %d still firing %d", res.Hours, res.Usable, len(res.StillFiring))
	}
	if _, err := os.Stat(statePath); !os.IsNotExist(err) {
		t.Errorf("replay wrote the state file: %v", err)
	}
	if n := len(rcv.take("/hook")); n != 0 {
		t.Errorf("replay notified %d times", n)
	}
	var out bytes.Buffer
	alert.WriteReplay(&out, res)
	if !strings.Contains(out.String(), "cost-per-completed  FIRED") || !strings.Contains(out.String(), "Replayed 51 hours") {
		t.Errorf("replay output:\n%s", out.String())
	}
}

// ${VAR}s in a rules file: an unset one is an error naming it when notifiers are needed;
// --once, --dry-run and --replay load the rules without the notifier that uses it.
func TestRulesNameUnsetVariables(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(path, []byte(`notifiers:
  - {name: hook, type: webhook, url: "${HOOK_URL_UNSET}", headers: {Authorization: "Bearer ${HOOK_TOKEN_UNSET:-}"}}
  - {name: am, type: alertmanager, url: "${AM_URL:-http://127.0.0.1:9093}"}
rules:
  - {name: cpc, metric: cost_per_completed, notify: [hook]}
`), 0o644)
	none := func(string) (string, bool) { return "", false }
	_, _, err := alert.LoadRulesEnv(path, none, true)
	if err == nil || !strings.Contains(err.Error(), path+":2: ${HOOK_URL_UNSET} is not set") || strings.Contains(err.Error(), "HOOK_TOKEN_UNSET") {
		t.Fatalf("got %v", err)
	}
	rs, notes, err := alert.LoadRulesEnv(path, none, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Notifiers) != 1 || rs.Notifiers[0].URL != "http://127.0.0.1:9093" || len(notes) != 1 || !strings.Contains(notes[0], "notifier hook left out: ${HOOK_URL_UNSET} is not set") {
		t.Fatalf("notifiers %+v notes %q", rs.Notifiers, notes)
	}
	// An optional receiver: ${VAR:-} empty disables it, even for a long-running alert.
	os.WriteFile(path, []byte(`notifiers:
  - {name: hook, type: webhook, url: "${HOOK_URL_UNSET:-}"}
  - {name: am, type: alertmanager, url: "http://127.0.0.1:9093"}
rules:
  - {name: cpc, metric: cost_per_completed, notify: [hook]}
`), 0o644)
	rs, notes, err = alert.LoadRulesEnv(path, none, true)
	if err != nil || len(rs.Notifiers) != 1 || len(notes) != 1 || notes[0] != "notifier hook disabled: its url is empty (set HOOK_URL_UNSET to enable it)" ||
		len(rs.Rules[0].Notify) != 1 {
		t.Fatalf("%v %+v %q", err, rs, notes)
	}
}
