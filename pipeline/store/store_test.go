package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

func TestSplitStatements(t *testing.T) {
	t.Parallel()
	got := store.SplitStatements("-- c\nCREATE TABLE a (x UInt8);\n\n-- only a comment;\nSELECT 1;\n")
	if len(got) != 2 || got[0] != "-- c\nCREATE TABLE a (x UInt8)" || got[1] != "-- only a comment;\nSELECT 1" {
		t.Fatalf("got %q", got)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := testenv.ClickHouse(t)
	ctx := context.Background()
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", applied)
	}
	// On 18.16 the statements for current servers (0006) are skipped, not recorded.
	var optional uint64
	var modelType string
	if err := s.Conn().QueryRow(ctx, "SELECT count() FROM "+s.Database()+".schema_optional").Scan(&optional); err != nil {
		t.Fatal(err)
	}
	if err := s.Conn().QueryRow(ctx, "SELECT type FROM system.columns WHERE database = ? AND table = 'line_items' AND name = 'model'", s.Database()).Scan(&modelType); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.ServerVersion(ctx); strings.HasPrefix(v, "18.") && (optional != 0 || modelType != "String") {
		t.Fatalf("on %s: %d optional statements applied, model is %s", v, optional, modelType)
	}
	b, err := s.Conn().PrepareBatch(ctx, "INSERT INTO "+s.Database()+".schema_migrations (version, name, applied_at)")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(uint32(9999), "future", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err == nil {
		t.Fatal("migrate against a newer schema must refuse")
	}
}

func span(trace byte, id byte, parent byte) *pipeline.Span {
	sp := &pipeline.Span{Tenant: "acme", StartUnixNano: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC).UnixNano()}
	sp.TraceID[15] = trace
	sp.SpanID[7] = id
	sp.ParentSpanID[7] = parent
	sp.EndUnixNano = sp.StartUnixNano + 2e9
	return sp
}

// Writing the same rows twice (a replay) and then a late review must give exact figures.
func TestWriteReplayAndLateReviewNeverDoubleCount(t *testing.T) {
	s := testenv.ClickHouse(t)
	ctx := context.Background()
	root := span(1, 1, 0)
	call := span(1, 2, 1)
	wid := root.TraceID.String()
	items := []pipeline.LineItem{
		{Span: call, WorkflowID: wid, Component: pipeline.ComponentModel, Cost: 1234567, Priced: true},
	}
	wf := []pipeline.Workflow{{ID: wid, Tenant: "acme", TraceID: root.TraceID, RootSpanID: root.SpanID, Name: "qa",
		Outcome: "completed", ValidatedOutputs: 2, StartUnixNano: root.StartUnixNano, EndUnixNano: root.EndUnixNano}}
	for i := 0; i < 2; i++ {
		if err := s.Write(ctx, pipeline.Batch{LineItems: items, Workflows: wf}); err != nil {
			t.Fatal(err)
		}
	}
	mixed := span(1, 4, 1)
	mixed.Usage = pipeline.Usage{InputTokens: 1000, Mix: pipeline.TokenMix{System: 100, Context: 600, History: 200, User: 50, Other: 50}}
	if err := s.Write(ctx, pipeline.Batch{LineItems: []pipeline.LineItem{{Span: mixed, WorkflowID: wid, Component: pipeline.ComponentModel, Priced: true}}}); err != nil {
		t.Fatal(err)
	}
	review := span(1, 3, 1)
	review.Operation = pipeline.OpHumanReview
	if err := s.Write(ctx, pipeline.Batch{LineItems: []pipeline.LineItem{{Span: review, WorkflowID: wid, Component: pipeline.ComponentReview, Cost: 20_000_000_000, Priced: true}}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.UnitEconomics(ctx, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), "")
	if err != nil {
		t.Fatal(err)
	}
	want := store.UnitEconomics{Workflow: "qa", Workflows: 1, Completed: 1, ValidatedOutputs: 2, Exceptions: 1,
		Cost: 20_001_234_567, ExceptionCost: 20_001_234_567, ReviewCost: 20_000_000_000}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if per, _ := got[0].PerValidated(); per != 10_000_617_284 { // 20001234567/2 = 10000617283.5 -> rounds half up
		t.Fatalf("per validated = %d", per)
	}
	share, err := s.ContextShare(ctx, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), "acme")
	if err != nil || len(share) != 1 || share[0] != (store.ContextShare{Workflow: "qa", Calls: 1, System: 100, Context: 600, History: 200, User: 50, Other: 50, Mix: 1000}) {
		t.Fatalf("context share %+v, %v", share, err)
	}
	cost, lines, err := s.WorkflowCost(ctx, "acme", wid)
	if err != nil || cost != 20_001_234_567 || lines != 3 {
		t.Fatalf("workflow cost = %d over %d lines, err %v", cost, lines, err)
	}
}

