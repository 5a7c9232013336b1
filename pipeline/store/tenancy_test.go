package store_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

var day1 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Two authenticated tenants writing the same trace, span and workflow ids keep two sets of
// rows: neither replaces the other's, each tenant's reads see only its own, and an
// unrestricted read sees both.
func TestTenantsWithTheSameIdsKeepTheirOwnRows(t *testing.T) {
	s := testenv.ClickHouse(t)
	ctx := context.Background()
	batch := func(tenant string, cost pipeline.Money, outcome string) pipeline.Batch {
		root := span(9, 1, 0)
		call := span(9, 2, 1)
		root.AuthTenant, root.Tenant, call.AuthTenant, call.Tenant = tenant, tenant, tenant, tenant
		wid := root.TraceID.String()
		return pipeline.Batch{
			LineItems: []pipeline.LineItem{{Span: call, WorkflowID: wid, Component: pipeline.ComponentModel, Cost: cost, Priced: true}},
			Workflows: []pipeline.Workflow{{ID: wid, AuthTenant: tenant, Tenant: tenant, TraceID: root.TraceID, RootSpanID: root.SpanID,
				Name: "qa", Outcome: outcome, StartUnixNano: root.StartUnixNano, EndUnixNano: root.EndUnixNano}},
			Issues: []pipeline.SpanIssue{{Span: call, WorkflowID: wid, Issue: "input tokens -1 negative; clamped to 0"}},
		}
	}
	// acme first, then globex with acme's ids (the attack), then acme's replay.
	for _, b := range []pipeline.Batch{batch("acme", 1_000, "completed"), batch("globex", 43_200_000_000_000, "failed"), batch("acme", 1_000, "completed")} {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	wid := span(9, 1, 0).TraceID.String()
	for _, c := range []struct {
		tenant string
		cost   pipeline.Money
		lines  int
	}{{"acme", 1_000, 1}, {"globex", 43_200_000_000_000, 1}, {"", 43_200_000_001_000, 2}} {
		lines, err := s.WorkflowLines(ctx, wid, c.tenant)
		if err != nil {
			t.Fatal(err)
		}
		var sum pipeline.Money
		for _, l := range lines {
			sum += l.Cost
		}
		if len(lines) != c.lines || sum != c.cost {
			t.Errorf("tenant %q: %d lines costing %d, want %d costing %d", c.tenant, len(lines), sum, c.lines, c.cost)
		}
		cost, n, err := s.WorkflowCost(ctx, c.tenant, wid)
		if err != nil || cost != c.cost || n != uint64(c.lines) {
			t.Errorf("tenant %q: workflow cost %d over %d lines (%v), want %d", c.tenant, cost, n, err, c.cost)
		}
	}
	ue, err := s.UnitEconomics(ctx, day1, day1.AddDate(0, 0, 1), "acme")
	want := store.UnitEconomics{Workflow: "qa", Workflows: 1, Completed: 1, Cost: 1_000}
	if err != nil || len(ue) != 1 || ue[0] != want {
		t.Fatalf("acme's unit economics %+v (%v), want %+v", ue, err, want)
	}
	top, err := s.TopWorkflows(ctx, day1, day1.AddDate(0, 0, 1), "globex", 10)
	if err != nil || len(top) != 1 || top[0].Cost != 43_200_000_000_000 || top[0].Tenant != "globex" {
		t.Fatalf("globex's top workflows %+v (%v)", top, err)
	}
	br, err := s.Breakdown(ctx, "tenant", day1, day1.AddDate(0, 0, 1), "")
	if err != nil || len(br) != 2 || br[0].Key != "globex" || br[1].Key != "acme" || br[1].Cost != 1_000 || br[1].LineItems != 1 {
		t.Fatalf("breakdown by tenant %+v (%v)", br, err)
	}
	issues, err := s.SpanIssues(ctx, day1, day1.AddDate(0, 0, 1), "acme")
	if err != nil || len(issues) != 1 || issues[0].Spans != 1 {
		t.Fatalf("acme's span issues %+v (%v)", issues, err)
	}
	wfs, lis, err := s.Counts(ctx)
	if err != nil || wfs != 2 || lis != 2 {
		t.Fatalf("%d workflows and %d line items (%v), want 2 and 2", wfs, lis, err)
	}
}

// Migration 0007 re-keys line_items, workflows and span_issues with the authenticated
// tenant; rows written before it keep their figures and get their workflow's tenant
// (else their own label), on one server and on a cluster.
func TestMigration0007KeepsEarlierRows(t *testing.T) {
	for _, c := range []struct{ name, cluster string }{{"single", ""}, {"cluster", "unitcost_shards"}} {
		t.Run(c.name, func(t *testing.T) {
			addrs := []string{testenv.ClickHouseAddr(t)}
			if c.cluster != "" {
				addrs = testenv.ClusterNodes[:1]
			}
			ctx := context.Background()
			db := fmt.Sprintf("unitcost_m7_%d", time.Now().UnixNano()%1e9)
			s, err := store.Open(ctx, store.Config{Addr: addrs, Database: db, Username: "default", Cluster: c.cluster,
				ReplicaPath: "/clickhouse/tables/{shard}/{db}/{table}"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				drop := "DROP DATABASE IF EXISTS " + db
				if c.cluster != "" {
					drop += " ON CLUSTER " + c.cluster
				}
				s.Conn().Exec(context.Background(), drop)
				s.Close()
			})
			if _, err := s.MigrateTo(ctx, 6); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
			local := "" // 18.16's Distributed tables take no partial column list: write one shard
			if c.cluster != "" {
				local = "_local"
			}
			b, err := s.Conn().PrepareBatch(ctx, "INSERT INTO "+db+".workflows"+local+" (tenant, day, start_time, end_time, workflow_id, trace_id, root_span_id, name, outcome, version)")
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Append("acme", at, at, at, "old1", "old1", "00000000000000f1", "qa", "completed", uint64(1)); err != nil {
				t.Fatal(err)
			}
			if err := b.Send(); err != nil {
				t.Fatal(err)
			}
			b, err = s.Conn().PrepareBatch(ctx, "INSERT INTO "+db+".line_items"+local+" (tenant, day, start_time, trace_id, span_id, workflow_id, component, cost_nano, priced, version)")
			if err != nil {
				t.Fatal(err)
			}
			// acme's own line; a late line stored as 'default' (its root was not remembered);
			// globex's line of a workflow not written yet.
			for _, r := range [][3]string{{"acme", "00000000000000f1", "old1"}, {"default", "00000000000000f2", "old1"}, {"globex", "00000000000000f3", "old2"}} {
				if err := b.Append(r[0], at, at, r[2], r[1], r[2], "model_tokens", int64(500), uint8(1), uint64(1)); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Send(); err != nil {
				t.Fatal(err)
			}
			applied, err := s.Migrate(ctx)
			if err != nil || len(applied) == 0 || applied[0] != 7 {
				t.Fatalf("applied %v (%v), want 7 and later", applied, err)
			}
			// (sorted here: 18.16 cannot ORDER BY a FINAL read of a Distributed table)
			rows, err := s.Conn().Query(ctx, "SELECT span_id, tenant, auth_tenant FROM "+db+".line_items FINAL")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var span, tenant, auth string
				if err := rows.Scan(&span, &tenant, &auth); err != nil {
					t.Fatal(err)
				}
				got = append(got, span[14:]+":"+tenant+":"+auth)
			}
			rows.Close()
			sort.Strings(got)
			if fmt.Sprint(got) != "[f1:acme:acme f2:default:acme f3:globex:globex]" {
				t.Fatalf("line items after 0007: %v", got)
			}
			cost, n, err := s.WorkflowCost(ctx, "acme", "old1")
			if err != nil || cost != 1_000 || n != 2 {
				t.Fatalf("acme's old workflow costs %d over %d lines (%v), want 1000 over 2", cost, n, err)
			}
		})
	}
}
