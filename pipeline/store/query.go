package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	unitsql "github.com/unitcost/unitcost/sql"
)

// Query returns a shipped query (sql/queries/NAME.sql) with {db} replaced.
func Query(name, db string) (string, error) {
	b, err := unitsql.Queries.ReadFile("queries/" + name + ".sql")
	if err != nil {
		return "", fmt.Errorf("no shipped query %q: %w", name, err)
	}
	return strings.ReplaceAll(string(b), "{db}", db), nil
}

// UnitEconomics is one workflow type's figures over a window.
type UnitEconomics struct {
	Workflow         string
	Workflows        uint64
	Completed        uint64
	ValidatedOutputs uint64
	Exceptions       uint64
	Cost             pipeline.Money
	ExceptionCost    pipeline.Money
	ReviewCost       pipeline.Money
	UnpricedLines    uint64
}

// PerCompleted is cost / completed workflows (0 when none completed), rounded half up.
func (u UnitEconomics) PerCompleted() (pipeline.Money, bool) { return ratio(u.Cost, u.Completed) }

// PerValidated is cost / validated outputs.
func (u UnitEconomics) PerValidated() (pipeline.Money, bool) {
	return ratio(u.Cost, u.ValidatedOutputs)
}

// PerException is the cost of workflows that needed review / their count.
func (u UnitEconomics) PerException() (pipeline.Money, bool) {
	return ratio(u.ExceptionCost, u.Exceptions)
}

func ratio(m pipeline.Money, n uint64) (pipeline.Money, bool) {
	if n == 0 || m < 0 {
		return 0, false
	}
	return pipeline.MulDiv(1, m, n)
}

// UnitEconomics runs sql/queries/unit_economics.sql over [from, to) for tenant ("" = all).
func (s *Store) UnitEconomics(ctx context.Context, from, to time.Time, tenant string) ([]UnitEconomics, error) {
	return s.UnitEconomicsWhere(ctx, from, to, Filter{Tenant: tenant})
}

// UnitEconomicsWhere runs sql/queries/unit_economics.sql over [from, to) for the
// workflows f selects.
func (s *Store) UnitEconomicsWhere(ctx context.Context, from, to time.Time, f Filter) ([]UnitEconomics, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	q, err := s.query("unit_economics")
	if err != nil {
		return nil, err
	}
	q, fa := f.bind(q)
	w := []any{from.UTC(), to.UTC(), from.UTC(), to.UTC()} // the workflows' days, their start times
	rows, err := s.conn.Query(ctx, q, args(w, fa, []any{from.UTC()}, w, fa)...)
	if err != nil {
		return nil, fmt.Errorf("unit economics query: %w", err)
	}
	defer rows.Close()
	var out []UnitEconomics
	for rows.Next() {
		var u UnitEconomics
		var cost, exc, rev int64
		if err := rows.Scan(&u.Workflow, &u.Workflows, &u.Completed, &u.ValidatedOutputs, &u.Exceptions,
			&cost, &exc, &rev, &u.UnpricedLines); err != nil {
			return nil, fmt.Errorf("unit economics row: %w", err)
		}
		u.Cost, u.ExceptionCost, u.ReviewCost = pipeline.Money(cost), pipeline.Money(exc), pipeline.Money(rev)
		out = append(out, u)
	}
	return out, rows.Err()
}

// WorkflowCost is the total cost of one workflow and its line count.
func (s *Store) WorkflowCost(ctx context.Context, tenant, workflowID string) (pipeline.Money, uint64, error) {
	q, err := s.query("workflow_cost")
	if err != nil {
		return 0, 0, err
	}
	rows, err := s.conn.Query(ctx, q, workflowID, workflowID, tenant, tenant)
	if err != nil {
		return 0, 0, fmt.Errorf("workflow cost query: %w", err)
	}
	defer rows.Close()
	var total pipeline.Money
	var lines uint64
	for rows.Next() {
		var comp string
		var n, unpriced uint64
		var cost int64
		if err := rows.Scan(&comp, &n, &cost, &unpriced); err != nil {
			return 0, 0, fmt.Errorf("workflow cost row: %w", err)
		}
		total += pipeline.Money(cost)
		lines += n
	}
	return total, lines, rows.Err()
}

// Counts returns the number of current workflow facts and line items (after dedup).
func (s *Store) Counts(ctx context.Context) (workflows, lineItems uint64, err error) {
	db := s.cfg.Database
	if err = s.conn.QueryRow(ctx, "SELECT count() FROM "+db+".workflows FINAL").Scan(&workflows); err != nil {
		return 0, 0, fmt.Errorf("count workflows: %w", err)
	}
	if err = s.conn.QueryRow(ctx, "SELECT count() FROM "+db+".line_items FINAL").Scan(&lineItems); err != nil {
		return 0, 0, fmt.Errorf("count line items: %w", err)
	}
	return workflows, lineItems, nil
}

// IssueCount is one kind of normalisation issue for one tenant over a window.
type IssueCount struct {
	Tenant, Kind, Example, ExampleTrace string
	Spans                               uint64
}

// SpanIssues runs sql/queries/span_issues.sql over [from, to) for tenant ("" = all).
func (s *Store) SpanIssues(ctx context.Context, from, to time.Time, tenant string) ([]IssueCount, error) {
	q, err := s.query("span_issues")
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, q, from.UTC(), to.UTC(), tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("span issues query: %w", err)
	}
	defer rows.Close()
	var out []IssueCount
	for rows.Next() {
		var c IssueCount
		if err := rows.Scan(&c.Tenant, &c.Kind, &c.Spans, &c.Example, &c.ExampleTrace); err != nil {
			return nil, fmt.Errorf("span issues row: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ContextShare is one workflow type's input token mix over a window.
type ContextShare struct {
	Workflow                                   string
	Calls                                      uint64
	System, Context, History, User, Other, Mix uint64
}

// ContextShare runs sql/queries/context_share.sql over [from, to) for tenant ("" = all).
func (s *Store) ContextShare(ctx context.Context, from, to time.Time, tenant string) ([]ContextShare, error) {
	q, err := s.query("context_share")
	if err != nil {
		return nil, err
	}
	f, t := from.UTC(), to.UTC()
	rows, err := s.conn.Query(ctx, q, f, t, f, t, tenant, tenant, f, f, t, f, t, tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("context share query: %w", err)
	}
	defer rows.Close()
	var out []ContextShare
	for rows.Next() {
		var c ContextShare
		if err := rows.Scan(&c.Workflow, &c.Calls, &c.System, &c.Context, &c.History, &c.User, &c.Other, &c.Mix); err != nil {
			return nil, fmt.Errorf("context share row: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
