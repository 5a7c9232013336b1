// Package benchdata writes the synthetic line items the ClickHouse-backed benchmarks read
// (the dashboard's pages, the what-if): one generator, so their figures are over the same
// shape of data and a database kept by one can be read by the other.
//
// The data: line items five per workflow over the 30 days before End, in time order, as
// the processor's writer writes them (store.Write, batches of 100,000 line items). Four
// workflow types of two steps each, each step on one of two models priced by the built-in
// book (two calls per step, every call's token counts drawn at random, so hardly two calls
// share pricing inputs), a tool call, a human review in one workflow of eight; three
// tenants. The random draws come from a fixed seed, so a run writes exactly what the
// previous one wrote.
package benchdata

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/bench"
	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/store"
)

// LinesPerWorkflow is how many line items each generated workflow has.
const LinesPerWorkflow = 5

// Window is the span of time the line items cover, ending at Options.End.
const Window = 30 * 24 * time.Hour

// Options say what Write generates.
type Options struct {
	// LineItems is the number of line items (rounded down to whole workflows).
	LineItems int
	// End is the end of the 30 days the workflows start in (exclusive).
	End time.Time
	// Labels gives workflows three versions, two teams, three features, two services and two
	// environments, and fails one workflow in ten (the dashboard's shape). Without it every
	// workflow is completed and unlabelled (the what-if's shape). The failure draw takes a
	// random number, so the two shapes draw different token counts.
	Labels bool
	// Progress, when set, gets a line after each batch written.
	Progress func(written int)
}

// Result is what Write wrote.
type Result struct {
	LineItems, Workflows int
	Took                 time.Duration
}

var (
	types    = []string{"support_agent", "rag_qa", "invoice_extraction", "ticket_classification"}
	steps    = [][2]string{{"classify", "answer"}, {"plan", "respond"}, {"extract", "check"}, {"classify", "summarise"}}
	models   = [][2]string{{"gpt-5-nano", "gpt-5"}, {"gpt-4.1-mini", "claude-sonnet-4-5"}}
	tenants  = []string{"acme", "globex", "initech"}
	teams    = []string{"core", "growth"}
	features = []string{"chat", "search", "billing"}
	services = []string{"agent-api", "worker"}
	envs     = []string{"prod", "staging"}
)

// Write inserts the line items and workflows Options describe into st. It does not
// refresh the rollups.
func Write(ctx context.Context, st *store.Store, o Options) (Result, error) {
	res := Result{Workflows: o.LineItems / LinesPerWorkflow}
	began := time.Now()
	err := Generate(o, func(batch pipeline.Batch) error {
		if err := st.Write(ctx, batch); err != nil {
			return fmt.Errorf("benchdata: write batch: %w", err)
		}
		res.LineItems += len(batch.LineItems)
		if o.Progress != nil {
			o.Progress(res.LineItems)
		}
		return nil
	})
	res.Took = time.Since(began)
	return res, err
}

