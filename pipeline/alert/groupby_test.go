package alert_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/alert"
	"github.com/unitcost/unitcost/pipeline/store"
)

// tenantSeries holds each tenant's hourly points; like the store, a filter with tenant ""
// reads every tenant's.
type tenantSeries map[string][]store.SeriesPoint

func (f tenantSeries) Series(_ context.Context, _, _ time.Time, _ string, sf store.SeriesFilter) ([]store.SeriesPoint, error) {
	var out []store.SeriesPoint
	for t, pts := range f {
		if sf.Tenant != "" && sf.Tenant != t {
			continue
		}
		for _, p := range pts {
			if sf.Workflow == "" || sf.Workflow == p.Workflow {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func (f tenantSeries) BreakdownRollups(_ context.Context, dim string, _, _ time.Time, _ store.SeriesFilter) ([]store.BreakdownRow, error) {
	var out []store.BreakdownRow
	for t := range f {
		out = append(out, store.BreakdownRow{Key: t})
	}
	return out, nil
}

func (f tenantSeries) SeriesCosts(context.Context, time.Time, time.Time, string, store.SeriesFilter) ([]store.CostPoint, error) {
	return nil, nil
}

// hours gives 8 baseline hours at $1 per completed workflow and the current hour at
// cur dollars per completed workflow (10 completed each hour).
func hoursOf(workflow string, now time.Time, cur pipeline.Money) []store.SeriesPoint {
	var pts []store.SeriesPoint
	h := now.Truncate(time.Hour)
	for i := 8; i >= 0; i-- {
		cost := pipeline.Money(10) * 1_000_000_000
		if i == 0 {
			cost = 10 * cur * 1_000_000_000
		}
		pts = append(pts, store.SeriesPoint{Bucket: h.Add(-time.Duration(i) * time.Hour),
			UnitEconomics: store.UnitEconomics{Workflow: workflow, Workflows: 10, Completed: 10, Cost: cost}, LineItems: 10})
	}
	return pts
}

func groupedKeys(t *testing.T, src tenantSeries, groupBy string, now time.Time) (readings, firing []string) {
	t.Helper()
	rules, err := alert.ParseRules([]byte("state_file: /nonexistent/x.json\nrules: [{name: r, metric: cost_per_completed, group_by: \"" + groupBy +
		"\", min_samples: 5, min_baseline_hours: 4}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := alert.New(rules, src, nil, nil, alert.Fresh())
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := e.Evaluate(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	for _, rd := range e.LastReadings() {
		readings = append(readings, rd.Key+"@"+rd.Scope.Tenant)
	}
	for _, a := range alerts {
		firing = append(firing, a.Key)
	}
	sort.Strings(readings)
	sort.Strings(firing)
	return readings, firing
}

// Grouped by tenant, untenanted lines are no group: scope tenant "" would read every
// tenant's data, so tenant A's drift fired both r/A and r/.
func TestGroupByTenantSkipsUntenanted(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	src := tenantSeries{"A": hoursOf("w", now, 5), "": hoursOf("w", now, 1)}
	readings, firing := groupedKeys(t, src, "tenant", now)
	if strings.Join(readings, " ") != "r/A@A" {
		t.Errorf("readings %q, want only r/A@A", readings)
	}
	if strings.Join(firing, " ") != "r/A" {
		t.Errorf("firing %q, want only r/A", firing)
	}
}

// A "/" in a tenant is escaped in the key, so tenant "a/b" workflow "c" and tenant "a"
// workflow "b/c" are two alerts, not one key written by both.
func TestGroupByTenantWorkflowKeysDistinct(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	src := tenantSeries{"a/b": hoursOf("c", now, 5), "a": hoursOf("b/c", now, 1), "x%2Fy": hoursOf("c", now, 1)}
	readings, firing := groupedKeys(t, src, "tenant,workflow", now)
	if got, want := strings.Join(readings, " "), "r/a%2Fb/c@a/b r/a/b/c@a r/x%252Fy/c@x%2Fy"; got != want {
		t.Errorf("readings %q, want %q", got, want)
	}
	if strings.Join(firing, " ") != "r/a%2Fb/c" {
		t.Errorf("firing %q, want only r/a%%2Fb/c", firing)
	}
}
