package clickhouse_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/whatif"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

// Two versions of a book (the second from 2026-11-02, inside the data), a context tier on a
// multiple of the rollup's 8,000-token input buckets (exact from the sums) and one that is
// not (100,000: calls on both sides share a bucket), a tenant discount that stays whole
// nano-dollars per token and a batch tier whose cached reads do not (0.0625 per million).
const diffBooks = `
version: diff-1
effective_from: "2026-01-01"
models:
  - {provider: openai, model: gpt-5, input: "1.25", output: "10.00", cache_read: "0.125", service_tiers: {batch: {multiplier: "0.5"}}}
  - {provider: openai, model: gpt-5-nano, input: "0.05", output: "0.40", cache_read: "0.005"}
  - provider: anthropic
    model: claude-sonnet-4-5
    input: "3.00"
    output: "15.00"
    cache_read: "0.30"
    cache_write: "3.75"
    cache_write_1h: "6.00"
    tiers: [{above_input_tokens: 200000, input: "6.00", output: "22.50", cache_read: "0.60", cache_write: "7.50", cache_write_1h: "12.00"}]
  - {provider: acme, model: long-ctx, input: "1.00", output: "2.00", tiers: [{above_input_tokens: 100000, input: "2.00", output: "4.00"}]}
tools: [{name: default, per_call: "0.01"}]
review: [{name: default, per_hour: "60.00"}]
tenants:
  - tenant: acme
    discounts: [{provider: anthropic, percent: "10"}]
---
version: diff-2
effective_from: "2026-11-02"
models:
  - {provider: openai, model: gpt-5, input: "1.00", output: "8.00", cache_read: "0.10", service_tiers: {batch: {multiplier: "0.5"}}}
  - {provider: openai, model: gpt-5-nano, input: "0.05", output: "0.40", cache_read: "0.005"}
  - provider: anthropic
    model: claude-sonnet-4-5
    input: "3.00"
    output: "15.00"
    cache_read: "0.30"
    cache_write: "3.75"
    cache_write_1h: "6.00"
    tiers: [{above_input_tokens: 200000, input: "6.00", output: "22.50", cache_read: "0.60", cache_write: "7.50", cache_write_1h: "12.00"}]
  - {provider: acme, model: long-ctx, input: "1.00", output: "2.00", tiers: [{above_input_tokens: 100000, input: "2.00", output: "4.00"}]}
tools: [{name: default, per_call: "0.01"}]
review: [{name: default, per_hour: "60.00"}]
`

