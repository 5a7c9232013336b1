package store

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	unitsql "github.com/unitcost/unitcost/sql"
)

// Migration is one numbered schema file.
type Migration struct {
	Version    int      `json:"version"`
	Name       string   `json:"name"`
	Statements []string `json:"statements"`
}

// Migrations returns the embedded migrations in order, with {db} replaced.
func Migrations(db string) ([]Migration, error) {
	names, err := fs.Glob(unitsql.Migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Migration
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", n)
		}
		b, err := unitsql.Migrations.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, Statements: SplitStatements(strings.ReplaceAll(string(b), "{db}", db))})
	}
	return out, nil
}

var minServerRe = regexp.MustCompile(`(?m)^--\s*unitcost:\s*min_server\s+([0-9]+(?:\.[0-9]+)*)\s*$`)

// MinServer is the server version a statement needs (its `-- unitcost: min_server V`
// line), or "" when it runs everywhere.
func MinServer(st string) string {
	if m := minServerRe.FindStringSubmatch(st); m != nil {
		return m[1]
	}
	return ""
}

// versionAtLeast compares dotted versions numerically ("18.16.1" < "20.3").
func versionAtLeast(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := range w {
		var hv, wv int
		if i < len(h) {
			hv, _ = strconv.Atoi(h[i])
		}
		wv, _ = strconv.Atoi(w[i])
		if hv != wv {
			return hv > wv
		}
	}
	return true
}

// MigrationsFor returns the migrations for cfg: the single-node schema, or its cluster
// variant when cfg.Cluster is set.
func MigrationsFor(cfg Config) ([]Migration, error) {
	ms, err := Migrations(cfg.Database)
	if err != nil || cfg.Cluster == "" {
		return ms, err
	}
	for i := range ms {
		var out []string
		for _, st := range ms[i].Statements {
			cs, err := ClusterStatements(st, cfg.Cluster, cfg.ReplicaPath)
			if err != nil {
				return nil, fmt.Errorf("migration %04d_%s: %w", ms[i].Version, ms[i].Name, err)
			}
			if v := MinServer(st); v != "" { // keep the requirement on each part
				for j := range cs {
					cs[j] = "-- unitcost: min_server " + v + "\n" + cs[j]
				}
			}
			out = append(out, cs...)
		}
		ms[i].Statements = out
	}
	return ms, nil
}

