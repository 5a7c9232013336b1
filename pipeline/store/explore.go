package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
)

// Dimensions are the names Breakdown accepts, mapped to the column each groups by.
// Besides these, "label:KEY" groups by the value of the workflows' label KEY. A line's
// team and feature are its own, else its workflow's: a late span written where its
// workflow was not remembered (after a restart or a rebalance) carries none of its own.
var Dimensions = map[string]string{
	"component": "component", "model": "model", "provider": "provider", "workflow": "name",
	"workflow_version": "workflow_version", "team": "if(team = '', wf_team, team)",
	"feature": "if(feature = '', wf_feature, feature)", "outcome": "outcome",
	"tenant": "wf_tenant", "price_version": "price_version", "service": "service", "environment": "environment", "session": "session",
	"user": "end_user", "outcome_source": "outcome_source",
}

// LabelDimension prefixes a breakdown by a label's value: "label:tier".
const LabelDimension = "label:"

// DimensionColumn is the expression dim groups by, or false when dim is no dimension.
func DimensionColumn(dim string) (string, bool) {
	if k, ok := strings.CutPrefix(dim, LabelDimension); ok {
		if !labelKey.MatchString(k) {
			return "", false
		}
		return "label_values[indexOf(label_keys, '" + k + "')]", true // k is [A-Za-z0-9_.-] only
	}
	col, ok := Dimensions[dim]
	return col, ok
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
	return s.BreakdownWhere(ctx, dim, from, to, Filter{Tenant: tenant})
}

