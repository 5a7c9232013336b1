package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/unitcost/unitcost/pipeline/report"
	"github.com/unitcost/unitcost/pipeline/web"
)

// The dashboard's routes, headers and loopback rule, without a browser or a database.
func TestHandler(t *testing.T) {
	t.Parallel()
	h := web.Handler(report.NewAPI(nil, nil), true)
	get := func(path, remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = "127.0.0.1:4711"
		if remote != "" {
			req.RemoteAddr = remote
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := get("/", ""); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/ui/" {
		t.Errorf("/: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	for path, want := range map[string]string{"/ui/": "<title>unitcost</title>", "/ui/workflow": "<title>unitcost</title>",
		"/ui/app.js": "use strict", "/ui/app.css": "--fg", "/ui/vendor/uPlot.iife.min.js": "uPlot", "/api/v1/openapi.json": `"openapi":"3.1.0"`} {
		rec := get(path, "")
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d, body lacks %q", path, rec.Code, want)
		}
		if strings.HasPrefix(path, "/ui/") && !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("%s: no Content-Security-Policy", path)
		}
	}
	for _, path := range []string{"/ui/index.html", "/ui/nope.js"} {
		if rec := get(path, ""); rec.Code != 404 {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		}
	}
	for _, path := range []string{"/ui/", "/ui/app.js", "/api/v1/unit-economics"} {
		if rec := get(path, "192.0.2.1:5000"); rec.Code != 403 {
			t.Errorf("%s from a remote client without tokens: %d, want 403", path, rec.Code)
		}
	}
}

// The committed uPlot files are the pinned npm package's (deploy/local/webvendor.sh check
// compares them byte for byte with a fresh `npm ci`; this pins their digests offline).
func TestVendoredAssets(t *testing.T) {
	t.Parallel()
	want := map[string]string{}
	sums, err := os.ReadFile("assets/vendor/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		f := strings.Fields(l)
		want[f[1]] = f[0]
	}
	for _, name := range []string{"uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"} {
		f, err := os.Open("assets/vendor/" + name)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, f)
		f.Close()
		if got := hex.EncodeToString(h.Sum(nil)); got != want[name] {
			t.Errorf("%s: sha256 %s, SHA256SUMS says %s (run deploy/local/webvendor.sh update)", name, got, want[name])
		}
	}
}
