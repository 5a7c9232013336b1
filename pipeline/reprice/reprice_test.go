package reprice_test

import (
	"context"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/reprice"
)

const v1 = `
version: v1
models:
  - {provider: openai, model: gpt-z, input: "2.00", output: "8.00"}
tools:
  - {name: web_search, per_call: "0.01"}
`

// v2 cuts gpt-z's price, gives acme 10% off, and prices a model v1 did not know.
const v2 = `
version: v2
models:
  - {provider: openai, model: gpt-z, input: "1.00", output: "4.00"}
  - {provider: openai, model: gpt-new, input: "0.50", output: "1.00"}
tools:
  - {name: web_search, per_call: "0.01"}
tenants:
  - {tenant: acme, discounts: [{provider: openai, percent: "10"}]}
`

func books(t *testing.T, y string) *pricing.Books {
	t.Helper()
	b, err := pricing.ParseBooks([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRepriceIsExactAndIdempotent(t *testing.T) {
	st := testenv.ClickHouse(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	mk := func(id byte, model string, in, out uint64, op pipeline.Operation, tool string) *pipeline.Span {
		sp := &pipeline.Span{Tenant: "acme", Provider: "openai", Model: model, Operation: op, ToolName: tool,
			StartUnixNano: start.UnixNano(), EndUnixNano: start.Add(time.Second).UnixNano(),
			Usage: pipeline.Usage{InputTokens: in, OutputTokens: out}}
		sp.TraceID[0], sp.SpanID[0], sp.ParentSpanID[0] = 1, id, 9
		return sp
	}
	spans := []*pipeline.Span{mk(1, "gpt-z", 1000, 500, pipeline.OpChat, ""), mk(2, "gpt-new", 2000, 1000, pipeline.OpChat, ""),
		mk(3, "", 0, 0, pipeline.OpTool, "web_search")}
	old := books(t, v1)
	var items []pipeline.LineItem
	for _, sp := range spans {
		items = old.Price(items, sp, "wf1")
	}
	wf := []pipeline.Workflow{{ID: "wf1", Tenant: "acme", TraceID: spans[0].TraceID, Name: "qa", StartUnixNano: start.UnixNano(), EndUnixNano: start.UnixNano()}}
	if err := st.Write(ctx, pipeline.Batch{LineItems: items, Workflows: wf}); err != nil {
		t.Fatal(err)
	}
	// v1: 1000*2 + 500*8 = 6000 -> $0.006; gpt-new unpriced; web_search $0.01
	if cost, n, err := st.WorkflowCost(ctx, "", "wf1"); err != nil || cost != 16_000_000 || n != 3 {
		t.Fatalf("before: %d over %d lines, %v", cost, n, err)
	}

	from, to := start.Add(-time.Hour), start.Add(time.Hour)
	res, err := reprice.Run(ctx, st, books(t, v2), from, to, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	// v2 for acme: gpt-z (1000*1 + 500*4) * 0.9 = 2700; gpt-new (2000*0.5 + 1000*1) * 0.9
	// = 1800; web_search $0.01 (not an openai model line: no discount).
	want := pipeline.Money(2_700_000 + 1_800_000 + 10_000_000)
	if res.Lines != 3 || res.Changed != 3 || res.NowPriced != 1 || res.Before != 16_000_000 || res.After != want {
		t.Fatalf("result %+v", res)
	}
	if cost, n, err := st.WorkflowCost(ctx, "", "wf1"); err != nil || cost != want || n != 3 {
		t.Fatalf("after: %d over %d lines, %v", cost, n, err)
	}
	again, err := reprice.Run(ctx, st, books(t, v2), from, to, 2, nil)
	if err != nil || again.Changed != 0 || again.After != want || again.Lines != 3 {
		t.Fatalf("second run %+v, %v", again, err)
	}
	// A tool line stored without its tool name (written before the column existed) keeps
	// its cost instead of being re-priced at the default tool rate.
	legacy := mk(4, "", 0, 0, pipeline.OpTool, "")
	if err := st.Write(ctx, pipeline.Batch{LineItems: []pipeline.LineItem{{Span: legacy, WorkflowID: "wf1",
		Component: pipeline.ComponentTool, Cost: 10_000_000, Priced: true, PriceVersion: "v1"}}}); err != nil {
		t.Fatal(err)
	}
	third, err := reprice.Run(ctx, st, books(t, v2), from, to, 2, nil)
	if err != nil || third.Skipped != 1 || third.Changed != 0 || third.After != want+10_000_000 {
		t.Fatalf("legacy line: %+v, %v", third, err)
	}
	// A quarantined line (its input count was beyond the limit: stored as 0, with the
	// reason) stays quarantined under any book: re-pricing it would bill its other counts
	// (500 output tokens, $0.002 under v2) as if the span were sound.
	bad := mk(5, "gpt-z", 0, 500, pipeline.OpChat, "")
	if err := st.Write(ctx, pipeline.Batch{LineItems: []pipeline.LineItem{{Span: bad, WorkflowID: "wf1", Component: pipeline.ComponentModel,
		UnpricedReason: pricing.QuarantinePrefix + "input tokens 1000000000 above limit 100000000; not counted", PriceVersion: "v1"}}}); err != nil {
		t.Fatal(err)
	}
	fourth, err := reprice.Run(ctx, st, books(t, v2), from, to, 2, nil)
	if err != nil || fourth.Skipped != 2 || fourth.Changed != 0 || fourth.NowPriced != 0 || fourth.After != want+10_000_000 {
		t.Fatalf("quarantined line: %+v, %v", fourth, err)
	}
	if _, lines, _ := st.Counts(ctx); lines != 5 {
		t.Fatalf("%d line items after four re-pricings, want 5", lines)
	}
}
