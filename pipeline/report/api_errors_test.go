package report_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/apitest"
	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/store"
)

// proxy forwards TCP connections to target until closed; closing it also cuts every
// forwarded connection, so a client behind it sees its server vanish.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// ClickHouse going away answers 503 with Retry-After and a message that names no address;
// the detail goes to the log. Every list is [] on an empty database.
func TestAPIUnavailableAndEmpty(t *testing.T) {
	check := apitest.New(t)
	defer check.Verify(t)
	base := testenv.ClickHouse(t) // a fresh, migrated database
	p := newProxy(t, testenv.ClickHouseAddr(t))
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Addr: []string{p.ln.Addr().String()}, Database: base.Database(), Username: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logged bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil))
	srv := httptest.NewServer(check.Middleware(report.NewAPI(st, map[string]string{"tok": "acme"}, report.WithLogger(log))))
	defer srv.Close()

	paths := []string{"/api/v1/unit-economics", "/api/v1/unit-economics?source=rollups", "/api/v1/breakdown?by=model",
		"/api/v1/breakdown?by=model&source=rollups", "/api/v1/workflows/top", "/api/v1/context-share", "/api/v1/series",
		"/api/v1/series/costs", "/api/v1/summary", "/api/v1/reported-cost", "/api/v1/alerts", "/api/v1/alerts/readings"}
	for _, path := range paths {
		resp, raw := rawGet(t, srv.URL+path, "tok")
		if resp.StatusCode != 200 || !bytes.Contains(raw, []byte(`"rows":[]`)) && !strings.Contains(path, "summary") || bytes.Contains(raw, []byte(`":[null`)) {
			t.Errorf("%s on an empty database: %d %s, want 200 with \"rows\":[]", path, resp.StatusCode, raw)
		}
	}

	p.close()
	for _, path := range append(paths, "/api/v1/workflows/0123/lines") {
		resp, raw := rawGet(t, srv.URL+path, "tok")
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !bytes.Contains(raw, []byte("database is unavailable")) {
			t.Errorf("%s with ClickHouse gone: %d %q %s, want 503 with Retry-After", path, resp.StatusCode, resp.Header.Get("Retry-After"), raw)
		}
		if bytes.Contains(raw, []byte("127.0.0.1")) || bytes.Contains(raw, []byte(p.ln.Addr().String())) {
			t.Errorf("%s: the 503 names an internal address: %s", path, raw)
		}
	}
	logMu.Lock()
	if !strings.Contains(logged.String(), "clickhouse unavailable") || !strings.Contains(logged.String(), "request_id=") {
		t.Errorf("the log lacks the detail:\n%s", logged.String())
	}
	logMu.Unlock()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func rawGet(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// failing is a Querier whose every query fails with err.
type failing struct{ err error }

func (f failing) UnitEconomicsWhere(context.Context, time.Time, time.Time, store.Filter) ([]store.UnitEconomics, error) {
	return nil, f.err
}
func (f failing) BreakdownWhere(context.Context, string, time.Time, time.Time, store.Filter) ([]store.BreakdownRow, error) {
	return nil, f.err
}
func (f failing) ReportedCost(context.Context, time.Time, time.Time, store.Filter) ([]store.ReportedCost, error) {
	return nil, f.err
}
func (f failing) Workflow(context.Context, string, string) (store.WorkflowFacts, bool, error) {
	return store.WorkflowFacts{}, false, f.err
}
func (f failing) BreakdownRollups(context.Context, string, time.Time, time.Time, store.SeriesFilter) ([]store.BreakdownRow, error) {
	return nil, f.err
}
func (f failing) TopWorkflowsWhere(context.Context, time.Time, time.Time, store.Filter, int) ([]store.TopWorkflow, error) {
	return nil, f.err
}
func (f failing) TopWorkflowsRollups(context.Context, time.Time, time.Time, string, int) ([]store.TopWorkflow, error) {
	return nil, f.err
}
func (f failing) WorkflowLines(context.Context, string, string) ([]store.Line, error) {
	return nil, f.err
}
func (f failing) ContextShare(context.Context, time.Time, time.Time, string) ([]store.ContextShare, error) {
	return nil, f.err
}
func (f failing) Series(context.Context, time.Time, time.Time, string, store.SeriesFilter) ([]store.SeriesPoint, error) {
	return nil, f.err
}
func (f failing) AlertEvents(context.Context, time.Time, time.Time, store.AlertFilter) ([]store.AlertEvent, error) {
	return nil, f.err
}
func (f failing) AlertReadings(context.Context, time.Time, time.Time, store.AlertFilter) ([]store.AlertReading, error) {
	return nil, f.err
}
func (f failing) SeriesCosts(context.Context, time.Time, time.Time, string, store.SeriesFilter) ([]store.CostPoint, error) {
	return nil, f.err
}

// Server-side failures answer a generic message with a request id; the detail (which can
// hold SQL and internal addresses) is only logged. Without tokens only loopback clients
// are answered.
func TestAPIErrorsAreGeneric(t *testing.T) {
	t.Parallel()
	check := apitest.New(t)
	defer check.Verify(t)
	for _, c := range []struct {
		err    error
		status int
		msg    string
	}{
		{errors.New("code: 60, message: Table unitcost.line_items doesn't exist (10.1.2.3:9000)"), 500, "internal error"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, 503, "database is unavailable"},
		{context.DeadlineExceeded, 504, "took too long"},
	} {
		var logged bytes.Buffer
		h := check.Middleware(report.NewAPI(failing{c.err}, map[string]string{"tok": "acme"}, report.WithLogger(slog.New(slog.NewTextHandler(&logged, nil)))))
		req := httptest.NewRequest(http.MethodGet, "/api/v1/unit-economics", nil)
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != c.status || !strings.Contains(body, c.msg) || strings.Contains(body, "10.1.2.3") || strings.Contains(body, "refused") {
			t.Errorf("%v: %d %s, want %d %q without the detail", c.err, rec.Code, body, c.status, c.msg)
		}
		if !strings.Contains(logged.String(), c.err.Error()) {
			t.Errorf("%v: not logged: %s", c.err, logged.String())
		}
	}

	open := check.Middleware(report.NewAPI(failing{errors.New("x")}, nil, report.LoopbackOnlyWithoutTokens()))
	req := httptest.NewRequest(http.MethodGet, "/api/v1/unit-economics", nil)
	req.RemoteAddr = "192.0.2.7:4711"
	rec := httptest.NewRecorder()
	open.ServeHTTP(rec, req)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "loopback") {
		t.Errorf("no tokens, remote client: %d %s, want 403", rec.Code, rec.Body.String())
	}
}
