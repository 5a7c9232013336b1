package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/pipeline/store"
)

// alertState is one alert's (rule x group) state.
type alertState struct {
	Status        string    `json:"status"` // ok or firing
	Since         time.Time `json:"since"`
	CooldownUntil time.Time `json:"cooldown_until"`
	// Firing is the alert as it fired, re-sent to Alertmanager while it lasts.
	Firing *Alert `json:"firing,omitempty"`
}

// pending is a notification not yet delivered.
type pending struct {
	Notifier    string    `json:"notifier"`
	Alert       Alert     `json:"alert"`
	Queued      time.Time `json:"queued"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
}

// state is what survives a restart (written to Rules.StateFile after every change).
type state struct {
	Alerts map[string]*alertState `json:"alerts"`
	Outbox []*pending             `json:"outbox"`
	// History holds the transitions not yet written to the History (WithHistory).
	History []Alert `json:"history,omitempty"`
}

// Engine evaluates rules, keeps alert state and delivers notifications.
type Engine struct {
	rules     *Rules
	src       Source
	notifiers map[string]*notifier
	st        state
	log       *slog.Logger
	m         *engineMetrics
	last      []Reading
	// readOnly engines never write the state file nor deliver (dry runs, replays).
	readOnly bool
	// hist, when set, records readings and transitions (WithHistory).
	hist History
	// episodes, when set, is read once for the episodes the history holds open (open),
	// which the engine takes up instead of firing them again (episodes.go).
	episodes HistoryReader
	open     map[string]store.AlertEvent
}

// Option changes how an engine keeps its state.
type Option func(*Engine, *bool)

// ReadOnly makes an engine that starts from the state file (if any) but never writes it
// and never delivers a notification: `unitcost alert --dry-run`.
func ReadOnly() Option { return func(e *Engine, _ *bool) { e.readOnly = true } }

// Fresh makes a read-only engine that ignores the state file: every alert starts ok
// (`unitcost alert --replay`).
func Fresh() Option {
	return func(e *Engine, fresh *bool) { e.readOnly, *fresh = true, true }
}

// LastReadings are the readings of the last evaluation, for `unitcost alert --once`.
func (e *Engine) LastReadings() []Reading { return e.last }

// New builds an engine, loading the state file if there is one. reg (may be nil)
// receives the unit-cost gauges and the engine's own series; log may be nil (slog.Default).
func New(rules *Rules, src Source, reg prometheus.Registerer, log *slog.Logger, opts ...Option) (*Engine, error) {
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{rules: rules, src: src, notifiers: map[string]*notifier{}, log: log, m: newEngineMetrics(reg),
		st: state{Alerts: map[string]*alertState{}}}
	fresh := false
	for _, o := range opts {
		o(e, &fresh)
	}
	for _, n := range rules.Notifiers {
		e.notifiers[n.Name] = &notifier{cfg: n, client: &http.Client{}}
	}
	if fresh {
		e.episodes = nil // a replay starts every alert ok
		return e, nil
	}
	if r, ok := e.hist.(HistoryReader); ok && e.episodes == nil {
		e.episodes = r
	}
	b, err := os.ReadFile(rules.StateFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read alert state: %w", err)
	default:
		if err := json.Unmarshal(b, &e.st); err != nil {
			return nil, fmt.Errorf("alert state %s is not valid JSON (%v): move it aside to start afresh", rules.StateFile, err)
		}
		if e.st.Alerts == nil {
			e.st.Alerts = map[string]*alertState{}
		}
	}
	e.m.outbox.Set(float64(len(e.st.Outbox)))
	return e, nil
}

// save writes the state atomically (temp file + rename).
func (e *Engine) save() error {
	if e.readOnly {
		return nil
	}
	b, err := json.Marshal(e.st)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(e.rules.StateFile); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("alert state dir: %w", err)
		}
	}
	tmp := e.rules.StateFile + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write alert state: %w", err)
	}
	if err := os.Rename(tmp, e.rules.StateFile); err != nil {
		return fmt.Errorf("write alert state: %w", err)
	}
	e.m.outbox.Set(float64(len(e.st.Outbox)))
	return nil
}

// Evaluate reads every rule at now and returns the alerts that fired or resolved; their
// notifications are queued (and the state saved) before it returns.
func (e *Engine) Evaluate(ctx context.Context, now time.Time) ([]Alert, error) {
	e.m.evaluations.Inc()
	if err := e.loadOpen(ctx); err != nil {
		e.m.failures.Inc()
		return nil, err
	}
	var out []Alert
	var errs []error
	live := map[string]bool{}
	e.last = e.last[:0]
	for i := range e.rules.Rules {
		r := &e.rules.Rules[i]
		readings, err := read(ctx, e.src, r, now)
		if err != nil {
			e.m.failures.Inc()
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Name, err))
			for k := range e.st.Alerts { // keep this rule's alerts as they are
				if k == r.Name || len(k) > len(r.Name) && k[:len(r.Name)+1] == r.Name+"/" {
					live[k] = true
				}
			}
			continue
		}
		e.last = append(e.last, readings...)
		for _, rd := range readings {
			live[rd.Key] = true
			if a := e.step(r, rd, now); a != nil {
				out = append(out, *a)
			}
		}
	}
	rules := map[string]bool{}
	for _, r := range e.rules.Rules {
		rules[r.Name] = true
	}
	for _, k := range sortedKeys(e.st.Alerts) {
		s := e.st.Alerts[k]
		rule, _, _ := strings.Cut(k, "/")
		switch {
		case live[k]:
		case rules[rule]: // the rule stands but this group had no data: keep the state
		case s.Status == "firing" && s.Firing != nil:
			// The rule was removed from the file: resolve its alert, telling every receiver.
			end := now
			a := *s.Firing
			a.Status, a.EndsAt = "resolved", &end
			a.Summary = "RESOLVED " + a.Rule + ": the rule was removed from the rules file"
			for _, n := range e.rules.Notifiers {
				e.st.Outbox = append(e.st.Outbox, &pending{Notifier: n.Name, Alert: a, Queued: now, NextAttempt: now})
			}
			out = append(out, a)
			delete(e.st.Alerts, k)
			e.m.firing.DeleteLabelValues(k)
		default:
			delete(e.st.Alerts, k)
		}
	}
	for k := range e.st.Alerts {
		v := 0.0
		if e.st.Alerts[k].Status == "firing" {
			v = 1
		}
		e.m.firing.WithLabelValues(k).Set(v)
	}
	if e.hist != nil {
		e.st.History = append(e.st.History, out...)
	}
	if err := e.save(); err != nil {
		errs = append(errs, err)
	}
	if err := e.record(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// step moves one alert's state machine and queues a notification on a transition.
func (e *Engine) step(r *Rule, rd Reading, now time.Time) *Alert {
	s := e.takeUp(rd, e.st.Alerts[rd.Key])
	if s == nil {
		s = &alertState{Status: "ok", Since: now}
	}
	e.st.Alerts[rd.Key] = s
	var a *Alert
	switch {
	case s.Status != "firing" && rd.Breach && !now.Before(s.CooldownUntil):
		a = &Alert{Status: "firing", Severity: r.Severity, StartsAt: now, Reading: rd}
		a.Summary = summary(a)
		s.Status, s.Since, s.Firing = "firing", now, a
		e.log.Warn("alert firing", "alert", rd.Key, "summary", a.Summary)
	case s.Status == "firing" && rd.Usable && !rd.Holding:
		end := now
		a = &Alert{Status: "resolved", Severity: r.Severity, StartsAt: s.Since, EndsAt: &end, Reading: rd}
		a.Summary = summary(a)
		s.Status, s.Since, s.Firing, s.CooldownUntil = "ok", now, nil, now.Add(r.Cooldown)
		e.log.Info("alert resolved", "alert", rd.Key, "summary", a.Summary)
	}
	if a == nil {
		return nil
	}
	targets := r.Notify
	if len(targets) == 0 {
		for _, n := range e.rules.Notifiers {
			targets = append(targets, n.Name)
		}
	}
	for _, n := range targets {
		if e.notifiers[n] == nil { // disabled when loading (see Rules.Disabled)
			continue
		}
		e.st.Outbox = append(e.st.Outbox, &pending{Notifier: n, Alert: *a, Queued: now, NextAttempt: now})
	}
	return a
}

// Deliver sends every queued notification that is due. A failed one stays queued and is
// retried with exponential backoff (5s doubling, at most 5m); none is ever dropped.
func (e *Engine) Deliver(ctx context.Context, now time.Time) (sent int, err error) {
	if e.readOnly {
		return 0, nil
	}
	var keep []*pending
	var errs []error
	for _, p := range e.st.Outbox {
		n := e.notifiers[p.Notifier]
		if n == nil {
			errs = append(errs, fmt.Errorf("notifier %s is no longer configured; dropping its %s notification for %s", p.Notifier, p.Alert.Status, p.Alert.Key))
			continue
		}
		if now.Before(p.NextAttempt) {
			keep = append(keep, p)
			continue
		}
		if err := n.send(ctx, &p.Alert); err != nil {
			p.Attempts++
			p.LastError = err.Error()
			p.NextAttempt = now.Add(min(5*time.Second<<min(p.Attempts-1, 10), 5*time.Minute))
			keep = append(keep, p)
			e.m.notifications.WithLabelValues(p.Notifier, "failed").Inc()
			errs = append(errs, fmt.Errorf("%w (attempt %d; retrying from %s)", err, p.Attempts, p.NextAttempt.Format(time.RFC3339)))
			continue
		}
		sent++
		e.m.notifications.WithLabelValues(p.Notifier, "sent").Inc()
	}
	e.st.Outbox = keep
	if err := e.save(); err != nil {
		errs = append(errs, err)
	}
	return sent, errors.Join(errs...)
}

// StateFile is where the engine keeps its state.
func (e *Engine) StateFile() string { return e.rules.StateFile }

// Pending is the number of notifications waiting for delivery.
func (e *Engine) Pending() int { return len(e.st.Outbox) }

// Firing lists the alerts firing now, by key.
func (e *Engine) Firing() []Alert {
	var out []Alert
	for _, k := range sortedKeys(e.st.Alerts) {
		if s := e.st.Alerts[k]; s.Status == "firing" && s.Firing != nil {
			out = append(out, *s.Firing)
		}
	}
	return out
}

// RefreshAlertmanager re-posts the firing alerts to every Alertmanager notifier, which
// otherwise resolves an alert it has not heard of for resolve_timeout. Best effort: a
// failure is retried at the next interval.
func (e *Engine) RefreshAlertmanager(ctx context.Context) error {
	var errs []error
	for _, a := range e.Firing() {
		for _, n := range e.notifiers {
			if n.cfg.Type == "alertmanager" {
				if err := n.send(ctx, &a); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Run evaluates, delivers and updates the gauges every interval until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	tick := func() {
		now := time.Now()
		if fired, err := e.Evaluate(ctx, now); err != nil {
			e.log.Error("alert evaluation failed; retrying at the next interval", "err", err)
		} else if len(fired) > 0 {
			e.log.Info("alert transitions", "count", len(fired))
		}
		if _, err := e.Deliver(ctx, now); err != nil {
			e.log.Warn("alert delivery failed; kept for retry", "err", err, "pending", e.Pending())
		}
		if err := e.RefreshAlertmanager(ctx); err != nil {
			e.log.Warn("alertmanager refresh failed", "err", err)
		}
		if err := e.UpdateGauges(ctx, now); err != nil {
			e.log.Warn("unit-cost gauges not updated", "err", err)
		}
	}
	tick()
	t := time.NewTicker(e.rules.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			tick()
		}
	}
}

// UpdateGauges sets the unit-cost gauges from the rollups over the metrics window, per
// workflow type and for all of them (workflow="_all"). Only the metrics_max_workflows most
// expensive workflow types get a series of their own; the rest add up under
// workflow="_other", so span names that leak into workflow names cannot grow the series
// without bound.
func (e *Engine) UpdateGauges(ctx context.Context, now time.Time) error {
	to := now.UTC()
	from := to.Truncate(time.Hour).Add(time.Hour - e.rules.MetricsWindow)
	points, err := e.src.Series(ctx, from, to, "hour", Scope{}.filter())
	if err != nil {
		return err
	}
	per := map[string]*agg{}
	all := &agg{}
	for _, p := range points {
		a := agg{workflows: p.Workflows, completed: p.Completed, validated: p.ValidatedOutputs, exceptions: p.Exceptions,
			cost: dollars(int64(p.Cost)), exceptionCost: dollars(int64(p.ExceptionCost)), reviewCost: dollars(int64(p.ReviewCost)),
			tokens: p.InputTokens + p.OutputTokens, lines: p.LineItems, unpriced: p.UnpricedLines}
		if per[p.Workflow] == nil {
			per[p.Workflow] = &agg{}
		}
		per[p.Workflow].add(a)
		all.add(a)
	}
	names := make([]string, 0, len(per))
	for k := range per {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		ci, cj := per[names[i]].cost, per[names[j]].cost
		return ci > cj || ci == cj && names[i] < names[j]
	})
	by := map[string]*agg{"_all": all}
	for i, w := range names {
		if i < e.rules.MetricsMaxWorkflows {
			by[w] = per[w]
			continue
		}
		if by["_other"] == nil {
			by["_other"] = &agg{}
		}
		by["_other"].add(*per[w])
	}
	e.m.workflows.Reset()
	e.m.cost.Reset()
	for _, g := range e.m.unit {
		g.Reset()
	}
	for w, a := range by {
		e.m.workflows.WithLabelValues(w).Set(float64(a.workflows))
		e.m.cost.WithLabelValues(w).Set(a.cost)
		for m, g := range e.m.unit {
			if v, _, ok := value(m, *a); ok {
				g.WithLabelValues(w).Set(v)
			}
		}
	}
	return nil
}

type engineMetrics struct {
	evaluations, failures prometheus.Counter
	historyFailures       prometheus.Counter
	outbox                prometheus.Gauge
	notifications         *prometheus.CounterVec
	firing                *prometheus.GaugeVec
	workflows, cost       *prometheus.GaugeVec
	// unit holds one gauge per metric, each in one unit (dollars, a ratio, tokens).
	unit map[Metric]*prometheus.GaugeVec
}

// gaugeNames are the Prometheus names of the unit-cost metrics, one unit per name.
var gaugeNames = map[Metric][2]string{
	CostPerCompleted:  {"cost_per_completed_workflow_dollars", "Cost per completed workflow over the metrics window, dollars."},
	CostPerValidated:  {"cost_per_validated_output_dollars", "Cost per validated output over the metrics window, dollars."},
	CostPerException:  {"cost_per_exception_dollars", "Mean cost of a workflow that needed human review over the metrics window, dollars."},
	ReviewShare:       {"review_cost_ratio", "Human review share of cost over the metrics window, 0-1."},
	UnpricedShare:     {"unpriced_line_items_ratio", "Share of line items with no price over the metrics window, 0-1."},
	TokensPerWorkflow: {"model_tokens_per_workflow", "Model tokens (input + output) per workflow over the metrics window."},
}

func newEngineMetrics(reg prometheus.Registerer) *engineMetrics {
	m := &engineMetrics{
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "alert", Name: "evaluations_total", Help: "Rule evaluations run."}),
		failures:    prometheus.NewCounter(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "alert", Name: "evaluation_failures_total", Help: "Rule evaluations that failed to read the rollups."}),
		historyFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "alert", Name: "history_write_failures_total",
			Help: "Failed writes of alert readings or transitions to ClickHouse (retried at the next evaluation)."}),
		outbox: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "unitcost", Subsystem: "alert", Name: "notifications_pending", Help: "Notifications queued for (re)delivery."}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "unitcost", Subsystem: "alert", Name: "notifications_total",
			Help: "Notification attempts by notifier and result (sent, failed)."}, []string{"notifier", "result"}),
		firing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "unitcost", Subsystem: "alert", Name: "firing",
			Help: "1 while the alert (rule, or rule/workflow) fires."}, []string{"alert"}),
		unit: map[Metric]*prometheus.GaugeVec{},
		workflows: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "unitcost", Name: "workflows",
			Help: "Workflows started in the metrics window, by workflow type (_all: every type; _other: those beyond metrics_max_workflows)."}, []string{"workflow"}),
		cost: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "unitcost", Name: "cost_dollars",
			Help: "Cost of the workflows started in the metrics window, by workflow type."}, []string{"workflow"}),
	}
	for metric, n := range gaugeNames {
		m.unit[metric] = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "unitcost", Name: n[0], Help: n[1]}, []string{"workflow"})
	}
	if reg != nil {
		reg.MustRegister(m.evaluations, m.failures, m.historyFailures, m.outbox, m.notifications, m.firing, m.workflows, m.cost)
		for _, g := range m.unit {
			reg.MustRegister(g)
		}
	}
	return m
}
