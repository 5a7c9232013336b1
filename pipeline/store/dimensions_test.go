package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Service, environment, session, end user and labels are stored on workflows and line
// items, filter every source query and break cost down; the provider-reported cost is
// compared with the computed one per model. Runs on the real server (18.16 in CI).
func TestDimensionsFiltersAndReportedCost(t *testing.T) {
	s := testenv.ClickHouse(t)
	ctx := context.Background()
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var batch pipeline.Batch
	add := func(trace byte, session, user string, labels []pipeline.Label, cost, reported pipeline.Money) {
		root, call := span(trace, 1, 0), span(trace, 2, 1)
		for _, sp := range []*pipeline.Span{root, call} {
			sp.Service, sp.Environment, sp.Session, sp.User, sp.Labels = "support-api", "prod", session, user, labels
		}
		call.Provider, call.Model = "openai", "gpt-4o"
		if reported > 0 {
			call.ProviderCost, call.HasProviderCost, call.ProviderCostCurrency, call.ProviderCostSource = reported, true, "USD", "gen_ai.usage.cost"
		}
		wid := root.TraceID.String()
		batch.LineItems = append(batch.LineItems, pipeline.LineItem{Span: call, WorkflowID: wid, Component: pipeline.ComponentModel, Cost: cost, Priced: true})
		batch.Workflows = append(batch.Workflows, pipeline.Workflow{ID: wid, Tenant: "acme", TraceID: root.TraceID, RootSpanID: root.SpanID,
			Name: "chat", Outcome: "completed", OutcomeSource: "status UNSET", Session: session, User: user, Service: "support-api",
			Environment: "prod", Labels: labels, StartUnixNano: root.StartUnixNano, EndUnixNano: root.EndUnixNano})
	}
	gold := []pipeline.Label{{Key: "tier", Value: "gold"}}
	add(1, "s-1", "alice", gold, 1_000, 900)
	add(2, "s-1", "alice", nil, 2_000, 0)
	add(3, "s-2", "bob", gold, 4_000, 4_100)
	if err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	cost := func(rows []store.BreakdownRow) map[string]pipeline.Money {
		m := map[string]pipeline.Money{}
		for _, r := range rows {
			m[r.Key] = r.Cost
		}
		return m
	}
	for _, c := range []struct {
		dim  string
		f    store.Filter
		want map[string]pipeline.Money
	}{
		{"session", store.Filter{}, map[string]pipeline.Money{"s-1": 3_000, "s-2": 4_000}},
		{"user", store.Filter{Tenant: "acme"}, map[string]pipeline.Money{"alice": 3_000, "bob": 4_000}},
		{"label:tier", store.Filter{}, map[string]pipeline.Money{"gold": 5_000, "": 2_000}},
		{"service", store.Filter{Environment: "prod", Label: "tier=gold"}, map[string]pipeline.Money{"support-api": 5_000}},
		{"outcome_source", store.Filter{User: "bob"}, map[string]pipeline.Money{"status UNSET": 4_000}},
		{"session", store.Filter{Service: "other"}, map[string]pipeline.Money{}},
	} {
		rows, err := s.BreakdownWhere(ctx, c.dim, from, to, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.dim, err)
		}
		got := cost(rows)
		if len(got) != len(c.want) {
			t.Fatalf("%s %+v: %v, want %v", c.dim, c.f, got, c.want)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Fatalf("%s %+v: %v, want %v", c.dim, c.f, got, c.want)
			}
		}
	}
	ue, err := s.UnitEconomicsWhere(ctx, from, to, store.Filter{Session: "s-1"})
	if err != nil || len(ue) != 1 || ue[0].Workflows != 2 || ue[0].Completed != 2 || ue[0].Cost != 3_000 {
		t.Fatalf("unit economics of session s-1: %+v %v", ue, err)
	}
	top, err := s.TopWorkflowsWhere(ctx, from, to, store.Filter{User: "alice"}, 10)
	if err != nil || len(top) != 2 || top[0].Session != "s-1" || top[0].User != "alice" || top[0].OutcomeSource != "status UNSET" || top[0].Cost != 2_000 {
		t.Fatalf("top workflows of alice: %+v %v", top, err)
	}
	rep, err := s.ReportedCost(ctx, from, to, store.Filter{})
	want := store.ReportedCost{Provider: "openai", Model: "gpt-4o", Currency: "USD", Lines: 3, ReportedLines: 2, Computed: 7_000,
		ComputedWhereReported: 5_000, Reported: 5_000, Difference: 0}
	if err != nil || len(rep) != 1 || rep[0] != want {
		t.Fatalf("reported cost %+v %v, want %+v", rep, err, want)
	}
	if _, err := s.BreakdownWhere(ctx, "label:x'; DROP", from, to, store.Filter{}); err == nil {
		t.Fatal("a label key outside [A-Za-z0-9_.-] must be refused")
	}
	if _, err := s.UnitEconomicsWhere(ctx, from, to, store.Filter{Label: "no-equals"}); err == nil {
		t.Fatal("a label filter without = must be refused")
	}
	// the rollups carry service and environment, so series and alert scopes filter by them
	if _, err := s.RefreshRollups(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f         store.SeriesFilter
		workflows uint64
		cost      pipeline.Money
	}{
		{store.SeriesFilter{Service: "support-api", Environment: "prod"}, 3, 7_000},
		{store.SeriesFilter{Environment: "staging"}, 0, 0},
	} {
		pts, err := s.Series(ctx, from, to, "day", c.f)
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		var cost pipeline.Money
		for _, p := range pts {
			n, cost = n+p.Workflows, cost+p.Cost
		}
		costs, err := s.SeriesCosts(ctx, from, to, "day", c.f)
		if err != nil {
			t.Fatal(err)
		}
		var lineCost pipeline.Money
		for _, p := range costs {
			lineCost += p.Cost
		}
		if n != c.workflows || cost != c.cost || lineCost != c.cost {
			t.Fatalf("series %+v: %d workflows, %s (cost rollup %s), want %d, %s", c.f, n, cost, lineCost, c.workflows, c.cost)
		}
	}
	// reprice reads the new columns back, so a rewrite keeps them
	var seen int
	if err := s.ReadLineItems(ctx, from, to, func(li pipeline.LineItem) error {
		if li.Span.Session == "" || li.Span.Service != "support-api" || li.Span.Environment != "prod" {
			t.Errorf("read back %+v", li.Span)
		}
		seen++
		return nil
	}); err != nil || seen != 3 {
		t.Fatalf("read %d lines: %v", seen, err)
	}
}
