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

// The rollups equal the source after replays, late reviews and a moved start, never
// count a half-written build, and are read per hour and per day.
func TestRollupsRebuildFromTheSource(t *testing.T) {
	s := testenv.ClickHouse(t)
	ctx := context.Background()
	qaRoot, qaCall := span(7, 1, 0), span(7, 2, 1)
	qaCall.Model, qaCall.Usage = "gpt-x", pipeline.Usage{InputTokens: 1000, OutputTokens: 200}
	trRoot, trCall := span(8, 1, 0), span(8, 2, 1)
	trRoot.Tenant, trCall.Tenant, trCall.Model = "globex", "globex", "gpt-y"
	trRoot.StartUnixNano += int64(90 * time.Minute) // 11:30
	trCall.StartUnixNano = trRoot.StartUnixNano
	wf := func(root *pipeline.Span, name, version, outcome string, validated uint64) pipeline.Workflow {
		return pipeline.Workflow{ID: root.TraceID.String(), Tenant: root.Tenant, TraceID: root.TraceID, RootSpanID: root.SpanID,
			Name: name, Version: version, Outcome: outcome, ValidatedOutputs: validated, StartUnixNano: root.StartUnixNano, EndUnixNano: root.StartUnixNano + 2e9}
	}
	qa, tr := root(qaRoot), root(trRoot)
	first := pipeline.Batch{
		Workflows: []pipeline.Workflow{wf(qaRoot, "qa", "v1", "completed", 2), wf(trRoot, "triage", "v3", "failed", 0)},
		LineItems: []pipeline.LineItem{
			{Span: qaCall, WorkflowID: qa, Component: pipeline.ComponentModel, Cost: 1_234_567, Priced: true},
			{Span: trCall, WorkflowID: tr, Component: pipeline.ComponentModel, Cost: 300, Priced: true},
		},
	}
	if err := s.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	st, err := s.RefreshRollups(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	h10 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	if len(st.Hours) != 2 || !st.Hours[0].Equal(h10) || !st.Hours[1].Equal(h10.Add(time.Hour)) || st.Since != 0 {
		t.Fatalf("first refresh: %+v", st)
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	hourly, err := s.Series(ctx, day, day.Add(24*time.Hour), "hour", store.SeriesFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hourly) != 2 || !hourly[0].Bucket.Equal(h10) || hourly[0].Workflow != "qa" || hourly[0].Cost != 1_234_567 ||
		hourly[0].Completed != 1 || hourly[0].ValidatedOutputs != 2 || hourly[0].InputTokens != 1000 || hourly[0].OutputTokens != 200 ||
		!hourly[1].Bucket.Equal(h10.Add(time.Hour)) || hourly[1].Workflow != "triage" || hourly[1].Cost != 300 || hourly[1].Completed != 0 {
		t.Fatalf("hourly series: %+v", hourly)
	}
	if again, err := s.RefreshRollups(ctx, 0); err != nil || len(again.Hours) != 0 || again.Since != st.Build {
		t.Fatalf("a refresh with nothing written rebuilt %+v (%v)", again, err)
	}

	// A replay of everything, a late review of qa two hours on, and a correction that
	// moves triage's start into the 10:00 hour.
	review := span(7, 3, 1)
	review.StartUnixNano += int64(2 * time.Hour)
	trRoot.StartUnixNano = h10.Add(45 * time.Minute).UnixNano()
	second := pipeline.Batch{
		Workflows: []pipeline.Workflow{wf(qaRoot, "qa", "v1", "completed", 2), wf(trRoot, "triage", "v3", "failed", 0)},
		LineItems: append(first.LineItems, pipeline.LineItem{Span: review, WorkflowID: qa, Component: pipeline.ComponentReview, Cost: 20_000_000_000, Priced: true}),
	}
	if err := s.Write(ctx, second); err != nil {
		t.Fatal(err)
	}
	// A rebuild that failed after its inserts (never recorded) must not be read.
	q, err := store.Query("rollup_workflows", s.Database())
	if err != nil {
		t.Fatal(err)
	}
	q = strings.ReplaceAll(q, "{hours}", fmt.Sprintf("toDateTime(%d)", h10.Unix()))
	if err := s.Conn().Exec(ctx, q, uint64(1)<<62, h10, h10.Add(time.Hour), h10, h10, h10.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	st2, err := s.RefreshRollups(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(st2.Hours) != 2 { // 10:00 (qa, and triage's new start) and 11:00 (triage's old start)
		t.Fatalf("second refresh rebuilt %v", st2.Hours)
	}
	daily, err := s.Series(ctx, day, day.Add(24*time.Hour), "day", store.SeriesFilter{})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := s.UnitEconomics(ctx, day, day.Add(24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(daily) != 2 || len(direct) != 2 {
		t.Fatalf("daily %+v\ndirect %+v", daily, direct)
	}
	for i := range daily {
		if !daily[i].Bucket.Equal(day) || daily[i].UnitEconomics != direct[i] {
			t.Errorf("rollup %+v\nsource %+v", daily[i], direct[i])
		}
	}
	if daily[0].Cost != 20_001_234_567 || daily[0].Exceptions != 1 || daily[0].ExceptionCost != 20_001_234_567 || daily[0].LineItems != 2 {
		t.Errorf("qa after replay and late review: %+v", daily[0])
	}
	if hourly, _ := s.Series(ctx, day, day.Add(24*time.Hour), "hour", store.SeriesFilter{Tenant: "globex"}); len(hourly) != 1 ||
		!hourly[0].Bucket.Equal(h10) || hourly[0].Workflow != "triage" || hourly[0].Workflows != 1 {
		t.Errorf("triage after its start moved: %+v", hourly)
	}
	costs, err := s.SeriesCosts(ctx, day, day.Add(24*time.Hour), "day", store.SeriesFilter{Workflow: "qa"})
	if err != nil {
		t.Fatal(err)
	}
	if len(costs) != 2 || costs[0].Component != "human_review" || costs[0].Cost != 20_000_000_000 ||
		costs[1].Component != "model_tokens" || costs[1].Model != "gpt-x" || costs[1].WorkflowVersion != "v1" || costs[1].Cost != 1_234_567 || costs[1].InputTokens != 1000 {
		t.Errorf("qa costs: %+v", costs)
	}
	if m, _ := s.SeriesCosts(ctx, day, day.Add(24*time.Hour), "hour", store.SeriesFilter{Model: "gpt-y"}); len(m) != 1 || m[0].Cost != 300 || !m[0].Bucket.Equal(h10) {
		t.Errorf("gpt-y costs: %+v", m)
	}
	if _, err := s.Series(ctx, day, day, "week", store.SeriesFilter{}); err == nil {
		t.Error("bucket not checked")
	}

	// Both hours were built twice: the first builds' rows go, the newest stay (and so do
	// the rows of the never-recorded build, newer than any recorded one).
	if n, err := s.DropSupersededBuilds(ctx); err != nil || n != 2 {
		t.Fatalf("superseded hours: %d, %v", n, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var old uint64
		if err := s.Conn().QueryRow(ctx, "SELECT count() FROM "+s.Database()+".rollup_workflows_hourly WHERE build = ?", st.Build).Scan(&old); err != nil {
			t.Fatal(err)
		}
		if old == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows of the superseded build remain", old)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if again, _ := s.Series(ctx, day, day.Add(24*time.Hour), "day", store.SeriesFilter{}); len(again) != 2 || again[0].UnitEconomics != daily[0].UnitEconomics {
		t.Fatalf("after the cleanup: %+v", again)
	}
}
