package report

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/unitcost/unitcost/pipeline/store"
)

// The alert history (what `unitcost alert` stored, migration 0009) as JSON: GET
// /api/v1/alerts lists firings and resolutions, GET /api/v1/alerts/readings the hourly
// readings with their baseline band (the dashboard draws them on the unit-cost trend).
// A tenant's token sees the alerts of rules scoped to its tenant only; the alerts of rules
// over every tenant (no scope.tenant) are an admin token's.

// moneyMetrics are the alert metrics in dollars: their figures are given as *_nano and
// *_usd; the others (shares 0-1, tokens) as numbers in the metric's unit.
var moneyMetrics = map[string]bool{"cost_per_completed": true, "cost_per_validated": true, "cost_per_exception": true}

// unitOf names the unit of an alert metric's figures.
func unitOf(metric string) string {
	switch {
	case moneyMetrics[metric]:
		return "usd"
	case metric == "tokens_per_workflow":
		return "tokens"
	}
	return "ratio"
}

// AlertFigures are an alert reading's value, baseline, spread and band. For a dollar
// metric (unit "usd") each is *_nano and *_usd (rounded to the nano-dollar) and the plain
// numbers are null; otherwise the plain numbers carry them (a 0-1 share or tokens) and the
// money fields are null. All are null for a reading without enough data.
type AlertFigures struct {
	Unit         string   `json:"unit"`
	CurrentNano  *int64   `json:"current_nano"`
	CurrentUSD   *string  `json:"current_usd"`
	Current      *float64 `json:"current"`
	BaselineNano *int64   `json:"baseline_nano"`
	BaselineUSD  *string  `json:"baseline_usd"`
	Baseline     *float64 `json:"baseline"`
	SpreadNano   *int64   `json:"spread_nano"`
	SpreadUSD    *string  `json:"spread_usd"`
	Spread       *float64 `json:"spread"`
	BandLowNano  *int64   `json:"band_low_nano"`
	BandLowUSD   *string  `json:"band_low_usd"`
	BandLow      *float64 `json:"band_low"`
	BandHighNano *int64   `json:"band_high_nano"`
	BandHighUSD  *string  `json:"band_high_usd"`
	BandHigh     *float64 `json:"band_high"`
	// DeviationPct is (current - baseline) / |baseline| in percent; null when the baseline
	// is zero (infinite) or there is no reading.
	DeviationPct *float64 `json:"deviation_pct"`
}

// Nano rounds a dollar figure to nano-dollars, as the API gives alert figures.
func Nano(dollars float64) int64 { return int64(math.Round(dollars * 1e9)) }

func figures(metric string, ok bool, current, baseline, spread, lo, hi, dev float64) AlertFigures {
	f := AlertFigures{Unit: unitOf(metric)}
	if !ok {
		return f
	}
	set := func(v float64, nano **int64, s **string, plain **float64) {
		if f.Unit == "usd" {
			n := Nano(v)
			u := usd(n)
			*nano, *s = &n, &u
			return
		}
		*plain = &v
	}
	set(current, &f.CurrentNano, &f.CurrentUSD, &f.Current)
	set(baseline, &f.BaselineNano, &f.BaselineUSD, &f.Baseline)
	set(spread, &f.SpreadNano, &f.SpreadUSD, &f.Spread)
	set(lo, &f.BandLowNano, &f.BandLowUSD, &f.BandLow)
	set(hi, &f.BandHighNano, &f.BandHighUSD, &f.BandHigh)
	if !math.IsInf(dev, 0) && !math.IsNaN(dev) {
		f.DeviationPct = &dev
	}
	return f
}

// AlertEvent is one firing or resolution.
type AlertEvent struct {
	Tenant   string    `json:"tenant"`
	AlertKey string    `json:"alert_key"`
	Rule     string    `json:"rule"`
	Metric   string    `json:"metric"`
	Workflow string    `json:"workflow"`
	Status   string    `json:"status"`
	Severity string    `json:"severity"`
	StartsAt time.Time `json:"starts_at"`
	At       time.Time `json:"at"`
	// Bucket is the hour the evaluation that fired (or resolved) it ended in: where the
	// dashboard puts its marker on the hourly trend.
	Bucket time.Time `json:"bucket"`
	AlertFigures
	Samples     uint64 `json:"samples"`
	Summary     string `json:"summary"`
	Explanation string `json:"explanation"`
}

// AlertsDoc is GET /api/v1/alerts.
type AlertsDoc struct {
	From     time.Time    `json:"from"`
	To       time.Time    `json:"to"`
	Currency string       `json:"currency"`
	Rows     []AlertEvent `json:"rows"`
}

// NewAlertsDoc shapes stored transitions.
func NewAlertsDoc(from, to time.Time, in []store.AlertEvent) AlertsDoc {
	d := AlertsDoc{From: from.UTC(), To: to.UTC(), Currency: Currency, Rows: make([]AlertEvent, 0, len(in))}
	for _, e := range in {
		d.Rows = append(d.Rows, AlertEvent{Tenant: e.Tenant, AlertKey: e.Key, Rule: e.Rule, Metric: e.Metric, Workflow: e.Workflow, Status: e.Status,
			Severity: e.Severity, StartsAt: e.StartsAt.UTC(), At: e.At.UTC(), Bucket: e.Bucket.UTC(),
			AlertFigures: figures(e.Metric, true, e.Current, e.Baseline, e.Spread, e.BandLow, e.BandHigh, e.DeviationPct),
			Samples:      e.Samples, Summary: e.Summary, Explanation: e.Explanation})
	}
	return d
}

