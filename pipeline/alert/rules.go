// Package alert watches unit cost for drift: rules (YAML) compare a metric over the
// current window with a baseline drawn from ClickHouse's hourly rollups, using robust
// statistics, and notify a JSON webhook, a Slack incoming webhook or Alertmanager when an
// alert fires or resolves. Each alert explains itself: the component that moved most,
// and the model or workflow version whose share of cost changed.
package alert

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Metric names a unit-cost figure.
type Metric string

// The metrics a rule can watch.
const (
	CostPerCompleted  Metric = "cost_per_completed"
	CostPerValidated  Metric = "cost_per_validated"
	CostPerException  Metric = "cost_per_exception"
	ReviewShare       Metric = "review_share"
	TokensPerWorkflow Metric = "tokens_per_workflow"
	UnpricedShare     Metric = "unpriced_share"
)

var metrics = map[Metric]string{
	CostPerCompleted:  "cost per completed workflow ($)",
	CostPerValidated:  "cost per validated output ($)",
	CostPerException:  "cost per exception needing human review ($)",
	ReviewShare:       "human review share of cost",
	TokensPerWorkflow: "model tokens per workflow",
	UnpricedShare:     "share of line items with no price",
}

// Method is how the baseline and its spread are estimated.
type Method string

// Baseline estimators.
const (
	// MedianMAD: the median of the baseline's hourly values; spread 1.4826 x MAD.
	MedianMAD Method = "median_mad"
	// EWMA: an exponentially weighted mean of the hourly values, oldest first; spread the
	// weighted standard deviation.
	EWMA Method = "ewma"
)

// Scope narrows a rule to a slice of the workload; "" matches everything.
type Scope struct {
	Tenant          string `yaml:"tenant" json:"tenant,omitempty"`
	Workflow        string `yaml:"workflow" json:"workflow,omitempty"`
	WorkflowVersion string `yaml:"workflow_version" json:"workflow_version,omitempty"`
	Model           string `yaml:"model" json:"model,omitempty"`
	Team            string `yaml:"team" json:"team,omitempty"`
	// Service and Environment are the workflows' service.name and deployment environment
	// (the rollups carry them; sessions, users and labels are not rolled up).
	Service     string `yaml:"service" json:"service,omitempty"`
	Environment string `yaml:"environment" json:"environment,omitempty"`
}

func (s Scope) filter() store.SeriesFilter {
	return store.SeriesFilter{Tenant: s.Tenant, Workflow: s.Workflow, Version: s.WorkflowVersion, Team: s.Team, Model: s.Model,
		Service: s.Service, Environment: s.Environment}
}

// Rule is one drift check.
type Rule struct {
	Name   string `yaml:"name"`
	Metric Metric `yaml:"metric"`
	Scope  Scope  `yaml:"scope"`
	// GroupBy "workflow" evaluates the rule once per workflow type in scope; "tenant" once
	// per tenant with data in the rule's windows (each tenant's token then sees its own
	// alerts); "tenant,workflow" once per tenant and workflow type. Default: once.
	GroupBy string `yaml:"group_by"`
	// Window is the current window, whole hours ending with the hour in progress. Default 1h.
	Window time.Duration `yaml:"window"`
	// Baseline is "trailing" (the BaselineWindow of hours before the current window) or
	// "same_hours_last_week" (the BaselineWindow of hours ending where the current window
	// ends, a week earlier). Default trailing.
	Baseline       string        `yaml:"baseline"`
	BaselineWindow time.Duration `yaml:"baseline_window"` // default 24h
	Method         Method        `yaml:"method"`          // default median_mad
	// Alpha is the EWMA weight of the newest hour (0 < alpha <= 1). Default 0.3.
	Alpha float64 `yaml:"alpha"`
	// MinSamples is the least number of units (completed workflows, validated outputs,
	// exceptions, workflows or line items, by metric) the current window needs; and each
	// baseline hour needs a tenth of it (at least 1) to count. Default 20.
	MinSamples uint64 `yaml:"min_samples"`
	// MinBaselineHours is the least number of usable baseline hours. Default 6.
	MinBaselineHours int `yaml:"min_baseline_hours"`
	// Fire when the current value differs from the baseline by at least ThresholdPct
	// percent AND at least ThresholdAbs (the metric's unit: dollars, a 0-1 share, tokens)
	// AND at least Sigmas times the baseline's spread. Defaults 20, 0 and 3.
	ThresholdPct float64 `yaml:"threshold_pct"`
	ThresholdAbs float64 `yaml:"threshold_abs"`
	Sigmas       float64 `yaml:"sigmas"`
	// Direction is up (default), down or both.
	Direction string `yaml:"direction"`
	// HysteresisPct: a firing alert resolves only once the deviation falls below
	// ThresholdPct - HysteresisPct. Default 5.
	HysteresisPct float64 `yaml:"hysteresis_pct"`
	// Cooldown: after an alert resolves, the same alert does not fire again for this
	// long. Default 1h.
	Cooldown time.Duration `yaml:"cooldown"`
	// Notify names the notifiers to tell; default all.
	Notify []string `yaml:"notify"`
	// Severity is passed to receivers (Alertmanager label). Default warning.
	Severity string `yaml:"severity"`
}

