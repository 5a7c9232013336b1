package alert

import (
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

// A stored reading carries its whole scope: the filter read back from the row is the one
// the engine read the rollups with, so the daily band weighs each hour over the same
// population (pipeline/report).
func TestStoredReadingKeepsItsScope(t *testing.T) {
	t.Parallel()
	sc := Scope{Tenant: "acme", Workflow: "rag_qa", WorkflowVersion: "v2", Model: "gpt-4o", Team: "payments", Service: "api", Environment: "prod"}
	row := readingRow(Reading{Key: "k", Rule: "k", Metric: CostPerCompleted, Scope: sc}, time.Date(2026, 11, 30, 10, 30, 0, 0, time.UTC))
	if got, want := row.Filter(), sc.filter(); got != want {
		t.Fatalf("stored reading's filter %+v, the engine's %+v", got, want)
	}
	if got := (store.AlertReading{Tenant: "t"}).Filter(); got != (store.SeriesFilter{Tenant: "t"}) {
		t.Fatalf("unscoped: %+v", got)
	}
}
