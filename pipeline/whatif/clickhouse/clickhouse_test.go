package clickhouse_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/whatif"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

// Three workflows of one type, written twice (a replay), one of another type; the
// queries return one group per distinct call and one cohort per routing, exactly.
func TestLoadOnClickHouse(t *testing.T) {
	st := testenv.ClickHouse(t)
	checkLoad(t, st, st)
}

// The same on the two-server cluster, sharded: written through one node, read through
// the other (the queries' joins and IN subqueries are GLOBAL there).
func TestLoadOnCluster(t *testing.T) {
	nodes := testenv.Cluster(t, "unitcost_shards", "")
	checkLoad(t, nodes[0], nodes[1])
}

func checkLoad(t *testing.T, st, reader *store.Store) {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var b pipeline.Batch
	add := func(n byte, name, model string, review pipeline.Money, tenant string) {
		var tid pipeline.TraceID
		tid[15] = n
		wid := tid.String()
		ts := start.Add(time.Duration(n) * time.Minute).UnixNano()
		b.Workflows = append(b.Workflows, pipeline.Workflow{ID: wid, Tenant: tenant, TraceID: tid, Name: name, Outcome: "completed",
			ValidatedOutputs: 1, StartUnixNano: ts, EndUnixNano: ts + 1e9})
		sp := &pipeline.Span{Tenant: tenant, TraceID: tid, Name: "classify", Operation: pipeline.OpChat, Provider: "openai", Model: model,
			StartUnixNano: ts, EndUnixNano: ts + 5e8, Usage: pipeline.Usage{InputTokens: 1000, OutputTokens: 10, CacheReadTokens: 256,
				Mix: pipeline.TokenMix{System: 100, Context: 600, User: 300}}}
		sp.SpanID[7] = 1
		b.LineItems = append(b.LineItems, pipeline.LineItem{Span: sp, WorkflowID: wid, Component: pipeline.ComponentModel, Cost: 1000, Priced: true})
		tool := &pipeline.Span{Tenant: tenant, TraceID: tid, Name: "create_ticket", Operation: pipeline.OpTool, StartUnixNano: ts, EndUnixNano: ts}
		tool.SpanID[7] = 2
		b.LineItems = append(b.LineItems, pipeline.LineItem{Span: tool, WorkflowID: wid, Component: pipeline.ComponentTool, Cost: 7, Priced: true})
		if review > 0 {
			rv := &pipeline.Span{Tenant: tenant, TraceID: tid, Name: "human review", Operation: pipeline.OpHumanReview, ReviewActiveMs: 60_000,
				StartUnixNano: ts + 3600e9, EndUnixNano: ts + 3660e9}
			rv.SpanID[7] = 3
			b.LineItems = append(b.LineItems, pipeline.LineItem{Span: rv, WorkflowID: wid, Component: pipeline.ComponentReview, Cost: review, Priced: true})
		}
	}
	add(1, "tickets", "gpt-5-nano", 20_000_000_000, "acme")
	add(2, "tickets", "gpt-5-nano", 0, "acme")
	add(3, "tickets", "gpt-5", 0, "globex")
	add(4, "other", "gpt-5", 0, "acme")
	for i := 0; i < 2; i++ { // a replay replaces, never adds
		if err := st.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	src := whatifch.New(reader)
	from, to := start.Add(-time.Hour), start.Add(time.Hour)
	types, err := src.Workflows(ctx, from, to, "")
	if err != nil || !reflect.DeepEqual(types, []string{"other", "tickets"}) {
		t.Fatalf("workflow types %v, %v", types, err)
	}
	d, err := src.Load(ctx, "tickets", "", from, to)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	u := pipeline.Usage{InputTokens: 1000, OutputTokens: 10, CacheReadTokens: 256, Mix: pipeline.TokenMix{System: 100, Context: 600, User: 300}}
	wantGroups := []whatif.LineGroup{
		{Tenant: "acme", Day: day, Step: "classify", Operation: "chat", Provider: "openai", Model: "gpt-5-nano", Usage: u, Lines: 2, Cost: 2000},
		{Tenant: "globex", Day: day, Step: "classify", Operation: "chat", Provider: "openai", Model: "gpt-5", Usage: u, Lines: 1, Cost: 1000},
	}
	if !reflect.DeepEqual(d.Groups, wantGroups) {
		t.Fatalf("groups\n got %+v\nwant %+v", d.Groups, wantGroups)
	}
	wantCohorts := []whatif.Cohort{
		{Routing: []whatif.StepModel{{Step: "classify", Operation: "chat", Model: "gpt-5"}}, Workflows: 1, Completed: 1, ValidatedWorkflows: 1,
			ValidatedOutputs: 1, ValidatedSq: 1, MachineCost: 1007, Calls: 1},
		{Routing: []whatif.StepModel{{Step: "classify", Operation: "chat", Model: "gpt-5-nano"}}, Workflows: 2, Completed: 2, ValidatedWorkflows: 2,
			ValidatedOutputs: 2, ValidatedSq: 2, Reviewed: 1, ReviewCost: 20_000_000_000, ReviewCostSq: 4e20, ReviewActiveMs: 60_000,
			ReviewActiveMsSq: 3.6e9, MachineCost: 2014, Calls: 2},
	}
	if !reflect.DeepEqual(d.Cohorts, wantCohorts) {
		t.Fatalf("cohorts\n got %+v\nwant %+v", d.Cohorts, wantCohorts)
	}
	// a tenant sees its own workflows only
	d, err = src.Load(ctx, "tickets", "globex", from, to)
	if err != nil || len(d.Groups) != 1 || len(d.Cohorts) != 1 || d.Cohorts[0].Workflows != 1 {
		t.Fatalf("tenant globex: %+v, %v", d, err)
	}
	bk, _ := pricing.Builtin()
	reps, err := whatif.Run(ctx, src, whatif.Request{From: from, To: to, Options: whatif.Options{Pricer: whatif.Pricer{Books: pricing.Single(bk)}, MinSamples: 1}})
	if err != nil || len(reps) != 2 || reps[1].Workflow != "tickets" || reps[1].Workflows != 3 {
		t.Fatalf("run: %v %+v", err, reps)
	}
}
