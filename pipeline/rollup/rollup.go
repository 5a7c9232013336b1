// Package rollup keeps ClickHouse's hourly rollups current. Right after the processor
// writes closed workflows it rebuilds the hours that write touched (known from the batch:
// its workflows' start hours, and the stored hours of the workflows its corrections add
// to), at most once per write_interval; and every interval it rebuilds the hours of every
// row written since the last complete refresh (store.RefreshRollups), which also covers
// other writers (reprice, other instances) and any rebuild that failed. `unitcost
// process` and `unitcost dev` run it beside the processor; several may run at once.
package rollup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Config says how often to refresh.
type Config struct {
	// Interval between refreshes. Default 30s; 0 disables the refresher (run
	// `unitcost rollup` instead, e.g. from cron).
	Interval time.Duration `yaml:"interval" desc:"how often process refreshes the hourly rollups; 0 disables (default 30s)"`
	// Margin is how far before the last complete refresh to look for written rows: it
	// must cover an insert's duration and the clock skew between writers. Default 2m.
	Margin time.Duration `yaml:"margin" desc:"how far before the last complete refresh to look for written rows (default 2m)"`
	// CleanupInterval is how often the rows of superseded builds are deleted (one
	// ClickHouse mutation per rollup table). Default 10m.
	CleanupInterval time.Duration `yaml:"cleanup_interval" desc:"how often rows of superseded rollup builds are deleted (default 10m)"`
	// WriteInterval is the least time between rebuilds of the hours a write of closed
	// workflows touched; the gap also grows to twice the last such rebuild's duration, so
	// they never take more than a third of the time. Default 1s; 0 leaves it to the
	// periodic refresh.
	WriteInterval time.Duration `yaml:"write_interval" desc:"least time between rebuilds of the rollup hours a write of closed workflows touched; 0 leaves them to the periodic refresh (default 1s)"`
}

// Defaults is the refresher's default configuration.
func Defaults() Config {
	return Config{Interval: 30 * time.Second, Margin: 2 * time.Minute, CleanupInterval: 10 * time.Minute, WriteInterval: time.Second}
}

// Validate reports every bad field.
func (c Config) Validate() error {
	var errs []error
	if c.Interval < 0 {
		errs = append(errs, errors.New("rollup.interval: must not be negative"))
	}
	if c.Margin < 0 {
		errs = append(errs, errors.New("rollup.margin: must not be negative"))
	}
	if c.WriteInterval < 0 {
		errs = append(errs, errors.New("rollup.write_interval: must not be negative"))
	}
	if c.CleanupInterval < 0 {
		errs = append(errs, errors.New("rollup.cleanup_interval: must not be negative"))
	}
	return errors.Join(errs...)
}

// Refresher runs store.RefreshRollups on a ticker.
type Refresher struct {
	cfg Config
	st  *store.Store
	log *slog.Logger

	refreshes, failures, hours   prometheus.Counter
	writeRebuilds, writeFailures prometheus.Counter
	seconds                      prometheus.Histogram
	lastSuccess                  prometheus.Gauge

	mu      sync.Mutex
	pending map[int64]bool  // hours written to, not yet rebuilt (unix seconds)
	ids     map[string]bool // workflows corrected, whose hours are to be looked up
	kick    chan struct{}   // a write arrived (buffered 1)
}

// New builds a refresher; reg (may be nil) receives unitcost_rollup_* series; log may be
// nil (slog.Default).
func New(cfg Config, st *store.Store, reg prometheus.Registerer, log *slog.Logger) *Refresher {
	if log == nil {
		log = slog.Default()
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "rollup", Name: name, Help: help})
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Refresher{cfg: cfg, st: st, log: log,
		refreshes:     c("refreshes_total", "Rollup refreshes completed."),
		failures:      c("refresh_failures_total", "Rollup refreshes that failed (retried at the next interval)."),
		hours:         c("hours_rebuilt_total", "Rollup hours rebuilt from line_items and workflows."),
		writeRebuilds: c("write_rebuilds_total", "Rebuilds of the rollup hours a write of closed workflows touched."),
		writeFailures: c("write_rebuild_failures_total", "Rebuilds after a write that failed (the periodic refresh covers their hours)."),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "unitcost", Subsystem: "rollup", Name: "refresh_seconds",
			Help: "Duration of one rollup refresh.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "unitcost", Subsystem: "rollup", Name: "last_success_timestamp_seconds",
			Help: "Unix time of the last complete rollup refresh."}),
	}
	if reg != nil {
		reg.MustRegister(r.refreshes, r.failures, r.hours, r.writeRebuilds, r.writeFailures, r.seconds, r.lastSuccess)
	}
	r.pending, r.ids, r.kick = map[int64]bool{}, map[string]bool{}, make(chan struct{}, 1)
	return r
}

