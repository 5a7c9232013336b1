package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
)

// SeriesFilter narrows a series; "" matches everything. Model applies to SeriesCosts only.
type SeriesFilter struct {
	Tenant   string
	Workflow string
	Version  string
	Team     string
	Model    string
	// Service and Environment are the workflow's (service.name, deployment.environment).
	Service     string
	Environment string
}

// SeriesPoint is one bucket's unit economics for one workflow type, from the rollups.
type SeriesPoint struct {
	Bucket time.Time
	UnitEconomics
	InputTokens   uint64
	OutputTokens  uint64
	ContextTokens uint64
	MixTokens     uint64
	LineItems     uint64
}

// CostPoint is one bucket's cost for one workflow type, component, model and workflow version.
type CostPoint struct {
	Bucket          time.Time
	Workflow        string
	Component       string
	Model           string
	WorkflowVersion string
	LineItems       uint64
	UnpricedLines   uint64
	Cost            pipeline.Money
	InputTokens     uint64
	OutputTokens    uint64
}

// bucketExpr maps a bucket name to its SQL; never built from input.
func bucketExpr(bucket string) (string, error) {
	switch bucket {
	case "hour":
		return "bucket", nil
	case "day":
		return "toStartOfDay(bucket)", nil
	}
	return "", fmt.Errorf("bucket %q: want hour or day", bucket)
}

func (s *Store) seriesQuery(name, bucket string) (string, error) {
	expr, err := bucketExpr(bucket)
	if err != nil {
		return "", err
	}
	q, err := s.query(name)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(q, "{bucket}", expr), nil
}

// Series runs sql/queries/series.sql: unit economics per bucket ("hour" or "day") and
// workflow type over [from, to), read from the rollups' newest complete builds.
func (s *Store) Series(ctx context.Context, from, to time.Time, bucket string, f SeriesFilter) ([]SeriesPoint, error) {
	q, err := s.seriesQuery("series", bucket)
	if err != nil {
		return nil, err
	}
	from, to = from.UTC(), to.UTC()
	rows, err := s.conn.Query(ctx, q, from, to, from, to, f.Tenant, f.Tenant, f.Workflow, f.Workflow, f.Version, f.Version, f.Team, f.Team,
		f.Service, f.Service, f.Environment, f.Environment)
	if err != nil {
		return nil, fmt.Errorf("series query: %w", err)
	}
	defer rows.Close()
	var out []SeriesPoint
	for rows.Next() {
		var p SeriesPoint
		var cost, exc, rev int64
		if err := rows.Scan(&p.Bucket, &p.Workflow, &p.Workflows, &p.Completed, &p.ValidatedOutputs, &p.Exceptions,
			&cost, &exc, &rev, &p.InputTokens, &p.OutputTokens, &p.ContextTokens, &p.MixTokens, &p.LineItems, &p.UnpricedLines); err != nil {
			return nil, fmt.Errorf("series row: %w", err)
		}
		p.Bucket = p.Bucket.UTC()
		p.Cost, p.ExceptionCost, p.ReviewCost = pipeline.Money(cost), pipeline.Money(exc), pipeline.Money(rev)
		out = append(out, p)
	}
	return out, rows.Err()
}

// SeriesCosts runs sql/queries/series_costs.sql: cost per bucket, workflow type,
// component, model and workflow version over [from, to), read from the rollups' newest complete builds.
func (s *Store) SeriesCosts(ctx context.Context, from, to time.Time, bucket string, f SeriesFilter) ([]CostPoint, error) {
	q, err := s.seriesQuery("series_costs", bucket)
	if err != nil {
		return nil, err
	}
	from, to = from.UTC(), to.UTC()
	rows, err := s.conn.Query(ctx, q, from, to, from, to, f.Tenant, f.Tenant, f.Workflow, f.Workflow, f.Version, f.Version,
		f.Team, f.Team, f.Service, f.Service, f.Environment, f.Environment, f.Model, f.Model)
	if err != nil {
		return nil, fmt.Errorf("series costs query: %w", err)
	}
	defer rows.Close()
	var out []CostPoint
	for rows.Next() {
		var p CostPoint
		var cost int64
		if err := rows.Scan(&p.Bucket, &p.Workflow, &p.Component, &p.Model, &p.WorkflowVersion, &p.LineItems, &p.UnpricedLines,
			&cost, &p.InputTokens, &p.OutputTokens); err != nil {
			return nil, fmt.Errorf("series costs row: %w", err)
		}
		p.Bucket = p.Bucket.UTC()
		p.Cost = pipeline.Money(cost)
		out = append(out, p)
	}
	return out, rows.Err()
}

// SumByWorkflow adds a series' points up per workflow type, sorted by type: over a
// window, the same figures UnitEconomics reads from the source.
func SumByWorkflow(points []SeriesPoint) []UnitEconomics {
	by := map[string]*UnitEconomics{}
	var names []string
	for _, p := range points {
		g := by[p.Workflow]
		if g == nil {
			g = &UnitEconomics{Workflow: p.Workflow}
			by[p.Workflow] = g
			names = append(names, p.Workflow)
		}
		g.Workflows += p.Workflows
		g.Completed += p.Completed
		g.ValidatedOutputs += p.ValidatedOutputs
		g.Exceptions += p.Exceptions
		g.Cost += p.Cost
		g.ExceptionCost += p.ExceptionCost
		g.ReviewCost += p.ReviewCost
		g.UnpricedLines += p.UnpricedLines
	}
	sort.Strings(names)
	out := make([]UnitEconomics, len(names))
	for i, n := range names {
		out[i] = *by[n]
	}
	return out
}
