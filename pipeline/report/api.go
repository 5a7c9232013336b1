package report

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/pipeline/store"
)

// Querier runs the shipped queries (pipeline/store implements it).
type Querier interface {
	UnitEconomicsWhere(ctx context.Context, from, to time.Time, f store.Filter) ([]store.UnitEconomics, error)
	BreakdownWhere(ctx context.Context, dim string, from, to time.Time, f store.Filter) ([]store.BreakdownRow, error)
	TopWorkflowsWhere(ctx context.Context, from, to time.Time, f store.Filter, limit int) ([]store.TopWorkflow, error)
	ReportedCost(ctx context.Context, from, to time.Time, f store.Filter) ([]store.ReportedCost, error)
	Workflow(ctx context.Context, workflowID, tenant string) (store.WorkflowFacts, bool, error)
	WorkflowLines(ctx context.Context, workflowID, tenant string) ([]store.Line, error)
	ContextShare(ctx context.Context, from, to time.Time, tenant string) ([]store.ContextShare, error)
	Series(ctx context.Context, from, to time.Time, bucket string, f store.SeriesFilter) ([]store.SeriesPoint, error)
	SeriesCosts(ctx context.Context, from, to time.Time, bucket string, f store.SeriesFilter) ([]store.CostPoint, error)
}

var _ Querier = (*store.Store)(nil)

// AllTenants is the tenant an admin token maps to: it sees every tenant and may pick one
// with ?tenant=.
const AllTenants = "*"

// API serves the unit economics as JSON under /api/v1. Every request needs a bearer token
// that maps to a tenant; a tenant's token sees only that tenant's workflows and their
// line items. With no tokens configured the API is open and sees every tenant (for a
// loopback-only development setup).
type API struct {
	q      Querier
	tokens map[string]string
	mux    *http.ServeMux
}

// NewAPI returns the handler.
func NewAPI(q Querier, tokens map[string]string) *API {
	a := &API{q: q, tokens: tokens, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /api/v1/unit-economics", a.unitEconomics)
	a.mux.HandleFunc("GET /api/v1/breakdown", a.breakdown)
	a.mux.HandleFunc("GET /api/v1/workflows/top", a.top)
	a.mux.HandleFunc("GET /api/v1/workflows/{id}/lines", a.lines)
	a.mux.HandleFunc("GET /api/v1/context-share", a.contextShare)
	a.mux.HandleFunc("GET /api/v1/series", a.series)
	a.mux.HandleFunc("GET /api/v1/series/costs", a.seriesCosts)
	a.mux.HandleFunc("GET /api/v1/reported-cost", a.reportedCost)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "no such endpoint %s %s: see /api/v1/{unit-economics,breakdown,workflows/top,workflows/ID/lines,context-share,series,series/costs,reported-cost}", r.Method, r.URL.Path)
	})
	return a
}

// ServeHTTP authenticates, then routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant, ok := a.tenant(r)
	if !ok {
		fail(w, http.StatusUnauthorized, "missing or unknown bearer token (Authorization: Bearer <token>)")
		return
	}
	if q := r.URL.Query().Get("tenant"); q != "" {
		if tenant != AllTenants && q != tenant {
			fail(w, http.StatusForbidden, "this token sees tenant %q only", tenant)
			return
		}
		tenant = q
	}
	if tenant == AllTenants {
		tenant = ""
	}
	a.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, tenant)))
}

type tenantKey struct{}

func tenantOf(r *http.Request) string { return r.Context().Value(tenantKey{}).(string) }

func (a *API) tenant(r *http.Request) (string, bool) {
	if len(a.tokens) == 0 {
		return AllTenants, true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	for t, tenant := range a.tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			return tenant, true
		}
	}
	return "", false
}

// window reads ?since=24h (default) or ?from=&to= (RFC 3339 or YYYY-MM-DD).
func window(r *http.Request) (time.Time, time.Time, error) {
	q := r.URL.Query()
	to := time.Now().UTC()
	parse := func(s string) (time.Time, error) {
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t, nil
		}
		return time.Parse(time.RFC3339, s)
	}
	var err error
	if s := q.Get("to"); s != "" {
		if to, err = parse(s); err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("to=%q: want RFC 3339 or YYYY-MM-DD", s)
		}
	}
	if s := q.Get("from"); s != "" {
		from, err := parse(s)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("from=%q: want RFC 3339 or YYYY-MM-DD", s)
		}
		return from, to, nil
	}
	since := 24 * time.Hour
	if s := q.Get("since"); s != "" {
		if since, err = time.ParseDuration(s); err != nil || since <= 0 {
			return time.Time{}, time.Time{}, fmt.Errorf("since=%q: want a positive duration such as 24h", s)
		}
	}
	return to.Add(-since), to, nil
}

// filterOf reads the dimension filters ?service=, ?environment=, ?session=, ?user= and
// ?label=key=value; the tenant comes from the token.
func filterOf(r *http.Request) (store.Filter, error) {
	q := r.URL.Query()
	f := store.Filter{Tenant: tenantOf(r), Service: q.Get("service"), Environment: q.Get("environment"), Session: q.Get("session"),
		User: q.Get("user"), Label: q.Get("label")}
	return f, f.Validate()
}

