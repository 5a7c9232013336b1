package admin_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/tlsconf"
)

// /metrics asks for the bearer token when one is set (it shows every tenant's cost
// figures); the probes stay open; the endpoint serves TLS when configured.
func TestMetricsTokenAndTLS(t *testing.T) {
	t.Parallel()
	certs := testenv.TestCerts(t)
	s, err := admin.New(admin.Config{Addr: "127.0.0.1:0", MetricsToken: "m3trics",
		TLS: tlsconf.Server{CertFile: certs.ServerCert, KeyFile: certs.ServerKey}}, admin.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certs.Pool}}, Timeout: 10 * time.Second}
	get := func(path, authz string) int {
		req, _ := http.NewRequest(http.MethodGet, "https://"+s.Addr()+path, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path, authz string
		want        int
	}{
		{"/metrics", "", 401}, {"/metrics", "Bearer wrong", 401}, {"/metrics", "Bearer ", 401},
		{"/metrics", "Bearer m3trics", 200}, {"/metrics", "bearer m3trics", 200},
		{"/healthz", "", 200}, {"/readyz", "", 200},
	} {
		if got := get(c.path, c.authz); got != c.want {
			t.Errorf("GET %s (%q): %d, want %d", c.path, c.authz, got, c.want)
		}
	}
}

// Profiles are served only when admin.pprof is on, and behind the metrics token.
func TestPprofOnlyWhenEnabled(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg              admin.Config
		noAuth, withAuth int
	}{
		{admin.Config{Addr: "127.0.0.1:0"}, 404, 404},
		{admin.Config{Addr: "127.0.0.1:0", Pprof: true}, 200, 200},
		{admin.Config{Addr: "127.0.0.1:0", Pprof: true, MetricsToken: "m3trics"}, 401, 200},
	} {
		s, err := admin.New(c.cfg, admin.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
			for _, authz := range []string{"", "Bearer m3trics"} {
				req, _ := http.NewRequest(http.MethodGet, "http://"+s.Addr()+path, nil)
				if authz != "" {
					req.Header.Set("Authorization", authz)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				want := c.noAuth
				if authz != "" {
					want = c.withAuth
				}
				if resp.StatusCode != want {
					t.Errorf("pprof %v token %v: GET %s %q = %d, want %d", c.cfg.Pprof, c.cfg.MetricsToken, path, authz, resp.StatusCode, want)
				}
			}
		}
		cancel()
		<-done
	}
}
