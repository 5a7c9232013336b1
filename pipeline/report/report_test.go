package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/store"
)

var sample = []store.UnitEconomics{
	{Workflow: "qa", Workflows: 3, Completed: 2, ValidatedOutputs: 4, Exceptions: 1, Cost: 3_000_000_001, ExceptionCost: 2_000_000_000, ReviewCost: 1_500_000_000},
	{Workflow: "triage", Workflows: 1, Completed: 0, ValidatedOutputs: 0, Cost: 7, UnpricedLines: 2},
}

func TestRowsDivideExactly(t *testing.T) {
	t.Parallel()
	rows := report.Rows(sample)
	if len(rows) != 3 || rows[2].Workflow != "TOTAL" {
		t.Fatalf("rows %+v", rows)
	}
	qa := rows[0]
	// 3000000001 / 2 = 1500000000.5 -> 1500000001; / 4 = 750000000.25 -> 750000000
	if *qa.PerCompletedNano != 1_500_000_001 || *qa.PerValidatedNano != 750_000_000 || *qa.PerExceptionNano != 2_000_000_000 {
		t.Errorf("qa ratios %d %d %d", *qa.PerCompletedNano, *qa.PerValidatedNano, *qa.PerExceptionNano)
	}
	// 1.5 / 3.000000001 = 49.99999998% -> 5000 bp
	if qa.ReviewShareBP != 5000 {
		t.Errorf("review share %d bp", qa.ReviewShareBP)
	}
	if tr := rows[1]; tr.PerCompletedNano != nil || tr.PerValidatedNano != nil || tr.PerExceptionNano != nil {
		t.Errorf("ratios over zero must be absent, got %+v", tr)
	}
	if tot := rows[2]; tot.Workflows != 4 || tot.CostNano != 3_000_000_008 || tot.UnpricedLines != 2 || *tot.PerCompletedNano != 1_500_000_004 {
		t.Errorf("total %+v", tot)
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	rows := report.Rows(sample)
	var b bytes.Buffer
	if err := report.WriteJSON(&b, report.NewUnitEconomicsDoc(time.Unix(0, 0), time.Unix(3600, 0), "line_items", sample)); err != nil {
		t.Fatal(err)
	}
	var back report.UnitEconomicsDoc
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Rows) != 2 || back.Rows[0].CostNano != 3_000_000_001 ||
		back.Rows[0].CostUSD != "3.000000001" || *back.Rows[0].PerCompletedUSD != "1.500000001" || back.Rows[1].PerCompletedUSD != nil ||
		back.Total.CostNano != 3_000_000_008 || back.Currency != "USD" {
		t.Fatalf("json round trip: %v %+v", err, back)
	}
	if !strings.Contains(b.String(), `"cost_per_completed_nano": null`) {
		t.Errorf("an undefined ratio must be null:\n%s", b.String())
	}
	b.Reset()
	if err := report.Write(&b, rows, "json"); err == nil {
		t.Error("Write json must point to WriteJSON (one shape for the CLI and the API)")
	}
	b.Reset()
	report.Write(&b, rows, "csv")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || lines[1] != "workflow,qa,3,2,4,1,3.000000001,1.500000001,0.750000000,2.000000000,1.500000000,50.00,0" ||
		!strings.HasPrefix(lines[3], "total,,4,") {
		t.Fatalf("csv:\n%s", b.String())
	}
	b.Reset()
	report.Write(&b, rows, "table")
	if !strings.Contains(b.String(), "$1.500000") || !strings.Contains(b.String(), "50.00%") {
		t.Fatalf("table:\n%s", b.String())
	}
	if err := report.Write(&b, rows, "xml"); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestContextShare(t *testing.T) {
	t.Parallel()
	rows := report.ContextRows([]store.ContextShare{{Workflow: "rag", Calls: 2, System: 100, Context: 600, History: 200, User: 50, Other: 50, Mix: 1000},
		{Workflow: "none"}})
	if rows[0].ContextShareBP != 6000 || rows[1].ContextShareBP != 0 {
		t.Fatalf("%+v", rows)
	}
	var b bytes.Buffer
	report.WriteContext(&b, rows, "csv")
	if !strings.Contains(b.String(), "rag,2,100,600,200,50,50,60.00") {
		t.Fatalf("csv:\n%s", b.String())
	}
}
