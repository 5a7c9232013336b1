package grafana_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/unitcost/unitcost/deploy/grafana"
	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// dashboards/unitcost.json is what Build makes (UNITCOST_UPDATE=1 rewrites it).
func TestDashboardUpToDate(t *testing.T) {
	t.Parallel()
	got, err := grafana.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UNITCOST_UPDATE") == "1" {
		if err := os.WriteFile("dashboards/unitcost.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("dashboards/unitcost.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("dashboards/unitcost.json differs from grafana.Build(): run UNITCOST_UPDATE=1 go test ./deploy/grafana")
	}
	if n := bytes.Count(got, []byte(`"rawSql"`)); n != 7 {
		t.Errorf("%d panel and annotation queries, want 7", n)
	}
}

// Every panel's SQL runs on ClickHouse 18.16 against the schema, with the plugin's time
// macros expanded as the plugin does, and adds up to what was written.
func TestPanelSQLOnClickHouse(t *testing.T) {
	st := testenv.ClickHouse(t)
	ctx := context.Background()
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Hour).Add(10 * time.Minute)
	root, call := &pipeline.Span{Tenant: "acme", StartUnixNano: start.UnixNano()}, &pipeline.Span{Tenant: "acme", StartUnixNano: start.UnixNano()}
	root.TraceID[0], root.SpanID[7], call.TraceID[0], call.SpanID[7], call.ParentSpanID[7] = 9, 1, 9, 2, 1
	root.EndUnixNano, call.EndUnixNano, call.Model = root.StartUnixNano+1e9, call.StartUnixNano+1e9, "gpt-x"
	b := pipeline.Batch{
		Workflows: []pipeline.Workflow{{ID: root.TraceID.String(), TraceID: root.TraceID, Tenant: "acme", Name: "qa", Outcome: "completed",
			ValidatedOutputs: 1, StartUnixNano: root.StartUnixNano, EndUnixNano: root.EndUnixNano}},
		LineItems: []pipeline.LineItem{{Span: call, WorkflowID: root.TraceID.String(), Component: pipeline.ComponentModel, Cost: 2_500_000_000, Priced: true}},
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RefreshRollups(ctx, 0); err != nil {
		t.Fatal(err)
	}
	at := start.Add(49 * time.Minute)
	if err := st.WriteAlertEvents(ctx, []store.AlertEvent{{Tenant: "acme", Key: "cpc/qa", StartsAt: at, Status: "firing", At: at, Bucket: at.Truncate(time.Hour),
		Rule: "cpc", Metric: "cost_per_completed", Workflow: "qa", Severity: "warning", Current: 2.5, Baseline: 1.25, BandHigh: 1.875, DeviationPct: 100,
		Samples: 30, Summary: "cpc rose"}}); err != nil {
		t.Fatal(err)
	}
	// the band: the first rule (by key) over every tenant on each type, its usable hours; not
	// a tenant's rule, a later rule, an unusable hour or another metric
	h := start.Truncate(time.Hour)
	reading := func(tenant, key, metric string, usable bool, lo, hi float64) store.AlertReading {
		return store.AlertReading{Tenant: tenant, Key: key, Bucket: h, EvaluatedAt: at, Rule: key, Metric: metric, Workflow: "qa", Usable: usable,
			Current: 2.5, Baseline: (lo + hi) / 2, BandLow: lo, BandHigh: hi, Samples: 1, BaselineHours: 6, Method: "median_mad"}
	}
	bandRows := []store.AlertReading{reading("", "a-fleet/qa", "cost_per_completed", true, 1.125, 1.875), reading("", "b-fleet/qa", "cost_per_completed", true, 7, 8),
		reading("acme", "a-acme/qa", "cost_per_completed", true, 5, 6), reading("", "a-share/qa", "review_share", true, 0.1, 0.2)}
	unusable := reading("", "a-fleet/qa", "cost_per_completed", false, 9, 9)
	unusable.Bucket = h.Add(-time.Hour)
	if err := st.WriteAlertReadings(ctx, append(bandRows, unusable)); err != nil {
		t.Fatal(err)
	}
	from, to := time.Now().Add(-24*time.Hour).UTC().Format("2006-01-02 15:04:05"), time.Now().Add(time.Hour).UTC().Format("2006-01-02 15:04:05")
	names, _ := fs.Glob(grafana.SQL, "sql/*.sql")
	if len(names) != 7 {
		t.Fatalf("panel queries %v", names)
	}
	for _, n := range names {
		raw, _ := grafana.SQL.ReadFile(n)
		q := strings.NewReplacer("$__fromTime", "toDateTime('"+from+"')", "$__toTime", "toDateTime('"+to+"')", "unitcost.", st.Database()+".").Replace(string(raw))
		rows, err := st.Conn().Query(ctx, q)
		if err != nil {
			t.Errorf("%s on ClickHouse 18.16: %v", n, err)
			continue
		}
		var got []string
		for rows.Next() {
			ptrs := scanTargets(rows.ColumnTypes())
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			got = append(got, render(ptrs))
		}
		rows.Close()
		want := map[string]string{
			"sql/unit_cost.sql":      "qa 2.5",
			"sql/composition.sql":    "model_tokens 2.5",
			"sql/shares.sql":         "0 0",
			"sql/top_workflows.sql":  root.TraceID.String() + " qa acme completed 1 2.5",
			"sql/alerts.sql":         "firing cpc acme qa cost_per_completed 2.5 1.25 1.875 100 cpc rose",
			"sql/unit_cost_band.sql": "qa 1.125 1.875",
			"sql/alert_markers.sql":  "firing: cpc rose [firing cpc acme qa]",
		}[n]
		if len(got) != 1 || !strings.HasSuffix(got[0], want) {
			t.Errorf("%s: rows %q, want one ending %q", n, got, want)
		}
	}
}

func scanTargets(cts []driver.ColumnType) []any {
	out := make([]any, len(cts))
	for i, ct := range cts {
		out[i] = reflect.New(ct.ScanType()).Interface()
	}
	return out
}

// render joins the values but times (which depend on the clock), floats rounded to 6 places.
func render(ptrs []any) string {
	var parts []string
	for _, p := range ptrs {
		v := reflect.ValueOf(p).Elem().Interface()
		switch x := v.(type) {
		case time.Time:
			continue
		case float64:
			parts = append(parts, strconv.FormatFloat(math.Round(x*1e6)/1e6, 'f', -1, 64))
		default:
			parts = append(parts, fmt.Sprint(x))
		}
	}
	return strings.Join(parts, " ")
}
