package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// RefreshStats says what one rollup refresh did.
type RefreshStats struct {
	// Since is the write version (ns) changes were looked for after; 0 = everything.
	Since uint64
	// Build numbers every row this refresh wrote (its start, ns).
	Build uint64
	// Hours lists the rollup hours rebuilt.
	Hours []time.Time
}

// RefreshRollups rebuilds every rollup hour that rows written since the last complete
// refresh (less margin, for inserts in flight and writers' clock skew) land in, records
// each hour's build, and marks the refresh complete. The rows of superseded builds stay
// (unread) until DropSupersededBuilds.
// It is safe to run from several processes at once: readers take each hour's newest
// recorded build, and every build is a full recomputation from line_items and workflows.
func (s *Store) RefreshRollups(ctx context.Context, margin time.Duration) (RefreshStats, error) {
	st := RefreshStats{Build: uint64(time.Now().UnixNano())}
	last, err := s.lastCompleteRefresh(ctx)
	if err != nil {
		return st, err
	}
	if m := uint64(margin.Nanoseconds()); last > m {
		st.Since = last - m
	}
	st.Hours, err = s.DirtyHours(ctx, st.Since)
	if err != nil {
		return st, err
	}
	if err := s.RebuildHours(ctx, st.Hours, st.Build); err != nil {
		return st, err
	}
	return st, s.record(ctx, "rollup_builds (bucket, build, built_at, workflows)", refreshMarker, st.Build, time.Now().UTC(), uint64(0))
}

// refreshMarker is the rollup_builds bucket that marks a whole refresh done. Refreshes
// before migration 0011 marked 1970-01-01 00:00:00 and did not build rollup_top_hourly;
// the marker moved one second on, so the first refresh after the upgrade finds none and
// rebuilds every hour, the top list included. Migration 0012 (the what-if's rollups) moved
// it one second again for the same reason. None is a real hour.
var refreshMarker = time.Unix(2, 0).UTC()

// lastCompleteRefresh is the build of the newest refresh that finished (0 if none).
func (s *Store) lastCompleteRefresh(ctx context.Context) (uint64, error) {
	var last uint64
	err := s.conn.QueryRow(ctx, "SELECT max(build) FROM "+s.cfg.Database+".rollup_builds WHERE bucket = toDateTime("+fmt.Sprint(refreshMarker.Unix())+")").Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("read rollup_builds: %w", err)
	}
	return last, nil
}

// DirtyHours runs sql/queries/rollup_dirty.sql: the start hours of workflows whose facts
// or line items were written after since (ns).
func (s *Store) DirtyHours(ctx context.Context, since uint64) ([]time.Time, error) {
	q, err := s.query("rollup_dirty")
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, q, since, since)
	if err != nil {
		return nil, fmt.Errorf("rollup dirty hours: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var h time.Time
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("rollup dirty hours: %w", err)
		}
		out = append(out, h.UTC())
	}
	return out, rows.Err()
}

// rebuildChunk bounds the hours one rebuild pass covers: a pass reads the line items from
// its first hour's day on, so a long backfill goes a week at a time.
const rebuildChunk = 7 * 24

// RebuildHours recomputes the given hours of the rollup tables under build, a week of
// hours per pass over the source, and then records each hour's build, which makes it the
// one readers see; then the what-if's rollups of the same hours, recorded in
// rollup_whatif_builds.
func (s *Store) RebuildHours(ctx context.Context, hours []time.Time, build uint64) error {
	hs := make([]time.Time, len(hours))
	for i, h := range hours {
		hs[i] = h.UTC().Truncate(time.Hour)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Before(hs[j]) })
	var chunks [][]time.Time
	for len(hs) > 0 {
		chunk := hs[:min(len(hs), rebuildChunk)]
		hs = hs[len(chunk):]
		chunks = append(chunks, chunk)
	}
	for _, chunk := range chunks {
		if err := s.rebuild(ctx, chunk, build); err != nil {
			return err
		}
	}
	// the what-if's rollups once every hour's other rollups are recorded: they do not
	// delay those (see rebuildWhatif)
	for _, chunk := range chunks {
		span := chunk[0].Format(time.DateTime) + " to " + chunk[len(chunk)-1].Add(time.Hour).Format(time.DateTime)
		if err := s.rebuildWhatif(ctx, chunk, build, hourList(chunk), span); err != nil {
			return err
		}
	}
	return nil
}

