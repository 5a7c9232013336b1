package rollup_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/rollup"
	"github.com/unitcost/unitcost/pipeline/store"
)

var h10 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func span(trace, id, parent byte, start time.Time) *pipeline.Span {
	sp := &pipeline.Span{Tenant: "acme", StartUnixNano: start.UnixNano(), EndUnixNano: start.UnixNano() + 2e9}
	sp.TraceID[15], sp.SpanID[7], sp.ParentSpanID[7] = trace, id, parent
	return sp
}

func workflow(root *pipeline.Span, name string) pipeline.Workflow {
	return pipeline.Workflow{ID: root.TraceID.String(), Tenant: root.Tenant, TraceID: root.TraceID, RootSpanID: root.SpanID,
		Name: name, Outcome: pipeline.OutcomeCompleted, StartUnixNano: root.StartUnixNano, EndUnixNano: root.EndUnixNano}
}

// A batch touches its workflows' start hours; line items of workflows not in it are
// corrections, whose hours are looked up.
func TestTouched(t *testing.T) {
	t.Parallel()
	a, b := span(1, 1, 0, h10.Add(59*time.Minute)), span(2, 1, 0, h10.Add(61*time.Minute))
	late := span(3, 9, 1, h10.Add(5*time.Hour))
	batch := pipeline.Batch{Workflows: []pipeline.Workflow{workflow(a, "x"), workflow(b, "y")},
		LineItems: []pipeline.LineItem{{Span: a, WorkflowID: a.TraceID.String()}, {Span: late, WorkflowID: late.TraceID.String()},
			{Span: late, WorkflowID: late.TraceID.String()}}}
	hours, corr := rollup.Touched(batch)
	if len(hours) != 2 || !hours[0].Equal(h10) || !hours[1].Equal(h10.Add(time.Hour)) {
		t.Errorf("hours %v", hours)
	}
	if len(corr) != 1 || corr[0] != late.TraceID.String() {
		t.Errorf("corrections %v", corr)
	}
}

func waitCost(t *testing.T, st *store.Store, want pipeline.Money, workflows uint64) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	var got []store.SeriesPoint
	for time.Now().Before(deadline) {
		var err error
		if got, err = st.Series(ctx, h10.Add(-24*time.Hour), h10.Add(24*time.Hour), "hour", store.SeriesFilter{}); err != nil {
			t.Fatal(err)
		}
		var cost pipeline.Money
		var n uint64
		for _, p := range got {
			cost += p.Cost
			n += p.Workflows
		}
		if cost == want && n == workflows {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("rollups %+v; want cost %s over %d workflows", got, want, workflows)
}

// Right after a write, the hours it touched are rebuilt without waiting for the
// periodic refresh (an hour away here): a new workflow, then a late review of it in a
// batch of its own, then a replay of everything - exact each time.
func TestRebuildAfterWrite(t *testing.T) {
	st := testenv.ClickHouse(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := rollup.New(rollup.Config{Interval: time.Hour, Margin: time.Minute, WriteInterval: 10 * time.Millisecond}, st, nil, slog.New(slog.DiscardHandler))
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	write := func(b pipeline.Batch) {
		t.Helper()
		if err := st.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		r.Written(b)
	}
	root, call := span(1, 1, 0, h10.Add(30*time.Minute)), span(1, 2, 1, h10.Add(30*time.Minute))
	wid := root.TraceID.String()
	first := pipeline.Batch{Workflows: []pipeline.Workflow{workflow(root, "qa")},
		LineItems: []pipeline.LineItem{{Span: call, WorkflowID: wid, Component: pipeline.ComponentModel, Cost: 1_000, Priced: true}}}
	write(first)
	waitCost(t, st, 1_000, 1)
	if hs, err := st.WorkflowHours(ctx, []string{`no'such\\id`, wid}); err != nil || len(hs) != 1 || !hs[0].Equal(h10) {
		t.Fatalf("workflow hours %v (%v)", hs, err)
	}

	review := span(1, 3, 1, h10.Add(3*time.Hour)) // a later hour: counts in its workflow's
	late := pipeline.Batch{LineItems: []pipeline.LineItem{{Span: review, WorkflowID: wid, Component: pipeline.ComponentReview, Cost: 50_000, Priced: true}}}
	write(late)
	waitCost(t, st, 51_000, 1)

	write(pipeline.Batch{Workflows: first.Workflows, LineItems: append(first.LineItems, late.LineItems...)})
	write(late)
	waitCost(t, st, 51_000, 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
