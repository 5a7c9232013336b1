// Package store writes priced line items and workflow facts to ClickHouse, applies the
// schema migrations, and runs the shipped queries. It speaks the native protocol through
// clickhouse-go, which works with ClickHouse 18.16 (Debian) and current releases alike:
// every INSERT names its columns, and nothing uses the HTTP interface or async inserts.
package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/unitcost/unitcost/pipeline/tlsconf"
)

// Config is how to reach ClickHouse.
type Config struct {
	// Addr lists native-protocol host:port addresses. Default ["127.0.0.1:19000"] (the
	// server deploy/local/clickhouse.sh starts).
	Addr []string `yaml:"addr" desc:"ClickHouse native-protocol addresses, host:port (default 127.0.0.1:19000)"`
	// Database holds unitcost's tables. Default "unitcost". Created by migrate.
	Database string `yaml:"database" desc:"database holding unitcost's tables, created by migrate (default unitcost)"`
	// Username and Password authenticate. Default "default" with no password.
	Username string         `yaml:"username" desc:"ClickHouse user (default default)"`
	Password string         `yaml:"password" desc:"ClickHouse password (masked by config show; default none)"`
	TLS      tlsconf.Config `yaml:"tls" desc:"TLS to ClickHouse"`
	// DialTimeout bounds connecting. Default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout" desc:"bound on connecting (default 5s)"`
	// Cluster, when set, makes migrate create the cluster variant of the schema ON CLUSTER
	// (Replicated tables under Distributed ones; see cluster.go), every shipped query's
	// JOINs and IN subqueries GLOBAL, and inserts synchronous (insert_distributed_sync).
	// Default "".
	Cluster string `yaml:"cluster" desc:"ClickHouse cluster name: Replicated tables under Distributed ones (default none: single server)"`
	// ReplicaPath is the Replicated tables' ZooKeeper path: {db} and {table} are filled in
	// here, {shard} (and any other macro) by each server. Default
	// "/clickhouse/tables/{shard}/{db}/{table}".
	ReplicaPath string `yaml:"replica_path" desc:"ZooKeeper path of the Replicated tables (default /clickhouse/tables/{shard}/{db}/{table})"`
}

var dbName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports every bad field.
func (c Config) Validate() error {
	var errs []error
	if len(c.Addr) == 0 {
		errs = append(errs, errors.New("clickhouse.addr: at least one host:port required"))
	}
	if !dbName.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("clickhouse.database: %q is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Database))
	}
	if c.Cluster != "" && !dbName.MatchString(c.Cluster) {
		errs = append(errs, fmt.Errorf("clickhouse.cluster: %q is not a plain identifier", c.Cluster))
	}
	if c.Cluster != "" && !strings.Contains(c.ReplicaPath, "{table}") {
		errs = append(errs, fmt.Errorf("clickhouse.replica_path: %q must contain {table}", c.ReplicaPath))
	}
	if strings.ContainsAny(c.ReplicaPath, "'\\") {
		errs = append(errs, errors.New("clickhouse.replica_path: must not contain quotes or backslashes"))
	}
	if c.DialTimeout < 0 {
		errs = append(errs, errors.New("clickhouse.dial_timeout: must not be negative"))
	}
	if err := c.TLS.Validate("clickhouse.tls"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Store is a connection pool to ClickHouse.
type Store struct {
	cfg  Config
	conn driver.Conn
}

// Open connects and pings. The error says how to start a local server when none answers.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tc, err := cfg.TLS.Load()
	if err != nil {
		return nil, fmt.Errorf("clickhouse tls: %w", err)
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	var settings clickhouse.Settings
	if cfg.Cluster != "" {
		settings = clickhouse.Settings{"insert_distributed_sync": 1}
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Settings:     settings,
		Addr:         cfg.Addr,
		Auth:         clickhouse.Auth{Username: cfg.Username, Password: cfg.Password},
		TLS:          tc,
		DialTimeout:  cfg.DialTimeout,
		Compression:  &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		MaxOpenConns: 8,
	})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %v: %w", cfg.Addr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse at %v does not answer: %w (start a local one with deploy/local/clickhouse.sh start, or set clickhouse.addr)", cfg.Addr, err)
	}
	return &Store{cfg: cfg, conn: conn}, nil
}

// Config is the configuration the store was opened with.
func (s *Store) Config() Config { return s.cfg }

// Database is the database unitcost's tables live in.
func (s *Store) Database() string { return s.cfg.Database }

// Conn exposes the driver connection to query builders in this module.
func (s *Store) Conn() driver.Conn { return s.conn }

// ServerVersion is the server's version string (e.g. "18.16.1").
func (s *Store) ServerVersion(ctx context.Context) (string, error) {
	var v string
	if err := s.conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "", fmt.Errorf("clickhouse version: %w", err)
	}
	return v, nil
}

// Ping checks the connection (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// Close closes the pool. Idempotent.
func (s *Store) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