// SplitStatements splits a SQL file on semicolons that end a line, dropping comment-only
// and empty statements.
func SplitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		st := strings.TrimSpace(cur.String())
		cur.Reset()
		code := false
		for _, line := range strings.Split(st, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
				code = true
				break
			}
		}
		if code {
			out = append(out, st)
		}
	}
	for _, line := range strings.Split(src, "\n") {
		if t := strings.TrimRight(line, " \t\r"); strings.HasSuffix(t, ";") && !strings.HasPrefix(strings.TrimSpace(t), "--") {
			cur.WriteString(strings.TrimSuffix(t, ";"))
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return out
}

// Migrate creates the database and applies every migration not yet recorded in
// schema_migrations, in order. It is idempotent, and refuses to run against a schema
// newer than this binary knows. It returns the versions it applied. A statement that
// needs a newer server (MinServer) is skipped there and applied by a later migrate once
// the server is new enough; schema_optional records which ones ran.
func (s *Store) Migrate(ctx context.Context) ([]int, error) { return s.MigrateTo(ctx, 0) }

// MigrateTo is Migrate stopping after migration upTo (0: the newest). Upgrade tests use it
// to write rows under an older schema.
func (s *Store) MigrateTo(ctx context.Context, upTo int) ([]int, error) {
	db := s.cfg.Database
	onCluster := ""
	if s.cfg.Cluster != "" {
		onCluster = " ON CLUSTER " + s.cfg.Cluster
	}
	if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db+onCluster); err != nil {
		return nil, fmt.Errorf("create database %s: %w", db, err)
	}
	bookkeeping := []string{`CREATE TABLE IF NOT EXISTS ` + db + `.schema_migrations
(version UInt32, name String, applied_at DateTime) ENGINE = MergeTree ORDER BY version`,
		`CREATE TABLE IF NOT EXISTS ` + db + `.schema_optional
(version UInt32, statement UInt32, applied_at DateTime) ENGINE = MergeTree ORDER BY (version, statement)`}
	if s.cfg.Cluster != "" {
		var all []string
		for _, b := range bookkeeping {
			cs, err := ClusterStatements(b, s.cfg.Cluster, s.cfg.ReplicaPath)
			if err != nil {
				return nil, err
			}
			all = append(all, cs...)
		}
		bookkeeping = all
	}
	for _, st := range bookkeeping {
		if err := s.conn.Exec(ctx, st); err != nil {
			return nil, fmt.Errorf("create schema_migrations: %w", err)
		}
	}
	applied := map[int]bool{}
	maxApplied := 0
	rows, err := s.conn.Query(ctx, "SELECT version FROM "+db+".schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[int(v)] = true
		maxApplied = max(maxApplied, int(v))
	}
	rows.Close()
	ms, err := MigrationsFor(s.cfg)
	if err != nil {
		return nil, err
	}
	if known := ms[len(ms)-1].Version; maxApplied > known {
		return nil, fmt.Errorf("database %s has schema version %d but this unitcost knows only up to %d: upgrade unitcost before migrating", db, maxApplied, known)
	}
	server, err := s.ServerVersion(ctx)
	if err != nil {
		return nil, err
	}
	optional, err := s.optionalApplied(ctx)
	if err != nil {
		return nil, err
	}
	var done []int
	for _, m := range ms {
		if upTo > 0 && m.Version > upTo {
			break
		}
		fresh := !applied[m.Version]
		for i, st := range m.Statements {
			need := MinServer(st)
			switch {
			case need == "" && !fresh, need != "" && optional[[2]uint32{uint32(m.Version), uint32(i)}]:
				continue // applied before
			case need != "" && !versionAtLeast(server, need):
				continue // this server is too old; a later migrate applies it after an upgrade
			}
			if err := s.execMigration(ctx, st); err != nil {
				return done, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
			if need != "" {
				if err := s.record(ctx, "schema_optional (version, statement, applied_at)", uint32(m.Version), uint32(i), time.Now().UTC()); err != nil {
					return done, err
				}
			}
		}
		if fresh {
			if err := s.record(ctx, "schema_migrations (version, name, applied_at)", uint32(m.Version), m.Name, time.Now().UTC()); err != nil {
				return done, err
			}
			done = append(done, m.Version)
		}
	}
	return done, nil
}

// optionalApplied reads which version-dependent statements have run.
func (s *Store) optionalApplied(ctx context.Context) (map[[2]uint32]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT version, statement FROM "+s.cfg.Database+".schema_optional")
	if err != nil {
		return nil, fmt.Errorf("read schema_optional: %w", err)
	}
	defer rows.Close()
	out := map[[2]uint32]bool{}
	for rows.Next() {
		var v, i uint32
		if err := rows.Scan(&v, &i); err != nil {
			return nil, fmt.Errorf("read schema_optional: %w", err)
		}
		out[[2]uint32{v, i}] = true
	}
	return out, rows.Err()
}

// record inserts one bookkeeping row through a batch: on 18.16's native protocol a
// plain INSERT ... VALUES sent as a query waits forever for a data block.
func (s *Store) record(ctx context.Context, into string, values ...any) error {
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.cfg.Database+"."+into)
	if err != nil {
		return fmt.Errorf("record in %s: %w", into, err)
	}
	if err := b.Append(values...); err != nil {
		b.Abort()
		return fmt.Errorf("record in %s: %w", into, err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record in %s: %w", into, err)
	}
	return nil
}
