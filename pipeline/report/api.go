package report

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/schemas"
)

// Querier runs the shipped queries (pipeline/store implements it).
type Querier interface {
	UnitEconomicsWhere(ctx context.Context, from, to time.Time, f store.Filter) ([]store.UnitEconomics, error)
	BreakdownWhere(ctx context.Context, dim string, from, to time.Time, f store.Filter) ([]store.BreakdownRow, error)
	BreakdownRollups(ctx context.Context, dim string, from, to time.Time, f store.SeriesFilter) ([]store.BreakdownRow, error)
	TopWorkflowsWhere(ctx context.Context, from, to time.Time, f store.Filter, limit int) ([]store.TopWorkflow, error)
	TopWorkflowsRollups(ctx context.Context, from, to time.Time, tenant string, limit int) ([]store.TopWorkflow, error)
	ReportedCost(ctx context.Context, from, to time.Time, f store.Filter) ([]store.ReportedCost, error)
	Workflow(ctx context.Context, workflowID, tenant string) (store.WorkflowFacts, bool, error)
	WorkflowLines(ctx context.Context, workflowID, tenant string) ([]store.Line, error)
	ContextShare(ctx context.Context, from, to time.Time, tenant string) ([]store.ContextShare, error)
	Series(ctx context.Context, from, to time.Time, bucket string, f store.SeriesFilter) ([]store.SeriesPoint, error)
	SeriesCosts(ctx context.Context, from, to time.Time, bucket string, f store.SeriesFilter) ([]store.CostPoint, error)
	AlertEvents(ctx context.Context, from, to time.Time, f store.AlertFilter) ([]store.AlertEvent, error)
	AlertReadings(ctx context.Context, from, to time.Time, f store.AlertFilter) ([]store.AlertReading, error)
}

var _ Querier = (*store.Store)(nil)

// AllTenants is the tenant an admin token maps to: it sees every tenant and may pick one
// with ?tenant=.
const AllTenants = "*"

// TokenTenantHeader names the response header that tells the request's token's tenant
// (AllTenants for an admin token).
const TokenTenantHeader = "Unitcost-Token-Tenant"

// API serves the unit economics as JSON under /api/v1, in the shapes of types.go described
// by schemas/openapi.yaml (served at /api/v1/openapi.json). Every request needs a bearer
// token that maps to a tenant; a tenant's token sees only that tenant's workflows and their
// line items. With no tokens configured the API sees every tenant (a development setup on
// a loopback address; LoopbackOnlyWithoutTokens also refuses other clients).
//
// Errors are JSON {"error": "..."}: 4xx say what to change; 5xx say what happened in general
// terms (503 with Retry-After when ClickHouse cannot be reached) and the detail goes to the
// log only, under the request id the message names.
type API struct {
	q      Querier
	tokens map[string]string
	log    *slog.Logger
	mux    *http.ServeMux
	// loopbackOnly: without tokens, answer loopback clients only
	loopbackOnly bool
	// unshared: each request runs its own rollup reads (see sharedReads)
	unshared bool
	routes   []string
}

// Option configures an API.
type Option func(*API)

// LoopbackOnlyWithoutTokens makes an API without tokens answer loopback clients only
// (403 for others). `unitcost api` leaves it off: there the listen address is the boundary
// (api.addr defaults to 127.0.0.1, and docker-compose publishes the port on the host's
// loopback only, where the container sees the bridge's address, not a loopback one).
func LoopbackOnlyWithoutTokens() Option { return func(a *API) { a.loopbackOnly = true } }

// WithoutSharedReads makes every request run its own rollup reads instead of sharing the
// identical ones that run at the same time (for comparisons; the answers are the same).
func WithoutSharedReads() Option { return func(a *API) { a.unshared = true } }

// WithLogger sets where server-side failures are logged (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *API) { a.log = l } }

