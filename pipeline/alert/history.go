package alert

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

// History keeps what the engine saw where the dashboard, the API and Grafana read it
// (pipeline/store implements it, tables alert_readings and alert_events of migration 0009).
// Both writes must be idempotent: the engine writes a reading again every evaluation of
// its hour, and a transition again until one write of it succeeded.
type History interface {
	WriteAlertReadings(ctx context.Context, rs []store.AlertReading) error
	WriteAlertEvents(ctx context.Context, es []store.AlertEvent) error
}

var _ History = (*store.Store)(nil)

// WithHistory records each evaluation's readings (value, baseline and band) and each
// firing and resolution in h. On an engine that keeps state, a transition not yet written
// stays in the state file and is written again at the next evaluation (at least once; the
// table's key makes it once). On a read-only engine (a replay with --record) a failed
// write is an error of the evaluation.
func WithHistory(h History) Option { return func(e *Engine, _ *bool) { e.hist = h } }

// band is the range within which a reading of r with this baseline and spread does not
// fire: the deviation must reach threshold_pct of the baseline, threshold_abs and sigmas x
// spread, whichever is largest (see crosses). Direction up fires above hi, down below lo.
func band(r *Rule, baseline, spread float64) (lo, hi float64) {
	w := max(r.ThresholdPct/100*math.Abs(baseline), r.ThresholdAbs, r.Sigmas*spread)
	return baseline - w, baseline + w
}

// readingRow is a reading as stored for the hour now falls in, with its whole scope: the
// stored row's Filter() is the filter the engine read it over (scope.filter()).
func readingRow(rd Reading, now time.Time) store.AlertReading {
	return store.AlertReading{Tenant: rd.Scope.Tenant, Key: rd.Key, Bucket: now.UTC().Truncate(time.Hour), EvaluatedAt: now.UTC(),
		Rule: rd.Rule, Metric: string(rd.Metric), Workflow: rd.Scope.Workflow, WorkflowVersion: rd.Scope.WorkflowVersion, Team: rd.Scope.Team,
		Model: rd.Scope.Model, Service: rd.Scope.Service, Environment: rd.Scope.Environment, Usable: rd.Usable, Reason: rd.Reason,
		Current: rd.Current, Baseline: rd.Baseline, Spread: rd.Spread, BandLow: rd.BandLow, BandHigh: rd.BandHigh,
		DeviationPct: rd.DeviationPct, Samples: rd.Samples, BaselineHours: uint32(rd.BaselineHours), Method: string(rd.Method)}
}

// eventRow is a transition as stored: a firing at its start, a resolution at its end.
func eventRow(a Alert) store.AlertEvent {
	at := a.StartsAt
	if a.Status == "resolved" && a.EndsAt != nil {
		at = *a.EndsAt
	}
	ev := store.AlertEvent{Tenant: a.Scope.Tenant, Key: a.Key, StartsAt: a.StartsAt.UTC(), Status: a.Status, At: at.UTC(),
		Bucket: at.UTC().Truncate(time.Hour), Rule: a.Rule, Metric: string(a.Metric), Workflow: a.Scope.Workflow, Severity: a.Severity,
		Current: a.Current, Baseline: a.Baseline, Spread: a.Spread, BandLow: a.BandLow, BandHigh: a.BandHigh, DeviationPct: a.DeviationPct,
		Samples: a.Samples, Summary: a.Summary}
	if a.Explain != nil {
		ev.Explanation = a.Explain.Text
	}
	return ev
}

// record writes this evaluation's readings and the transitions waiting in the state.
func (e *Engine) record(ctx context.Context, now time.Time) error {
	if e.hist == nil {
		return nil
	}
	var errs []error
	rows := make([]store.AlertReading, 0, len(e.last))
	for _, rd := range e.last {
		rows = append(rows, readingRow(rd, now))
	}
	if err := e.hist.WriteAlertReadings(ctx, rows); err != nil {
		e.m.historyFailures.Inc()
		errs = append(errs, fmt.Errorf("record alert readings (the next evaluation of the hour writes them again): %w", err))
	}
	if len(e.st.History) > 0 {
		evs := make([]store.AlertEvent, 0, len(e.st.History))
		for _, a := range e.st.History {
			evs = append(evs, eventRow(a))
		}
		if err := e.hist.WriteAlertEvents(ctx, evs); err != nil {
			e.m.historyFailures.Inc()
			errs = append(errs, fmt.Errorf("record %d alert transitions (kept; written again at the next evaluation): %w", len(evs), err))
		} else {
			e.st.History = nil
			if err := e.save(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
