package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/web"
)

func runAPI(args []string) error {
	_, s := newFlags("api", "Serve the unit economics as JSON under /api/v1: unit-economics, breakdown?by=,\nworkflows/top, workflows/ID/lines, context-share, series, series/costs, summary (each takes ?since=24h\nor ?from=&to=); the contract is /api/v1/openapi.json. The dashboard is on the same listener at /ui/.",
		"A tenant's bearer token (api.tokens) sees only its own workflows; a token mapped to \"*\" sees\nall and may pass ?tenant=. Errors are JSON {\"error\": ...}. Also serves /healthz, /readyz, /metrics\non admin.addr. SIGTERM finishes in-flight requests.")
	ss, err := s.start(args)
	if err != nil {
		return err
	}
	defer ss.stop()
	if len(ss.cfg.API.Tokens) == 0 {
		ss.log.Warn("api.tokens is empty: the API is open and shows every tenant; keep it on loopback")
	}
	st, err := store.Open(ss.ctx, ss.cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", ss.cfg.API.Addr)
	if err != nil {
		return fmt.Errorf("listen api on %s: %w (set api.addr)", ss.cfg.API.Addr, err)
	}
	api := report.NewAPI(st, ss.cfg.API.Tokens, report.WithLogger(ss.log))
	srv := &http.Server{Handler: web.Handler(api, len(ss.cfg.API.Tokens) == 0), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if ss.cfg.Admin.Addr != "" {
		a, err := admin.New(ss.cfg.Admin.Addr, admin.NewRegistry(), map[string]admin.Check{"clickhouse": st.Ping})
		if err != nil {
			return err
		}
		go func() { errc <- a.Run(ss.ctx) }()
	}
	ss.log.Info("api listening", "dashboard", "http://"+ln.Addr().String()+"/ui/", "addr", ln.Addr().String(), "clickhouse", ss.cfg.ClickHouse.Addr, "database", ss.cfg.ClickHouse.Database)
	select {
	case <-ss.ctx.Done():
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// serveDashboard serves the API and the dashboard on cfg.API.Addr over cfg.ClickHouse until
// ctx ends (`unitcost demo --serve`).
func serveDashboard(ctx context.Context, cfg config.Config) error {
	st, err := store.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", cfg.API.Addr)
	if err != nil {
		return fmt.Errorf("listen api on %s: %w (set api.addr)", cfg.API.Addr, err)
	}
	srv := &http.Server{Handler: web.Handler(report.NewAPI(st, cfg.API.Tokens), len(cfg.API.Tokens) == 0), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("\nDashboard: http://%s/ui/ (API under /api/v1, database %s). Ctrl-C stops it.\n", ln.Addr(), cfg.ClickHouse.Database)
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
