package normalize

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	sc "github.com/unitcost/unitcost/pipeline/semconv"
)

// Outcomes configures how a workflow's outcome is decided when no
// unitcost.workflow.outcome attribute names it. Order of precedence:
//  1. unitcost.workflow.outcome on the workflow's root span (always wins);
//  2. the first rule that sets an outcome and matches the root span;
//  3. the first rule that sets an outcome and matches another span of the workflow
//     (earliest span first);
//  4. the root span's status: ERROR -> OnError, OK or UNSET -> OnOK.
//
// Validated outputs are unitcost.outputs.validated on the root when set, else the sum of
// what matching rules add over the workflow's spans.
//
// The zero value is the default: ERROR is failed, OK/UNSET completed, DefaultRules.
type Outcomes struct {
	OnError string `yaml:"on_error" desc:"outcome of a workflow whose root span has status ERROR and nothing else decides: completed, failed, abandoned, escalated or none (default failed)"`
	OnOK    string `yaml:"on_ok" desc:"outcome of a workflow whose root span has status OK or UNSET and nothing else decides: completed, failed, abandoned, escalated or none (default completed)"`
	// Rules are tried in order; nil means DefaultRules.
	Rules []Rule `yaml:"rules" desc:"rules mapping a span attribute or a gen_ai.evaluation.result event to an outcome or to validated outputs, tried in order (default: an evaluation labelled pass/passed/correct counts one validated output)"`
}

// Rule matches a span attribute or an evaluation event and decides an outcome or adds
// validated outputs.
type Rule struct {
	Attribute  string   `yaml:"attribute" desc:"span attribute the rule matches (on any span of the workflow)"`
	Equals     string   `yaml:"equals" desc:"value the attribute must have (compared as a string, case-insensitive); empty matches any value"`
	Evaluation string   `yaml:"evaluation" desc:"gen_ai.evaluation.name of the gen_ai.evaluation.result event the rule matches; * matches any"`
	Labels     []string `yaml:"labels" desc:"gen_ai.evaluation.score.label values that match (case-insensitive); empty matches any"`
	MinScore   *float64 `yaml:"min_score" desc:"lowest gen_ai.evaluation.score.value that matches; unset matches any"`
	MaxScore   *float64 `yaml:"max_score" desc:"highest gen_ai.evaluation.score.value that matches; unset matches any"`
	Outcome    string   `yaml:"outcome" desc:"outcome decided by a match: completed, failed, abandoned or escalated"`
	Validated  uint64   `yaml:"validated" desc:"validated outputs each match adds"`
	Name       string   `yaml:"name" desc:"what outcome_source says when this rule decides (default: the rule's position and match)"`
}

// DefaultOutcomes spells out what the zero value means: ERROR is failed, OK/UNSET
// completed, DefaultRules.
func DefaultOutcomes() Outcomes {
	return Outcomes{OnError: sc.OutcomeFailed, OnOK: sc.OutcomeCompleted}
}

// OutcomeNone in OnError or OnOK leaves such a workflow's outcome unknown.
const OutcomeNone = "none"

func (o *Outcomes) onStatus(v, def string) string {
	switch v {
	case "":
		return def
	case OutcomeNone:
		return ""
	}
	return v
}

// DefaultRules apply when Outcomes.Rules is nil.
var DefaultRules = []Rule{{Evaluation: "*", Labels: []string{"pass", "passed", "correct", "valid"}, Validated: 1, Name: "evaluation passed"}}

// KnownOutcomes are the outcomes reports distinguish.
var KnownOutcomes = map[string]bool{sc.OutcomeCompleted: true, sc.OutcomeFailed: true, sc.OutcomeAbandoned: true, sc.OutcomeEscalated: true}