// BreakdownWhere runs sql/queries/breakdown.sql grouped by dim (a key of Dimensions, or
// label:KEY) over the workflows f selects: cost per session or per end user with
// dim session or user.
func (s *Store) BreakdownWhere(ctx context.Context, dim string, from, to time.Time, f Filter) ([]BreakdownRow, error) {
	col, ok := DimensionColumn(dim)
	if !ok {
		return nil, fmt.Errorf("unknown dimension %q: use one of %s, or label:KEY", dim, strings.Join(DimensionOrder, ", "))
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	q, err := s.query("breakdown")
	if err != nil {
		return nil, err
	}
	q, fa := f.bind(strings.ReplaceAll(q, "{dim}", col))
	rows, err := s.conn.Query(ctx, q, args([]any{from.UTC(), from.UTC(), to.UTC(), from.UTC(), to.UTC()}, fa)...)
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

// RollupDimensionOrder lists the dimensions rollup_costs_hourly keeps (its columns carry
// these names): BreakdownRollups takes these only.
var RollupDimensionOrder = []string{"component", "model", "provider", "workflow", "workflow_version", "team", "feature", "outcome", "tenant",
	"service", "environment"}

// RollupDimensions is RollupDimensionOrder as a set.
var RollupDimensions = func() map[string]bool {
	m := map[string]bool{}
	for _, d := range RollupDimensionOrder {
		m[d] = true
	}
	return m
}()

// BreakdownRollups runs sql/queries/breakdown_rollups.sql: the same rows as Breakdown, added
// up from the hourly rollups over the whole hours of [from, to), narrowed by f.
func (s *Store) BreakdownRollups(ctx context.Context, dim string, from, to time.Time, f SeriesFilter) ([]BreakdownRow, error) {
	if !RollupDimensions[dim] {
		return nil, fmt.Errorf("dimension %q is not in the rollups: use one of %s", dim, strings.Join(RollupDimensionOrder, ", "))
	}
	q, err := s.query("breakdown_rollups")
	if err != nil {
		return nil, err
	}
	from, to = from.UTC(), to.UTC()
	// the rollup columns carry the dimension's own name
	rows, err := s.conn.Query(ctx, strings.ReplaceAll(q, "{dim}", dim), from, to, from, to, f.Tenant, f.Tenant, f.Workflow, f.Workflow,
		f.Version, f.Version, f.Team, f.Team, f.Service, f.Service, f.Environment, f.Environment, f.Model, f.Model)
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
var DimensionOrder = []string{"component", "model", "provider", "workflow", "workflow_version", "team", "feature", "outcome", "tenant",
	"price_version", "service", "environment", "session", "user", "outcome_source"}

// TopWorkflow is one of the most expensive workflows.
type TopWorkflow struct {
	WorkflowID string
	Workflow   string
	Tenant     string
	Outcome    string
	// OutcomeSource says which rule decided the outcome.
	OutcomeSource string
	Session       string
	User          string
	Start         time.Time
	LineItems     uint64
	Cost          pipeline.Money
}

// TopWorkflows runs sql/queries/top_workflows.sql.
func (s *Store) TopWorkflows(ctx context.Context, from, to time.Time, tenant string, limit int) ([]TopWorkflow, error) {
	return s.TopWorkflowsWhere(ctx, from, to, Filter{Tenant: tenant}, limit)
}

// TopWorkflowsWhere runs sql/queries/top_workflows.sql over the workflows f selects.
func (s *Store) TopWorkflowsWhere(ctx context.Context, from, to time.Time, f Filter, limit int) ([]TopWorkflow, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	q, err := s.query("top_workflows")
	if err != nil {
		return nil, err
	}
	q, fa := f.bind(q)
	w := []any{from.UTC(), to.UTC(), from.UTC(), to.UTC()} // the workflows' days, their start times
	rows, err := s.conn.Query(ctx, q, args(w, fa, []any{from.UTC()}, w, fa, []any{uint64(limit)})...)
	if err != nil {
		return nil, fmt.Errorf("top workflows query: %w", err)
	}
	defer rows.Close()
	var out []TopWorkflow
	for rows.Next() {
		var w TopWorkflow
		var cost int64
		if err := rows.Scan(&w.WorkflowID, &w.Workflow, &w.Tenant, &w.Outcome, &w.OutcomeSource, &w.Session, &w.User, &w.Start,
			&w.LineItems, &cost); err != nil {
			return nil, fmt.Errorf("top workflows row: %w", err)
		}
		w.Cost = pipeline.Money(cost)
		out = append(out, w)
	}
	return out, rows.Err()
}

// TopRollupLimit is how many workflows rollup_top_hourly keeps per hour and tenant: the
// largest limit TopWorkflowsRollups answers exactly.
const TopRollupLimit = 100

// TopWorkflowsRollups runs sql/queries/top_workflows_rollups.sql: the most expensive
// workflows that started in the whole hours of [from, to) for tenant ("" = all), as of each
// hour's newest rollup build; the rows TopWorkflows gives for the same hours, without
// reading the line items.
func (s *Store) TopWorkflowsRollups(ctx context.Context, from, to time.Time, tenant string, limit int) ([]TopWorkflow, error) {
	if limit < 1 || limit > TopRollupLimit {
		return nil, fmt.Errorf("top workflows from the rollups: limit %d, want 1 to %d", limit, TopRollupLimit)
	}
	q, err := s.query("top_workflows_rollups")
	if err != nil {
		return nil, err
	}
	from, to = from.UTC(), to.UTC()
	rows, err := s.conn.Query(ctx, q, from, to, from, to, tenant, tenant, uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("top workflows rollups query: %w", err)
	}
	defer rows.Close()
	out := []TopWorkflow{}
	for rows.Next() {
		var w TopWorkflow
		var cost int64
		if err := rows.Scan(&w.WorkflowID, &w.Workflow, &w.Tenant, &w.Outcome, &w.OutcomeSource, &w.Session, &w.User, &w.Start,
			&w.LineItems, &cost); err != nil {
			return nil, fmt.Errorf("top workflows rollups row: %w", err)
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

// ReportedCost compares the computed cost with the provider-reported one for one model.
type ReportedCost struct {
	Provider string
	Model    string
	// Currency of the reported cost ("" = not named; USD by convention).
	Currency      string
	Lines         uint64
	ReportedLines uint64
	// Computed is every line's computed cost; ComputedWhereReported only the lines that
	// carry a reported cost, which Reported is compared with (Difference = the two apart).
	Computed              pipeline.Money
	ComputedWhereReported pipeline.Money
	Reported              pipeline.Money
	Difference            pipeline.Money
}

// ReportedCost runs sql/queries/reported_cost.sql over the workflows f selects that
// started in [from, to).
func (s *Store) ReportedCost(ctx context.Context, from, to time.Time, f Filter) ([]ReportedCost, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	q, err := s.query("reported_cost")
	if err != nil {
		return nil, err
	}
	q, fa := f.bind(q)
	rows, err := s.conn.Query(ctx, q, args([]any{from.UTC(), from.UTC(), to.UTC(), from.UTC(), to.UTC()}, fa)...)
	if err != nil {
		return nil, fmt.Errorf("reported cost query: %w", err)
	}
	defer rows.Close()
	out := []ReportedCost{}
	for rows.Next() {
		var r ReportedCost
		var comp, compRep, rep, diff int64
		if err := rows.Scan(&r.Provider, &r.Model, &r.Currency, &r.Lines, &r.ReportedLines, &comp, &compRep, &rep, &diff); err != nil {
			return nil, fmt.Errorf("reported cost row: %w", err)
		}
		r.Computed, r.ComputedWhereReported, r.Reported, r.Difference = pipeline.Money(comp), pipeline.Money(compRep), pipeline.Money(rep), pipeline.Money(diff)
		out = append(out, r)
	}
	return out, rows.Err()
}

// WorkflowFacts is one workflow's row: what drill-down shows above its lines.
type WorkflowFacts struct {
	WorkflowID string
	Workflow   string
	Tenant     string
	Version    string
	Outcome    string
	// OutcomeSource says which rule decided Outcome.
	OutcomeSource    string
	ValidatedOutputs uint64
	Start            time.Time
	DurationMs       uint64
	Session          string
	User             string
	Service          string
	Environment      string
	Labels           map[string]string
}

// Workflow runs sql/queries/workflow.sql: the workflow's facts if tenant ("" = any) owns
// it; false when there is none.
func (s *Store) Workflow(ctx context.Context, workflowID, tenant string) (WorkflowFacts, bool, error) {
	q, err := s.query("workflow")
	if err != nil {
		return WorkflowFacts{}, false, err
	}
	rows, err := s.conn.Query(ctx, q, workflowID, tenant, tenant)
	if err != nil {
		return WorkflowFacts{}, false, fmt.Errorf("workflow query: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return WorkflowFacts{}, false, rows.Err()
	}
	var w WorkflowFacts
	var keys, values []string
	if err := rows.Scan(&w.WorkflowID, &w.Workflow, &w.Tenant, &w.Version, &w.Outcome, &w.OutcomeSource, &w.ValidatedOutputs, &w.Start,
		&w.DurationMs, &w.Session, &w.User, &w.Service, &w.Environment, &keys, &values); err != nil {
		return WorkflowFacts{}, false, fmt.Errorf("workflow row: %w", err)
	}
	w.Labels = make(map[string]string, len(keys))
	for i, k := range keys {
		if i < len(values) {
			w.Labels[k] = values[i]
		}
	}
	return w, true, rows.Err()
}