func hourList(hours []time.Time) string {
	list := make([]string, len(hours))
	for i, h := range hours {
		list[i] = fmt.Sprintf("toDateTime(%d)", h.Unix())
	}
	return strings.Join(list, ", ")
}

// rebuild runs one pass over sorted hours.
func (s *Store) rebuild(ctx context.Context, hours []time.Time, build uint64) error {
	from, to := hours[0], hours[len(hours)-1].Add(time.Hour)
	list := hourList(hours)
	span := from.Format(time.DateTime) + " to " + to.Format(time.DateTime)
	q, err := s.query("rollup_workflows")
	if err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, strings.ReplaceAll(q, "{hours}", list), build, from, to, from, from, to); err != nil {
		return fmt.Errorf("rebuild rollup_workflows_hourly %s: %w", span, err)
	}
	if q, err = s.query("rollup_costs"); err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, strings.ReplaceAll(q, "{hours}", list), build, from, from, to); err != nil {
		return fmt.Errorf("rebuild rollup_costs_hourly %s: %w", span, err)
	}
	if q, err = s.query("rollup_top"); err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, strings.ReplaceAll(q, "{hours}", list), build, from, to, from, from, to); err != nil {
		return fmt.Errorf("rebuild rollup_top_hourly %s: %w", span, err)
	}
	counts := map[int64]uint64{}
	rows, err := s.conn.Query(ctx, "SELECT bucket, sum(workflows) FROM "+s.cfg.Database+
		".rollup_workflows_hourly WHERE build = ? AND bucket >= ? AND bucket < ? GROUP BY bucket", build, from, to)
	if err != nil {
		return fmt.Errorf("count rebuilt hours %s: %w", span, err)
	}
	for rows.Next() {
		var h time.Time
		var n uint64
		if err := rows.Scan(&h, &n); err != nil {
			rows.Close()
			return fmt.Errorf("count rebuilt hours %s: %w", span, err)
		}
		counts[h.Unix()] = n
	}
	rows.Close()
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.cfg.Database+".rollup_builds (bucket, build, built_at, workflows)")
	if err != nil {
		return fmt.Errorf("record rollup builds: %w", err)
	}
	now := time.Now().UTC()
	for _, h := range hours {
		if err := b.Append(h, build, now, counts[h.Unix()]); err != nil {
			b.Abort()
			return fmt.Errorf("record rollup builds: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record rollup builds: %w", err)
	}
	return nil
}

// rebuildWhatif rebuilds the what-if's rollups (migration 0012) of the hours under the
// same build, once that build is recorded, so that they do not delay the other rollups,
// and records it in rollup_whatif_builds. The what-if reads an hour from them only when
// that record is the hour's newest build in rollup_builds too; until then (a rebuild in
// flight, failed, or from before 0012) it reads the hour's calls one by one.
func (s *Store) rebuildWhatif(ctx context.Context, hours []time.Time, build uint64, list, span string) error {
	from, to := hours[0], hours[len(hours)-1].Add(time.Hour)
	q, err := s.query("rollup_whatif_calls")
	if err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, strings.ReplaceAll(q, "{hours}", list), build, from, from, to); err != nil {
		return fmt.Errorf("rebuild rollup_whatif_calls_hourly %s: %w", span, err)
	}
	if q, err = s.query("rollup_whatif_cohorts"); err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, strings.ReplaceAll(q, "{hours}", list), build, from, to, from, from, to); err != nil {
		return fmt.Errorf("rebuild rollup_whatif_cohorts_hourly %s: %w", span, err)
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.cfg.Database+".rollup_whatif_builds (bucket, build, built_at)")
	if err != nil {
		return fmt.Errorf("record what-if rollup builds: %w", err)
	}
	now := time.Now().UTC()
	for _, h := range hours {
		if err := b.Append(h, build, now); err != nil {
			b.Abort()
			return fmt.Errorf("record what-if rollup builds: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record what-if rollup builds: %w", err)
	}
	return nil
}

