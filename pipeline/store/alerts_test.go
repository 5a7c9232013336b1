package store_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/store"
)

// The alert history (migration 0009) keeps one reading per alert and hour, the newest
// evaluation's, and one row per transition however often each is written (every
// evaluation of an hour, a restart re-sending what it had not confirmed, a replay); each
// tenant reads its own alerts only, and a rule over all tenants is an admin's alone. On one
// server and on the two-server cluster, sharded and replicated, written through one server
// and read through the other.
func TestAlertHistoryIsIdempotentAndTenantScoped(t *testing.T) {
	for _, c := range []struct{ name, cluster, path string }{
		{"single", "", ""},
		{"sharded", "unitcost_shards", ""},
		{"replicated", "unitcost_ha", "/clickhouse/tables/ha/{db}/{table}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w, r *store.Store
			if c.cluster == "" {
				w = testenv.ClickHouse(t)
				r = w
			} else {
				nodes := testenv.Cluster(t, c.cluster, c.path)
				w, r = nodes[0], nodes[1]
			}
			ctx := context.Background()
			hour := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
			reading := func(tenant, key, workflow string, evaluated time.Time, current float64) store.AlertReading {
				return store.AlertReading{Tenant: tenant, Key: key, Bucket: evaluated.Truncate(time.Hour), EvaluatedAt: evaluated, Rule: "cpc",
					Metric: "cost_per_completed", Workflow: workflow, Usable: true, Current: current, Baseline: 0.25, Spread: 0.01,
					BandLow: 0.2, BandHigh: 0.3, DeviationPct: 100 * (current - 0.25) / 0.25, Samples: 40, BaselineHours: 24, Method: "median_mad"}
			}
			// the same hour evaluated three times (the third after a "restart", written twice),
			// the next hour once; another tenant's alert; a rule over every tenant
			writes := [][]store.AlertReading{
				{reading("acme", "cpc/qa", "qa", hour.Add(time.Minute), 0.26)},
				{reading("acme", "cpc/qa", "qa", hour.Add(30*time.Minute), 0.27)},
				{reading("acme", "cpc/qa", "qa", hour.Add(59*time.Minute), 0.31), reading("globex", "cpc/qa", "qa", hour.Add(59*time.Minute), 9)},
				{reading("acme", "cpc/qa", "qa", hour.Add(59*time.Minute), 0.31), reading("", "all", "", hour.Add(59*time.Minute), 1)},
				{reading("acme", "cpc/qa", "qa", hour.Add(time.Hour+59*time.Minute), 0.25)},
			}
			for _, rs := range writes {
				if err := w.WriteAlertReadings(ctx, rs); err != nil {
					t.Fatal(err)
				}
			}
			firing := store.AlertEvent{Tenant: "acme", Key: "cpc/qa", StartsAt: hour.Add(59 * time.Minute), Status: "firing", At: hour.Add(59 * time.Minute),
				Bucket: hour, Rule: "cpc", Metric: "cost_per_completed", Workflow: "qa", Severity: "warning", Current: 0.31, Baseline: 0.25,
				Spread: 0.01, BandLow: 0.2, BandHigh: 0.3, DeviationPct: math.Inf(1), Samples: 40, Summary: "cpc: rose", Explanation: "model_tokens moved most"}
			resolved := firing
			resolved.Status, resolved.At, resolved.Bucket, resolved.Current = "resolved", hour.Add(time.Hour+59*time.Minute), hour.Add(time.Hour), 0.25
			other := firing
			other.Tenant, other.Current = "globex", 9
			for _, es := range [][]store.AlertEvent{{firing}, {firing, other}, {resolved}, {firing, resolved}} {
				if err := w.WriteAlertEvents(ctx, es); err != nil {
					t.Fatal(err)
				}
			}
			if c.path != "" { // the other replica has fetched every part written through the first
				for _, table := range []string{"alert_readings_local", "alert_events_local"} {
					if err := r.Conn().Exec(ctx, "SYSTEM SYNC REPLICA "+r.Database()+"."+table); err != nil {
						t.Fatal(err)
					}
				}
			}
			from, to := hour.Add(-time.Hour), hour.Add(3*time.Hour)
			got, err := r.AlertReadings(ctx, from, to, store.AlertFilter{Tenant: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			want := []store.AlertReading{reading("acme", "cpc/qa", "qa", hour.Add(59*time.Minute), 0.31), reading("acme", "cpc/qa", "qa", hour.Add(time.Hour+59*time.Minute), 0.25)}
			if len(got) != len(want) {
				t.Fatalf("acme readings %+v, want %+v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("acme reading %d\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
			if all, err := r.AlertReadings(ctx, from, to, store.AlertFilter{}); err != nil || len(all) != 4 {
				t.Errorf("admin reads %d readings (%v), want 4", len(all), err)
			}
			if g, err := r.AlertReadings(ctx, from, to, store.AlertFilter{Tenant: "globex", Workflow: "qa", Metric: "cost_per_completed"}); err != nil || len(g) != 1 || g[0].Current != 9 {
				t.Errorf("globex reads %+v (%v)", g, err)
			}
			evs, err := r.AlertEvents(ctx, from, to, store.AlertFilter{Tenant: "acme", Workflow: "qa"})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 2 || evs[0] != firing || evs[1] != resolved {
				t.Fatalf("acme events\n got %+v\nwant %+v", evs, []store.AlertEvent{firing, resolved})
			}
			if evs, err := r.AlertEvents(ctx, from, to, store.AlertFilter{Workflow: "nope"}); err != nil || len(evs) != 0 {
				t.Errorf("events of another workflow: %+v (%v)", evs, err)
			}
			if evs, err := r.AlertEvents(ctx, from, to, store.AlertFilter{}); err != nil || len(evs) != 3 {
				t.Errorf("admin reads %d events (%v), want 3", len(evs), err)
			}
		})
	}
}
