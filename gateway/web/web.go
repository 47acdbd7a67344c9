// Package web serves the dashboard: the single-page app built from src/
// into dist/ (committed, so a clean clone builds with `go build` alone) and
// embedded into the binary.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Handler serves the embedded dashboard. Mount it at "/" behind the API
// routes: files under dist/ are served with their content type (gzipped
// when the client accepts it), hashed bundles under /assets/ are cached for
// a year, index.html is revalidated on every load, and every other GET path
// that is not a file (a client-side route such as /projects) gets
// index.html. /samples/... serves the sample loggers copied from the
// repository's samples/ at build time, for the dashboard's setup snippets.
// Paths under /api/ answer a JSON 404 as the API would.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// Cannot happen: "dist" is a valid path and the embed pattern
		// requires the folder to exist at compile time.
		panic("web: embedded dist folder missing: " + err.Error())
	}
	return HandlerFS(sub)
}

// HandlerFS serves a built dashboard from fsys (the contents of dist/), as
// Handler does. It lets a developer serve gateway/web/dist from disk
// (os.DirFS) while `npm run watch` rebuilds it.
func HandlerFS(fsys fs.FS) http.Handler {
	return &handler{fsys: fsys}
}

type handler struct {
	fsys fs.FS
}

// contentTypes are set explicitly so the answer does not depend on the
// host's MIME tables.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".json":  "application/json",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
	".map":   "application/json",
	".go":    "text/plain; charset=utf-8",
	".py":    "text/plain; charset=utf-8",
}

// The dashboard loads nothing from elsewhere and renders no HTML it was
// sent, so it runs under a strict policy.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "no API route for " + r.Method + " " + p, "code": "NOT_FOUND"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rest, ok := strings.CutPrefix(name, "samples/"); ok {
		// The sample loggers sit in _samples/ so that the go tool does not
		// take the copied Go files for a package of this module.
		name = "_samples/" + rest
	}
	if name == "" || name == "index.html" {
		h.serveIndex(w, r)
		return
	}
	if h.serveFile(w, r, name) {
		return
	}
	// Missing bundles and samples are real 404s: answering them with HTML
	// would only hide the problem. Everything else is a client-side route.
	if strings.HasPrefix(name, "assets/") || strings.HasPrefix(name, "_samples/") || path.Ext(name) != "" {
		http.NotFound(w, r)
		return
	}
	h.serveIndex(w, r)
}

func (h *handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	if !h.serveFile(w, r, "index.html") {
		http.Error(w, "the dashboard was not built: run gateway/web/build.sh", http.StatusNotFound)
	}
}

// serveFile answers with the named file, or reports false when there is
// no such file.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, name string) bool {
	if strings.HasSuffix(name, ".gz") {
		return false // the gzip twins are an encoding, not files of their own
	}
	data, err := fs.ReadFile(h.fsys, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) || isDirErr(h.fsys, name) {
			return false
		}
		http.Error(w, "reading "+name+" failed", http.StatusInternalServerError)
		return true
	}
	hdr := w.Header()
	ext := path.Ext(name)
	ct, ok := contentTypes[ext]
	if !ok {
		ct = "application/octet-stream"
	}
	hdr.Set("Content-Type", ct)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	if strings.HasPrefix(name, "assets/") {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	if ext == ".html" {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Frame-Options", "DENY")
	}
	sum := sha256.Sum256(data)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	hdr.Add("Vary", "Accept-Encoding")
	if acceptsGzip(r) {
		if gz, err := fs.ReadFile(h.fsys, name+".gz"); err == nil {
			hdr.Set("Content-Encoding", "gzip")
			hdr.Set("ETag", strings.TrimSuffix(etag, `"`)+`-gz"`)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(gz))
			return true
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	return true
}

func isDirErr(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && st.IsDir()
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (and does not refuse it with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
