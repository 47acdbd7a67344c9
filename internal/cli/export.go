package cli

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"
)

// logsExport is `devsmith logs export`: GET /api/logs/export into a
// gzip-compressed file of JSON lines. It reads the stream line by line and
// writes each whole line to the file's own gzip stream, remembering the
// last line's timestamp and id; when the stream breaks (no answer, 429,
// 5xx, a body cut short), it asks again from there (since and after_id)
// until --retry-for has passed without progress. The file is written as
// FILE.partial and renamed when the export is complete, so FILE, when it
// exists, holds the whole range.
func logsExport(ctx context.Context, env Env, args []string) error {
	var c common
	var f filters
	usage := "logs export --output-file FILE [--project P] [--service S] [--level L] [--since 7d] [--until T] [--q TEXT] [--context k=v]"
	fs := newFlags("logs export", &c)
	f.register(fs, false, true)
	file := fs.String("output-file", "", "where to write the export (gzip-compressed JSON lines); - for standard output")
	retryFor := fs.Duration("retry-for", 5*time.Minute, "keep resuming a broken export this long without progress (network errors, 429, 5xx)")
	pos, err := parse(fs, usage, args, env.Stdout)
	if err != nil {
		return err
	}
	if err := noArgs("logs export", pos); err != nil {
		return err
	}
	if *file == "" {
		return usageErr("--output-file is required (- for standard output)")
	}
	if len(f.pattern) > 0 {
		return usageErr("--pattern: an export filters on projects, services, levels, time, text and context only")
	}
	now := env.Now()
	if f.until == "" {
		// Fixed at the start, so that resuming does not extend the range.
		f.until = now.UTC().Format(time.RFC3339Nano)
	}
	q, err := f.values(now)
	if err != nil {
		return err
	}
	cl, err := sessionClient(env, c)
	if err != nil {
		return err
	}

	out, finish, err := exportTarget(env, *file)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	ex := &exporter{cl: cl, w: zw, query: q}
	if err := ex.run(ctx, env, *retryFor); err != nil {
		_ = zw.Close()
		finish(false)
		return err
	}
	if err := zw.Close(); err != nil {
		finish(false)
		return failErr(ExitFailed, "writing %s: %v", *file, err)
	}
	if err := finish(true); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "exported %d entries to %s\n", ex.lines, *file)
	return nil
}

// exportTarget opens where the export goes: standard output, or
// FILE.partial, which finish(true) renames to FILE (finish(false) leaves it
// for inspection).
func exportTarget(env Env, file string) (io.Writer, func(ok bool) error, error) {
	if file == "-" {
		return env.Stdout, func(bool) error { return nil }, nil
	}
	partial := file + ".partial"
	fh, err := os.OpenFile(partial, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, failErr(ExitFailed, "creating %s: %v", partial, err)
	}
	return fh, func(ok bool) error {
		if err := fh.Close(); err != nil && ok {
			return failErr(ExitFailed, "writing %s: %v", partial, err)
		}
		if !ok {
			fmt.Fprintf(env.Stderr, "devsmith logs export: the entries exported so far are in %s\n", partial)
			return nil
		}
		if err := os.Rename(partial, file); err != nil {
			return failErr(ExitFailed, "renaming %s to %s: %v", partial, file, err)
		}
		return nil
	}, nil
}

// exporter copies the export's lines and knows where to resume.
type exporter struct {
	cl    *client
	w     io.Writer
	query url.Values
	lines int64
	// The last whole line's entry: the next request's since and after_id.
	lastTS string
	lastID int64
}

func (ex *exporter) run(ctx context.Context, env Env, retryFor time.Duration) error {
	attempt := 0
	deadline := time.Now().Add(retryFor)
	for {
		before := ex.lines
		err := ex.once(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ae *APIError
		var xe *exitError
		var floor time.Duration
		switch {
		case errors.As(err, &xe):
			return err
		case errors.As(err, &ae) && !ae.retryable():
			return err
		case errors.As(err, &ae):
			floor = ae.RetryAfter
		}
		if ex.lines > before {
			attempt, deadline = 0, time.Now().Add(retryFor)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("giving up after %s without progress: %w", retryFor, err)
		}
		d := backoff(attempt, floor)
		attempt++
		fmt.Fprintf(env.Stderr, "devsmith logs export: %v; resuming after %d entries in %s\n", err, ex.lines, d.Round(time.Millisecond))
		if !sleepCtx(ctx, d) {
			return ctx.Err()
		}
	}
}

// once requests the export from the last line on and copies its whole
// lines; it returns nil only when the stream ended complete (gzip's
// trailer read).
func (ex *exporter) once(ctx context.Context) error {
	q := url.Values{}
	for k, v := range ex.query {
		q[k] = v
	}
	if ex.lastTS != "" {
		q.Set("since", ex.lastTS)
		q.Set("after_id", strconv.FormatInt(ex.lastID, 10))
	}
	res, err := ex.cl.send(ctx, "GET", "/api/logs/export", q, nil, nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	zr, err := gzip.NewReader(res.Body)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("the export's body ended before it started")
	}
	if err != nil {
		return fmt.Errorf("reading the export: %w", err)
	}
	zr.Multistream(false)
	br := bufio.NewReaderSize(zr, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var pos struct {
				ID        int64  `json:"id"`
				Timestamp string `json:"timestamp"`
			}
			if jerr := json.Unmarshal(line, &pos); jerr != nil || pos.Timestamp == "" {
				return failErr(ExitFailed, "the export sent a line that is not an entry: %.100s", line)
			}
			if _, werr := ex.w.Write(line); werr != nil {
				return failErr(ExitFailed, "writing the export: %v", werr)
			}
			ex.lines++
			ex.lastTS, ex.lastID = pos.Timestamp, pos.ID
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) && len(line) > 0 && line[len(line)-1] != '\n':
			return fmt.Errorf("the export ended within a line")
		case errors.Is(err, io.EOF):
			return nil // the trailer checked out: complete
		default:
			return fmt.Errorf("the export was cut short: %w", err)
		}
	}
}
