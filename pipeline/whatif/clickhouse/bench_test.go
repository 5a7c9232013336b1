package clickhouse_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/whatif"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

// BenchmarkWhatif writes UNITCOST_BENCH_LINE_ITEMS synthetic line items (default 200,000;
// BENCHMARKS.md records 10,000,000) over 30 days into a fresh database on the local
// ClickHouse - four workflow types, five lines per workflow (model calls on two steps with
// two models each, a tool, one review in eight), every call's tokens drawn at random so
// hardly two calls group together (the worst case for the grouped re-pricing) - then times
// the what-if: reading (the shipped queries) and analysing (re-pricing every routing,
// rates, recommendation), for one workflow type over 24 hours and 30 days, and for every
// type over 30 days:
//
//	UNITCOST_BENCH_LINE_ITEMS=10000000 go test -run '^$' -bench Whatif -benchtime 1x -timeout 90m ./pipeline/whatif/clickhouse
func BenchmarkWhatif(b *testing.B) {
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
	steps := [][2]string{{"classify", "answer"}, {"plan", "respond"}, {"extract", "check"}, {"classify", "summarise"}}
	models := [][2]string{{"gpt-5-nano", "gpt-5"}, {"gpt-4.1-mini", "claude-sonnet-4-5"}}
	tenants := []string{"acme", "globex", "initech"}
	bk, err := pricing.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	books := pricing.Single(bk)
	var batch pipeline.Batch
	written := 0
	began := time.Now()
	for w := 0; w < workflows; w++ {
		var tid pipeline.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(w+1))
		ts := start.Add(time.Duration(w)*(30*24*time.Hour/time.Duration(workflows)) + time.Duration(rng.Int64N(int64(time.Minute)))).UnixNano()
		tenant, kind := tenants[w%len(tenants)], w%len(types)
		wid := tid.String()
		batch.Workflows = append(batch.Workflows, pipeline.Workflow{ID: wid, Tenant: tenant, TraceID: tid, Name: types[kind], Outcome: "completed",
			ValidatedOutputs: 1, StartUnixNano: ts, EndUnixNano: ts + 30e9})
		for c := 0; c < linesPerWorkflow; c++ {
			sp := &pipeline.Span{Tenant: tenant, TraceID: tid, StartUnixNano: ts + int64(c)*1e9, EndUnixNano: ts + int64(c)*1e9 + 8e8}
			sp.SpanID[7] = byte(c + 2)
			li := pipeline.LineItem{Span: sp, WorkflowID: wid, Component: pipeline.ComponentModel}
			switch {
			case c < 4: // two calls on each of two steps, each step on one of its two models
				step := c / 2
				sp.Step, sp.Operation, sp.Provider = steps[kind][step], pipeline.OpChat, "openai"
				sp.Model = models[step][(w/7+step)%2]
				sp.Usage = pipeline.Usage{InputTokens: uint64(500 + rng.IntN(8000)), OutputTokens: uint64(50 + rng.IntN(800))}
				if rng.IntN(3) == 0 {
					sp.Usage.Mix = pipeline.TokenMix{System: 200, Context: uint64(rng.IntN(4000)), User: 100}
				}
				li.Cost, li.Priced = books.Price(nil, sp, wid)[0].Cost, true
			case rng.IntN(8) == 0:
				sp.Operation, sp.ReviewRole, sp.ReviewActiveMs = pipeline.OpHumanReview, "support_agent", uint64(30_000+rng.IntN(570_000))
				li.Component, li.Cost, li.Priced = pipeline.ComponentReview, books.Price(nil, sp, wid)[0].Cost, true
			default:
				sp.Operation, sp.ToolName, sp.Name = pipeline.OpTool, "web_search", "web_search"
				li.Component, li.Cost, li.Priced = pipeline.ComponentTool, 10_000_000, true
			}
			batch.LineItems = append(batch.LineItems, li)
		}
		if len(batch.LineItems) >= 100_000 || w == workflows-1 {
			if err := st.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
			written += len(batch.LineItems)
			batch = pipeline.Batch{}
		}
	}
	fmt.Fprintf(os.Stderr, "inserted %d line items and %d workflows in %s\n", written, workflows, time.Since(began).Round(time.Millisecond))
	src := whatifch.New(st)
	opts := whatif.Options{Pricer: whatif.Pricer{Books: books}}
	cases := []struct {
		name     string
		workflow string
		from     time.Time
	}{
		{"one workflow type, 24h", "rag_qa", end.Add(-24 * time.Hour)},
		{"one workflow type, 30d", "rag_qa", start},
		{"every workflow type, 30d", "", start},
	}
	b.ResetTimer()
	for range b.N {
		for _, c := range cases {
			t0 := time.Now()
			var groups, cohorts, lines int
			var load time.Duration
			types := []string{c.workflow}
			if c.workflow == "" {
				if types, err = src.Workflows(ctx, c.from, end, ""); err != nil {
					b.Fatal(err)
				}
			}
			var analyse time.Duration
			for _, wf := range types {
				l0 := time.Now()
				d, err := src.Load(ctx, wf, "", c.from, end)
				if err != nil {
					b.Fatal(err)
				}
				load += time.Since(l0)
				groups, cohorts = groups+len(d.Groups), cohorts+len(d.Cohorts)
				for _, g := range d.Groups {
					lines += int(g.Lines)
				}
				a0 := time.Now()
				rep, err := whatif.Analyze(d, opts)
				if err != nil {
					b.Fatal(err)
				}
				analyse += time.Since(a0)
				if rep.RecordedModelCostNano != rep.RepricedModelCostNano {
					b.Fatalf("%s: as recorded re-priced %d, recorded %d", wf, rep.RepricedModelCostNano, rep.RecordedModelCostNano)
				}
			}
			// the lines query alone on the server, without sending its rows
			var server time.Duration
			if c.workflow != "" {
				q, err := store.Query("whatif_lines", st.Database())
				if err != nil {
					b.Fatal(err)
				}
				s0 := time.Now()
				var cnt uint64
				if err := st.Conn().QueryRow(ctx, "SELECT count() FROM ("+q+")", c.from.UTC(), c.from.UTC(), end, c.from.UTC(), end, c.workflow, "", "").Scan(&cnt); err != nil {
					b.Fatal(err)
				}
				server = time.Since(s0)
			}
			fmt.Fprintf(os.Stderr, "(lines query on the server alone: %s) ", server.Round(time.Millisecond))
			fmt.Fprintf(os.Stderr, "%-26s %9d model lines, %9d groups, %3d cohorts: total %8s (read %8s, analyse %8s)\n", c.name, lines, groups, cohorts,
				time.Since(t0).Round(time.Millisecond), load.Round(time.Millisecond), analyse.Round(time.Millisecond))
		}
	}
}