func (a *API) unitEconomics(w http.ResponseWriter, r *http.Request) {
	from, to, err := window(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	f, err := filterOf(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	var ue []store.UnitEconomics
	switch src := r.URL.Query().Get("source"); src {
	case "", "line_items":
		ue, err = a.q.UnitEconomicsWhere(r.Context(), from, to, f)
	case "rollups": // whole hours, as of the last rollup refresh; fast over long windows
		if f != (store.Filter{Tenant: f.Tenant}) {
			fail(w, http.StatusBadRequest, "source=rollups: the rollups carry no service, environment, session, user or label; use source=line_items")
			return
		}
		from = from.Truncate(time.Hour)
		var pts []store.SeriesPoint
		pts, err = a.q.Series(r.Context(), from, to, "hour", store.SeriesFilter{Tenant: tenantOf(r)})
		ue = store.SumByWorkflow(pts)
	default:
		fail(w, http.StatusBadRequest, "source=%q: use line_items or rollups", src)
		return
	}
	reply(w, err, map[string]any{"from": from, "to": to, "rows": Rows(ue)})
}

func (a *API) breakdown(w http.ResponseWriter, r *http.Request) {
	from, to, err := window(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	by := r.URL.Query().Get("by")
	if _, ok := store.DimensionColumn(by); !ok {
		fail(w, http.StatusBadRequest, "by=%q: use one of %s, or label:KEY", by, strings.Join(store.DimensionOrder, ", "))
		return
	}
	f, err := filterOf(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	rows, err := a.q.BreakdownWhere(r.Context(), by, from, to, f)
	reply(w, err, map[string]any{"from": from, "to": to, "by": by, "rows": rows})
}

func (a *API) top(w http.ResponseWriter, r *http.Request) {
	from, to, err := window(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	limit := 10
	if s := r.URL.Query().Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 1000 {
			fail(w, http.StatusBadRequest, "limit=%q: want 1 to 1000", s)
			return
		}
	}
	f, err := filterOf(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	rows, err := a.q.TopWorkflowsWhere(r.Context(), from, to, f, limit)
	reply(w, err, map[string]any{"from": from, "to": to, "rows": rows})
}

// reportedCost compares computed with provider-reported cost per model.
func (a *API) reportedCost(w http.ResponseWriter, r *http.Request) {
	from, to, err := window(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	f, err := filterOf(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	rows, err := a.q.ReportedCost(r.Context(), from, to, f)
	reply(w, err, map[string]any{"from": from, "to": to, "rows": rows})
}

func (a *API) lines(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rows, err := a.q.WorkflowLines(r.Context(), id, tenantOf(r))
	if err == nil && len(rows) == 0 {
		fail(w, http.StatusNotFound, "no workflow %q visible to this token", id)
		return
	}
	// The workflow's facts: its outcome and which rule decided it, its dimensions. A late
	// span's lines may be written before the workflow row (null until then).
	var facts *store.WorkflowFacts
	if err == nil {
		if wf, ok, ferr := a.q.Workflow(r.Context(), id, tenantOf(r)); ferr != nil {
			err = ferr
		} else if ok {
			facts = &wf
		}
	}
	reply(w, err, map[string]any{"workflow_id": id, "workflow": facts, "rows": rows})
}

func (a *API) contextShare(w http.ResponseWriter, r *http.Request) {
	from, to, err := window(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	rows, err := a.q.ContextShare(r.Context(), from, to, tenantOf(r))
	reply(w, err, map[string]any{"from": from, "to": to, "rows": ContextRows(rows)})
}

// seriesArgs reads the window (widened to whole hours), ?bucket=hour|day and the filters
// workflow, workflow_version, team and model; the tenant comes from the token.
func seriesArgs(r *http.Request) (from, to time.Time, bucket string, f store.SeriesFilter, err error) {
	if from, to, err = window(r); err != nil {
		return
	}
	q := r.URL.Query()
	bucket = q.Get("bucket")
	if bucket == "" {
		bucket = "hour"
	}
	if bucket != "hour" && bucket != "day" {
		err = fmt.Errorf("bucket=%q: use hour or day", bucket)
		return
	}
	f = store.SeriesFilter{Tenant: tenantOf(r), Workflow: q.Get("workflow"), Version: q.Get("workflow_version"), Team: q.Get("team"), Model: q.Get("model")}
	return from.Truncate(time.Hour), to, bucket, f, nil
}

func (a *API) series(w http.ResponseWriter, r *http.Request) {
	from, to, bucket, f, err := seriesArgs(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	pts, err := a.q.Series(r.Context(), from, to, bucket, f)
	reply(w, err, map[string]any{"from": from, "to": to, "bucket": bucket, "rows": SeriesRows(pts)})
}

func (a *API) seriesCosts(w http.ResponseWriter, r *http.Request) {
	from, to, bucket, f, err := seriesArgs(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	pts, err := a.q.SeriesCosts(r.Context(), from, to, bucket, f)
	reply(w, err, map[string]any{"from": from, "to": to, "bucket": bucket, "rows": pts})
}

func reply(w http.ResponseWriter, err error, body any) {
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, context.DeadlineExceeded) {
			status = http.StatusGatewayTimeout
		}
		fail(w, status, "query failed: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func fail(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf(format, args...)})
}
