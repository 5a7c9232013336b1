package stack_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/loadgen"
)

// The cluster variant of the schema on two real ClickHouse servers and ZooKeeper
// (deploy/local/cluster.sh): unitcost writes through one server and every figure read
// through the other equals the ground truth, under shuffled and duplicated delivery -
// with the servers replicating each other (one shard, two replicas), and with the rows
// split between them (two shards), where a duplicate must land on its original's shard.
func TestClusterVariant(t *testing.T) {
	for _, c := range []struct{ name, cluster, path string }{
		{"replicated", "unitcost_ha", "/clickhouse/tables/ha/{db}/{table}"},
		{"sharded", "unitcost_shards", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			nodes := testenv.Cluster(t, c.cluster, c.path)
			cfg := builtinConfig(t, testenv.Kfake(t, 4), nodes[0])
			cfg.ClickHouse = nodes[0].Config()
			startStack(t, cfg)
			ctx := context.Background()
			start := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
			truth := deliverShuffled(t, cfg, 5, loadgen.Config{Seed: 23, Workflows: 200, Start: start})
			waitCounts(t, nodes[1], uint64(len(truth.Workflows)), uint64(truth.LineItems))
			checkTruth(t, nodes[1], truth, start.Add(-time.Minute), time.Now().Add(time.Hour))

			// Superseded rollup builds are deleted by a mutation ON CLUSTER; the figures stay.
			if _, err := nodes[1].RefreshRollups(ctx, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := nodes[1].DropSupersededBuilds(ctx); err != nil {
				t.Fatal(err)
			}
			checkRollups(t, nodes[1], truth, start.Add(-time.Minute), time.Now().Add(time.Hour))

			// The breakdown, top-N and drill-down queries read through the other server too.
			from, to := start.Add(-time.Minute), time.Now().Add(time.Hour)
			byType, err := nodes[1].Breakdown(ctx, "workflow", from, to, "")
			if err != nil {
				t.Fatal(err)
			}
			want := truth.ByType("")
			if len(byType) != len(want) {
				t.Fatalf("breakdown by workflow: %+v", byType)
			}
			for _, r := range byType {
				for _, w := range want {
					if w.Workflow == r.Key && w.Cost != r.Cost {
						t.Errorf("breakdown %s: %d, want %d", r.Key, r.Cost, w.Cost)
					}
				}
			}
			costs := make([]int64, len(truth.Workflows))
			for i, w := range truth.Workflows {
				costs[i] = int64(w.Cost)
			}
			sort.Slice(costs, func(i, j int) bool { return costs[i] > costs[j] })
			top, err := nodes[1].TopWorkflows(ctx, from, to, "", 5)
			if err != nil || len(top) != 5 {
				t.Fatalf("top: %+v %v", top, err)
			}
			for i, w := range top {
				if int64(w.Cost) != costs[i] {
					t.Errorf("top %d: %d, want %d", i, w.Cost, costs[i])
				}
			}
			lines, err := nodes[1].WorkflowLines(ctx, top[0].WorkflowID, top[0].Tenant)
			if err != nil || uint64(len(lines)) != top[0].LineItems {
				t.Fatalf("drill-down: %d lines, want %d (%v)", len(lines), top[0].LineItems, err)
			}

			// Where the rows are: on both servers (replicated), or split (sharded).
			var local [2]uint64
			for i, n := range nodes {
				deadline := time.Now().Add(time.Minute)
				for {
					if err := n.Conn().QueryRow(ctx, "SELECT count() FROM "+n.Database()+".line_items_local FINAL").Scan(&local[i]); err != nil {
						t.Fatal(err)
					}
					if c.name == "sharded" || local[i] == uint64(truth.LineItems) || time.Now().After(deadline) {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
			t.Logf("%d line items; on the servers: %d and %d", truth.LineItems, local[0], local[1])
			switch c.name {
			case "replicated":
				if local[0] != uint64(truth.LineItems) || local[1] != uint64(truth.LineItems) {
					t.Fatalf("replicas hold %d and %d line items, want %d each", local[0], local[1], truth.LineItems)
				}
			case "sharded":
				if local[0] == 0 || local[1] == 0 || local[0]+local[1] != uint64(truth.LineItems) {
					t.Fatalf("shards hold %d + %d line items, want a split of %d", local[0], local[1], truth.LineItems)
				}
			}
		})
	}
}
