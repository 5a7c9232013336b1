// Package rollup keeps ClickHouse's hourly rollups current: every interval it rebuilds
// the hours that newly written rows land in (store.RefreshRollups). `unitcost process`
// and `unitcost dev` run it beside the processor; several may run at once.
package rollup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
}

// Defaults is the refresher's default configuration.
func Defaults() Config {
	return Config{Interval: 30 * time.Second, Margin: 2 * time.Minute, CleanupInterval: 10 * time.Minute}
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

	refreshes, failures, hours prometheus.Counter
	seconds                    prometheus.Histogram
	lastSuccess                prometheus.Gauge
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
		refreshes: c("refreshes_total", "Rollup refreshes completed."),
		failures:  c("refresh_failures_total", "Rollup refreshes that failed (retried at the next interval)."),
		hours:     c("hours_rebuilt_total", "Rollup hours rebuilt from line_items and workflows."),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "unitcost", Subsystem: "rollup", Name: "refresh_seconds",
			Help: "Duration of one rollup refresh.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "unitcost", Subsystem: "rollup", Name: "last_success_timestamp_seconds",
			Help: "Unix time of the last complete rollup refresh."}),
	}
	if reg != nil {
		reg.MustRegister(r.refreshes, r.failures, r.hours, r.seconds, r.lastSuccess)
	}
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

// Run refreshes every interval until ctx ends. A failed refresh is logged and retried at
// the next tick: the next one looks back to the last complete refresh, so nothing is lost.
func (r *Refresher) Run(ctx context.Context) error {
	if r.cfg.Interval <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	lastCleanup := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
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
