package report

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/whatif"
)

// EnableWhatif serves the what-if under /api/v1/whatif (routings, rates, recommendation)
// and /api/v1/whatif/steps (each workflow type's steps with models, shares and rates),
// reading through src and pricing with books. The token's tenant applies as everywhere.
//
// Query: workflow (default every type), since / from / to, scenario (repeatable,
// step=[provider/]model[@tier],...), assume (review_rate=R,...), price_version, cache
// (as_recorded, none, system_prompt), cut_context (percent), min_samples.
func (a *API) EnableWhatif(src whatif.Source, books *pricing.Books) *API {
	a.handle("/api/v1/whatif", func(w http.ResponseWriter, r *http.Request) { a.whatif(w, r, src, books, false) })
	a.handle("/api/v1/whatif/steps", func(w http.ResponseWriter, r *http.Request) { a.whatif(w, r, src, books, true) })
	return a
}

func (a *API) whatif(w http.ResponseWriter, r *http.Request, src whatif.Source, books *pricing.Books, steps bool) {
	req, err := whatifRequest(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	req.Tenant = tenantOf(r)
	req.Options.Pricer.Books = books
	if err := req.Options.Pricer.Validate(); err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	reps, err := whatif.Run(r.Context(), src, req)
	if err != nil && req.Workflow != "" && errors.Is(err, whatif.ErrNoWorkflows) {
		fail(w, http.StatusNotFound, "%v", err)
		return
	}
	if err != nil {
		a.reply(w, r, err, nil)
		return
	}
	var body map[string]any
	if steps {
		body = whatif.StepsOf(reps)
	} else {
		body = map[string]any{"currency": whatif.Currency, "reports": reps}
	}
	body["from"], body["to"] = req.From, req.To
	a.reply(w, r, nil, body)
}

func whatifRequest(r *http.Request) (whatif.Request, error) {
	var req whatif.Request
	from, to, err := window(r)
	if err != nil {
		return req, err
	}
	q := r.URL.Query()
	req.Workflow, req.From, req.To = q.Get("workflow"), from, to
	o := &req.Options
	o.Pricer.Version, o.Pricer.CachePolicy = q.Get("price_version"), q.Get("cache")
	switch o.Pricer.CachePolicy {
	case "", whatif.CacheAsRecorded, whatif.CacheNone, whatif.CacheSystem:
	default:
		return req, fmt.Errorf("cache=%q: use %s, %s or %s", o.Pricer.CachePolicy, whatif.CacheAsRecorded, whatif.CacheNone, whatif.CacheSystem)
	}
	if s := q.Get("cut_context"); s != "" {
		if o.Pricer.CutContextPct, err = strconv.ParseFloat(s, 64); err != nil || o.Pricer.CutContextPct < 0 || o.Pricer.CutContextPct > 100 {
			return req, fmt.Errorf("cut_context=%q: want a percentage 0 to 100", s)
		}
	}
	if s := q.Get("min_samples"); s != "" {
		if o.MinSamples, err = strconv.ParseUint(s, 10, 64); err != nil || o.MinSamples == 0 {
			return req, fmt.Errorf("min_samples=%q: want a positive integer", s)
		}
	}
	for _, s := range q["scenario"] {
		sc, err := whatif.ParseScenario(s)
		if err != nil {
			return req, err
		}
		o.Scenarios = append(o.Scenarios, sc)
	}
	if s := q.Get("assume"); s != "" {
		if len(o.Scenarios) == 0 {
			return req, errors.New("assume applies to scenario routings: give at least one scenario")
		}
		as, err := whatif.ParseAssumed(s)
		if err != nil {
			return req, err
		}
		for i := range o.Scenarios {
			o.Scenarios[i].Assumed = as
		}
	}
	return req, nil
}
