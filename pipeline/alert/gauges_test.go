package alert_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/alert"
	"github.com/unitcost/unitcost/pipeline/store"
)

type fakeSeries []store.SeriesPoint

func (f fakeSeries) Series(context.Context, time.Time, time.Time, string, store.SeriesFilter) ([]store.SeriesPoint, error) {
	return f, nil
}

func (f fakeSeries) BreakdownRollups(context.Context, string, time.Time, time.Time, store.SeriesFilter) ([]store.BreakdownRow, error) {
	return nil, nil
}

func (f fakeSeries) SeriesCosts(context.Context, time.Time, time.Time, string, store.SeriesFilter) ([]store.CostPoint, error) {
	return nil, nil
}

// The gauges use one unit per metric name, and the workflow label is bounded: the most
// expensive metrics_max_workflows types get their own series, the rest add up in _other.
func TestGaugesBoundWorkflowLabel(t *testing.T) {
	t.Parallel()
	var pts fakeSeries
	for i := 1; i <= 25; i++ {
		pts = append(pts, store.SeriesPoint{UnitEconomics: store.UnitEconomics{Workflow: fmt.Sprintf("span-name-%02d", i), Workflows: 1, Completed: 1,
			ValidatedOutputs: 1, Cost: pipeline.Money(i) * 1_000_000_000}, LineItems: 1})
	}
	rules, err := alert.ParseRules([]byte("state_file: /nonexistent/x.json\nmetrics_max_workflows: 3\nrules: [{name: r, metric: review_share}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	e, err := alert.New(rules, pts, reg, nil, alert.Fresh())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.UpdateGauges(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "unitcost_cost_per_completed_workflow_dollars"); n != 5 { // 3 + _other + _all
		t.Errorf("%d series, want 5", n)
	}
	want := `
# HELP unitcost_cost_dollars Cost of the workflows started in the metrics window, by workflow type.
# TYPE unitcost_cost_dollars gauge
unitcost_cost_dollars{workflow="_all"} 325
unitcost_cost_dollars{workflow="_other"} 253
unitcost_cost_dollars{workflow="span-name-23"} 23
unitcost_cost_dollars{workflow="span-name-24"} 24
unitcost_cost_dollars{workflow="span-name-25"} 25
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "unitcost_cost_dollars"); err != nil {
		t.Error(err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "metric" {
					t.Errorf("%s still has a metric label", mf.GetName())
				}
			}
		}
	}
}
