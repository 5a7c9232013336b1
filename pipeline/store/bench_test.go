package store_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// BenchmarkReportQueries writes UNITCOST_BENCH_LINE_ITEMS synthetic line items (default
// 200,000; BENCHMARKS.md records 10,000,000) over 30 days, in time order, into a fresh database on the
// local ClickHouse, reporting the insert rate, then the rollup rebuild, then p50/p99 of
// every report query over 20 runs each:
//
//	UNITCOST_BENCH_LINE_ITEMS=10000000 go test -run '^$' -bench ReportQueries -benchtime 1x -timeout 60m ./pipeline/store
func BenchmarkReportQueries(b *testing.B) {
	n := 200_000
	if s := os.Getenv("UNITCOST_BENCH_LINE_ITEMS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	st := testenv.ClickHouse(b)
	ctx := context.Background()
	end := time.Now().UTC().Truncate(time.Hour)
	start := end.Add(-30 * 24 * time.Hour)
	const linesPerWorkflow = 5
	workflows := n / linesPerWorkflow
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"support_agent", "rag_qa", "invoice_extraction", "ticket_classification"}
	models := []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro", "mistral-large", "deepseek-chat"}
	tenants := []string{"acme", "globex", "initech"}
	var b0 pipeline.Batch
	written := 0
	began := time.Now()
	var sampleID, sampleTenant string
	for w := 0; w < workflows; w++ {
		var tid pipeline.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(w+1))
		// in time order, as a live system writes them (parts then cover narrow day ranges)
		ts := start.Add(time.Duration(w)*(30*24*time.Hour/time.Duration(workflows)) + time.Duration(rng.Int64N(int64(time.Minute)))).UnixNano()
		tenant := tenants[w%len(tenants)]
		wid := tid.String()
		if w == workflows/2 {
			sampleID, sampleTenant = wid, tenant
		}
		outcome := "completed"
		if rng.IntN(10) == 0 {
			outcome = "failed"
		}
		b0.Workflows = append(b0.Workflows, pipeline.Workflow{ID: wid, Tenant: tenant, TraceID: tid, Name: types[w%len(types)], Version: "v" + strconv.Itoa(w%3),
			Outcome: outcome, ValidatedOutputs: 1, StartUnixNano: ts, EndUnixNano: ts + 30e9})
		for c := 0; c < linesPerWorkflow; c++ {
			sp := &pipeline.Span{Tenant: tenant, TraceID: tid, StartUnixNano: ts + int64(c)*1e9, EndUnixNano: ts + int64(c)*1e9 + 8e8, Operation: pipeline.OpChat,
				Model: models[rng.IntN(len(models))], Provider: "openai", Usage: pipeline.Usage{InputTokens: uint64(500 + rng.IntN(8000)), OutputTokens: uint64(50 + rng.IntN(800)),
					Mix: pipeline.TokenMix{System: 200, Context: uint64(rng.IntN(4000)), User: 100}}}
			sp.SpanID[7] = byte(c + 2)
			comp := pipeline.ComponentModel
			if c == linesPerWorkflow-1 && rng.IntN(8) == 0 {
				comp, sp.Operation, sp.Model = pipeline.ComponentReview, pipeline.OpHumanReview, ""
			}
			b0.LineItems = append(b0.LineItems, pipeline.LineItem{Span: sp, WorkflowID: wid, Component: comp, Cost: pipeline.Money(rng.Int64N(50_000_000)), Priced: true})
		}
		if len(b0.LineItems) >= 100_000 || w == workflows-1 {
			if err := st.Write(ctx, b0); err != nil {
				b.Fatal(err)
			}
			written += len(b0.LineItems)
			b0 = pipeline.Batch{}
			if testing.Verbose() {
				fmt.Fprintf(os.Stderr, "\rinserted %d/%d line items", written, workflows*linesPerWorkflow)
			}
		}
	}
	insert := time.Since(began)
	fmt.Fprintf(os.Stderr, "\ninserted %d line items and %d workflows in %s: %.0f line items/s\n", written, workflows, insert.Round(time.Millisecond), float64(written)/insert.Seconds())
	b.ReportMetric(float64(written)/insert.Seconds(), "line_items/s")

	began = time.Now()
	rs, err := st.RefreshRollups(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "rollups: rebuilt %d hours in %s\n", len(rs.Hours), time.Since(began).Round(time.Millisecond))
	// One more hour written, as in steady operation: the refresh rebuilds only that hour.
	if err := st.Write(ctx, pipeline.Batch{Workflows: []pipeline.Workflow{{ID: "late", Tenant: "acme", Name: "support_agent", Outcome: "completed",
		StartUnixNano: end.Add(-time.Hour).UnixNano(), EndUnixNano: end.Add(-time.Hour).UnixNano()}}}); err != nil {
		b.Fatal(err)
	}
	began = time.Now()
	if rs, err = st.RefreshRollups(ctx, 0); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "rollups: incremental refresh rebuilt %d hours in %s\n", len(rs.Hours), time.Since(began).Round(time.Millisecond))

	day, month := end.Add(-24*time.Hour), start
	queries := []struct {
		name string
		run  func() error
	}{
		{"unit_economics 24h", func() error { _, err := st.UnitEconomics(ctx, day, end, ""); return err }},
		{"unit_economics 30d", func() error { _, err := st.UnitEconomics(ctx, month, end, ""); return err }},
		{"unit_economics 30d, one tenant", func() error { _, err := st.UnitEconomics(ctx, month, end, "acme"); return err }},
		{"breakdown by model 24h", func() error { _, err := st.Breakdown(ctx, "model", day, end, ""); return err }},
		{"breakdown by component 30d", func() error { _, err := st.Breakdown(ctx, "component", month, end, ""); return err }},
		{"top_workflows 24h, 10", func() error { _, err := st.TopWorkflows(ctx, day, end, "", 10); return err }},
		{"top_workflows_rollups 30d, 10", func() error { _, err := st.TopWorkflowsRollups(ctx, month, end, "", 10); return err }},
		{"workflow_lines (drill-down)", func() error { _, err := st.WorkflowLines(ctx, sampleID, sampleTenant); return err }},
		{"context_share 24h", func() error { _, err := st.ContextShare(ctx, day, end, ""); return err }},
		{"series hourly 30d (rollup)", func() error { _, err := st.Series(ctx, month, end, "hour", store.SeriesFilter{}); return err }},
		{"series daily 30d, one workflow (rollup)", func() error {
			_, err := st.Series(ctx, month, end, "day", store.SeriesFilter{Workflow: "rag_qa"})
			return err
		}},
		{"series_costs hourly 24h (rollup)", func() error { _, err := st.SeriesCosts(ctx, day, end, "hour", store.SeriesFilter{}); return err }},
		{"breakdown_rollups by model 30d", func() error {
			_, err := st.BreakdownRollups(ctx, "model", month, end, store.SeriesFilter{})
			return err
		}},
		// the dashboard's overview page: the reads its script makes at once (pipeline/web)
		{"dashboard overview 24h (7 reads at once)", func() error { return overview(ctx, st, day, end, "hour") }},
		{"dashboard overview 30d (7 reads at once)", func() error { return overview(ctx, st, month, end, "day") }},
		{"dashboard drill-down (lines + facts)", func() error {
			if _, err := st.WorkflowLines(ctx, sampleID, sampleTenant); err != nil {
				return err
			}
			_, _, err := st.Workflow(ctx, sampleID, sampleTenant)
			return err
		}},
	}
	b.ResetTimer()
	for range b.N {
		for _, q := range queries {
			var lat []time.Duration
			for range 20 {
				t0 := time.Now()
				if err := q.run(); err != nil {
					b.Fatalf("%s: %v", q.name, err)
				}
				lat = append(lat, time.Since(t0))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			fmt.Fprintf(os.Stderr, "%-42s p50 %8s  p99 %8s\n", q.name, lat[len(lat)/2].Round(100*time.Microsecond), lat[len(lat)*99/100].Round(100*time.Microsecond))
		}
	}
}

// overview makes the reads of the dashboard's overview page concurrently, as the browser
// does, at the store: the summary (this and the previous window), cost composition, the unit
// cost trend, unit economics, a breakdown and the top workflows, all from the rollups
// (BenchmarkDashboardPages in pipeline/web loads every page through the HTTP API).
func overview(ctx context.Context, st *store.Store, from, to time.Time, bucket string) error {
	prev := from.Add(-to.Sub(from))
	f := store.SeriesFilter{}
	reads := []func() error{
		func() error { _, err := st.Series(ctx, from, to, "hour", f); return err },
		func() error { _, err := st.Series(ctx, prev, from, "hour", f); return err },
		func() error { _, err := st.SeriesCosts(ctx, from, to, bucket, f); return err },
		func() error { _, err := st.Series(ctx, from, to, bucket, f); return err },
		func() error { _, err := st.Series(ctx, from, to, "hour", f); return err },
		func() error { _, err := st.BreakdownRollups(ctx, "model", from, to, f); return err },
		func() error { _, err := st.TopWorkflowsRollups(ctx, from, to, "", 10); return err },
	}
	errs := make(chan error, len(reads))
	for _, r := range reads {
		go func() { errs <- r() }()
	}
	var first error
	for range reads {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
