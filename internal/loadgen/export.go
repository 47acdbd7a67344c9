package loadgen

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Export reads GET /api/logs/export with the filters q to its end and
// returns how many entries (lines) and compressed bytes it held. The body
// must end with gzip's trailer: a cut export is an error.
func (a *API) Export(ctx context.Context, q url.Values) (entries, compressed int64, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", a.BaseURL+"/api/logs/export?"+q.Encode(), nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	// No overall timeout: an export of a day takes as long as it takes.
	res, err := (&http.Client{Transport: a.HTTP.Transport}).Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("GET /api/logs/export: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return 0, 0, fmt.Errorf("GET /api/logs/export: HTTP %d: %s", res.StatusCode, bytes.TrimSpace(raw))
	}
	cr := &countingReader{r: res.Body}
	zr, err := gzip.NewReader(cr)
	if err != nil {
		return 0, 0, fmt.Errorf("GET /api/logs/export: %w", err)
	}
	br := bufio.NewReaderSize(zr, 1<<20)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue // a line longer than the buffer: its end comes next
		}
		if len(line) > 0 && line[len(line)-1] == '\n' {
			entries++
		}
		if err == io.EOF {
			return entries, cr.n, nil
		}
		if err != nil {
			return entries, cr.n, fmt.Errorf("reading the export after %d entries: %w", entries, err)
		}
	}
}

// ExportBench times exports of the seeded data set's last 24 h, one
// project and then every project, and prints entries/s, the compressed
// size and the platform's peak resident memory while each ran (watch
// samples serverPID; nil: not measured).
func ExportBench(ctx context.Context, api *API, cfg QueryBenchConfig, watch *MemWatch) error {
	since := cfg.End.Add(-24 * time.Hour).UTC().Format(time.RFC3339Nano)
	until := cfg.End.Add(time.Microsecond).UTC().Format(time.RFC3339Nano)
	one := url.Values{"project": {cfg.Projects[0].Slug}, "since": {since}, "until": {until}}
	all := url.Values{"since": {since}, "until": {until}}
	for _, p := range cfg.Projects {
		all.Add("project", p.Slug)
	}
	fmt.Fprintf(cfg.Out, "\n%-34s %10s %8s %12s %9s %14s\n", "export (GET /api/logs/export)", "entries", "seconds", "entries/s", "gzip MB", "platform RSS")
	for _, c := range []struct {
		name string
		q    url.Values
	}{{"1 project, 24 h", one}, {fmt.Sprintf("all %d projects, 24 h", len(cfg.Projects)), all}} {
		want, err := api.Count(ctx, c.q)
		if err != nil {
			return fmt.Errorf("export %s: counting: %w", c.name, err)
		}
		if watch != nil {
			watch.Take()
		}
		t0 := time.Now()
		n, size, err := api.Export(ctx, c.q)
		if err != nil {
			return fmt.Errorf("export %s: %w", c.name, err)
		}
		el := time.Since(t0)
		if n != want {
			return fmt.Errorf("export %s: %d entries, the entries API counts %d", c.name, n, want)
		}
		rss := "-"
		if watch != nil {
			rss = fmt.Sprintf("%.0f MB peak", float64(watch.Take().ServerPeakRSSKB)/1024)
		}
		fmt.Fprintf(cfg.Out, "%-34s %10d %8.1f %12.0f %9.1f %14s\n", c.name, n, el.Seconds(), float64(n)/el.Seconds(), float64(size)/1e6, rss)
	}
	return nil
}