// Notifier is a receiver.
type NotifierConfig struct {
	Name string `yaml:"name"`
	// Type is webhook (unitcost's JSON), slack (incoming webhook) or alertmanager (v2 API
	// base URL, e.g. http://alertmanager:9093).
	Type    string            `yaml:"type"`
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	// Timeout of one delivery attempt. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// Rules is a rules file.
type Rules struct {
	// Interval between evaluations. Default 1m.
	Interval time.Duration `yaml:"interval"`
	// StateFile keeps alert states and undelivered notifications across restarts.
	// Default .unitcost/alert-state.json.
	StateFile string `yaml:"state_file"`
	// MetricsWindow is the trailing window of the unit-cost gauges exported on /metrics.
	// Default 1h.
	MetricsWindow time.Duration `yaml:"metrics_window"`
	// MetricsMaxWorkflows bounds the workflow label of the gauges: the most expensive
	// workflow types get a series each, the rest add up under workflow="_other".
	// Default 20.
	MetricsMaxWorkflows int              `yaml:"metrics_max_workflows"`
	Notifiers           []NotifierConfig `yaml:"notifiers"`
	Rules               []Rule           `yaml:"rules"`
	// Disabled names notifiers left out when loading (an empty or unset url variable):
	// rules may still name them; they receive nothing.
	Disabled []string `yaml:"-"`
}

var ruleName = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// ParseRules reads a rules file, fills in defaults and reports every bad field.
func ParseRules(b []byte) (*Rules, error) { return parseRules(b, nil) }

// parseRules parses; rules may name the disabled notifiers, which receive nothing.
func parseRules(b []byte, disabled []string) (*Rules, error) {
	var rs Rules
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&rs); err != nil {
		return nil, fmt.Errorf("alert rules: %w", err)
	}
	rs.Disabled = disabled
	return &rs, rs.normalize()
}

// LoadRules reads a rules file from disk, expanding ${VAR} references (URLs, tokens) from
// the process environment; an unset one is an error naming it.
func LoadRules(path string) (*Rules, error) {
	rs, _, err := LoadRulesEnv(path, os.LookupEnv, true)
	return rs, err
}