// Validate reports every bad rule.
func (o Outcomes) Validate() error {
	var errs []error
	for _, x := range []struct{ k, v string }{{"on_error", o.OnError}, {"on_ok", o.OnOK}} {
		if x.v != "" && x.v != OutcomeNone && !KnownOutcomes[x.v] {
			errs = append(errs, fmt.Errorf("process.outcome.%s: %q is not completed, failed, abandoned, escalated or none", x.k, x.v))
		}
	}
	for i, r := range o.Rules {
		at := fmt.Sprintf("process.outcome.rules[%d]", i)
		if (r.Attribute == "") == (r.Evaluation == "") {
			errs = append(errs, fmt.Errorf("%s: set exactly one of attribute and evaluation", at))
		}
		if r.Attribute != "" && (len(r.Labels) > 0 || r.MinScore != nil || r.MaxScore != nil) {
			errs = append(errs, fmt.Errorf("%s: labels, min_score and max_score apply to evaluation rules only", at))
		}
		if r.Outcome != "" && !KnownOutcomes[r.Outcome] {
			errs = append(errs, fmt.Errorf("%s.outcome: %q is not completed, failed, abandoned or escalated", at, r.Outcome))
		}
		if r.Outcome == "" && r.Validated == 0 {
			errs = append(errs, fmt.Errorf("%s: set outcome or validated (or both)", at))
		}
	}
	return errors.Join(errs...)
}

func (o *Outcomes) rules() []Rule {
	if o.Rules == nil {
		return DefaultRules
	}
	return o.Rules
}

func (r *Rule) source(i int) string {
	if r.Name != "" {
		return "rule " + r.Name
	}
	if r.Attribute != "" {
		if r.Equals == "" {
			return fmt.Sprintf("rule %d: %s set", i+1, r.Attribute)
		}
		return fmt.Sprintf("rule %d: %s=%s", i+1, r.Attribute, r.Equals)
	}
	return fmt.Sprintf("rule %d: evaluation %s", i+1, r.Evaluation)
}

// signal applies the rules to one span's attributes and evaluation events.
func (o *Outcomes) signal(sp *spanIn) *pipeline.Signal {
	rules := o.rules()
	if len(rules) == 0 {
		return nil
	}
	var sig *pipeline.Signal
	hit := func(i int, r *Rule) {
		if sig == nil {
			sig = &pipeline.Signal{}
		}
		if r.Outcome != "" && sig.Outcome == "" {
			sig.Outcome, sig.Source = r.Outcome, r.source(i)
		}
		if sig.Source == "" {
			sig.Source = r.source(i)
		}
		sig.Validated += r.Validated
	}
	for i := range rules {
		r := &rules[i]
		if r.Attribute != "" {
			if v, ok := get(sp.attrs, r.Attribute); ok && (r.Equals == "" || strings.EqualFold(v.asString(), r.Equals)) {
				hit(i, r)
			}
			continue
		}
		for j := range sp.events {
			ev := &sp.events[j]
			if ev.name == sc.GenAIEvaluationResult && r.matchEvaluation(ev.attrs) {
				hit(i, r)
			}
		}
	}
	return sig
}

