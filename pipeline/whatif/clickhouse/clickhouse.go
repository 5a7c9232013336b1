// Package clickhouse reads what the what-if needs from unitcost's ClickHouse tables with
// the shipped queries sql/queries/whatif_*.sql (ClickHouse 18.16 and current alike).
package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/whatif"
)

// Source runs the what-if queries on a store.
type Source struct {
	st *store.Store
}

var (
	_ whatif.CallSource  = (*Source)(nil)
	_ whatif.BatchSource = (*Source)(nil)
)

// New returns a Source over st.
func New(st *store.Store) *Source { return &Source{st: st} }

func (s *Source) query(name string) (string, error) {
	q, err := store.Query(name, s.st.Database())
	if err != nil || s.st.Config().Cluster == "" {
		return q, err
	}
	return store.Globalize(q), nil
}

// Workflows lists the workflow types that have workflows started in [from, to) for
// tenant ("" = all), in name order: from the rollups where they hold a whole hour inside
// the window (see Load), from the workflows table for the partial edge hours and the rest.
func (s *Source) Workflows(ctx context.Context, from, to time.Time, tenant string) ([]string, error) {
	hf, ht, edges := whatif.InnerHours(from, to)
	seen := map[string]bool{}
	if hf.Before(ht) {
		names, err := s.workflowsFromRollups(ctx, hf, ht, tenant)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			seen[n] = true
		}
	}
	for _, e := range edges {
		names, err := s.workflowsFromSource(ctx, e[0], e[1], tenant)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			seen[n] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// workflowsFromSource lists the workflow types with workflows in [from, to) from the
// workflows table.
func (s *Source) workflowsFromSource(ctx context.Context, from, to time.Time, tenant string) ([]string, error) {
	q, err := s.query("whatif_workflows")
	if err != nil {
		return nil, err
	}
	f, t := from.UTC(), to.UTC()
	rows, err := s.st.Conn().Query(ctx, q, f, t, f, t, tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("what-if workflow types query: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var name string
		var n uint64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("what-if workflow type row: %w", err)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// LoadCalls reads the line groups and cohorts of one workflow type over [from, to) from
// the line items: every distinct call, exact to the latest write.
func (s *Source) LoadCalls(ctx context.Context, workflow, tenant string, from, to time.Time) (whatif.Data, error) {
	d := whatif.Data{Workflow: workflow, Tenant: tenant, From: from, To: to}
	f, t := from.UTC(), to.UTC()
	q, err := s.query("whatif_lines")
	if err != nil {
		return d, err
	}
	rows, err := s.st.Conn().Query(ctx, q, f, f, t, f, t, workflow, tenant, tenant)
	if err != nil {
		return d, fmt.Errorf("what-if lines query: %w", err)
	}
	for rows.Next() {
		var g whatif.LineGroup
		var cost int64
		u := &g.Usage
		if err := rows.Scan(&g.Tenant, &g.Day, &g.Step, &g.Operation, &g.Provider, &g.Model, &g.ServiceTier,
			&u.InputTokens, &u.OutputTokens, &u.CacheReadTokens, &u.CacheWriteTokens, &u.CacheWrite1hTokens,
			&u.ReasoningTokens, &u.AudioInputTokens, &u.ImageInputTokens, &u.AudioOutputTokens,
			&u.Mix.System, &u.Mix.Context, &u.Mix.History, &u.Mix.User, &u.Mix.Other,
			&g.Lines, &cost, &g.Unpriced, &g.Errors); err != nil {
			rows.Close()
			return d, fmt.Errorf("what-if lines row: %w", err)
		}
		g.Day = time.Date(g.Day.Year(), g.Day.Month(), g.Day.Day(), 0, 0, 0, 0, time.UTC)
		g.Cost = pipeline.Money(cost)
		d.Groups = append(d.Groups, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return d, fmt.Errorf("what-if lines: %w", err)
	}
	if q, err = s.query("whatif_cohorts"); err != nil {
		return d, err
	}
	rows, err = s.st.Conn().Query(ctx, q, f, t, f, t, workflow, tenant, tenant, f, f, t, f, t, workflow, tenant, tenant)
	if err != nil {
		return d, fmt.Errorf("what-if cohorts query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCohort(rows)
		if err != nil {
			return d, fmt.Errorf("what-if cohorts row: %w", err)
		}
		d.Cohorts = append(d.Cohorts, c)
	}
	return d, rows.Err()
}

// scanCohort reads a row of whatif_cohorts.sql, or with first of whatif_cohorts_rollups.sql
// (its workflow column).
func scanCohort(rows interface{ Scan(...any) error }, first ...any) (whatif.Cohort, error) {
	var c whatif.Cohort
	var routing string
	var reviewCost, machine int64
	if err := rows.Scan(append(first, &routing, &c.Workflows, &c.Completed, &c.Failed, &c.Escalated, &c.ValidatedWorkflows,
		&c.ValidatedOutputs, &c.ValidatedSq, &c.Reviewed, &reviewCost, &c.ReviewCostSq, &c.ReviewActiveMs,
		&c.ReviewActiveMsSq, &machine, &c.Calls, &c.ErrorCalls)...); err != nil {
		return c, err
	}
	c.ReviewCost, c.MachineCost = pipeline.Money(reviewCost), pipeline.Money(machine)
	c.Routing = ParseRouting(routing)
	return c, nil
}

// ParseRouting reads the cohorts query's routing column: "step<TAB>operation<TAB>model" lines.
func ParseRouting(s string) []whatif.StepModel {
	out := []whatif.StepModel{}
	if s == "" {
		return out
	}
	for _, line := range strings.Split(s, "\n") {
		step, rest, _ := strings.Cut(line, "\t")
		op, model, _ := strings.Cut(rest, "\t")
		out = append(out, whatif.StepModel{Step: step, Operation: op, Model: model})
	}
	return out
}