// Generate hands the line items and workflows Options describe to write, in batches of
// 100,000 line items (the last one smaller), in time order. It stops at write's first error.
func Generate(o Options, write func(pipeline.Batch) error) error {
	bk, err := pricing.Builtin()
	if err != nil {
		return err
	}
	books := pricing.Single(bk)
	start := o.End.Add(-Window)
	workflows := o.LineItems / LinesPerWorkflow
	if workflows == 0 {
		return fmt.Errorf("benchdata: %d line items make no workflow of %d", o.LineItems, LinesPerWorkflow)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var batch pipeline.Batch
	for w := 0; w < workflows; w++ {
		var tid pipeline.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(w+1))
		ts := start.Add(time.Duration(w)*(Window/time.Duration(workflows)) + time.Duration(rng.Int64N(int64(time.Minute)))).UnixNano()
		tenant, kind := tenants[w%len(tenants)], w%len(types)
		wid := tid.String()
		wf := pipeline.Workflow{ID: wid, Tenant: tenant, TraceID: tid, Name: types[kind], Outcome: "completed",
			ValidatedOutputs: 1, StartUnixNano: ts, EndUnixNano: ts + 30e9}
		if o.Labels {
			if rng.IntN(10) == 0 {
				wf.Outcome = "failed"
			}
			wf.Version, wf.Team, wf.Feature = "v"+strconv.Itoa(w%3), teams[w%2], features[w%3]
			wf.Service, wf.Environment = services[w%2], envs[w/2%2]
		}
		batch.Workflows = append(batch.Workflows, wf)
		for c := 0; c < LinesPerWorkflow; c++ {
			sp := &pipeline.Span{Tenant: tenant, TraceID: tid, StartUnixNano: ts + int64(c)*1e9, EndUnixNano: ts + int64(c)*1e9 + 8e8,
				Team: wf.Team, Feature: wf.Feature, Service: wf.Service, Environment: wf.Environment}
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
			if err := write(batch); err != nil {
				return err
			}
			batch = pipeline.Batch{}
		}
	}
	return nil
}

// EnvCount is the positive integer in the environment variable name (a benchmark's size or
// repetitions), or def when it is unset; anything else fails the benchmark.
func EnvCount(tb testing.TB, name string, def int) int {
	tb.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// Store returns a store holding o.LineItems generated line items and the end of their
// window (o.End is ignored: the data ends at the current hour when written). By default it
// is a fresh database dropped after the benchmark. With UNITCOST_BENCH_DATABASE=name it is
// that database: written by this run when empty, reused by the next run with the same
// count (the window then ends at the hour after its last line), never dropped (drop it by
// hand afterwards); the caller keeps one database per shape (Options.Labels). With
// rollups, the hourly rollups are brought up to date (all of them after a write, or after
// an upgrade whose migration needs it).
func Store(tb testing.TB, o Options, rollups bool) (*store.Store, time.Time) {
	tb.Helper()
	ctx := context.Background()
	db := os.Getenv("UNITCOST_BENCH_DATABASE")
	var st *store.Store
	if db == "" {
		st = testenv.ClickHouse(tb)
	} else {
		var err error
		st, err = store.Open(ctx, store.Config{Addr: []string{testenv.ClickHouseAddr(tb)}, Database: db, Username: "default"})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(ctx); err != nil {
			tb.Fatal(err)
		}
		var have uint64
		var last time.Time
		if err := st.Conn().QueryRow(ctx, "SELECT count(), max(start_time) FROM "+db+".line_items").Scan(&have, &last); err != nil {
			tb.Fatal(err)
		}
		want := uint64(o.LineItems / LinesPerWorkflow * LinesPerWorkflow)
		if have != 0 && have != want {
			tb.Fatalf("%s holds %d line items, not %d: drop it first", db, have, want)
		}
		if have == want {
			fmt.Fprintf(os.Stderr, "reusing %d line items in %s (written up to %s)\n", have, db, last.UTC().Format(time.RFC3339))
			refresh(tb, st, rollups, "refreshed")
			return st, last.UTC().Truncate(time.Hour).Add(time.Hour)
		}
	}
	o.End = time.Now().UTC().Truncate(time.Hour)
	res, err := Write(ctx, st, o)
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "inserted %d line items and %d workflows in %s (load %s)\n", res.LineItems, res.Workflows, res.Took.Round(time.Millisecond), bench.LoadAvg())
	refresh(tb, st, rollups, "rebuilt")
	return st, o.End
}

func refresh(tb testing.TB, st *store.Store, rollups bool, verb string) {
	if !rollups {
		return
	}
	began := time.Now()
	rs, err := st.RefreshRollups(context.Background(), 0)
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "rollups: %s %d hours in %s (load %s)\n", verb, len(rs.Hours), time.Since(began).Round(time.Millisecond), bench.LoadAvg())
}
