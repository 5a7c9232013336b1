package clickhouse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/bench"
	"github.com/unitcost/unitcost/internal/benchdata"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/whatif"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

// BenchmarkWhatif writes UNITCOST_BENCH_LINE_ITEMS synthetic line items (default 200,000;
// BENCHMARKS.md records 10,000,000) over 30 days into a fresh database on the local
// ClickHouse - four workflow types, five lines per workflow (model calls on two steps with
// two models each, a tool, one review in eight), every call's tokens drawn at random so
// hardly two calls group together (the worst case for the grouped re-pricing) - rebuilds
// the rollups, then times the what-if (whatif.Run: read and analyse) for one workflow type
// over 24 hours and 30 days and every type over 30 days, two ways interleaved: from the
// rollups (Load, as the API and CLI run it) and call by call (LoadCalls, the path before
// migration 0012), and requires both to give the same report, every figure:
//
//	UNITCOST_BENCH_LINE_ITEMS=10000000 go test -run '^$' -bench Whatif -benchtime 1x -timeout 90m ./pipeline/whatif/clickhouse
//
// UNITCOST_BENCH_DATABASE=name keeps the data (see benchdata.Store); UNITCOST_BENCH_CALLS=0
// skips the call-by-call runs (minutes at 10M) and the comparison.
func BenchmarkWhatif(b *testing.B) {
	n := benchdata.EnvCount(b, "UNITCOST_BENCH_LINE_ITEMS", 200_000)
	st, end := benchdata.Store(b, benchdata.Options{LineItems: n}, true)
	ctx := context.Background()
	start := end.Add(-benchdata.Window)
	bk, err := pricing.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	src := whatifch.New(st)
	calls := os.Getenv("UNITCOST_BENCH_CALLS") != "0"
	cases := []struct {
		name     string
		workflow string
		from     time.Time
	}{
		{"one workflow type, 24h", "rag_qa", end.Add(-24 * time.Hour)},
		{"one workflow type, 30d", "rag_qa", start},
		{"every workflow type, 30d", "", start},
	}
	run := func(s whatif.Source, c string, from time.Time) ([]byte, time.Duration, time.Duration) {
		req := whatif.Request{Workflow: c, From: from, To: end, Options: whatif.Options{Pricer: whatif.Pricer{Books: pricing.Single(bk)}}}
		cpu0, t0 := cpuTime(), time.Now()
		reps, err := whatif.Run(ctx, s, req)
		if err != nil {
			b.Fatal(err)
		}
		wall, cpu := time.Since(t0), cpuTime()-cpu0
		for _, rep := range reps {
			if rep.RecordedModelCostNano != rep.RepricedModelCostNano {
				b.Fatalf("%s: as recorded re-priced %d, recorded %d", rep.Workflow, rep.RepricedModelCostNano, rep.RecordedModelCostNano)
			}
		}
		doc, err := json.Marshal(reps)
		if err != nil {
			b.Fatal(err)
		}
		return doc, wall, cpu
	}
	b.ResetTimer()
	for range b.N {
		for _, c := range cases {
			fast, wall, cpu := run(src, c.workflow, c.from)
			fmt.Fprintf(os.Stderr, "%-26s from the rollups: %9s (client CPU %8s; load %s)\n", c.name, wall.Round(100*time.Microsecond),
				cpu.Round(100*time.Microsecond), bench.LoadAvg())
			if !calls {
				continue
			}
			slow, wall, cpu := run(callsOnly{src}, c.workflow, c.from)
			fmt.Fprintf(os.Stderr, "%-26s call by call:      %9s (client CPU %8s; load %s)\n", c.name, wall.Round(100*time.Microsecond),
				cpu.Round(100*time.Microsecond), bench.LoadAvg())
			if d := sameReports(fast, slow); d != "" {
				b.Fatalf("%s: the what-if from the rollups differs from the one call by call: %s\n%s", c.name, d, firstDiff(fast, slow))
			}
		}
	}
}

// cpuTime is the CPU time this process used so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRollupRebuildCost times what migration 0012 adds to a rollup rebuild: the five
// INSERT ... SELECTs that rebuild the last hour of the data (the three other rollups, then
// the what-if's two), UNITCOST_BENCH_RUNS rounds (default 3) interleaved, and prints the
// minimum of each and the what-if's share. Its rows go under build 1, older than any
// recorded build, so readers never see them and the refresher's cleanup deletes them:
//
//	UNITCOST_BENCH_DATABASE=ucbench_q18_10m UNITCOST_BENCH_LINE_ITEMS=10000000 go test -run '^$' -bench RollupRebuildCost -benchtime 1x ./pipeline/whatif/clickhouse
func BenchmarkRollupRebuildCost(b *testing.B) {
	n := benchdata.EnvCount(b, "UNITCOST_BENCH_LINE_ITEMS", 200_000)
	rounds := benchdata.EnvCount(b, "UNITCOST_BENCH_RUNS", 3)
	st, end := benchdata.Store(b, benchdata.Options{LineItems: n}, true)
	ctx := context.Background()
	var last time.Time
	if err := st.Conn().QueryRow(ctx, "SELECT toStartOfHour(max(start_time)) FROM "+st.Database()+".workflows WHERE start_time < ?", end).Scan(&last); err != nil {
		b.Fatal(err)
	}
	from, to := last.UTC(), last.UTC().Add(time.Hour)
	hours := fmt.Sprintf("toDateTime(%d)", from.Unix())
	queries := []struct {
		name string
		args []any
	}{
		{"rollup_workflows", []any{1, from, to, from, from, to}},
		{"rollup_costs", []any{1, from, from, to}},
		{"rollup_top", []any{1, from, to, from, from, to}},
		{"rollup_whatif_calls", []any{1, from, from, to}},
		{"rollup_whatif_cohorts", []any{1, from, to, from, from, to}},
	}
	best := make([]time.Duration, len(queries))
	b.ResetTimer()
	for range b.N {
		for r := 0; r < rounds; r++ {
			for i, q := range queries {
				sql, err := store.Query(q.name, st.Database())
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if err := st.Conn().Exec(ctx, strings.ReplaceAll(sql, "{hours}", hours), q.args...); err != nil {
					b.Fatalf("%s: %v", q.name, err)
				}
				if d := time.Since(t0); r == 0 || d < best[i] {
					best[i] = d
				}
			}
		}
	}
	var others, whatifs time.Duration
	for i, q := range queries {
		fmt.Fprintf(os.Stderr, "%-22s %9s\n", q.name, best[i].Round(time.Millisecond))
		if strings.HasPrefix(q.name, "rollup_whatif") {
			whatifs += best[i]
		} else {
			others += best[i]
		}
	}
	fmt.Fprintf(os.Stderr, "rebuild of %s: the other rollups %s, the what-if's %s (+%.0f%%), minimum of %d rounds (load %s)\n",
		from.Format(time.DateTime), others.Round(time.Millisecond), whatifs.Round(time.Millisecond), 100*float64(whatifs)/float64(others), rounds, bench.LoadAvg())
}
