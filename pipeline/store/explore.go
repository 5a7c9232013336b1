package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
)

// Dimensions are the names Breakdown accepts, mapped to the column each groups by. A line's
// team and feature are its own, else its workflow's: a late span written where its
// workflow was not remembered (after a restart or a rebalance) carries none of its own.
var Dimensions = map[string]string{
	"component": "component", "model": "model", "provider": "provider", "workflow": "name",
	"workflow_version": "workflow_version", "team": "if(team = '', wf_team, team)",
	"feature": "if(feature = '', wf_feature, feature)", "outcome": "outcome",
	"tenant": "wf_tenant", "price_version": "price_version",
}

// BreakdownRow is the cost of one value of a dimension.
type BreakdownRow struct {
	Key          string         `json:"key"`
	LineItems    uint64         `json:"line_items"`
	Cost         pipeline.Money `json:"cost_nano"`
	InputTokens  uint64         `json:"input_tokens"`
	OutputTokens uint64         `json:"output_tokens"`
	Unpriced     uint64         `json:"unpriced_lines"`
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

// DimensionOrder lists Dimensions for messages and help.
var DimensionOrder = []string{"component", "model", "provider", "workflow", "workflow_version", "team", "feature", "outcome", "tenant", "price_version"}

// TopWorkflow is one of the most expensive workflows.
type TopWorkflow struct {
	WorkflowID string         `json:"workflow_id"`
	Workflow   string         `json:"workflow"`
	Tenant     string         `json:"tenant"`
	Outcome    string         `json:"outcome"`
	Start      time.Time      `json:"start_time"`
	LineItems  uint64         `json:"line_items"`
	Cost       pipeline.Money `json:"cost_nano"`
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
	SpanID         string         `json:"span_id"`
	Component      string         `json:"component"`
	Step           string         `json:"step"`
	Provider       string         `json:"provider"`
	Model          string         `json:"model"`
	InputTokens    uint64         `json:"input_tokens"`
	OutputTokens   uint64         `json:"output_tokens"`
	CacheRead      uint64         `json:"cache_read_tokens"`
	Cost           pipeline.Money `json:"cost_nano"`
	Priced         bool           `json:"priced"`
	UnpricedReason string         `json:"unpriced_reason,omitempty"`
	PriceVersion   string         `json:"price_version"`
	PriceRule      string         `json:"price_rule"`
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
		var priced uint8
		if err := rows.Scan(&l.SpanID, &l.Component, &l.Step, &l.Provider, &l.Model, &l.InputTokens, &l.OutputTokens, &l.CacheRead,
			&cost, &priced, &l.UnpricedReason, &l.PriceVersion, &l.PriceRule); err != nil {
			return nil, fmt.Errorf("workflow line row: %w", err)
		}
		l.Cost, l.Priced = pipeline.Money(cost), priced == 1
		out = append(out, l)
	}
	return out, rows.Err()
}