// diffData writes ten hours of two workflow types across the books' change of version:
// "routed" (classify on gpt-5 or gpt-5-nano, some batch; answer on claude-sonnet-4-5 on
// both sides of its 200k tier, cached reads and 5-minute and 1-hour writes; calls of an
// unknown model; calls without tokens; failed workflows; reviews, some late) and "longctx"
// (summarise on long-ctx around its 100k tier, and gpt-5 batch calls with cached reads),
// written twice (a replay). It returns the first hour and, per type, the exact cost of its
// recorded model calls priced again call by call (the what-if's "as recorded").
func diffData(t *testing.T, st *store.Store, books *pricing.Books) (time.Time, map[string]pipeline.Money) {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 17, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(5, 6))
	truth := map[string]pipeline.Money{}
	var b, late pipeline.Batch
	for w := 0; w < 240; w++ {
		var tid pipeline.TraceID
		tid[14], tid[15] = byte(w>>8), byte(w)
		wid := tid.String()
		ts := start.Add(time.Duration(w) * 150 * time.Second).UnixNano() // 10 hours
		kind := []string{"routed", "longctx"}[w%2]
		tenant := []string{"acme", "globex"}[w/2%2]
		outcome := "completed"
		if rng.IntN(8) == 0 {
			outcome = "failed"
		}
		b.Workflows = append(b.Workflows, pipeline.Workflow{ID: wid, Tenant: tenant, TraceID: tid, Name: kind, Outcome: outcome,
			ValidatedOutputs: uint64(rng.IntN(3)), StartUnixNano: ts, EndUnixNano: ts + 60e9})
		span := 0
		call := func(step, provider, model, tier string, u pipeline.Usage) {
			span++
			sp := &pipeline.Span{Tenant: tenant, TraceID: tid, Step: step, Name: step + " " + model, Operation: pipeline.OpChat,
				Provider: provider, Model: model, ServiceTier: tier, Usage: u, StartUnixNano: ts + int64(span)*1e9,
				EndUnixNano: ts + int64(span)*1e9 + 5e8, Error: rng.IntN(10) == 0}
			sp.SpanID[6], sp.SpanID[7] = byte(span), 1
			if u.InputTokens == 0 && u.OutputTokens == 0 {
				sp.Unpriced = "model call without usage" // as normalisation marks it
			}
			li := books.Price(nil, sp, wid)[0]
			truth[kind] += li.Cost
			if li.Priced {
				li.Cost += pipeline.Money(rng.IntN(3)) // as billed: may differ from the book priced again
			}
			b.LineItems = append(b.LineItems, li)
		}
		if kind == "routed" {
			m := []string{"gpt-5", "gpt-5-nano"}[rng.IntN(2)]
			tier := ""
			u := pipeline.Usage{InputTokens: uint64(100 + rng.IntN(5000)), OutputTokens: uint64(1 + rng.IntN(400))}
			if rng.IntN(3) == 0 {
				tier = "batch"
			} else if rng.IntN(2) == 0 {
				u.CacheReadTokens = uint64(rng.IntN(int(u.InputTokens)))
			}
			call("classify", "openai", m, tier, u)
			for i := 0; i < 1+rng.IntN(2); i++ {
				u := pipeline.Usage{InputTokens: uint64(1000 + rng.IntN(380_000)), OutputTokens: uint64(1 + rng.IntN(2000))}
				u.CacheReadTokens = uint64(rng.IntN(int(u.InputTokens / 2)))
				u.CacheWriteTokens = uint64(rng.IntN(int(u.InputTokens / 4)))
				u.CacheWrite1hTokens = uint64(rng.IntN(int(u.CacheWriteTokens) + 1))
				u.ReasoningTokens = uint64(rng.IntN(int(u.OutputTokens) + 1))
				call("answer", "anthropic", "claude-sonnet-4-5", "", u)
			}
			if rng.IntN(5) == 0 {
				call("answer", "anthropic", "mystery-model-9", "", pipeline.Usage{InputTokens: 10, OutputTokens: 5}) // unpriced
			}
			if rng.IntN(6) == 0 {
				call("classify", "openai", m, "", pipeline.Usage{}) // no tokens: unpriced as no billable call
			}
		} else {
			call("summarise", "acme", "long-ctx", "", pipeline.Usage{InputTokens: uint64(96_500 + rng.IntN(7000)), OutputTokens: 100})
			call("classify", "openai", "gpt-5", "batch", pipeline.Usage{InputTokens: 1001, OutputTokens: 3, CacheReadTokens: uint64(1 + rng.IntN(999))})
		}
		span++
		tool := &pipeline.Span{Tenant: tenant, TraceID: tid, Name: "search", Operation: pipeline.OpTool, ToolName: "search",
			StartUnixNano: ts, EndUnixNano: ts}
		tool.SpanID[6], tool.SpanID[7] = byte(span), 2
		b.LineItems = append(b.LineItems, books.Price(nil, tool, wid)...)
		if rng.IntN(4) == 0 {
			rv := &pipeline.Span{Tenant: tenant, TraceID: tid, Name: "human review", Operation: pipeline.OpHumanReview,
				ReviewActiveMs: uint64(60_000 + rng.IntN(600_000)), StartUnixNano: ts + 7200e9, EndUnixNano: ts + 7300e9}
			rv.SpanID[6], rv.SpanID[7] = byte(span), 3
			dst := &b
			if w%3 == 0 {
				dst = &late // arrives after the first rollup refresh
			}
			dst.LineItems = append(dst.LineItems, books.Price(nil, rv, wid)...)
		}
	}
	for i := 0; i < 2; i++ { // a replay replaces, never adds
		if err := st.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RefreshRollups(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, late); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RefreshRollups(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	return start, truth
}

// callsOnly reads every window call by call (the path before the rollups).
type callsOnly struct{ src *whatifch.Source }

func (c callsOnly) Workflows(ctx context.Context, from, to time.Time, tenant string) ([]string, error) {
	return c.src.Workflows(ctx, from, to, tenant)
}

func (c callsOnly) Load(ctx context.Context, workflow, tenant string, from, to time.Time) (whatif.Data, error) {
	return c.src.LoadCalls(ctx, workflow, tenant, from, to)
}

// The what-if from the rollups equals the what-if from every call, to the nano-dollar and
// in every figure of its JSON (routings, per-model costs and calls, unpriced lines and
// their reasons, rates, recommendation; interval bounds within intervalTol, see
// sameReports), over whole windows and windows whose first, last or both hours are partial
// (each report covering exactly the window asked for), per tenant, with
// a named book version, with the cache policies, and in hours not rolled up yet; and its
// as-recorded cost equals the calls priced one by one.
func TestRollupWhatifEqualsPerCall(t *testing.T) {
	st := testenv.ClickHouse(t)
	checkDifferential(t, st, st)
}

// The same on the two-server cluster, sharded: written and rolled up through one node,
// read through the other.
func TestRollupWhatifEqualsPerCallOnCluster(t *testing.T) {
	nodes := testenv.Cluster(t, "unitcost_shards", "")
	checkDifferential(t, nodes[0], nodes[1])
}

func checkDifferential(t *testing.T, st, reader *store.Store) {
	ctx := context.Background()
	books, err := pricing.ParseBooks([]byte(diffBooks))
	if err != nil {
		t.Fatal(err)
	}
	start, truth := diffData(t, st, books)
	src := whatifch.New(reader)
	slow := callsOnly{src}

	// the fast path reads sums, and summed re-pricing is exact for "routed" (every rate whole
	// nano-dollars per token, the 200k tier on a bucket boundary) but not for "longctx"
	from, to := start, start.Add(10*time.Hour)
	d, err := src.Load(ctx, "routed", "", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Sums) == 0 {
		t.Fatalf("routed: no summed calls from the rollups (%d groups)", len(d.Groups))
	}
	for _, g := range d.Groups {
		if g.Usage != (pipeline.Usage{}) {
			t.Fatalf("routed: a call read one by one beside the rollups: %+v", g)
		}
	}
	opts := whatif.Options{Pricer: whatif.Pricer{Books: books}, MinSamples: 5}
	rep, err := whatif.Analyze(d, opts)
	if err != nil {
		t.Fatalf("routed from the rollups: %v", err)
	}
	if rep.RepricedModelCostNano != int64(truth["routed"]) || rep.RepricedModelCostNano == rep.RecordedModelCostNano {
		t.Fatalf("routed as recorded re-priced %d, calls priced one by one %d (billed %d)", rep.RepricedModelCostNano, truth["routed"], rep.RecordedModelCostNano)
	}
	if d, err = src.Load(ctx, "longctx", "", from, to); err != nil {
		t.Fatal(err)
	}
	if _, err := whatif.Analyze(d, opts); !errors.Is(err, whatif.ErrNotExact) {
		t.Fatalf("longctx from the rollups: %v, want ErrNotExact (calls on both sides of 100k in one bucket)", err)
	}

	// an hour written after the last refresh: read from the line items beside the rollups
	if err := st.Write(ctx, extraBatch(books, 1, start.Add(10*time.Hour), 3)); err != nil {
		t.Fatal(err)
	}

	if d, err = src.Load(ctx, "routed", "", start, start.Add(11*time.Hour)); err != nil {
		t.Fatal(err)
	}
	mixed := 0
	for _, g := range d.Groups {
		if g.Usage.InputTokens == 777 {
			mixed += int(g.Lines)
		}
	}
	if len(d.Sums) == 0 || mixed != 3 {
		t.Fatalf("window with an hour not rolled up: %d sums, %d of its 3 calls read one by one", len(d.Sums), mixed)
	}

	cases := []struct {
		name     string
		from, to time.Time
		tenant   string
		pricer   whatif.Pricer
		scen     string
	}{
		{"whole window", start, start.Add(11 * time.Hour), "", whatif.Pricer{Books: books}, ""},
		{"every hour rolled up (all types at once)", start, start.Add(10 * time.Hour), "", whatif.Pricer{Books: books}, ""},
		{"partial hours", start.Add(90 * time.Minute), start.Add(7*time.Hour + 10*time.Minute), "", whatif.Pricer{Books: books}, ""},
		{"partial first hour", start.Add(25 * time.Minute), start.Add(11 * time.Hour), "", whatif.Pricer{Books: books}, ""},
		{"partial last hour", start, start.Add(6*time.Hour + 35*time.Minute), "", whatif.Pricer{Books: books}, ""},
		{"partial last hour, not rolled up", start.Add(3 * time.Hour), start.Add(10*time.Hour + 2*time.Minute), "", whatif.Pricer{Books: books}, ""},
		{"inside one hour", start.Add(2*time.Hour + 10*time.Minute), start.Add(2*time.Hour + 50*time.Minute), "", whatif.Pricer{Books: books}, ""},
		{"two partial hours, none whole", start.Add(4*time.Hour + 30*time.Minute), start.Add(5*time.Hour + 20*time.Minute), "acme", whatif.Pricer{Books: books}, ""},
		{"partial hours, scenario", start.Add(50 * time.Minute), start.Add(8*time.Hour + 5*time.Minute), "", whatif.Pricer{Books: books}, "answer=gpt-5@batch"},
		{"tenant acme", start, start.Add(11 * time.Hour), "acme", whatif.Pricer{Books: books}, ""},
		{"tenant globex, scenario", start, start.Add(11 * time.Hour), "globex", whatif.Pricer{Books: books}, "answer=gpt-5@batch,classify=openai/gpt-5-nano"},
		{"named version", start, start.Add(11 * time.Hour), "", whatif.Pricer{Books: books, Version: "diff-1"}, "summarise=claude-sonnet-4-5"},
		{"no cache", start, start.Add(11 * time.Hour), "", whatif.Pricer{Books: books, CachePolicy: whatif.CacheNone}, ""},
		{"system prompt cache (per call)", start, start.Add(11 * time.Hour), "", whatif.Pricer{Books: books, CachePolicy: whatif.CacheSystem}, ""},
		{"context cut (per call)", start, start.Add(11 * time.Hour), "", whatif.Pricer{Books: books, CutContextPct: 30}, ""},
	}
	for _, c := range cases {
		opts := whatif.Options{Pricer: c.pricer, MinSamples: 5}
		if c.scen != "" {
			sc, err := whatif.ParseScenario(c.scen)
			if err != nil {
				t.Fatal(err)
			}
			opts.Scenarios = []whatif.Scenario{sc}
		}
		req := whatif.Request{From: c.from, To: c.to, Tenant: c.tenant, Options: opts}
		fast, err := whatif.Run(ctx, src, req)
		if err != nil {
			t.Fatalf("%s: from the rollups: %v", c.name, err)
		}
		want, err := whatif.Run(ctx, slow, req)
		if err != nil {
			t.Fatalf("%s: call by call: %v", c.name, err)
		}
		if len(want) != 2 {
			t.Fatalf("%s: %d workflow types, want 2", c.name, len(want))
		}
		gotJSON, _ := json.MarshalIndent(fast, "", " ")
		wantJSON, _ := json.MarshalIndent(want, "", " ")
		if d := sameReports(gotJSON, wantJSON); d != "" {
			t.Fatalf("%s: the what-if from the rollups differs from the one call by call: %s\n%s", c.name, d, firstDiff(gotJSON, wantJSON))
		}
		started := uint64(0) // the workflows diffData and the extra hour start in the window
		for w := 0; w < 240; w++ {
			if ts := start.Add(time.Duration(w) * 150 * time.Second); !ts.Before(c.from) && ts.Before(c.to) && (c.tenant == "" || c.tenant == []string{"acme", "globex"}[w/2%2]) {
				started++
			}
		}
		for i := 0; i < 3; i++ {
			if ts := start.Add(10*time.Hour + time.Duration(i)*time.Minute); !ts.Before(c.from) && ts.Before(c.to) && c.tenant != "globex" {
				started++
			}
		}
		counted := uint64(0)
		for _, r := range fast {
			counted += r.Workflows
		}
		if counted != started {
			t.Fatalf("%s: the reports count %d workflows, %d started in the window", c.name, counted, started)
		}
		for _, r := range fast {
			if f, tt := c.from.UTC().Format(time.RFC3339), c.to.UTC().Format(time.RFC3339); r.From != f || r.To != tt {
				t.Fatalf("%s: %s analyses %s to %s, asked %s to %s", c.name, r.Workflow, r.From, r.To, f, tt)
			}
		}
		if c.name == "every hour rolled up (all types at once)" || c.name == "partial hours" {
			if _, ok, err := src.LoadAll(ctx, "", c.from, c.to); !ok || err != nil {
				t.Fatalf("%s: not read at once: %v", c.name, err)
			}
		}
		if c.name == "whole window" {
			unpriced := uint64(0)
			for _, r := range fast[1].Routings {
				unpriced += r.UnpricedLines
			}
			if fast[1].Workflow != "routed" || fast[1].Workflows != 123 || unpriced == 0 {
				t.Fatalf("whole window: %s, %d workflows, %d unpriced lines", fast[1].Workflow, fast[1].Workflows, unpriced)
			}
		}
	}
}

// extraBatch is n "routed" workflows of tenant acme a minute apart from at, each with one
// gpt-5 call of 777 input tokens; id tells batches apart.
func extraBatch(books *pricing.Books, id byte, at time.Time, n int) pipeline.Batch {
	var extra pipeline.Batch
	for i := 0; i < n; i++ {
		var tid pipeline.TraceID
		tid[0], tid[15] = id, byte(i)
		wid := tid.String()
		ts := at.Add(time.Duration(i) * time.Minute).UnixNano()
		extra.Workflows = append(extra.Workflows, pipeline.Workflow{ID: wid, Tenant: "acme", TraceID: tid, Name: "routed", Outcome: "completed",
			ValidatedOutputs: 1, StartUnixNano: ts, EndUnixNano: ts + 1e9})
		sp := &pipeline.Span{Tenant: "acme", TraceID: tid, Step: "classify", Operation: pipeline.OpChat, Provider: "openai", Model: "gpt-5",
			Usage: pipeline.Usage{InputTokens: 777, OutputTokens: 7}, StartUnixNano: ts, EndUnixNano: ts + 1e8}
		sp.SpanID[7] = 1
		extra.LineItems = append(extra.LineItems, books.Price(nil, sp, wid)...)
	}
	return extra
}

// An hour without workflows is never built, yet a window over it keeps the fast path
// (every type read at once from the rollups); a workflow arriving late in that hour is read
// call by call until the hour's rebuild, and the what-if equals the one call by call at
// every step.
func TestRollupWhatifQuietHour(t *testing.T) {
	st := testenv.ClickHouse(t)
	ctx := context.Background()
	books, err := pricing.ParseBooks([]byte(diffBooks))
	if err != nil {
		t.Fatal(err)
	}
	start, _ := diffData(t, st, books) // ten busy hours, then hour 10 quiet, hour 11 busy again
	if err := st.Write(ctx, extraBatch(books, 2, start.Add(11*time.Hour+5*time.Minute), 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RefreshRollups(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	src := whatifch.New(st)
	req := whatif.Request{From: start.Add(30 * time.Minute), To: start.Add(12 * time.Hour), Options: whatif.Options{Pricer: whatif.Pricer{Books: books}, MinSamples: 5}}
	check := func(step string, workflows, oneByOne uint64) {
		t.Helper()
		ds, ok, err := src.LoadAll(ctx, "", req.From, req.To)
		if err != nil || !ok {
			t.Fatalf("%s: not read at once from the rollups (ok %v, %v)", step, ok, err)
		}
		lines := uint64(0)
		for _, d := range ds {
			for _, g := range d.Groups {
				if g.Usage.InputTokens == 777 {
					lines += g.Lines
				}
			}
		}
		if lines != oneByOne {
			t.Fatalf("%s: %d calls of the quiet hour's late workflows read one by one, want %d", step, lines, oneByOne)
		}
		fast, err := whatif.Run(ctx, src, req)
		if err != nil {
			t.Fatal(err)
		}
		want, err := whatif.Run(ctx, callsOnly{src}, req)
		if err != nil {
			t.Fatal(err)
		}
		gotJSON, _ := json.MarshalIndent(fast, "", " ")
		wantJSON, _ := json.MarshalIndent(want, "", " ")
		if d := sameReports(gotJSON, wantJSON); d != "" {
			t.Fatalf("%s: the what-if from the rollups differs from the one call by call: %s\n%s", step, d, firstDiff(gotJSON, wantJSON))
		}
		n := uint64(0)
		for _, r := range fast {
			n += r.Workflows
		}
		if n != workflows {
			t.Fatalf("%s: %d workflows, want %d", step, n, workflows)
		}
	}
	check("quiet hour", 240-12+4, 0)
	// a late workflow in the quiet hour: its hour is read call by call, then rebuilt
	if err := st.Write(ctx, extraBatch(books, 3, start.Add(10*time.Hour+20*time.Minute), 2)); err != nil {
		t.Fatal(err)
	}
	check("late workflow in the quiet hour", 240-12+4+2, 2)
	rs, err := st.RefreshRollups(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt := false
	for _, h := range rs.Hours {
		rebuilt = rebuilt || h.Equal(start.Add(10*time.Hour))
	}
	if !rebuilt {
		t.Fatalf("the late workflow's hour was not rebuilt: %v", rs.Hours)
	}
	check("rebuilt", 240-12+4+2, 0)
}

// firstDiff shows where two JSON documents part.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-300)
	return "rollups:  ..." + string(a[lo:min(len(a), i+200)]) + "\ncalls:    ..." + string(b[lo:min(len(b), i+200)])
}
