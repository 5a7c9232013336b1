package store_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// The top list from the rollups equals the one from the line items for the same whole
// hours, for every tenant and limit up to the kept 100: with more than 100 workflows in an
// hour and tenant, cost ties, a replay, and a late line that lifts an old workflow to the
// top after a refresh.
func TestTopWorkflowsFromRollupsEqualTheSource(t *testing.T) {
	s := testenv.ClickHouse(t)
	ctx := context.Background()
	h0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(5, 6))
	var b pipeline.Batch
	tenants := []string{"acme", "globex"}
	var late *pipeline.Span
	var lateWF string
	for w := range 3 * 2 * 130 { // 3 hours x 2 tenants x 130 workflows
		var tid pipeline.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(w+1))
		start := h0.Add(time.Duration(w%3)*time.Hour + time.Duration(rng.IntN(3600))*time.Second).UnixNano()
		tenant := tenants[w/3%2]
		id := tid.String()
		b.Workflows = append(b.Workflows, pipeline.Workflow{ID: id, Tenant: tenant, TraceID: tid, Name: fmt.Sprintf("type%d", w%4), Outcome: "completed",
			StartUnixNano: start, EndUnixNano: start + 1e9})
		for c := range 1 + w%3 {
			sp := &pipeline.Span{Tenant: tenant, TraceID: tid, StartUnixNano: start + int64(c)*1e6, EndUnixNano: start + int64(c)*1e6 + 1e6}
			sp.SpanID[7] = byte(c + 1)
			cost := pipeline.Money(1000 * rng.IntN(50)) // coarse: many ties
			b.LineItems = append(b.LineItems, pipeline.LineItem{Span: sp, WorkflowID: id, Component: pipeline.ComponentModel, Cost: cost, Priced: true})
			if w == 7 {
				late, lateWF = sp, id
			}
		}
	}
	for range 2 { // a replay: the same rows twice
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RefreshRollups(ctx, 0); err != nil {
		t.Fatal(err)
	}
	compare := func(stage string) {
		t.Helper()
		for _, win := range [][2]time.Time{{h0, h0.Add(time.Hour)}, {h0, h0.Add(3 * time.Hour)}, {h0.Add(time.Hour), h0.Add(24 * time.Hour)}} {
			for _, tenant := range []string{"", "acme", "globex"} {
				for _, limit := range []int{1, 10, 100} {
					want, err := s.TopWorkflows(ctx, win[0], win[1], tenant, limit)
					if err != nil {
						t.Fatal(err)
					}
					got, err := s.TopWorkflowsRollups(ctx, win[0], win[1], tenant, limit)
					if err != nil {
						t.Fatal(err)
					}
					if len(want) != limit {
						t.Fatalf("%s: the source gave %d rows for limit %d: the test needs more workflows", stage, len(want), limit)
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%s %s..%s tenant %q limit %d:\n got %v\nwant %v", stage, win[0].Format("15:04"), win[1].Format("15:04"), tenant, limit, got, want)
					}
				}
			}
		}
	}
	compare("after the first refresh")

	// a late, expensive line for a workflow of the first hour puts it first
	sp := *late
	sp.SpanID[7] = 99
	if err := s.Write(ctx, pipeline.Batch{LineItems: []pipeline.LineItem{{Span: &sp, WorkflowID: lateWF, Component: pipeline.ComponentReview, Cost: 9_000_000, Priced: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RefreshRollups(ctx, 0); err != nil {
		t.Fatal(err)
	}
	top, err := s.TopWorkflowsRollups(ctx, h0, h0.Add(3*time.Hour), "", 1)
	if err != nil || len(top) != 1 || top[0].WorkflowID != lateWF {
		t.Fatalf("after the late line: %v %v, want %s first", top, err, lateWF)
	}
	compare("after the late line")
	if _, err := s.TopWorkflowsRollups(ctx, h0, h0.Add(time.Hour), "", store.TopRollupLimit+1); err == nil {
		t.Fatal("a limit over the kept workflows must be refused")
	}
}
