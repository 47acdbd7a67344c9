package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// exportLines reads an export body: gzip, then one JSON entry per line.
// It fails the test on a body without gzip's trailer (incomplete).
func exportLines(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	raw, err := io.ReadAll(zr)
	require.NoError(t, err, "the export is a complete gzip stream")
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if line == "" {
			continue
		}
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		var e map[string]any
		require.NoError(t, d.Decode(&e), "line %q", line)
		out = append(out, e)
	}
	return out
}

// TestExport: GET /api/logs/export streams every matching entry of the
// range oldest first, across projects, with every field and the context
// exact; it resumes from an entry with since and after_id, neither
// repeating nor skipping entries that share a timestamp; `devsmith logs
// export` writes the same file and, when the connection is cut mid-body,
// resumes and still writes each entry once.
func TestExport(t *testing.T) {
	t.Parallel()
	pl, _ := startOnDatabase(t, cluster.NewDatabase(t))
	admin := pl.login(t, adminEmail, adminPassword)
	keys := map[string]string{}
	for _, slug := range []string{"exp-a", "exp-b"} {
		keys[slug] = pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": slug, "slug": slug}, bearer(admin)).
			expect(t, 201).JSON["api_key"].(string)
	}
	// 1,500 entries in exp-a and 300 in exp-b over the last hour, three
	// at each timestamp, with a 20-digit number in the context.
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	send := func(slug string, n, from int) {
		for start := 0; start < n; start += 500 {
			var logs []map[string]any
			for i := start; i < min(start+500, n); i++ {
				seq := from + i
				logs = append(logs, map[string]any{
					"level": []string{"info", "warn", "error"}[seq%3], "message": fmt.Sprintf("%s entry %d", slug, seq),
					"timestamp": base.Add(time.Duration(seq/3) * time.Second).Format(time.RFC3339Nano),
					"context":   json.RawMessage(fmt.Sprintf(`{"seq": %d, "order_id": 12345678901234567890%d}`, seq, seq%10)),
				})
			}
			pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": logs}, bearer(keys[slug])).expect(t, 201)
		}
	}
	send("exp-a", 1500, 0)
	send("exp-b", 300, 1)
	since := base.Add(-time.Minute).Format(time.RFC3339)
	until := time.Now().UTC().Add(time.Minute).Format(time.RFC3339)
	get := func(query string) []map[string]any {
		t.Helper()
		r := pl.do(t, "GET", "/api/logs/export?"+query, nil, bearer(admin)).expect(t, 200)
		require.Equal(t, "application/gzip", r.Header.Get("Content-Type"))
		require.Contains(t, r.Header.Get("Content-Disposition"), ".ndjson.gz")
		return exportLines(t, r.Raw)
	}
	pos := func(e map[string]any) (time.Time, int64) {
		ts, err := time.Parse(time.RFC3339Nano, e["timestamp"].(string))
		require.NoError(t, err)
		id, err := e["id"].(json.Number).Int64()
		require.NoError(t, err)
		return ts, id
	}
	requireOrdered := func(lines []map[string]any) {
		t.Helper()
		for i := 1; i < len(lines); i++ {
			pt, pid := pos(lines[i-1])
			ct, cid := pos(lines[i])
			require.True(t, pt.Before(ct) || pt.Equal(ct) && pid < cid, "line %d is not after line %d", i, i-1)
		}
	}

	a := get("project=exp-a&since=" + since + "&until=" + until + "&format=ndjson")
	require.Len(t, a, 1500)
	requireOrdered(a)
	seen := map[string]bool{}
	for _, e := range a {
		require.Equal(t, "exp-a", e["project_slug"])
		require.Equal(t, "api", e["service_name"])
		for _, field := range []string{"id", "timestamp", "level", "message", "context", "pattern_id", "error_group_id"} {
			require.Contains(t, e, field)
		}
		seen[e["message"].(string)] = true
	}
	require.Len(t, seen, 1500, "each entry once")
	line := a[0]["context"].(map[string]any)
	require.Equal(t, json.Number("123456789012345678900"), line["order_id"], "the context's numbers are exact")

	// Resuming after entry 700 (which shares its timestamp with others)
	// gives exactly the rest.
	ts, id := pos(a[700])
	rest := get("project=exp-a&since=" + url.QueryEscape(ts.Format(time.RFC3339Nano)) + "&after_id=" + fmt.Sprint(id) + "&until=" + until)
	require.Len(t, rest, 799)
	require.Equal(t, a[701:], rest)

	// Every project the caller reads, merged in time order; filters apply.
	all := get("since=" + since + "&until=" + until)
	require.Len(t, all, 1800)
	requireOrdered(all)
	errs := get("project=exp-b&level=ERROR&since=" + since + "&until=" + until)
	require.Len(t, errs, 100)

	// Bad requests name what is wrong; no credential is refused.
	pl.do(t, "GET", "/api/logs/export?format=csv", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", `format "csv"`)
	pl.do(t, "GET", "/api/logs/export?after_id=5", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "after_id needs since")
	pl.do(t, "GET", "/api/logs/export?project=nope", nil, bearer(admin)).expect(t, 404)
	pl.do(t, "GET", "/api/logs/export", nil).expect(t, 401)

	// The CLI writes the same entries; through a proxy that cuts the first
	// export's body after 8 kB, it resumes and writes each entry once.
	target, err := url.Parse(pl.baseURL)
	require.NoError(t, err)
	var cuts atomic.Int32
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/logs/export" && cuts.Add(1) == 1 {
			proxy.ServeHTTP(&cutWriter{ResponseWriter: w, left: 8 << 10}, r)
			panic(http.ErrAbortHandler) // drop the connection mid-body
		}
		proxy.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { _ = srv.Close() })
	c := newCLI(t, "http://"+ln.Addr().String())
	c.mustRun(t, adminPassword+"\n", "login", "--email", adminEmail)
	file := filepath.Join(t.TempDir(), "exp-a.ndjson.gz")
	_, errOut, code := c.run(t, "", "logs", "export", "--project", "exp-a", "--since", since, "--until", until, "--output-file", file)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "resuming after ")
	require.Contains(t, errOut, "exported 1500 entries to "+file)
	require.GreaterOrEqual(t, cuts.Load(), int32(2), "the CLI asked again")
	body, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, a, exportLines(t, body))
	_, err = os.Stat(file + ".partial")
	require.True(t, os.IsNotExist(err), "no partial file is left")
}

// cutWriter passes on the first left bytes of a body and then fails.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (w *cutWriter) Write(b []byte) (int, error) {
	if w.left <= 0 {
		return 0, io.ErrClosedPipe
	}
	n := min(len(b), w.left)
	w.left -= n
	n, err := w.ResponseWriter.Write(b[:n])
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	if err == nil && n < len(b) {
		err = io.ErrClosedPipe
	}
	return n, err
}