// AlertReading is one alert's newest evaluation of one hour.
type AlertReading struct {
	Tenant        string    `json:"tenant"`
	AlertKey      string    `json:"alert_key"`
	Rule          string    `json:"rule"`
	Metric        string    `json:"metric"`
	Workflow      string    `json:"workflow"`
	Bucket        time.Time `json:"bucket"`
	EvaluatedAt   time.Time `json:"evaluated_at"`
	Usable        bool      `json:"usable"`
	Reason        string    `json:"reason"`
	Samples       uint64    `json:"samples"`
	BaselineHours uint32    `json:"baseline_hours"`
	Method        string    `json:"method"`
	// Hours is the number of hourly readings a day's reading aggregates (1 for an hour).
	Hours int `json:"hours"`
	AlertFigures
}

// AlertReadingsDoc is GET /api/v1/alerts/readings.
type AlertReadingsDoc struct {
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	Bucket   string         `json:"bucket"`
	Currency string         `json:"currency"`
	Rows     []AlertReading `json:"rows"`
}

// NewAlertReadingsDoc shapes stored readings.
func NewAlertReadingsDoc(from, to time.Time, in []store.AlertReading) AlertReadingsDoc {
	d := AlertReadingsDoc{From: from.UTC(), To: to.UTC(), Bucket: "hour", Currency: Currency, Rows: make([]AlertReading, 0, len(in))}
	for _, r := range in {
		d.Rows = append(d.Rows, AlertReading{Tenant: r.Tenant, AlertKey: r.Key, Rule: r.Rule, Metric: r.Metric, Workflow: r.Workflow,
			Bucket: r.Bucket.UTC(), EvaluatedAt: r.EvaluatedAt.UTC(), Usable: r.Usable, Reason: r.Reason, Samples: r.Samples,
			BaselineHours: r.BaselineHours, Method: r.Method, Hours: 1,
			AlertFigures: figures(r.Metric, r.Usable, r.Current, r.Baseline, r.Spread, r.BandLow, r.BandHigh, r.DeviationPct)})
	}
	return d
}

// alertArgs reads the window (readings: widened to whole hours) and ?workflow= and ?metric=.
func alertArgs(r *http.Request) (from, to time.Time, f store.AlertFilter, err error) {
	if from, to, err = window(r); err != nil {
		return
	}
	q := r.URL.Query()
	f = store.AlertFilter{Tenant: tenantOf(r), Workflow: q.Get("workflow"), Metric: q.Get("metric")}
	switch f.Metric {
	case "", "cost_per_completed", "cost_per_validated", "cost_per_exception", "review_share", "tokens_per_workflow", "unpriced_share":
	default:
		err = fmt.Errorf("metric=%q: use cost_per_completed, cost_per_validated, cost_per_exception, review_share, tokens_per_workflow or unpriced_share", f.Metric)
	}
	return
}

func (a *API) alerts(w http.ResponseWriter, r *http.Request) {
	from, to, f, err := alertArgs(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	rows, err := a.q.AlertEvents(r.Context(), from, to, f)
	a.reply(w, r, err, NewAlertsDoc(from, to, rows))
}

func (a *API) alertReadings(w http.ResponseWriter, r *http.Request) {
	from, to, f, err := alertArgs(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	bucket := r.URL.Query().Get("bucket")
	switch bucket {
	case "", "hour":
		from = from.Truncate(time.Hour)
		rows, err := a.q.AlertReadings(r.Context(), from, to, f)
		a.reply(w, r, err, NewAlertReadingsDoc(from, to, rows))
	case "day":
		// whole UTC days, as the trend's daily view reads them (seriesArgs)
		from = dayOf(from)
		rows, err := a.q.AlertReadings(r.Context(), from, to, f)
		var weights hourWeights
		if err == nil {
			weights, err = a.hourWeights(r.Context(), from, to, rows)
		}
		a.reply(w, r, err, AlertReadingsDoc{From: from.UTC(), To: to.UTC(), Bucket: "day", Currency: Currency, Rows: DayReadings(rows, weights)})
	default:
		fail(w, http.StatusBadRequest, "bucket=%q: use hour or day", bucket)
	}
}

// maxWeightQueries bounds the rollup queries one daily readings request runs at once (one
// per reading scope: an admin over many tenants has one per tenant and rule scope).
const maxWeightQueries = 4

// hourWeights reads the hourly rollups of each scope the usable readings have, with the
// scope's own filter (store.AlertReading.Filter, the alert engine's), at most
// maxWeightQueries at once. The token sees only readings of its own tenant, so only its own
// rollups are read.
func (a *API) hourWeights(ctx context.Context, from, to time.Time, rows []store.AlertReading) (hourWeights, error) {
	var scopes []store.SeriesFilter
	seen := map[store.SeriesFilter]bool{}
	for _, rd := range rows {
		if f := rd.Filter(); rd.Usable && !seen[f] {
			seen[f] = true
			scopes = append(scopes, f)
		}
	}
	got := make([]scopeHours, len(scopes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxWeightQueries)
	for i, f := range scopes {
		g.Go(func() error {
			pts, err := a.q.Series(gctx, from, to, "hour", f)
			if err != nil {
				return err
			}
			got[i].points = pts
			if f.Model != "" { // the model's own cost and lines, as the engine reads them
				got[i].costs, err = a.q.SeriesCosts(gctx, from, to, "hour", f)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make(hourWeights, len(scopes))
	for i, f := range scopes {
		out[f] = got[i]
	}
	return out, nil
}