// LoadRulesEnv reads a rules file, expanding ${VAR} and ${VAR:-fallback} with lookup.
// With needNotifiers, a ${VAR} that is unset is an error naming it and the line; without
// (evaluating once, a dry run, a replay), a notifier that references an unset variable is
// left out. A notifier whose url comes out empty from its variables (url:
// ${UNITCOST_ALERT_WEBHOOK_URL:-}) is disabled: an optional receiver. Both are named in
// the returned notes.
func LoadRulesEnv(path string, lookup func(string) (string, bool), needNotifiers bool) (*Rules, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read alert rules: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	unset := map[string]bool{}
	var errs []error
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		var missing []string
		lines[i], missing = pipeline.ExpandVars(l, lookup)
		for _, m := range missing {
			unset[m] = true
			if needNotifiers {
				errs = append(errs, fmt.Errorf("%s:%d: ${%s} is not set (set it, or write ${%s:-default}; --once, --dry-run and --replay need no notifier)", path, i+1, m, m))
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	expanded := strings.Join(lines, "\n")
	notes, expanded, disabled, err := dropNotifiers(b, expanded, unset)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	rs, err := parseRules([]byte(expanded), disabled)
	if err != nil {
		return nil, notes, fmt.Errorf("%s: %w", path, err)
	}
	return rs, notes, nil
}

// dropNotifiers removes from the expanded rules file the notifiers that reference an
// unset variable or whose url is empty after expansion, and their names from the rules'
// notify lists.
func dropNotifiers(raw []byte, expanded string, unset map[string]bool) (notes []string, out string, disabled []string, err error) {
	var rawDoc struct {
		Notifiers []yaml.Node `yaml:"notifiers"`
	}
	if err := yaml.Unmarshal(raw, &rawDoc); err != nil {
		return nil, "", nil, fmt.Errorf("alert rules: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(expanded), &doc); err != nil {
		return nil, "", nil, fmt.Errorf("alert rules: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, expanded, nil, nil
	}
	root := doc.Content[0]
	value := func(m *yaml.Node, key string) *yaml.Node {
		for k := 0; m != nil && m.Kind == yaml.MappingNode && k+1 < len(m.Content); k += 2 {
			if m.Content[k].Value == key {
				return m.Content[k+1]
			}
		}
		return nil
	}
	notifiers := value(root, "notifiers")
	if notifiers == nil || notifiers.Kind != yaml.SequenceNode || len(notifiers.Content) != len(rawDoc.Notifiers) {
		return nil, expanded, nil, nil
	}
	var keep []*yaml.Node
	for i, n := range notifiers.Content {
		rb, _ := yaml.Marshal(&rawDoc.Notifiers[i])
		refs := pipeline.VarRefs(string(rb))
		name := ""
		if v := value(n, "name"); v != nil {
			name = v.Value
		}
		reason := ""
		for _, v := range refs {
			if unset[v] {
				reason = fmt.Sprintf("notifier %s left out: ${%s} is not set", name, v)
				break
			}
		}
		if url := value(n, "url"); reason == "" && len(refs) > 0 && (url == nil || url.Value == "") {
			reason = fmt.Sprintf("notifier %s disabled: its url is empty (set ${%s} to enable it)", name, refs[0])
			if ru := value(&rawDoc.Notifiers[i], "url"); ru != nil {
				if r := pipeline.VarRefs(ru.Value); len(r) > 0 {
					reason = fmt.Sprintf("notifier %s disabled: its url is empty (set %s to enable it)", name, strings.Join(r, " or "))
				}
			}
		}
		if reason == "" {
			keep = append(keep, n)
			continue
		}
		notes = append(notes, reason)
		disabled = append(disabled, name)
	}
	if len(notes) == 0 {
		return nil, expanded, nil, nil
	}
	notifiers.Content = keep
	b, err := yaml.Marshal(&doc)
	return notes, string(b), disabled, err
}

func (rs *Rules) normalize() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if rs.Interval == 0 {
		rs.Interval = time.Minute
	}
	if rs.Interval < time.Second {
		bad("interval: %v is too short (at least 1s)", rs.Interval)
	}
	if rs.StateFile == "" {
		rs.StateFile = ".unitcost/alert-state.json"
	}
	if rs.MetricsWindow == 0 {
		rs.MetricsWindow = time.Hour
	}
	if rs.MetricsMaxWorkflows == 0 {
		rs.MetricsMaxWorkflows = 20
	}
	if rs.MetricsMaxWorkflows < 0 {
		bad("metrics_max_workflows: must not be negative")
	}
	if rs.MetricsWindow < time.Hour || rs.MetricsWindow%time.Hour != 0 {
		bad("metrics_window: %v must be whole hours", rs.MetricsWindow)
	}
	names := map[string]bool{}
	for i := range rs.Notifiers {
		n := &rs.Notifiers[i]
		where := fmt.Sprintf("notifiers[%d]", i)
		if !ruleName.MatchString(n.Name) || names[n.Name] {
			bad("%s.name: %q must be unique and plain ([A-Za-z0-9_.:-])", where, n.Name)
		}
		names[n.Name] = true
		switch n.Type {
		case "webhook", "slack", "alertmanager":
		default:
			bad("%s.type: %q is not webhook, slack or alertmanager", where, n.Type)
		}
		if n.URL == "" {
			bad("%s.url: required", where)
		}
		if n.Timeout == 0 {
			n.Timeout = 10 * time.Second
		}
	}
	if len(rs.Rules) == 0 {
		bad("rules: none defined")
	}
	seen := map[string]bool{}
	for i := range rs.Rules {
		r := &rs.Rules[i]
		where := fmt.Sprintf("rules[%d] (%s)", i, r.Name)
		if !ruleName.MatchString(r.Name) || seen[r.Name] {
			bad("%s.name: must be unique and plain ([A-Za-z0-9_.:-])", where)
		}
		seen[r.Name] = true
		if _, ok := metrics[r.Metric]; !ok {
			bad("%s.metric: %q is not one of cost_per_completed, cost_per_validated, cost_per_exception, review_share, tokens_per_workflow, unpriced_share", where, r.Metric)
		}
		if r.Scope.Model != "" && (r.Metric == ReviewShare || r.Metric == CostPerException) {
			bad("%s.scope.model: %s cannot be narrowed to one model (review lines have none)", where, r.Metric)
		}
		switch strings.ReplaceAll(r.GroupBy, " ", "") {
		case "", "workflow", "tenant":
		case "tenant,workflow", "workflow,tenant":
			r.GroupBy = "tenant,workflow"
		default:
			bad("%s.group_by: %q: use workflow, tenant or tenant,workflow", where, r.GroupBy)
		}
		if r.Scope.Tenant != "" && strings.Contains(r.GroupBy, "tenant") {
			bad("%s.group_by: %q with scope.tenant %q: a rule scoped to one tenant has nothing to group by tenant", where, r.GroupBy, r.Scope.Tenant)
		}
		if r.Window == 0 {
			r.Window = time.Hour
		}
		if r.BaselineWindow == 0 {
			r.BaselineWindow = 24 * time.Hour
		}
		for _, d := range []struct {
			name string
			v    time.Duration
		}{{"window", r.Window}, {"baseline_window", r.BaselineWindow}} {
			if d.v < time.Hour || d.v%time.Hour != 0 {
				bad("%s.%s: %v must be whole hours (the rollups are hourly)", where, d.name, d.v)
			}
		}
		switch r.Baseline {
		case "":
			r.Baseline = "trailing"
		case "trailing", "same_hours_last_week":
		default:
			bad("%s.baseline: %q is not trailing or same_hours_last_week", where, r.Baseline)
		}
		switch r.Method {
		case "":
			r.Method = MedianMAD
		case MedianMAD, EWMA:
		default:
			bad("%s.method: %q is not median_mad or ewma", where, r.Method)
		}
		if r.Alpha == 0 {
			r.Alpha = 0.3
		}
		if r.Alpha <= 0 || r.Alpha > 1 {
			bad("%s.alpha: %v must be in (0, 1]", where, r.Alpha)
		}
		if r.MinSamples == 0 {
			r.MinSamples = 20
		}
		if r.MinBaselineHours == 0 {
			r.MinBaselineHours = 6
		}
		if r.MinBaselineHours < 2 {
			bad("%s.min_baseline_hours: at least 2 (a spread needs two values)", where)
		}
		if r.ThresholdPct == 0 {
			r.ThresholdPct = 20
		}
		if r.Sigmas == 0 {
			r.Sigmas = 3
		}
		if r.ThresholdPct < 0 || r.ThresholdAbs < 0 || r.Sigmas < 0 {
			bad("%s: thresholds must not be negative", where)
		}
		if r.HysteresisPct == 0 {
			r.HysteresisPct = 5
		}
		if r.HysteresisPct < 0 || r.HysteresisPct >= r.ThresholdPct {
			bad("%s.hysteresis_pct: %v must be below threshold_pct (%v)", where, r.HysteresisPct, r.ThresholdPct)
		}
		switch r.Direction {
		case "":
			r.Direction = "up"
		case "up", "down", "both":
		default:
			bad("%s.direction: %q is not up, down or both", where, r.Direction)
		}
		if r.Cooldown == 0 {
			r.Cooldown = time.Hour
		}
		if r.Severity == "" {
			r.Severity = "warning"
		}
		for _, n := range r.Notify {
			if !names[n] && !slices.Contains(rs.Disabled, n) {
				bad("%s.notify: no notifier named %q", where, n)
			}
		}
	}
	return errors.Join(errs...)
}