// NewAPI returns the handler.
func NewAPI(q Querier, tokens map[string]string, opts ...Option) *API {
	a := &API{q: q, tokens: tokens, log: slog.Default(), mux: http.NewServeMux()}
	for _, o := range opts {
		o(a)
	}
	if !a.unshared {
		a.q = &sharedReads{Querier: q}
	}
	a.handle("/api/v1/summary", a.summary)
	a.handle("/api/v1/unit-economics", a.unitEconomics)
	a.handle("/api/v1/breakdown", a.breakdown)
	a.handle("/api/v1/workflows/top", a.top)
	a.handle("/api/v1/workflows/{id}/lines", a.lines)
	a.handle("/api/v1/context-share", a.contextShare)
	a.handle("/api/v1/series", a.series)
	a.handle("/api/v1/series/costs", a.seriesCosts)
	a.handle("/api/v1/reported-cost", a.reportedCost)
	a.handle("/api/v1/alerts", a.alerts)
	a.handle("/api/v1/alerts/readings", a.alertReadings)
	a.mux.HandleFunc("/", a.notFound)
	return a
}

func (a *API) handle(path string, h http.HandlerFunc) {
	a.routes = append(a.routes, path)
	a.mux.HandleFunc("GET "+path, h)
}

// notFound answers paths no route takes: 405 when the path exists for GET, else 404.
func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		probe := r.Clone(r.Context())
		probe.Method = http.MethodGet
		if _, pattern := a.mux.Handler(probe); pattern != "/" {
			w.Header().Set("Allow", "GET, HEAD")
			fail(w, http.StatusMethodNotAllowed, "%s %s: this endpoint answers GET only", r.Method, r.URL.Path)
			return
		}
	}
	fail(w, http.StatusNotFound, "no such endpoint %s %s: see /api/v1/openapi.json for %s", r.Method, r.URL.Path, strings.Join(a.routes, ", "))
}

// ServeHTTP authenticates, then routes. The OpenAPI description needs no token.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.loopbackOnly && len(a.tokens) == 0 && !Loopback(r.RemoteAddr) {
		fail(w, http.StatusForbidden, "no api.tokens are configured, so this API answers loopback clients only; configure tokens to serve others")
		return
	}
	if r.URL.Path == "/api/v1/openapi.json" {
		a.openAPI(w, r)
		return
	}
	tenant, ok := a.Tenant(r)
	if !ok {
		fail(w, http.StatusUnauthorized, "missing or unknown bearer token (Authorization: Bearer <token>)")
		return
	}
	// The token's own tenant ("*" for an admin token): the dashboard draws, with no tenant
	// chosen, a tenant token's own alert bands but only the all-tenant rules' for an admin.
	w.Header().Set(TokenTenantHeader, tenant)
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

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		fail(w, http.StatusMethodNotAllowed, "%s %s: this endpoint answers GET only", r.Method, r.URL.Path)
		return
	}
	doc, err := schemas.OpenAPIJSON()
	if err != nil {
		a.reply(w, r, err, nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(doc)
}

// Loopback reports whether a request's remote address is on the loopback interface.
func Loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type tenantKey struct{}

func tenantOf(r *http.Request) string { return r.Context().Value(tenantKey{}).(string) }

// Tenant maps the request's bearer token to its tenant (AllTenants for an admin token, or
// for every request when no tokens are configured).
func (a *API) Tenant(r *http.Request) (string, bool) {
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
		if since, err = pipeline.ParseDuration(s); err != nil || since <= 0 { // as the CLI's --since: 24h, 90m, 7d
			return time.Time{}, time.Time{}, fmt.Errorf("since=%q: want a positive duration such as 24h, 90m or 7d", s)
		}
	}
	return to.Add(-since), to, nil
}