func (r *Rule) matchEvaluation(a []kv) bool {
	if r.Evaluation != "*" {
		if v, ok := get(a, sc.GenAIEvaluationName); !ok || v.asString() != r.Evaluation {
			return false
		}
	}
	if len(r.Labels) > 0 {
		v, ok := get(a, sc.GenAIEvaluationScoreLabel)
		if !ok {
			return false
		}
		found := false
		for _, l := range r.Labels {
			if strings.EqualFold(l, v.asString()) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if r.MinScore != nil || r.MaxScore != nil {
		v, ok := get(a, sc.GenAIEvaluationScoreValue)
		if !ok {
			return false
		}
		var f fields
		x, ok := f.number(sc.GenAIEvaluationScoreValue, v)
		if !ok || (r.MinScore != nil && x < *r.MinScore) || (r.MaxScore != nil && x > *r.MaxScore) {
			return false
		}
	}
	return true
}

// Sources of an outcome that no rule or attribute decided: the root span's status.
const (
	SourceAttribute = "attribute " + sc.WorkflowOutcome
	SourceStatus    = "status "
)

// rootOutcome decides a workflow root's outcome from the span alone (precedence 1, 2
// and 4 above); the process stage applies 3 once the workflow's spans are known.
func (o *Outcomes) rootOutcome(f *fields, out *pipeline.Span, code ptrace.StatusCode, lim Limits) {
	if explicit := strings.ToLower(f.get(sOutcome, "outcome", lim)); explicit != "" {
		out.Outcome, out.OutcomeSource = explicit, SourceAttribute
		if !KnownOutcomes[explicit] {
			f.issues = append(f.issues, fmt.Sprintf("unknown workflow outcome %q: counted as none of completed, failed, abandoned, escalated (use one of them)", clip(explicit, 64)))
		}
		return
	}
	if s := out.Signal; s != nil && s.Outcome != "" {
		out.Outcome, out.OutcomeSource = s.Outcome, s.Source
		return
	}
	if out.EndUnixNano == 0 {
		return
	}
	onOK := o.onStatus(o.OnOK, sc.OutcomeCompleted)
	switch {
	case code == ptrace.StatusCodeError:
		out.Outcome, out.OutcomeSource = o.onStatus(o.OnError, sc.OutcomeFailed), SourceStatus+"ERROR"
	case f.n[nValidated].rank > 0 && onOK == "":
		out.Outcome, out.OutcomeSource = sc.OutcomeCompleted, "attribute "+sc.OutputsValidated
	default:
		out.Outcome, out.OutcomeSource = onOK, SourceStatus+strings.ToUpper(code.String())
	}
	if out.Outcome == "" {
		out.OutcomeSource = ""
	}
}

// Resolve completes a workflow's facts from its root and the other spans assigned to it
// (any order): an outcome decided only by the root's status yields to a rule matched on
// another span (the earliest such span wins); validated outputs not set on the root are
// the sum of what rules matched; session, user, service, environment and labels the root
// lacks come from the earliest span that has them. It allocates nothing.
func Resolve(root *pipeline.Span, spans []*pipeline.Span, w *pipeline.Workflow) {
	w.Outcome, w.OutcomeSource, w.ValidatedOutputs = root.Outcome, root.OutcomeSource, root.ValidatedOutputs
	w.Session, w.User, w.Service, w.Environment, w.Labels = root.Session, root.User, root.Service, root.Environment, root.Labels
	weak := w.OutcomeSource == "" || strings.HasPrefix(w.OutcomeSource, SourceStatus)
	var validated uint64
	if root.Signal != nil {
		validated = root.Signal.Validated
	}
	// the earliest span (start, then span id) that has each fact
	var signal, session, user, service, env, labels *pipeline.Span
	for _, sp := range spans {
		if sp == root {
			continue
		}
		if s := sp.Signal; s != nil {
			validated += s.Validated
			if weak && s.Outcome != "" && earlier(sp, signal) {
				signal = sp
			}
		}
		for _, c := range [...]struct {
			has  bool
			best **pipeline.Span
		}{{sp.Session != "", &session}, {sp.User != "", &user}, {sp.Service != "", &service}, {sp.Environment != "", &env},
			{sp.Labels != nil, &labels}} {
			if c.has && earlier(sp, *c.best) {
				*c.best = sp
			}
		}
	}
	if signal != nil {
		w.Outcome, w.OutcomeSource = signal.Signal.Outcome, signal.Signal.Source+" (span "+signal.SpanID.String()+")"
	}
	if w.Session == "" && session != nil {
		w.Session = session.Session
	}
	if w.User == "" && user != nil {
		w.User = user.User
	}
	if w.Service == "" && service != nil {
		w.Service = service.Service
	}
	if w.Environment == "" && env != nil {
		w.Environment = env.Environment
	}
	if w.Labels == nil && labels != nil {
		w.Labels = labels.Labels
	}
	if !root.ValidatedExplicit {
		w.ValidatedOutputs = validated
	}
}

// earlier reports whether a started before b (span id breaks ties); any span is earlier
// than none.
func earlier(a, b *pipeline.Span) bool {
	if b == nil {
		return true
	}
	if a.StartUnixNano != b.StartUnixNano {
		return a.StartUnixNano < b.StartUnixNano
	}
	return string(a.SpanID[:]) < string(b.SpanID[:])
}
