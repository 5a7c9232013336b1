package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
)

// Dimensions are the names Breakdown accepts, mapped to the column each groups by.
var Dimensions = map[string]string{
	"component": "component", "model": "model", "provider": "provider", "workflow": "name",
	"workflow_version": "workflow_version", "team": "team", "feature": "feature", "outcome": "outcome",
	"tenant": "wf_tenant", "price_version": "price_version",
}

// BreakdownRow is the cost of one value of a dimension.
type BreakdownRow struct {
	Key          string
	LineItems    uint64
	Cost         pipeline.Money
	InputTokens  uint64
	OutputTokens uint64
	Unpriced     uint64
}

// Breakdown runs sql/queries/breakdown.sql grouped by dim (a key of Dimensions).
func (s *Store) Breakdown(ctx context.Context, dim string, from, to time.Time, tenant string) ([]BreakdownRow, error) {
	col, ok := Dimensions[dim]
	if !ok {
		return nil, fmt.Errorf("unknown dimension %q: use one of %s", dim, strings.Join(DimensionOrder, ", "))
	}
	q, err := s.query("breakdown")
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, strings.ReplaceAll(q, "{dim}", col), from.UTC(), from.UTC(), to.UTC(), tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("breakdown query: %w", err)
	}
	defer rows.Close()
	var out []BreakdownRow
	for rows.Next() {
		var r BreakdownRow
		var cost int64
		if err := rows.Scan(&r.Key, &r.LineItems, &cost, &r.InputTokens, &r.OutputTokens, &r.Unpriced); err != nil {
			return nil, fmt.Errorf("breakdown row: %w", err)
		}
		r.Cost = pipeline.Money(cost)
		out = append(out, r)
	}
	return out, rows.Err()
}

// BreakdownRollups runs sql/queries/breakdown_rollups.sql: the same rows as Breakdown, added
// up from the hourly rollups over the whole hours of [from, to), narrowed by f.
func (s *Store) BreakdownRollups(ctx context.Context, dim string, from, to time.Time, f SeriesFilter) ([]BreakdownRow, error) {
	if _, ok := Dimensions[dim]; !ok || dim == "price_version" { // the rollups do not keep the price-book version
		return nil, fmt.Errorf("dimension %q is not in the rollups: use one of %s", dim, strings.Join(DimensionOrder[:len(DimensionOrder)-1], ", "))
	}
	q, err := s.query("breakdown_rollups")
	if err != nil {
		return nil, err
	}
	from, to = from.UTC(), to.UTC()
	// the rollup columns carry the dimension's own name
	rows, err := s.conn.Query(ctx, strings.ReplaceAll(q, "{dim}", dim), from, to, from, to, f.Tenant, f.Tenant, f.Workflow, f.Workflow,
		f.Version, f.Version, f.Team, f.Team, f.Model, f.Model)
	if err != nil {
		return nil, fmt.Errorf("breakdown rollups query: %w", err)
	}
	defer rows.Close()
	out := []BreakdownRow{}
	for rows.Next() {
		var r BreakdownRow
		var cost int64
		if err := rows.Scan(&r.Key, &r.LineItems, &cost, &r.InputTokens, &r.OutputTokens, &r.Unpriced); err != nil {
			return nil, fmt.Errorf("breakdown rollups row: %w", err)
		}
		r.Cost = pipeline.Money(cost)
		out = append(out, r)
	}
	return out, rows.Err()
}

// DimensionOrder lists Dimensions for messages and help.
var DimensionOrder = []string{"component", "model", "provider", "workflow", "workflow_version", "team", "feature", "outcome", "tenant", "price_version"}

// TopWorkflow is one of the most expensive workflows.
type TopWorkflow struct {
	WorkflowID string
	Workflow   string
	Tenant     string
	Outcome    string
	Start      time.Time
	LineItems  uint64
	Cost       pipeline.Money
}

// TopWorkflows runs sql/queries/top_workflows.sql.
func (s *Store) TopWorkflows(ctx context.Context, from, to time.Time, tenant string, limit int) ([]TopWorkflow, error) {
	q, err := s.query("top_workflows")
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, q, from.UTC(), to.UTC(), tenant, tenant, from.UTC(), from.UTC(), to.UTC(), tenant, tenant, uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("top workflows query: %w", err)
	}
	defer rows.Close()
	var out []TopWorkflow
	for rows.Next() {
		var w TopWorkflow
		var cost int64
		if err := rows.Scan(&w.WorkflowID, &w.Workflow, &w.Tenant, &w.Outcome, &w.Start, &w.LineItems, &cost); err != nil {
			return nil, fmt.Errorf("top workflows row: %w", err)
		}
		w.Cost = pipeline.Money(cost)
		out = append(out, w)
	}
	return out, rows.Err()
}

// Line is one line item of a workflow, for drill-down.
type Line struct {
	SpanID         string
	Component      string
	Step           string
	Provider       string
	Model          string
	InputTokens    uint64
	OutputTokens   uint64
	CacheRead      uint64
	Cost           pipeline.Money
	Priced         bool
	UnpricedReason string
	PriceVersion   string
	PriceRule      string
	StartTime      time.Time
	DurationMs     uint64
	UsageEstimated bool
	Issues         []string
}

// WorkflowLines runs sql/queries/workflow_lines.sql: the workflow's line items, if tenant
// ("" = any) owns it.
func (s *Store) WorkflowLines(ctx context.Context, workflowID, tenant string) ([]Line, error) {
	q, err := s.query("workflow_lines")
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, q, workflowID, workflowID, tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("workflow lines query: %w", err)
	}
	defer rows.Close()
	var out []Line
	for rows.Next() {
		var l Line
		var cost int64
		var priced, estimated uint8
		if err := rows.Scan(&l.SpanID, &l.Component, &l.Step, &l.Provider, &l.Model, &l.InputTokens, &l.OutputTokens, &l.CacheRead,
			&cost, &priced, &l.UnpricedReason, &l.PriceVersion, &l.PriceRule, &l.StartTime, &l.DurationMs, &estimated, &l.Issues); err != nil {
			return nil, fmt.Errorf("workflow line row: %w", err)
		}
		l.Cost, l.Priced, l.UsageEstimated, l.StartTime = pipeline.Money(cost), priced == 1, estimated == 1, l.StartTime.UTC()
		out = append(out, l)
	}
	return out, rows.Err()
}
