package apitest_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/apitest"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/store"
)

// series answers the series query with no rows, or with err.
type series struct {
	report.Querier // every other query is not called
	err            error
}

func (s series) Series(context.Context, time.Time, time.Time, string, store.SeriesFilter) ([]store.SeriesPoint, error) {
	return []store.SeriesPoint{}, s.err
}

// The checker holds the headers to the document as well as the body: a header a response
// does not describe, a required one missing, or one off its schema fails, on described
// operations and on the 404/405 of undescribed ones.
func TestCheckerChecksHeaders(t *testing.T) {
	t.Parallel()
	check := apitest.New(t) // the Checker is safe for concurrent use
	tokenTenant := map[string]string{"tok": "acme", "admin": report.AllTenants}
	down := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, c := range []struct {
		name         string
		method, path string
		token        string
		err          error // what ClickHouse answers
		mutate       func(http.Header)
		status       int
		wantErr      string // "" = valid
	}{
		{name: "200 as sent", method: "GET", path: "/api/v1/series", token: "tok", status: 200},
		{name: "200 as sent, admin", method: "GET", path: "/api/v1/series?tenant=acme", token: "admin", status: 200},
		{name: "200 with an undescribed header", method: "GET", path: "/api/v1/series", token: "tok", status: 200,
			mutate: func(h http.Header) { h.Set("X-Debug-Tenant", "globex") }, wantErr: "X-Debug-Tenant"},
		{name: "200 without the token's tenant", method: "GET", path: "/api/v1/series", token: "tok", status: 200,
			mutate: func(h http.Header) { h.Del(report.TokenTenantHeader) }, wantErr: "Unitcost-Token-Tenant"},
		{name: "200 with an empty token tenant", method: "GET", path: "/api/v1/series", token: "tok", status: 200,
			mutate: func(h http.Header) { h.Set(report.TokenTenantHeader, "") }, wantErr: "Unitcost-Token-Tenant"},
		{name: "401 as sent", method: "GET", path: "/api/v1/series", token: "nope", status: 401},
		{name: "403 as sent", method: "GET", path: "/api/v1/series?tenant=globex", token: "tok", status: 403},
		{name: "503 as sent", method: "GET", path: "/api/v1/series", token: "tok", err: down, status: 503},
		{name: "503 without Retry-After", method: "GET", path: "/api/v1/series", token: "tok", err: down, status: 503,
			mutate: func(h http.Header) { h.Del("Retry-After") }, wantErr: "Retry-After"},
		{name: "503 with a date for Retry-After", method: "GET", path: "/api/v1/series", token: "tok", err: down, status: 503,
			mutate: func(h http.Header) { h.Set("Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT") }, wantErr: "Retry-After"},
		{name: "405 as sent", method: "POST", path: "/api/v1/series", token: "tok", status: 405},
		{name: "405 without Allow", method: "POST", path: "/api/v1/series", token: "tok", status: 405,
			mutate: func(h http.Header) { h.Del("Allow") }, wantErr: "required header Allow is missing"},
		{name: "405 with another Allow", method: "POST", path: "/api/v1/series", token: "tok", status: 405,
			mutate: func(h http.Header) { h.Set("Allow", "GET, POST") }, wantErr: `header Allow is "GET, POST"`},
		{name: "404 with an undescribed header", method: "GET", path: "/api/v1/nope", token: "tok", status: 404,
			mutate: func(h http.Header) { h.Set("Retry-After", "5") }, wantErr: "Retry-After are not described"},
		{name: "the document as sent", method: "GET", path: "/api/v1/openapi.json", status: 200},
		{name: "the document with the token's tenant", method: "GET", path: "/api/v1/openapi.json", status: 200,
			mutate: func(h http.Header) { h.Set(report.TokenTenantHeader, "acme") }, wantErr: "Unitcost-Token-Tenant are not described"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := report.NewAPI(series{err: c.err}, tokenTenant, report.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			req := httptest.NewRequest(c.method, c.path, nil)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, rec.Code, rec.Body, c.status)
			}
			if got, want := rec.Header().Get(report.TokenTenantHeader), tokenTenant[c.token]; got != want || c.status == 401 && len(rec.Header()[report.TokenTenantHeader]) > 0 {
				t.Errorf("%s: %q, want %q", report.TokenTenantHeader, got, want)
			}
			if c.mutate != nil {
				c.mutate(rec.Header())
			}
			err := check.Check(req, rec.Code, rec.Header(), rec.Body.Bytes())
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("valid response refused: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.wantErr))):
				t.Errorf("got %v, want an error naming %q", err, c.wantErr)
			}
		})
	}
}