func (a *API) summary(w http.ResponseWriter, r *http.Request) {
	from, to, _, f, err := seriesArgs(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if f.Model != "" {
		fail(w, http.StatusBadRequest, "model=%q: the summary is per workflow, not per model; use /api/v1/series/costs or breakdown", f.Model)
		return
	}
	prevFrom := from.Add(-to.Sub(from))
	// the two windows at once: the tiles wait for the slower, not for both in turn
	type result struct {
		pts []store.SeriesPoint
		err error
	}
	prevc := make(chan result, 1)
	go func() {
		pts, err := a.q.Series(r.Context(), prevFrom, from, "hour", f)
		prevc <- result{pts, err}
	}()
	cur, err := a.q.Series(r.Context(), from, to, "hour", f)
	prev := <-prevc
	if err == nil {
		err = prev.err
	}
	a.reply(w, r, err, NewSummaryDoc(NewPeriod(from, to, cur), NewPeriod(prevFrom, from, prev.pts)))
}

// filterOf reads the dimension filters ?service=, ?environment=, ?session=, ?user= and
// ?label=key=value; the tenant comes from the token.
func filterOf(r *http.Request) (store.Filter, error) {
	q := r.URL.Query()
	f := store.Filter{Tenant: tenantOf(r), Service: q.Get("service"), Environment: q.Get("environment"), Session: q.Get("session"),
		User: q.Get("user"), Label: q.Get("label")}
	return f, f.Validate()
}

// windowFilter reads the window and the filters of a line-item query.
func windowFilter(r *http.Request) (from, to time.Time, f store.Filter, err error) {
	if from, to, err = window(r); err != nil {
		return
	}
	f, err = filterOf(r)
	return
}

func (a *API) unitEconomics(w http.ResponseWriter, r *http.Request) {
	from, to, f, err := windowFilter(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	var ue []store.UnitEconomics
	src := r.URL.Query().Get("source")
	switch src {
	case "", "line_items":
		src = "line_items"
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
	a.reply(w, r, err, NewUnitEconomicsDoc(from, to, src, ue))
}

func (a *API) breakdown(w http.ResponseWriter, r *http.Request) {
	from, to, _, sf, err := seriesArgs(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	q := r.URL.Query()
	by := q.Get("by")
	if _, ok := store.DimensionColumn(by); !ok {
		fail(w, http.StatusBadRequest, "by=%q: use one of %s, or label:KEY", by, strings.Join(store.DimensionOrder, ", "))
		return
	}
	f, err := filterOf(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	var rows []store.BreakdownRow
	switch src := q.Get("source"); src {
	case "", "line_items":
		if sf.Workflow != "" || sf.Version != "" || sf.Team != "" || sf.Model != "" {
			fail(w, http.StatusBadRequest, "the workflow, workflow_version, team and model filters need source=rollups")
			return
		}
		from, to, _ = window(r) // the source reads exact bounds, not whole hours
		rows, err = a.q.BreakdownWhere(r.Context(), by, from, to, f)
		a.reply(w, r, err, NewBreakdownDoc(from, to, by, "line_items", rows))
	case "rollups":
		if !store.RollupDimensions[by] {
			fail(w, http.StatusBadRequest, "by=%q needs source=line_items: the rollups keep %s", by, strings.Join(store.RollupDimensionOrder, ", "))
			return
		}
		if f.Session != "" || f.User != "" || f.Label != "" {
			fail(w, http.StatusBadRequest, "source=rollups: the rollups carry no session, user or label; use source=line_items")
			return
		}
		rows, err = a.q.BreakdownRollups(r.Context(), by, from, to, sf)
		a.reply(w, r, err, NewBreakdownDoc(from, to, by, "rollups", rows))
	default:
		fail(w, http.StatusBadRequest, "source=%q: use line_items or rollups", src)
	}
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
	var rows []store.TopWorkflow
	src := r.URL.Query().Get("source")
	switch src {
	case "", "line_items":
		src = "line_items"
		rows, err = a.q.TopWorkflowsWhere(r.Context(), from, to, f, limit)
	case "rollups": // whole hours, as of the last rollup refresh; fast over any window
		if f != (store.Filter{Tenant: f.Tenant}) {
			fail(w, http.StatusBadRequest, "source=rollups: the rollups carry no service, environment, session, user or label; use source=line_items")
			return
		}
		if limit > store.TopRollupLimit {
			fail(w, http.StatusBadRequest, "limit=%d with source=rollups: the rollups keep the top %d of each hour; use source=line_items for more", limit, store.TopRollupLimit)
			return
		}
		from = from.Truncate(time.Hour)
		rows, err = a.q.TopWorkflowsRollups(r.Context(), from, to, f.Tenant, limit)
	default:
		fail(w, http.StatusBadRequest, "source=%q: use line_items or rollups", src)
		return
	}
	a.reply(w, r, err, NewTopDoc(from, to, src, limit, rows))
}

// reportedCost compares computed with provider-reported cost per model.
func (a *API) reportedCost(w http.ResponseWriter, r *http.Request) {
	from, to, f, err := windowFilter(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	rows, err := a.q.ReportedCost(r.Context(), from, to, f)
	a.reply(w, r, err, NewReportedCostDoc(from, to, rows))
}

func (a *API) lines(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	// The workflow's facts (its outcome and which rule decided it, its dimensions), read
	// beside its lines. A late span's lines may be written before the workflow row (null
	// until then).
	type result struct {
		wf  store.WorkflowFacts
		ok  bool
		err error
	}
	factc := make(chan result, 1)
	go func() {
		wf, ok, err := a.q.Workflow(r.Context(), id, tenantOf(r))
		factc <- result{wf, ok, err}
	}()
	rows, err := a.q.WorkflowLines(r.Context(), id, tenantOf(r))
	fact := <-factc
	if err == nil && len(rows) == 0 {
		fail(w, http.StatusNotFound, "no workflow %q visible to this token", id)
		return
	}
	var facts *store.WorkflowFacts
	if err == nil {
		if err = fact.err; err == nil && fact.ok {
			facts = &fact.wf
		}
	}
	a.reply(w, r, err, NewLinesDoc(id, facts, rows))
}

func (a *API) contextShare(w http.ResponseWriter, r *http.Request) {
	from, to, err := window(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	rows, err := a.q.ContextShare(r.Context(), from, to, tenantOf(r))
	a.reply(w, r, err, NewContextDoc(from, to, rows))
}

// seriesArgs reads the window (widened to whole hours, by day to whole UTC days: the first
// day bucket is a whole day, as the daily alert band's), ?bucket=hour|day and the filters
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
	f = store.SeriesFilter{Tenant: tenantOf(r), Workflow: q.Get("workflow"), Version: q.Get("workflow_version"), Team: q.Get("team"), Model: q.Get("model"),
		Service: q.Get("service"), Environment: q.Get("environment")}
	if bucket == "day" {
		return dayOf(from), to, bucket, f, nil
	}
	return from.Truncate(time.Hour), to, bucket, f, nil
}

func (a *API) series(w http.ResponseWriter, r *http.Request) {
	from, to, bucket, f, err := seriesArgs(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if f.Model != "" {
		fail(w, http.StatusBadRequest, "model=%q: the unit economics series is per workflow, not per model; use /api/v1/series/costs", f.Model)
		return
	}
	pts, err := a.q.Series(r.Context(), from, to, bucket, f)
	a.reply(w, r, err, NewSeriesDoc(from, to, bucket, pts))
}

func (a *API) seriesCosts(w http.ResponseWriter, r *http.Request) {
	from, to, bucket, f, err := seriesArgs(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	pts, err := a.q.SeriesCosts(r.Context(), from, to, bucket, f)
	a.reply(w, r, err, NewSeriesCostsDoc(from, to, bucket, pts))
}

// reply writes body, or maps err to a generic error: the detail is logged, never sent (it
// can name internal addresses and SQL).
func (a *API) reply(w http.ResponseWriter, r *http.Request, err error, body any) {
	if err == nil {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	id := requestID()
	switch {
	case Unavailable(err):
		a.log.Warn("api: clickhouse unavailable", "request_id", id, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		fail(w, http.StatusServiceUnavailable, "the database is unavailable; retry shortly (request %s)", id)
	case errors.Is(err, context.DeadlineExceeded):
		a.log.Warn("api: query timed out", "request_id", id, "path", r.URL.Path, "err", err)
		fail(w, http.StatusGatewayTimeout, "the query took too long; narrow the window or use source=rollups (request %s)", id)
	default:
		a.log.Error("api: query failed", "request_id", id, "path", r.URL.Path, "err", err)
		fail(w, http.StatusInternalServerError, "internal error; the server log has the detail under request %s", id)
	}
}

// Unavailable reports whether err means ClickHouse could not be reached or dropped the
// connection (as opposed to rejecting the query).
func Unavailable(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, clickhouse.ErrAcquireConnTimeout)
}

func requestID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func fail(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(ErrorDoc{Error: fmt.Sprintf(format, args...)})
}
