package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func serve(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// The committed build: index.html loads hashed bundles that exist.
func TestEmbeddedBuildIsComplete(t *testing.T) {
	h := Handler()
	rec := serve(t, h, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "script-src 'self'")
	body := rec.Body.String()
	require.Contains(t, body, `<div id="app">`)

	js := regexp.MustCompile(`src="(/assets/main-[A-Z0-9]+\.js)"`).FindStringSubmatch(body)
	css := regexp.MustCompile(`href="(/assets/main-[A-Z0-9]+\.css)"`).FindStringSubmatch(body)
	require.Len(t, js, 2, "index.html names a hashed script")
	require.Len(t, css, 2, "index.html names a hashed stylesheet")

	for _, c := range []struct{ path, ctype string }{
		{js[1], "text/javascript; charset=utf-8"},
		{css[1], "text/css; charset=utf-8"},
	} {
		rec := serve(t, h, http.MethodGet, c.path, nil)
		require.Equal(t, http.StatusOK, rec.Code, c.path)
		require.Equal(t, c.ctype, rec.Header().Get("Content-Type"), c.path)
		require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"), c.path)
		require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
		require.NotZero(t, rec.Body.Len())
	}

	// The sample loggers the setup snippets download.
	for _, p := range []string{"/samples/javascript/logger.js", "/samples/python/logger.py", "/samples/go/logger.go",
		"/samples/java/devsmith/DevSmithLogger.java", "/samples/java/devsmith/DevSmithHandler.java",
		"/samples/ruby/devsmith_logger.rb", "/samples/php/DevSmithLogger.php", "/samples/shell/devsmith-log.sh"} {
		rec := serve(t, h, http.MethodGet, p, nil)
		require.Equal(t, http.StatusOK, rec.Code, p)
		require.Contains(t, rec.Body.String(), "DevSmith", p)
	}
}

func testFS() fstest.MapFS {
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return b.Bytes()
	}
	return fstest.MapFS{
		"index.html":                    {Data: []byte("<!doctype html><title>x</title>")},
		"index.html.gz":                 {Data: gz("<!doctype html><title>x</title>")},
		"favicon.svg":                   {Data: []byte("<svg/>")},
		"assets/main-ABC.js":            {Data: []byte("console.log(1)")},
		"assets/main-ABC.js.gz":         {Data: gz("console.log(1)")},
		"assets/main-ABC.css":           {Data: []byte("body{}")},
		"_samples/go/logger.go":         {Data: []byte("package logger")},
		"_samples/python/logger.py":     {Data: []byte("import os")},
		"_samples/javascript/logger.js": {Data: []byte("'use strict';")},
	}
}

