package alert

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/segmentio/encoding/json"
)

// Alert is what receivers get: a reading that fired or resolved.
type Alert struct {
	Status   string     `json:"status"` // firing or resolved
	Severity string     `json:"severity"`
	StartsAt time.Time  `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
	Summary  string     `json:"summary"`
	Reading
}

// summary is one line for people.
func summary(a *Alert) string {
	scope := a.Scope.describe()
	verb := "rose"
	if a.Current < a.Baseline {
		verb = "fell"
	}
	var s string
	if a.Status == "resolved" {
		s = fmt.Sprintf("RESOLVED %s: %s%s is back to %s (baseline %s)", a.Rule, a.Description, scope, format(a.Metric, a.Current), format(a.Metric, a.Baseline))
	} else {
		s = fmt.Sprintf("%s: %s%s %s %s to %s (baseline %s, %s over %d samples)", a.Rule, a.Description, scope, verb,
			pctText(a.DeviationPct), format(a.Metric, a.Current), format(a.Metric, a.Baseline), a.Method, a.Samples)
	}
	if a.Explain != nil && a.Explain.Text != "" {
		s += ". " + a.Explain.Text
	}
	return s
}

func pctText(p float64) string {
	if math.IsInf(p, 0) {
		return "from zero"
	}
	return fmt.Sprintf("%+.1f%%", p)
}

func format(m Metric, v float64) string {
	switch m {
	case ReviewShare, UnpricedShare:
		return fmt.Sprintf("%.2f%%", 100*v)
	case TokensPerWorkflow:
		return fmt.Sprintf("%.0f tokens", v)
	}
	return fmt.Sprintf("$%.6f", v)
}

func (s Scope) describe() string {
	var parts []string
	for _, kv := range [][2]string{{"tenant", s.Tenant}, {"workflow", s.Workflow}, {"version", s.WorkflowVersion}, {"model", s.Model}, {"team", s.Team},
		{"service", s.Service}, {"environment", s.Environment}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// notifier delivers alerts to one receiver.
type notifier struct {
	cfg    NotifierConfig
	client *http.Client
}

// body renders the receiver's payload.
func (n *notifier) body(a *Alert) (string, []byte, error) {
	switch n.cfg.Type {
	case "slack":
		color := "#d00000"
		if a.Status == "resolved" {
			color = "#2eb886"
		}
		b, err := json.Marshal(map[string]any{
			"text": a.Summary,
			"attachments": []map[string]any{{"color": color, "fields": []map[string]any{
				{"title": "current", "value": format(a.Metric, a.Current), "short": true},
				{"title": "baseline", "value": format(a.Metric, a.Baseline), "short": true},
				{"title": "window", "value": a.Window.From.Format(time.RFC3339) + " to " + a.Window.To.Format(time.RFC3339), "short": false},
			}}},
		})
		return n.cfg.URL, b, err
	case "alertmanager":
		labels := map[string]string{"alertname": "UnitCostDrift", "rule": a.Rule, "metric": string(a.Metric), "severity": a.Severity}
		for k, v := range map[string]string{"tenant": a.Scope.Tenant, "workflow": a.Scope.Workflow, "workflow_version": a.Scope.WorkflowVersion,
			"model": a.Scope.Model, "team": a.Scope.Team, "service": a.Scope.Service, "environment": a.Scope.Environment} {
			if v != "" {
				labels[k] = v
			}
		}
		am := map[string]any{
			"labels": labels,
			"annotations": map[string]string{"summary": a.Summary, "current": format(a.Metric, a.Current),
				"baseline": format(a.Metric, a.Baseline), "explanation": explainText(a)},
			"startsAt": a.StartsAt.UTC().Format(time.RFC3339),
		}
		if a.Status == "resolved" {
			if a.EndsAt != nil {
				am["endsAt"] = a.EndsAt.UTC().Format(time.RFC3339)
			}
		}
		b, err := json.Marshal([]any{am})
		return strings.TrimSuffix(n.cfg.URL, "/") + "/api/v2/alerts", b, err
	}
	b, err := json.Marshal(a)
	return n.cfg.URL, b, err
}

func explainText(a *Alert) string {
	if a.Explain == nil {
		return ""
	}
	return a.Explain.Text
}

// send posts one alert; any status other than 2xx is an error.
func (n *notifier) send(ctx context.Context, a *Alert) error {
	url, b, err := n.body(a)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "unitcost-alert")
	for k, v := range n.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.cfg.Name, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify %s: %s answered %d: %s", n.cfg.Name, url, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}