// Once runs one refresh and records it.
func (r *Refresher) Once(ctx context.Context) (store.RefreshStats, error) {
	began := time.Now()
	st, err := r.st.RefreshRollups(ctx, r.cfg.Margin)
	r.seconds.Observe(time.Since(began).Seconds())
	if err != nil {
		r.failures.Inc()
		return st, fmt.Errorf("rollup refresh: %w", err)
	}
	r.refreshes.Inc()
	r.hours.Add(float64(len(st.Hours)))
	r.lastSuccess.SetToCurrentTime()
	return st, nil
}

// Written tells the refresher that b was durably written (the processor calls it after
// each write): the hours of its workflows are rebuilt soon, at most once per
// write_interval. It never blocks; a rebuild that fails is left to the periodic refresh,
// which finds every row written since the last complete refresh.
func (r *Refresher) Written(b pipeline.Batch) {
	if r.cfg.Interval <= 0 || r.cfg.WriteInterval <= 0 || (len(b.Workflows) == 0 && len(b.LineItems) == 0) {
		return
	}
	hours, corrections := Touched(b)
	r.mu.Lock()
	for _, h := range hours {
		r.pending[h.Unix()] = true
	}
	for _, id := range corrections {
		r.ids[id] = true
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Touched is what a written batch changes in the rollups: the start hours of its workflow
// rows (a rollup hour is the hour its workflow started), and the workflows its other line
// items belong to - corrections such as a late review - whose hours are stored.
func Touched(b pipeline.Batch) (hours []time.Time, corrections []string) {
	inBatch := make(map[string]bool, len(b.Workflows))
	seen := map[int64]bool{}
	for _, w := range b.Workflows {
		inBatch[w.ID] = true
		h := time.Unix(0, w.StartUnixNano).UTC().Truncate(time.Hour)
		if !seen[h.Unix()] {
			seen[h.Unix()] = true
			hours = append(hours, h)
		}
	}
	for i := range b.LineItems {
		id := b.LineItems[i].WorkflowID
		if !inBatch[id] {
			inBatch[id] = true
			corrections = append(corrections, id)
		}
	}
	return hours, corrections
}

// rebuildWritten rebuilds the hours writes touched since the last such rebuild.
func (r *Refresher) rebuildWritten(ctx context.Context) error {
	r.mu.Lock()
	hours := make([]time.Time, 0, len(r.pending))
	for h := range r.pending {
		hours = append(hours, time.Unix(h, 0).UTC())
	}
	ids := make([]string, 0, len(r.ids))
	for id := range r.ids {
		ids = append(ids, id)
	}
	r.pending, r.ids = map[int64]bool{}, map[string]bool{}
	r.mu.Unlock()
	if len(ids) > 0 {
		more, err := r.st.WorkflowHours(ctx, ids)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		for _, h := range hours {
			seen[h.Unix()] = true
		}
		for _, h := range more {
			if !seen[h.Unix()] {
				hours = append(hours, h)
			}
		}
	}
	if len(hours) == 0 {
		return nil
	}
	// The build number is taken after the write was acknowledged, so this build reads it;
	// a concurrent build by another writer is newer only if it started later.
	if err := r.st.RebuildHours(ctx, hours, uint64(time.Now().UnixNano())); err != nil {
		return err
	}
	r.hours.Add(float64(len(hours)))
	return nil
}

// Run refreshes every interval, and rebuilds the hours of writes as they are reported,
// until ctx ends. A failed refresh is logged and retried at the next tick: the next one
// looks back to the last complete refresh, so nothing is lost.
func (r *Refresher) Run(ctx context.Context) error {
	if r.cfg.Interval <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	lastCleanup := time.Now()
	var nextWrite time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Until(nextWrite)):
			}
			began := time.Now()
			if err := r.rebuildWritten(ctx); err != nil {
				r.writeFailures.Inc()
				if ctx.Err() == nil {
					r.log.Warn("rollup rebuild after a write failed; the periodic refresh covers it", "err", err)
				}
			} else {
				r.writeRebuilds.Inc()
			}
			nextWrite = time.Now().Add(max(r.cfg.WriteInterval, 2*time.Since(began)))
		case <-t.C:
			if r.cfg.CleanupInterval > 0 && time.Since(lastCleanup) >= r.cfg.CleanupInterval {
				lastCleanup = time.Now()
				if _, err := r.st.DropSupersededBuilds(ctx); err != nil && ctx.Err() == nil {
					r.log.Warn("dropping superseded rollup builds failed; retrying later", "err", err)
				}
			}
			st, err := r.Once(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("rollup refresh failed; retrying at the next interval", "err", err)
				}
				continue
			}
			if len(st.Hours) > 0 {
				r.log.Debug("rollups refreshed", "hours", len(st.Hours))
			}
		}
	}
}