func TestRoutes(t *testing.T) {
	h := HandlerFS(testFS())
	tests := []struct {
		name, method, path string
		status             int
		ctype, cache, body string
	}{
		{"root", "GET", "/", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"index by name", "GET", "/index.html", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"client route", "GET", "/projects", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"nested client route with query", "GET", "/users/12?x=1", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"hashed script", "GET", "/assets/main-ABC.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "console.log(1)"},
		{"stylesheet", "GET", "/assets/main-ABC.css", 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", "body{}"},
		{"favicon", "GET", "/favicon.svg", 200, "image/svg+xml", "no-cache", "<svg/>"},
		{"go sample as text", "GET", "/samples/go/logger.go", 200, "text/plain; charset=utf-8", "no-cache", "package logger"},
		{"python sample as text", "GET", "/samples/python/logger.py", 200, "text/plain; charset=utf-8", "no-cache", "import os"},
		{"js sample", "GET", "/samples/javascript/logger.js", 200, "text/javascript; charset=utf-8", "no-cache", "'use strict';"},
		{"missing bundle is a 404, not HTML", "GET", "/assets/main-OLD.js", 404, "text/plain; charset=utf-8", "", "404"},
		{"missing sample", "GET", "/samples/rust/logger.rs", 404, "text/plain; charset=utf-8", "", "404"},
		{"missing file with extension", "GET", "/robots.txt", 404, "text/plain; charset=utf-8", "", "404"},
		{"gzip twin is not a file", "GET", "/assets/main-ABC.js.gz", 404, "text/plain; charset=utf-8", "", "404"},
		{"dot-dot stays inside", "GET", "/assets/../index.html", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"POST refused", "POST", "/projects", 405, "text/plain; charset=utf-8", "", "method not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, h, tc.method, tc.path, nil)
			require.Equal(t, tc.status, rec.Code)
			require.Equal(t, tc.ctype, rec.Header().Get("Content-Type"))
			require.Equal(t, tc.cache, rec.Header().Get("Cache-Control"))
			require.Contains(t, rec.Body.String(), tc.body)
			require.Empty(t, rec.Header().Get("Content-Encoding"))
		})
	}
}

func TestAPIPathsAnswerJSON404(t *testing.T) {
	h := HandlerFS(testFS())
	for _, p := range []string{"/api", "/api/", "/api/nope", "/api/logs/zzz"} {
		rec := serve(t, h, http.MethodGet, p, nil)
		require.Equal(t, http.StatusNotFound, rec.Code, p)
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var body struct{ Error, Code string }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		require.Equal(t, "NOT_FOUND", body.Code)
		require.Contains(t, body.Error, p)
	}
	rec := serve(t, h, http.MethodDelete, "/api/x", nil)
	require.Equal(t, http.StatusNotFound, rec.Code)
}

func TestGzipWhenAccepted(t *testing.T) {
	h := HandlerFS(testFS())
	tests := []struct {
		accept string
		gzip   bool
	}{
		{"gzip, deflate, br", true},
		{"br;q=1.0, gzip;q=0.8", true},
		{"GZIP", true},
		{"gzip;q=0", false},
		{"deflate", false},
		{"", false},
	}
	for _, tc := range tests {
		rec := serve(t, h, http.MethodGet, "/assets/main-ABC.js", map[string]string{"Accept-Encoding": tc.accept})
		require.Equal(t, http.StatusOK, rec.Code)
		require.Contains(t, rec.Header().Values("Vary"), "Accept-Encoding")
		if !tc.gzip {
			require.Empty(t, rec.Header().Get("Content-Encoding"), tc.accept)
			require.Equal(t, "console.log(1)", rec.Body.String())
			continue
		}
		require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"), tc.accept)
		require.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
		zr, err := gzip.NewReader(rec.Body)
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		require.Equal(t, "console.log(1)", string(plain))
	}
	// A file without a gzip twin is sent as is.
	rec := serve(t, h, http.MethodGet, "/assets/main-ABC.css", map[string]string{"Accept-Encoding": "gzip"})
	require.Empty(t, rec.Header().Get("Content-Encoding"))
	require.Equal(t, "body{}", rec.Body.String())
}

func TestConditionalAndHead(t *testing.T) {
	h := HandlerFS(testFS())
	rec := serve(t, h, http.MethodGet, "/", nil)
	etag := rec.Header().Get("ETag")
	require.NotEmpty(t, etag)
	rec = serve(t, h, http.MethodGet, "/projects", map[string]string{"If-None-Match": etag})
	require.Equal(t, http.StatusNotModified, rec.Code)

	gzRec := serve(t, h, http.MethodGet, "/", map[string]string{"Accept-Encoding": "gzip"})
	require.NotEqual(t, etag, gzRec.Header().Get("ETag"), "the gzip encoding has its own ETag")

	rec = serve(t, h, http.MethodHead, "/assets/main-ABC.js", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "14", rec.Header().Get("Content-Length"))
	require.Zero(t, rec.Body.Len())
}

func TestUnbuiltDashboardSaysHowToBuild(t *testing.T) {
	rec := serve(t, HandlerFS(fstest.MapFS{}), http.MethodGet, "/", nil)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.True(t, strings.Contains(rec.Body.String(), "build.sh"))
}