// DropSupersededBuilds deletes the rollup rows of builds older than their hour's newest
// recorded build, with one mutation per table covering every such hour: mutations are
// heavy in ClickHouse, so the refresher runs this every rollup.cleanup_interval rather
// than after each refresh. It never touches the newest recorded build of an hour, nor a
// build still being written (newer than it). It returns how many hours had stale rows.
func (s *Store) DropSupersededBuilds(ctx context.Context) (int, error) {
	current := map[int64]uint64{}
	rows, err := s.conn.Query(ctx, "SELECT bucket, max(build) FROM "+s.cfg.Database+".rollup_builds WHERE bucket > toDateTime("+fmt.Sprint(refreshMarker.Unix())+") GROUP BY bucket")
	if err != nil {
		return 0, fmt.Errorf("read rollup builds: %w", err)
	}
	for rows.Next() {
		var h time.Time
		var b uint64
		if err := rows.Scan(&h, &b); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read rollup builds: %w", err)
		}
		current[h.Unix()] = b
	}
	rows.Close()
	stale := 0
	for _, t := range []string{"rollup_workflows_hourly", "rollup_costs_hourly", "rollup_top_hourly", "rollup_whatif_calls_hourly", "rollup_whatif_cohorts_hourly"} {
		rows, err := s.conn.Query(ctx, "SELECT bucket, min(build) FROM "+s.cfg.Database+"."+t+" GROUP BY bucket")
		if err != nil {
			return stale, fmt.Errorf("read %s builds: %w", t, err)
		}
		byBuild := map[uint64][]time.Time{} // the hours whose newest recorded build is the key
		for rows.Next() {
			var h time.Time
			var oldest uint64
			if err := rows.Scan(&h, &oldest); err != nil {
				rows.Close()
				return stale, fmt.Errorf("read %s builds: %w", t, err)
			}
			if cur, ok := current[h.Unix()]; ok && oldest < cur {
				byBuild[cur] = append(byBuild[cur], h)
			}
		}
		rows.Close()
		var conds []string
		for b, hours := range byBuild {
			conds = append(conds, fmt.Sprintf("(build < %d AND bucket IN (%s))", b, hourList(hours)))
			if t == "rollup_workflows_hourly" {
				stale += len(hours)
			}
		}
		if len(conds) == 0 {
			continue
		}
		sort.Strings(conds)
		q := fmt.Sprintf("ALTER TABLE %s DELETE WHERE %s", s.localTable(t), strings.Join(conds, " OR "))
		if err := s.conn.Exec(ctx, q); err != nil {
			return stale, fmt.Errorf("drop superseded rollup builds: %w", err)
		}
	}
	return stale, nil
}

// workflowHoursChunk bounds the ids of one lookup (the query text holds them).
const workflowHoursChunk = 2000

// WorkflowHours returns the rollup hours of the given workflows: the start hours of
// their rows as stored, every version (no FINAL), so a workflow whose start moved names
// both hours - rollup_dirty.sql restricted to these workflows.
func (s *Store) WorkflowHours(ctx context.Context, ids []string) ([]time.Time, error) {
	seen := map[int64]bool{}
	var out []time.Time
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), workflowHoursChunk)]
		ids = ids[len(chunk):]
		list := make([]string, len(chunk))
		for i, id := range chunk {
			list[i] = quote(id)
		}
		rows, err := s.conn.Query(ctx, "SELECT DISTINCT toStartOfHour(start_time) FROM "+s.cfg.Database+".workflows WHERE workflow_id IN ("+strings.Join(list, ", ")+")")
		if err != nil {
			return nil, fmt.Errorf("workflow hours: %w", err)
		}
		for rows.Next() {
			var h time.Time
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return nil, fmt.Errorf("workflow hours: %w", err)
			}
			if h = h.UTC(); !seen[h.Unix()] {
				seen[h.Unix()] = true
				out = append(out, h)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("workflow hours: %w", err)
		}
	}
	return out, nil
}

// quote is a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
