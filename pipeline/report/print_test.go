package report_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/report"
)

// `unitcost report` for a finance reader on real ClickHouse: the table says window, tenant,
// price-book versions, currency and unpriced lines, defines its ratios and warns about
// unpriced lines; the breakdown by model shows which model is unpriced; CSV marks totals.
func TestPrintForAReader(t *testing.T) {
	st := testenv.ClickHouse(t)
	ctx := context.Background()
	var b pipeline.Batch
	for i, name := range []string{"qa", "triage"} {
		root, call, other := apiSpan(byte(i+1), 1, 0, "acme"), apiSpan(byte(i+1), 2, 1, "acme"), apiSpan(byte(i+1), 3, 1, "acme")
		call.Model, other.Model = "gpt-x", "mystery-model"
		b.Workflows = append(b.Workflows, pipeline.Workflow{ID: root.TraceID.String(), TraceID: root.TraceID, Tenant: "acme", Name: name, Outcome: "completed",
			ValidatedOutputs: 1, StartUnixNano: root.StartUnixNano, EndUnixNano: root.EndUnixNano})
		b.LineItems = append(b.LineItems,
			pipeline.LineItem{Span: call, WorkflowID: root.TraceID.String(), Component: pipeline.ComponentModel, Cost: 2_500_000, Priced: true, PriceVersion: "2026-11"},
			pipeline.LineItem{Span: other, WorkflowID: root.TraceID.String(), Component: pipeline.ComponentModel})
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	to := time.Now().Truncate(time.Second)
	q := report.Query{From: to.Add(-24 * time.Hour), To: to, Tenant: "acme", View: "unit", Format: "table"}
	var out, notes bytes.Buffer
	if err := report.Print(ctx, st, q, &out, &notes); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, want := range []string{
		"Window:     workflows started " + q.From.UTC().Format("2006-01-02 15:04:05") + " to " + to.UTC().Format("2006-01-02 15:04:05") + " (UTC)",
		"Tenant:     acme",
		"Prices:     price book 2026-11 (2 lines), (none: unpriced) (2 lines)",
		"Currency:   USD",
		"Unpriced:   2 of 4 line items (50.00%)",
		"per exception        = mean cost of a workflow that needed human review",
		"per completed        = total cost of the workflow type / its completed workflows",
		"warning: 2 of 4 line items (50.00%) have no price",
		"TOTAL",
		"$0.0050",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	out.Reset()
	q.View, q.By = "breakdown", "model"
	if err := report.Print(ctx, st, q, &out, &notes); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "gpt-x") || !strings.Contains(out.String(), "mystery-model") || !strings.Contains(out.String(), "100.00%") {
		t.Errorf("breakdown by model:\n%s", out.String())
	}
	out.Reset()
	notes.Reset()
	q.View, q.Format = "unit", "csv"
	if err := report.Print(ctx, st, q, &out, &notes); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "row,workflow,") || !strings.HasPrefix(lines[1], "workflow,qa,") || !strings.HasPrefix(lines[3], "total,,2,") {
		t.Errorf("csv:\n%s", out.String())
	}
	if !strings.Contains(notes.String(), "warning: 2 of 4 line items") {
		t.Errorf("csv notes: %q", notes.String())
	}
	if err := report.Print(ctx, st, report.Query{From: q.From, To: to, View: "pie", Format: "table"}, &out, &notes); err == nil || !strings.Contains(err.Error(), "unit, breakdown, series, context") {
		t.Errorf("unknown view: %v", err)
	}
}
