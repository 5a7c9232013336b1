package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/web"
	whatifch "github.com/unitcost/unitcost/pipeline/whatif/clickhouse"
)

func apiCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "api",
		Short: "serve the unit economics as JSON under /api/v1, isolated per tenant token",
		Long: "Serve the unit economics as JSON under /api/v1: unit-economics, breakdown?by=,\n" +
			"workflows/top, workflows/ID/lines, context-share, whatif, whatif/steps (each takes ?since=24h\n" +
			"or ?from=&to=; whatif prices with process.price_book).\n\n" +
			"A tenant's bearer token (api.tokens) sees only its own workflows; a token mapped to \"*\" sees\n" +
			"all and may pass ?tenant=. Errors are JSON {\"error\": ...}. Also serves /healthz, /readyz, /metrics\n" +
			"on admin.addr (default 127.0.0.1:9466). SIGTERM finishes in-flight requests.",
		Args: noArgs,
	}
	s := bindSettings(c, "api", "clickhouse", "api", "admin", "process.price_book", "log_level")
	c.RunE = func(*cobra.Command, []string) error {
		ss, err := s.start()
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
		books, err := stack.LoadBook(ss.cfg.Process.PriceBook)
		if err != nil {
			return err
		}
		ln, err := ss.cfg.API.TLS.Listen(ss.cfg.API.Addr)
		if err != nil {
			return fmt.Errorf("listen api on %s: %w (set api.addr)", ss.cfg.API.Addr, err)
		}
		api := report.NewAPI(st, ss.cfg.API.Tokens, report.WithLogger(ss.log)).EnableWhatif(whatifch.New(st), books)
		srv := &http.Server{Handler: web.Handler(api, len(ss.cfg.API.Tokens) == 0), ReadHeaderTimeout: 10 * time.Second}
		errc := make(chan error, 2)
		go func() { errc <- srv.Serve(ln) }()
		if ss.cfg.Admin.Addr != "" {
			a, err := admin.New(ss.cfg.Admin, admin.NewRegistry(), map[string]admin.Check{"clickhouse": st.Ping})
			if err != nil {
				return err
			}
			go func() { errc <- a.Run(ss.ctx) }()
		}
		ss.log.Info("api listening", "dashboard", "http://"+ln.Addr().String()+"/ui/", "addr", ln.Addr().String(), "clickhouse", ss.cfg.ClickHouse.Addr, "database", ss.cfg.ClickHouse.Database, "admin", ss.cfg.Admin.Addr)
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
	return c
}

// serveDashboard serves the API (with the what-if) and the dashboard on cfg.API.Addr over
// cfg.ClickHouse until ctx ends (`unitcost demo --serve`).
func serveDashboard(ctx context.Context, cfg config.Config) error {
	st, err := store.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	books, err := stack.LoadBook(cfg.Process.PriceBook)
	if err != nil {
		return err
	}
	ln, err := cfg.API.TLS.Listen(cfg.API.Addr)
	if err != nil {
		return fmt.Errorf("listen api on %s: %w (set api.addr)", cfg.API.Addr, err)
	}
	api := report.NewAPI(st, cfg.API.Tokens).EnableWhatif(whatifch.New(st), books)
	srv := &http.Server{Handler: web.Handler(api, len(cfg.API.Tokens) == 0), ReadHeaderTimeout: 10 * time.Second}
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
