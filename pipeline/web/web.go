// Package web is the built-in dashboard: one HTML page and its scripts, embedded in the
// binary and served by `unitcost api` on the API's listener, under /ui/. The page holds no
// figures of its own: the browser reads them from /api/v1 with the user's bearer token, so
// a tenant's token sees through the dashboard exactly what it sees through the API (its own
// workflows only). Every asset is served by the binary (no CDN; the Content-Security-Policy
// allows this origin only), so the dashboard works offline and air-gapped.
//
// The one third-party asset is uPlot (MIT, assets/vendor), the dist files of the npm package
// pinned by npm/package-lock.json; deploy/local/webvendor.sh re-fetches and checks them.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/unitcost/unitcost/pipeline/report"
)

//go:embed assets
var assets embed.FS

// csp keeps every fetch, script, style and image on this origin.
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler serves the dashboard under /ui/ and the API under /api/. Without tokens the
// API answers loopback clients only, and so does the dashboard.
func Handler(api *report.API, open bool) http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(sub)
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusFound)
	})
	mux.HandleFunc("GET /ui/", func(w http.ResponseWriter, r *http.Request) {
		if open && !report.Loopback(r.RemoteAddr) {
			http.Error(w, "no api.tokens are configured, so the dashboard answers loopback clients only", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		p := strings.TrimPrefix(r.URL.Path, "/ui")
		if p == "/" || p == "/workflow" || p == "/whatif" { // the page's views; the script reads the rest of the URL
			h.Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, sub, "index.html")
			return
		}
		if p == "/index.html" {
			http.NotFound(w, r)
			return
		}
		h.Set("Cache-Control", "no-cache")
		r2 := r.Clone(r.Context())
		r2.URL.Path = p
		files.ServeHTTP(w, r2)
	})
	return mux
}
