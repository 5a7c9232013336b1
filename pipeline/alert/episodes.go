package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

// WithEpisodes makes the engine take up the episodes the recorded history (alert_events)
// holds open, as WithHistory does with a History that can also read (pipeline/store):
// for `unitcost alert --dry-run`, which records nothing but should fire only what the
// live engine would.
func WithEpisodes(r HistoryReader) Option { return func(e *Engine, _ *bool) { e.episodes = r } }

// openKey is an alert as the history keys it: tenant and alert key.
func openKey(tenant, key string) string { return tenant + "\x00" + key }

// loadOpen reads, once per engine, the episodes the history holds open: a firing with no
// resolution of the same alert and start (the newest such episode per alert). A replay
// with --record writes the episodes it ends in still firing; without this, a live engine
// starting with no state (no state file, or a new one) would fire each of them again as a
// new episode and notify it twice. An error leaves them to the next evaluation.
func (e *Engine) loadOpen(ctx context.Context) error {
	if e.episodes == nil || e.open != nil {
		return nil
	}
	// alert_events holds transitions only (a few per alert and day), so every one since
	// the tables' earliest time is read; rules of this engine only.
	evs, err := e.episodes.AlertEvents(ctx, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), store.AlertFilter{})
	if err != nil {
		return fmt.Errorf("read the open alert episodes from the history (the engine takes them up before it fires anything): %w", err)
	}
	rules := map[string]bool{}
	for _, r := range e.rules.Rules {
		rules[r.Name] = true
	}
	resolved := map[string]bool{}
	for _, ev := range evs {
		if ev.Status == "resolved" {
			resolved[openKey(ev.Tenant, ev.Key)+"\x00"+ev.StartsAt.String()] = true
		}
	}
	open := map[string]store.AlertEvent{}
	for _, ev := range evs {
		k := openKey(ev.Tenant, ev.Key)
		if ev.Status != "firing" || !rules[ev.Rule] || resolved[k+"\x00"+ev.StartsAt.String()] {
			continue
		}
		if prev, ok := open[k]; !ok || ev.StartsAt.After(prev.StartsAt) {
			open[k] = ev
		}
	}
	e.open = open
	return nil
}

// takeUp returns the state of an alert the history holds open, for the reading of the
// same tenant and alert key, when the engine's own state does not know better: it has no
// state for the alert, or has been ok only since before the episode started (an alert the
// engine resolved itself, whose resolution is still waiting to be written, is not taken
// up). Each open episode is taken up at most once.
func (e *Engine) takeUp(rd Reading, s *alertState) *alertState {
	k := openKey(rd.Scope.Tenant, rd.Key)
	ev, ok := e.open[k]
	if !ok {
		return s
	}
	delete(e.open, k)
	if s != nil && (s.Status == "firing" || !s.Since.Before(ev.StartsAt)) {
		return s
	}
	a := &Alert{Status: "firing", Severity: ev.Severity, StartsAt: ev.StartsAt, Summary: ev.Summary, Reading: Reading{
		Key: ev.Key, Rule: ev.Rule, Metric: Metric(ev.Metric), Description: rd.Description, Scope: rd.Scope, Current: ev.Current,
		Baseline: ev.Baseline, Spread: ev.Spread, BandLow: ev.BandLow, BandHigh: ev.BandHigh, DeviationPct: ev.DeviationPct,
		Samples: ev.Samples, Method: rd.Method, Usable: true}}
	if ev.Explanation != "" {
		a.Explain = &Explanation{Text: ev.Explanation}
	}
	e.log.Info("alert firing since an episode the history holds open; not fired again", "alert", rd.Key, "tenant", rd.Scope.Tenant, "since", ev.StartsAt)
	return &alertState{Status: "firing", Since: ev.StartsAt, Firing: a}
}
