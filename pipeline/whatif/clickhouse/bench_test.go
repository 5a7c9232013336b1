package clickhouse_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

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
	st, end := benchdata.Store(b, benchdata.Options{LineItems: n}, false)
	ctx := context.Background()
	start := end.Add(-benchdata.Window)
	bk, err := pricing.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	books := pricing.Single(bk)
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
