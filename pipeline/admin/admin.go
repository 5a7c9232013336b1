// Package admin serves /healthz, /readyz and Prometheus /metrics for every long-running
// unitcost command, optionally over TLS and with a bearer token on /metrics.
package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/unitcost/unitcost/internal/bearer"
	"github.com/unitcost/unitcost/pipeline/tlsconf"
)

// Config is the admin endpoint's configuration (the admin section of unitcost's config).
type Config struct {
	// Addr serves /healthz, /readyz and /metrics. Default "127.0.0.1:9464"; "" disables.
	Addr string `yaml:"addr" desc:"address of /healthz, /readyz and /metrics; \"\" disables (default per command: ingest 127.0.0.1:9464, process :9465, api :9466, alert :9467, dev :9468)"`
	// MetricsToken, when set, is required as a bearer token on /metrics.
	MetricsToken string `yaml:"metrics_token" desc:"bearer token required on /metrics (which shows cost figures of every tenant); empty: no authentication (default none)"`
	// TLS serves the admin endpoint over TLS.
	TLS tlsconf.Server `yaml:"tls" desc:"TLS of the admin listener"`
	// Pprof serves Go's runtime profiles under /debug/pprof/ (behind MetricsToken when set).
	Pprof bool `yaml:"pprof" desc:"serve Go's runtime profiles (CPU, heap, goroutines) under /debug/pprof/ on the admin listener, behind admin.metrics_token when set (default false)"`
}

// Check reports whether a dependency is ready; nil means ready.
type Check func(ctx context.Context) error

// Server is the admin HTTP endpoint.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	checks map[string]Check
}

// NewRegistry returns a registry with the Go and process collectors and
// unitcost_build_info.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfoCollector())
	return reg
}

// New binds cfg.Addr (with TLS when configured). checks are run by /readyz (each with a
// 2s timeout); /healthz and /readyz stay open for probes, /metrics asks for
// cfg.MetricsToken when set.
func New(cfg Config, reg *prometheus.Registry, checks map[string]Check) (*Server, error) {
	ln, err := cfg.TLS.Listen(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen admin on %s: %w (set admin.addr, or \"\" to disable)", cfg.Addr, err)
	}
	s := &Server{ln: ln, checks: checks}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", s.ready)
	var metrics http.Handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if cfg.MetricsToken != "" {
		metrics = requireToken(cfg.MetricsToken, metrics)
	}
	mux.Handle("/metrics", metrics)
	if cfg.Pprof {
		var prof http.Handler = http.HandlerFunc(pprof.Index)
		named := map[string]http.HandlerFunc{"cmdline": pprof.Cmdline, "profile": pprof.Profile, "symbol": pprof.Symbol, "trace": pprof.Trace}
		mux.Handle("/debug/pprof/", guard(cfg.MetricsToken, prof))
		for n, h := range named {
			mux.Handle("/debug/pprof/"+n, guard(cfg.MetricsToken, h))
		}
	}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

func guard(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	return requireToken(token, h)
}

// requireToken answers 401 unless the request carries "Bearer <token>" (scheme
// case-insensitive, token compared in constant time).
func requireToken(token string, next http.Handler) http.Handler {
	want := bearer.NewSet(map[string]string{token: "metrics"})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := want.Lookup(r.Header.Get("Authorization")); !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="unitcost metrics"`)
			http.Error(w, "missing or wrong bearer token (admin.metrics_token)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var failed []string
	for name, c := range s.checks {
		if err := c(ctx); err != nil {
			failed = append(failed, name+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, f := range failed {
			fmt.Fprintln(w, f)
		}
		return
	}
	fmt.Fprintln(w, "ready")
}

// Run serves until ctx is cancelled.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.srv.Shutdown(sctx)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