// Issues of every span - billable or not - are stored and grouped by kind; a replay
// replaces them.
func TestSpanIssuesAreQueryable(t *testing.T) {
	s := testenv.ClickHouse(t)
	ctx := context.Background()
	root := span(2, 1, 0)
	root.Issues = []string{"team: 10000 bytes truncated to 256"}
	call := span(2, 2, 1)
	call.Issues = []string{"input tokens -5 negative; clamped to 0", "model: invalid UTF-8 replaced"}
	other := span(3, 1, 0)
	other.Tenant = "globex"
	other.Issues = []string{"input tokens -7 negative; clamped to 0"}
	var b pipeline.Batch
	for _, sp := range []*pipeline.Span{root, call, other} {
		for _, is := range sp.Issues {
			b.Issues = append(b.Issues, pipeline.SpanIssue{Span: sp, WorkflowID: sp.TraceID.String(), Issue: is})
		}
	}
	for i := 0; i < 2; i++ {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	got, err := s.SpanIssues(ctx, day, day.Add(24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].Spans != 1 {
		t.Fatalf("got %+v", got)
	}
	kinds := map[string]uint64{}
	for _, c := range got {
		kinds[c.Tenant+" "+c.Kind] += c.Spans
	}
	if kinds["acme input tokens N negative; clamped to N"] != 1 || kinds["globex input tokens N negative; clamped to N"] != 1 ||
		kinds["acme team: N bytes truncated to N"] != 1 || kinds["acme model: invalid UTF-8 replaced"] != 1 {
		t.Fatalf("kinds %v", kinds)
	}
	acme, _ := s.SpanIssues(ctx, day, day.Add(24*time.Hour), "acme")
	if len(acme) != 3 {
		t.Fatalf("tenant filter: %+v", acme)
	}
}

// Breakdowns, the top-N list and drill-down, and their tenant isolation.
func TestExploreQueries(t *testing.T) {
	s := testenv.ClickHouse(t)
	ctx := context.Background()
	qaRoot, qaCall, qaReview := span(5, 1, 0), span(5, 2, 1), span(5, 3, 1)
	trRoot, trCall := span(6, 1, 0), span(6, 2, 1)
	trRoot.Tenant, trCall.Tenant = "globex", "globex"
	qaCall.Model, trCall.Model = "gpt-x", "gpt-y"
	wf := func(root *pipeline.Span, name, outcome string) pipeline.Workflow {
		return pipeline.Workflow{ID: root.TraceID.String(), Tenant: root.Tenant, TraceID: root.TraceID, RootSpanID: root.SpanID,
			Name: name, Outcome: outcome, StartUnixNano: root.StartUnixNano, EndUnixNano: root.EndUnixNano}
	}
	qa, tr := root(qaRoot), root(trRoot)
	b := pipeline.Batch{
		Workflows: []pipeline.Workflow{wf(qaRoot, "qa", "completed"), wf(trRoot, "triage", "failed")},
		LineItems: []pipeline.LineItem{
			{Span: qaCall, WorkflowID: qa, Component: pipeline.ComponentModel, Cost: 1000, Priced: true},
			{Span: qaReview, WorkflowID: qa, Component: pipeline.ComponentReview, Cost: 5000, Priced: true},
			{Span: trCall, WorkflowID: tr, Component: pipeline.ComponentModel, Cost: 300, Priced: true},
		},
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	keys := func(rows []store.BreakdownRow) string {
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%s=%d/%d", r.Key, r.Cost, r.LineItems))
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct{ dim, tenant, want string }{
		{"component", "", "human_review=5000/1 model_tokens=1300/2"},
		{"model", "", "=5000/1 gpt-x=1000/1 gpt-y=300/1"},
		{"tenant", "", "acme=6000/2 globex=300/1"},
		{"outcome", "", "completed=6000/2 failed=300/1"},
		{"workflow", "globex", "triage=300/1"},
	} {
		rows, err := s.Breakdown(ctx, c.dim, from, to, c.tenant)
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(rows); got != c.want {
			t.Errorf("by %s (tenant %q): %s, want %s", c.dim, c.tenant, got, c.want)
		}
	}
	if _, err := s.Breakdown(ctx, "colour; DROP TABLE x", from, to, ""); err == nil || !strings.Contains(err.Error(), "unknown dimension") {
		t.Errorf("dimension not checked: %v", err)
	}
	top, err := s.TopWorkflows(ctx, from, to, "", 1)
	if err != nil || len(top) != 1 || top[0].WorkflowID != qa || top[0].Cost != 6000 || top[0].LineItems != 2 || top[0].Tenant != "acme" {
		t.Fatalf("top: %+v, %v", top, err)
	}
	if top, _ := s.TopWorkflows(ctx, from, to, "globex", 10); len(top) != 1 || top[0].WorkflowID != tr {
		t.Fatalf("globex top: %+v", top)
	}
	lines, err := s.WorkflowLines(ctx, qa, "acme")
	if err != nil || len(lines) != 2 || lines[1].Component != "human_review" || lines[1].Cost != 5000 || lines[0].Cost != 1000 ||
		!lines[0].StartTime.Equal(time.Unix(0, qaCall.StartUnixNano).Truncate(time.Second)) || lines[0].UsageEstimated {
		t.Fatalf("drill-down (in start order): %+v, %v", lines, err)
	}
	if _, err := s.RefreshRollups(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dim  string
		f    store.SeriesFilter
		want string
	}{
		{"component", store.SeriesFilter{}, "human_review=5000/1 model_tokens=1300/2"},
		{"tenant", store.SeriesFilter{}, "acme=6000/2 globex=300/1"},
		{"model", store.SeriesFilter{Tenant: "acme"}, "=5000/1 gpt-x=1000/1"},
		{"workflow", store.SeriesFilter{Model: "gpt-y"}, "triage=300/1"},
	} {
		rows, err := s.BreakdownRollups(ctx, c.dim, from, to, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(rows); got != c.want {
			t.Errorf("rollups by %s (%+v): %s, want %s", c.dim, c.f, got, c.want)
		}
	}
	if other, _ := s.WorkflowLines(ctx, qa, "globex"); len(other) != 0 {
		t.Fatalf("globex sees acme's lines: %+v", other)
	}
}

func root(sp *pipeline.Span) string { return sp.TraceID.String() }

// The cluster variant: a table becomes a Replicated local table and a Distributed table
// sharded by its dedup key; an ALTER alters the local table and re-creates the other.
func TestClusterStatements(t *testing.T) {
	t.Parallel()
	got, err := store.ClusterStatements("-- a comment\nCREATE TABLE IF NOT EXISTS db.line_items\n(\n    x UInt8\n)\nENGINE = ReplacingMergeTree(version)\nORDER BY x",
		"c", "/ch/{shard}/{db}/{table}")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CREATE TABLE IF NOT EXISTS db.line_items_local ON CLUSTER c\n(\n    x UInt8\n)\nENGINE = ReplicatedReplacingMergeTree('/ch/{shard}/db/line_items', '{replica}', version)\nORDER BY x",
		"CREATE TABLE IF NOT EXISTS db.line_items ON CLUSTER c AS db.line_items_local ENGINE = Distributed(c, db, line_items_local, cityHash64(trace_id))",
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %q", got)
	}
	got, err = store.ClusterStatements("ALTER TABLE db.rollup_builds ADD COLUMN y String", "c", "/ch/{db}/{table}")
	if err != nil || len(got) != 3 || got[0] != "ALTER TABLE db.rollup_builds_local ON CLUSTER c ADD COLUMN y String" ||
		got[1] != "DROP TABLE IF EXISTS db.rollup_builds ON CLUSTER c" || !strings.HasSuffix(got[2], "Distributed(c, db, rollup_builds_local, rand())") {
		t.Fatalf("alter: %q %v", got, err)
	}
	if _, err := store.ClusterStatements("INSERT INTO db.x VALUES (1)", "c", "/{table}"); err == nil {
		t.Fatal("a statement with no cluster variant was accepted")
	}
	if q := store.Globalize("FROM a ALL INNER JOIN (SELECT 1) USING x WHERE id IN\n  (\n SELECT id FROM b) ANY LEFT JOIN c"); q !=
		"FROM a GLOBAL ALL INNER JOIN (SELECT 1) USING x WHERE id GLOBAL IN\n  (\n SELECT id FROM b) GLOBAL ANY LEFT JOIN c" {
		t.Fatalf("globalize: %q", q)
	}
}
