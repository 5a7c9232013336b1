package store

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// localAlterRe matches the ALTER of a Replicated data table that ClusterStatements writes.
var localAlterRe = regexp.MustCompile(`(?s)^ALTER TABLE (\w+\.\w+_local) ON CLUSTER (\w+) (.*)$`)

// execMigration runs one migration statement. On a cluster, the ALTER of a Replicated
// table is not sent ON CLUSTER: ClickHouse 18.16's DDL worker can run it on two replicas
// of one shard, fail on the second ("column already exists", since replication got there
// first), and then stop serving the cluster's DDL queue on that server ("Node exists" on
// the task's executed marker), so every later ON CLUSTER statement times out. Instead the
// ALTER runs directly on the first replica of each shard; replication carries it to the
// shard's other replicas, and a Replicated ALTER waits for them.
func (s *Store) execMigration(ctx context.Context, st string) error {
	m := localAlterRe.FindStringSubmatch(st)
	if s.cfg.Cluster == "" || m == nil {
		return s.conn.Exec(ctx, st)
	}
	table, cluster, change := m[1], m[2], m[3]
	hosts, err := s.shardFirstReplicas(ctx, cluster)
	if err != nil {
		return err
	}
	tc, err := s.cfg.TLS.Load()
	if err != nil {
		return fmt.Errorf("clickhouse tls: %w", err)
	}
	for _, h := range hosts {
		conn, err := clickhouse.Open(&clickhouse.Options{
			Addr:        []string{h},
			Auth:        clickhouse.Auth{Username: s.cfg.Username, Password: s.cfg.Password},
			TLS:         tc,
			DialTimeout: s.cfg.DialTimeout,
		})
		if err != nil {
			return fmt.Errorf("open cluster %s server %s to alter %s: %w", cluster, h, table, err)
		}
		err = conn.Exec(ctx, "ALTER TABLE "+table+" "+change)
		conn.Close()
		if err != nil {
			return fmt.Errorf("alter %s on cluster %s server %s (every server of the cluster must be reachable from here at the address system.clusters gives): %w", table, cluster, h, err)
		}
	}
	return nil
}

// shardFirstReplicas lists host:port of the first replica of each shard of cluster.
func (s *Store) shardFirstReplicas(ctx context.Context, cluster string) ([]string, error) {
	rows, err := s.conn.Query(ctx, `SELECT host_address, port FROM system.clusters
WHERE cluster = ? AND replica_num = 1 ORDER BY shard_num`, cluster)
	if err != nil {
		return nil, fmt.Errorf("read cluster %s from system.clusters: %w", cluster, err)
	}
	defer rows.Close()
	var hosts []string
	for rows.Next() {
		var host string
		var port uint16
		if err := rows.Scan(&host, &port); err != nil {
			return nil, fmt.Errorf("read cluster %s from system.clusters: %w", cluster, err)
		}
		hosts = append(hosts, net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cluster %s from system.clusters: %w", cluster, err)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("cluster %s is not in system.clusters of %v: check clickhouse.cluster", cluster, s.cfg.Addr)
	}
	return hosts, nil
}
