package store

import (
	"fmt"
	"regexp"
	"strings"
)

// The cluster variant of the schema. With clickhouse.cluster set, every table of the
// single-node schema becomes two, created ON CLUSTER:
//
//   - NAME_local, the data, on every server: its engine made Replicated (ZooKeeper path
//     clickhouse.replica_path, replica name the server's {replica} macro);
//   - NAME, a Distributed table over NAME_local on the cluster, under the name the
//     queries use, sharded so that rows that replace one another live on one shard (the
//     dedup keys: line_items and span_issues by trace_id, workflows by workflow_id, the
//     alert history by alert_key), which keeps FINAL exact per shard.
//
// Queries then make their JOINs and IN subqueries GLOBAL (they run once and are broadcast
// to the shards, so joins across shards are complete; see Globalize) and connections set
// insert_distributed_sync = 1 (an insert returns once every shard has its rows, so Kafka
// offsets are still committed only after the data is durable).

// shardKeys are the Distributed sharding keys; other tables spread at random.
var shardKeys = map[string]string{
	"line_items":  "cityHash64(trace_id)",
	"span_issues": "cityHash64(trace_id)",
	"workflows":   "cityHash64(workflow_id)",
	// an alert's rows replace one another (hour by hour, transition by transition)
	"alert_readings": "cityHash64(alert_key)",
	"alert_events":   "cityHash64(alert_key)",
}

var (
	createRe = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS (\w+)\.(\w+)\s*(\(.*\))\s*ENGINE = (\w+)(?:\(([^)]*)\))?(.*)$`)
	alterRe  = regexp.MustCompile(`(?s)^ALTER TABLE (\w+)\.(\w+) (.*)$`)
	renameRe = regexp.MustCompile(`(?s)^RENAME TABLE (.*)$`)
	pairRe   = regexp.MustCompile(`^(\w+)\.(\w+)\s+TO\s+(\w+)\.(\w+)$`)
	dropRe   = regexp.MustCompile(`^DROP TABLE IF EXISTS (\w+)\.(\w+)$`)
	insertRe = regexp.MustCompile(`(?s)^INSERT INTO \w+\.\w+ .*SELECT\b`)
)

// stripComments drops the leading comment lines of a statement.
func stripComments(st string) string {
	lines := strings.Split(st, "\n")
	for len(lines) > 0 && (strings.HasPrefix(strings.TrimSpace(lines[0]), "--") || strings.TrimSpace(lines[0]) == "") {
		lines = lines[1:]
	}
	return strings.Join(lines, "\n")
}

// ClusterStatements rewrites one single-node statement for cluster (see above).
// replicaPath may use {db} and {table} (substituted here) and the servers' macros such as
// {shard}.
func ClusterStatements(st, cluster, replicaPath string) ([]string, error) {
	body := stripComments(st)
	if m := createRe.FindStringSubmatch(body); m != nil {
		db, table, cols, engine, args, rest := m[1], m[2], m[3], m[4], m[5], m[6]
		path := strings.NewReplacer("{db}", db, "{table}", table).Replace(replicaPath)
		repl := fmt.Sprintf("'%s', '{replica}'", path)
		if strings.TrimSpace(args) != "" {
			repl += ", " + args
		}
		local := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s_local ON CLUSTER %s\n%s\nENGINE = Replicated%s(%s)%s",
			db, table, cluster, cols, engine, repl, rest)
		return []string{local, distributed(db, table, cluster)}, nil
	}
	if m := alterRe.FindStringSubmatch(body); m != nil {
		// A Distributed table cannot be altered ON CLUSTER when shards replicate
		// internally; it holds no data, so it is created again over the altered table.
		db, table, change := m[1], m[2], m[3]
		return []string{
			fmt.Sprintf("ALTER TABLE %s.%s_local ON CLUSTER %s %s", db, table, cluster, change),
			fmt.Sprintf("DROP TABLE IF EXISTS %s.%s ON CLUSTER %s", db, table, cluster),
			distributed(db, table, cluster),
		}, nil
	}
	if m := renameRe.FindStringSubmatch(body); m != nil {
		// The data tables are renamed ON CLUSTER; the Distributed tables over them are
		// dropped and created again under the new names (they hold no data).
		var local, drops, creates []string
		for _, pair := range strings.Split(m[1], ",") {
			p := pairRe.FindStringSubmatch(strings.TrimSpace(pair))
			if p == nil {
				return nil, fmt.Errorf("cannot make a cluster variant of the rename %q", strings.TrimSpace(pair))
			}
			local = append(local, fmt.Sprintf("%s.%s_local TO %s.%s_local", p[1], p[2], p[3], p[4]))
			drops = append(drops, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s ON CLUSTER %s", p[1], p[2], cluster))
			creates = append(creates, distributed(p[3], p[4], cluster))
		}
		out := append([]string{"RENAME TABLE " + strings.Join(local, ", ") + " ON CLUSTER " + cluster}, drops...)
		return append(out, creates...), nil
	}
	if m := dropRe.FindStringSubmatch(strings.TrimSpace(body)); m != nil {
		return []string{
			fmt.Sprintf("DROP TABLE IF EXISTS %s.%s ON CLUSTER %s", m[1], m[2], cluster),
			fmt.Sprintf("DROP TABLE IF EXISTS %s.%s_local ON CLUSTER %s", m[1], m[2], cluster),
		}, nil
	}
	if insertRe.MatchString(body) {
		// A copy between tables runs through the Distributed tables (every shard's rows,
		// written to the shard of their dedup key); its joins must be GLOBAL.
		return []string{Globalize(body)}, nil
	}
	return nil, fmt.Errorf("cannot make a cluster variant of: %.80s", body)
}

// distributed creates the Distributed table NAME over NAME_local.
func distributed(db, table, cluster string) string {
	key := shardKeys[table]
	if key == "" {
		key = "rand()"
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s ON CLUSTER %s AS %s.%s_local ENGINE = Distributed(%s, %s, %s_local, %s)",
		db, table, cluster, db, table, cluster, db, table, key)
}

// localTable is the table a mutation must name: NAME_local ON CLUSTER on a cluster.
func (s *Store) localTable(name string) string {
	if s.cfg.Cluster == "" {
		return s.cfg.Database + "." + name
	}
	return s.cfg.Database + "." + name + "_local ON CLUSTER " + s.cfg.Cluster
}

var (
	joinRe = regexp.MustCompile(`\b(ANY|ALL) (LEFT|INNER) JOIN\b`)
	inRe   = regexp.MustCompile(`\bIN\s*\(\s*SELECT\b`)
)

// Globalize makes a shipped query's JOINs and IN subqueries GLOBAL, so that on a cluster
// they run once on the server that received the query and are sent to every shard:
// with each shard alone, a join of line items to workflows on other shards would miss
// rows. (distributed_product_mode = 'global' would do the same, but 18.16's native
// protocol takes only numeric settings from clickhouse-go.)
func Globalize(q string) string {
	q = joinRe.ReplaceAllString(q, "GLOBAL $1 $2 JOIN")
	return inRe.ReplaceAllStringFunc(q, func(m string) string { return "GLOBAL " + m })
}

// query returns a shipped query for this store: {db} filled in, and made GLOBAL on a cluster.
func (s *Store) query(name string) (string, error) {
	q, err := Query(name, s.cfg.Database)
	if err != nil || s.cfg.Cluster == "" {
		return q, err
	}
	return Globalize(q), nil
}
