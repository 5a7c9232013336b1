package store

import (
	"context"
	"fmt"
	"time"
)

// AlertReading is one alert's evaluation of one hour (table alert_readings, migration
// 0009): the value, the baseline and the band within which the rule does not fire, in the
// metric's unit (dollars, a 0-1 share or tokens).
type AlertReading struct {
	Tenant string // the rule's scope.tenant; "" for a rule over every tenant
	Key    string // rule, or rule/workflow with group_by
	// Bucket is the hour the evaluation ended in; EvaluatedAt when it ran.
	Bucket, EvaluatedAt time.Time
	Rule, Metric        string
	Workflow            string // the workflow type in scope ("" = all)
	// The rest of the rule's scope (migration 0014; "" = all): the reading was computed
	// over Filter().
	WorkflowVersion, Team, Model, Service, Environment string
	Usable                                             bool
	Reason                                             string // why not usable
	Current, Baseline                                  float64
	Spread                                             float64
	BandLow, BandHigh                                  float64
	DeviationPct                                       float64
	Samples                                            uint64
	BaselineHours                                      uint32
	Method                                             string
}

// Filter is the rollup filter of the reading's scope: the population the alert engine read
// it over (the rule's scope, with the group's tenant and workflow type).
func (r AlertReading) Filter() SeriesFilter {
	return SeriesFilter{Tenant: r.Tenant, Workflow: r.Workflow, Version: r.WorkflowVersion, Team: r.Team, Model: r.Model,
		Service: r.Service, Environment: r.Environment}
}

// AlertEvent is one transition of an alert (table alert_events): firing at StartsAt, or
// resolved at At (its EndsAt), with the reading that caused it.
type AlertEvent struct {
	Tenant, Key               string
	StartsAt                  time.Time
	Status                    string // firing or resolved
	At, Bucket                time.Time
	Rule, Metric, Workflow    string
	Severity                  string
	Current, Baseline, Spread float64
	BandLow, BandHigh         float64
	DeviationPct              float64
	Samples                   uint64
	Summary, Explanation      string
}

// AlertFilter narrows the alert history; "" matches everything. Tenant "" reads every
// tenant's rows and those of rules over all tenants; a tenant reads its own rows only.
type AlertFilter struct {
	Tenant, Workflow, Metric string
}

const alertReadingColumns = `tenant, alert_key, bucket, evaluated_at, rule, metric, workflow, usable, reason, current, baseline,
spread, band_low, band_high, deviation_pct, samples, baseline_hours, method, version, workflow_version, team, model, service, environment`

const alertEventColumns = `tenant, alert_key, starts_at, status, at, bucket, rule, metric, workflow, severity, current, baseline,
spread, band_low, band_high, deviation_pct, samples, summary, explanation, version`

// WriteAlertReadings inserts readings. A reading replaces the row of the same alert and
// hour evaluated earlier (the version is its evaluation time), so writing again after a
// restart, a retry or a replay adds nothing.
func (s *Store) WriteAlertReadings(ctx context.Context, rs []AlertReading) error {
	if len(rs) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.cfg.Database+".alert_readings ("+alertReadingColumns+")")
	if err != nil {
		return fmt.Errorf("prepare alert readings: %w", err)
	}
	for _, r := range rs {
		if err := b.Append(r.Tenant, r.Key, r.Bucket.UTC(), r.EvaluatedAt.UTC(), r.Rule, r.Metric, r.Workflow, b2u(r.Usable), r.Reason,
			r.Current, r.Baseline, r.Spread, r.BandLow, r.BandHigh, r.DeviationPct, r.Samples, r.BaselineHours, r.Method,
			uint64(r.EvaluatedAt.UnixNano()), r.WorkflowVersion, r.Team, r.Model, r.Service, r.Environment); err != nil {
			b.Abort()
			return fmt.Errorf("append alert reading: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert alert readings: %w", err)
	}
	return nil
}

// WriteAlertEvents inserts transitions. One written again (the engine re-sends those it
// could not confirm) replaces itself: the key is (tenant, alert_key, starts_at, status).
func (s *Store) WriteAlertEvents(ctx context.Context, es []AlertEvent) error {
	if len(es) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.cfg.Database+".alert_events ("+alertEventColumns+")")
	if err != nil {
		return fmt.Errorf("prepare alert events: %w", err)
	}
	version := uint64(time.Now().UnixNano())
	for _, e := range es {
		if err := b.Append(e.Tenant, e.Key, e.StartsAt.UTC(), e.Status, e.At.UTC(), e.Bucket.UTC(), e.Rule, e.Metric, e.Workflow, e.Severity,
			e.Current, e.Baseline, e.Spread, e.BandLow, e.BandHigh, e.DeviationPct, e.Samples, e.Summary, e.Explanation, version); err != nil {
			b.Abort()
			return fmt.Errorf("append alert event: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert alert events: %w", err)
	}
	return nil
}

// AlertReadings runs sql/queries/alert_readings.sql: the hourly readings over [from, to)
// of bucket.
func (s *Store) AlertReadings(ctx context.Context, from, to time.Time, f AlertFilter) ([]AlertReading, error) {
	q, err := s.query("alert_readings")
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, q, from.UTC(), to.UTC(), f.Tenant, f.Tenant, f.Workflow, f.Workflow, f.Metric, f.Metric)
	if err != nil {
		return nil, fmt.Errorf("alert readings query: %w", err)
	}
	defer rows.Close()
	var out []AlertReading
	for rows.Next() {
		var r AlertReading
		var usable uint8
		if err := rows.Scan(&r.Tenant, &r.Key, &r.Bucket, &r.EvaluatedAt, &r.Rule, &r.Metric, &r.Workflow, &usable, &r.Reason,
			&r.Current, &r.Baseline, &r.Spread, &r.BandLow, &r.BandHigh, &r.DeviationPct, &r.Samples, &r.BaselineHours, &r.Method,
			&r.WorkflowVersion, &r.Team, &r.Model, &r.Service, &r.Environment); err != nil {
			return nil, fmt.Errorf("alert reading row: %w", err)
		}
		r.Usable = usable == 1
		r.Bucket, r.EvaluatedAt = r.Bucket.UTC(), r.EvaluatedAt.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// AlertEvents runs sql/queries/alert_events.sql: the transitions that happened in
// [from, to), oldest first.
func (s *Store) AlertEvents(ctx context.Context, from, to time.Time, f AlertFilter) ([]AlertEvent, error) {
	q, err := s.query("alert_events")
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, q, from.UTC(), to.UTC(), f.Tenant, f.Tenant, f.Workflow, f.Workflow, f.Metric, f.Metric)
	if err != nil {
		return nil, fmt.Errorf("alert events query: %w", err)
	}
	defer rows.Close()
	var out []AlertEvent
	for rows.Next() {
		var e AlertEvent
		if err := rows.Scan(&e.Tenant, &e.Key, &e.StartsAt, &e.Status, &e.At, &e.Bucket, &e.Rule, &e.Metric, &e.Workflow, &e.Severity,
			&e.Current, &e.Baseline, &e.Spread, &e.BandLow, &e.BandHigh, &e.DeviationPct, &e.Samples, &e.Summary, &e.Explanation); err != nil {
			return nil, fmt.Errorf("alert event row: %w", err)
		}
		e.StartsAt, e.At, e.Bucket = e.StartsAt.UTC(), e.At.UTC(), e.Bucket.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
