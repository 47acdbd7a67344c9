package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Send's limits.
const (
	// maxLineBytes: longer lines are cut here (the server stores 32 KiB of
	// a message by default and marks the rest truncated).
	maxLineBytes = 64 << 10
	// maxBatchBytes keeps a batch well under the server's 5 MiB body limit.
	maxBatchBytes = 1 << 20
)

// sendOptions are logs send's settings.
type sendOptions struct {
	service, level, project string
	batchSize               int
	interval                time.Duration
	retryFor                time.Duration
	raw                     bool
}

// sendStats counts what happened to the lines read.
type sendStats struct {
	read, stored, rejected, undelivered, batches int
	reasons                                      []string // the first few rejections
	// unreachable: some lines were given up because the server could
	// not be reached or kept failing (no answer, 429, 5xx).
	unreachable bool
}

// wireEntry is one entry of a batch; Context and Timestamp stay raw JSON
// so numbers are sent exactly as read.
type wireEntry struct {
	Timestamp json.RawMessage `json:"timestamp,omitempty"`
	Level     json.RawMessage `json:"level,omitempty"`
	Message   string          `json:"message"`
	Context   json.RawMessage `json:"context,omitempty"`
}

// lineEntry turns a line into an entry. A line that is a JSON object with
// a non-empty string "message" (or "msg") is taken as that entry: its
// level (a string), timestamp (or "time") and context fields as they are,
// and any other field added to the context (unless --raw). Any other line is the message, at the
// default level.
func lineEntry(line string, level string, raw bool, read time.Time) wireEntry {
	def := wireEntry{Message: line, Timestamp: json.RawMessage(`"` + read.UTC().Format(time.RFC3339Nano) + `"`)}
	if level != "" {
		def.Level, _ = json.Marshal(level)
	}
	t := strings.TrimSpace(line)
	if raw || len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return def
	}
	d := json.NewDecoder(strings.NewReader(t))
	d.UseNumber()
	var obj map[string]json.RawMessage
	if d.Decode(&obj) != nil {
		return def
	}
	// slog, zap and pino write "msg" and "time": taken alike.
	msgKey, timeKey := "message", "timestamp"
	if _, ok := obj[msgKey]; !ok {
		msgKey = "msg"
	}
	if _, ok := obj[timeKey]; !ok {
		timeKey = "time"
	}
	var msg string
	if json.Unmarshal(obj[msgKey], &msg) != nil || msg == "" {
		return def
	}
	e := wireEntry{Message: msg, Level: def.Level, Timestamp: def.Timestamp}
	used := map[string]bool{msgKey: true, "context": true}
	var lvl string
	if json.Unmarshal(obj["level"], &lvl) == nil && lvl != "" {
		e.Level, used["level"] = obj["level"], true // a number (pino's 30) stays in the context
	}
	if ts, ok := obj[timeKey]; ok && string(ts) != "null" {
		e.Timestamp, used[timeKey] = ts, true
	}
	ctx := map[string]json.RawMessage{}
	if c, ok := obj["context"]; ok && string(c) != "null" {
		if json.Unmarshal(c, &ctx) != nil {
			// Not an object: keep it under "context" rather than have the
			// server reject the entry.
			ctx = map[string]json.RawMessage{"context": c}
		}
	}
	for k, v := range obj {
		if used[k] {
			continue
		}
		if _, dup := ctx[k]; !dup {
			ctx[k] = v
		}
	}
	if len(ctx) > 0 {
		e.Context, _ = json.Marshal(ctx) // RawMessage values are copied verbatim
	}
	return e
}

func logsSend(ctx context.Context, env Env, args []string) error {
	var c common
	usage := "logs send --service NAME [--level INFO] [--api-key KEY] [--project SLUG]  < lines"
	fs := newFlags("logs send", &c)
	var o sendOptions
	fs.StringVar(&o.service, "service", "", "service name of the entries (required)")
	fs.StringVar(&o.level, "level", "INFO", "level of plain lines (a JSON line's own level wins)")
	fs.StringVar(&o.project, "project", "", "project slug; if given the server checks it is the key's project")
	apiKey := fs.String("api-key", "", "the project's API key (env DEVSMITH_API_KEY)")
	fs.IntVar(&o.batchSize, "batch-size", 100, "lines per batch, at most")
	fs.DurationVar(&o.interval, "flush-interval", time.Second, "send a partial batch after this long")
	fs.DurationVar(&o.retryFor, "retry-for", time.Minute, "keep retrying a batch this long (network errors, 429, 5xx) before counting it undelivered")
	fs.BoolVar(&o.raw, "raw", false, "send every line as the message, even JSON objects")
	pos, err := parse(fs, usage, args, env.Stdout)
	if err != nil {
		return err
	}
	if err := noArgs("logs send", pos); err != nil {
		return err
	}
	if o.service == "" {
		return usageErr("--service is required")
	}
	if o.batchSize < 1 || o.batchSize > 10000 {
		return usageErr("--batch-size %d: want 1 to 10000", o.batchSize)
	}
	if o.interval <= 0 {
		return usageErr("--flush-interval must be positive")
	}
	key := *apiKey
	if key == "" {
		key = env.get("DEVSMITH_API_KEY")
	}
	if key == "" {
		return failErr(ExitAuth, "an API key is required: --api-key dsk_... or DEVSMITH_API_KEY (devsmith projects create prints one)")
	}
	saved, _ := loadCredentials(env)
	server, err := resolveServer(env, c, saved)
	if err != nil {
		return err
	}
	cl := &client{http: env.HTTP, server: server, auth: "Bearer " + key}
	s := &sender{cl: cl, opt: o, env: env}
	st, err := s.run(ctx, env.Stdin)
	summary := fmt.Sprintf("%d lines read, %d stored in %d batches", st.read, st.stored, st.batches)
	if st.rejected > 0 {
		summary += fmt.Sprintf(", %d rejected by the server (%s)", st.rejected, strings.Join(st.reasons, "; "))
	}
	if st.undelivered > 0 {
		summary += fmt.Sprintf(", %d NOT delivered", st.undelivered)
	}
	if err != nil {
		return fmt.Errorf("%w (%s)", err, summary)
	}
	if st.unreachable {
		return failErr(ExitUnavailable, "%s", summary)
	}
	if st.undelivered > 0 || st.rejected > 0 {
		return failErr(ExitUndelivered, "%s", summary)
	}
	fmt.Fprintf(env.Stderr, "devsmith logs send: %s\n", summary)
	return nil
}

// sender batches lines and posts them one batch at a time (so they arrive
// in order), retrying each with the same batch_id.
type sender struct {
	cl  *client
	opt sendOptions
	env Env
	st  sendStats
}

// run reads r until EOF or ctx ends, then sends what it holds. Memory is
// bounded: the reader waits (the pipe fills and the writer blocks) while a
// batch is being sent, it does not buffer without end.
func (s *sender) run(ctx context.Context, r io.Reader) (sendStats, error) {
	lines := make(chan string, s.opt.batchSize)
	readErr := make(chan error, 1)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go func() { readErr <- readLines(readCtx, r, lines) }()

	// A signal stops the reading; what was read is still sent, for at most
	// --retry-for, even though ctx is done.
	sendCtx := context.WithoutCancel(ctx)
	var batch []wireEntry
	size := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b := batch
		batch, size = nil, 0
		timer.Stop()
		return s.sendBatch(sendCtx, b)
	}
	add := func(line string) error {
		s.st.read++
		e := lineEntry(line, s.opt.level, s.opt.raw, s.env.Now())
		n := len(e.Message) + len(e.Context) + 64
		if len(batch) > 0 && size+n > maxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(batch) == 0 {
			timer.Reset(s.opt.interval)
		}
		batch = append(batch, e)
		size += n
		if len(batch) >= s.opt.batchSize {
			return flush()
		}
		return nil
	}
	// drain takes the lines the reader already handed over, without
	// waiting for more (a read of stdin may block for good).
	drain := func(each func(string) error) error {
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					return nil
				}
				if err := each(line); err != nil {
					return err
				}
			default:
				return nil
			}
		}
	}
	fail := func(err error) (sendStats, error) {
		// A refusal that every batch would get (bad key): stop, and count
		// what was read and not stored.
		s.st.undelivered += len(batch)
		_ = drain(func(string) error { s.st.read++; s.st.undelivered++; return nil })
		return s.st, err
	}
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				if err := flush(); err != nil {
					return s.st, err
				}
				if err := <-readErr; err != nil && ctx.Err() == nil {
					return s.st, fmt.Errorf("reading stdin: %w", err)
				}
				return s.st, nil
			}
			if err := add(line); err != nil {
				stopReading()
				return fail(err)
			}
		case <-timer.C:
			if err := flush(); err != nil {
				stopReading()
				return fail(err)
			}
		case <-ctx.Done():
			// Take what the reader already handed over, then send it.
			stopReading()
			if err := drain(add); err != nil {
				return fail(err)
			}
			return s.st, flush()
		}
	}
}

// readLines sends r's lines (without the line end, empty ones skipped,
// each cut at maxLineBytes) to out, and closes it at EOF or when ctx ends.
func readLines(ctx context.Context, r io.Reader, out chan<- string) error {
	defer close(out)
	br := bufio.NewReaderSize(r, 64<<10)
	var cur []byte
	over := false
	for {
		frag, isPrefix, err := br.ReadLine()
		if len(frag) > 0 && !over {
			room := maxLineBytes - len(cur)
			if len(frag) > room {
				frag, over = frag[:room], true
			}
			cur = append(cur, frag...)
		}
		if err == nil && isPrefix {
			continue
		}
		if err == nil || (errors.Is(err, io.EOF) && len(cur) > 0) {
			if line := strings.TrimRight(string(cur), "\r"); strings.TrimSpace(line) != "" {
				select {
				case out <- line:
				case <-ctx.Done():
					return nil
				}
			}
			cur, over = cur[:0], false
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func newBatchID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sendBatch posts entries under one batch_id until stored or refused. A
// refusal of the batch alone (413: split it; other 4xx: counted
// undelivered) returns nil; a refusal every batch would get (401, 403)
// returns the error. Retryable failures (no answer, 429, 5xx) are retried
// with backoff, waiting at least Retry-After, for --retry-for.
func (s *sender) sendBatch(ctx context.Context, entries []wireEntry) error {
	body := map[string]any{"service_name": s.opt.service, "batch_id": newBatchID(), "logs": entries}
	if s.opt.project != "" {
		body["project_slug"] = s.opt.project
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding a batch: %w", err)
	}
	deadline := time.Now().Add(s.opt.retryFor)
	for attempt := 0; ; attempt++ {
		var res struct {
			Count    int `json:"count"`
			Rejected []struct {
				Index  int    `json:"index"`
				Reason string `json:"reason"`
			} `json:"rejected"`
		}
		err := s.post(ctx, buf, &res)
		if err == nil {
			s.st.batches++
			s.st.stored += res.Count
			s.st.rejected += len(res.Rejected)
			for _, r := range res.Rejected {
				if len(s.st.reasons) < 3 {
					s.st.reasons = append(s.st.reasons, fmt.Sprintf("line %d: %s", s.st.read-len(entries)+r.Index+1, r.Reason))
				}
			}
			return nil
		}
		var ae *APIError
		if errors.As(err, &ae) {
			switch {
			case ae.Status == http.StatusRequestEntityTooLarge && len(entries) > 1:
				h := len(entries) / 2
				if err := s.sendBatch(ctx, entries[:h]); err != nil {
					return err
				}
				return s.sendBatch(ctx, entries[h:])
			case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
				s.st.undelivered += len(entries)
				return err
			case !ae.retryable():
				s.st.undelivered += len(entries)
				fmt.Fprintf(s.env.Stderr, "devsmith logs send: a batch of %d lines was refused: %v\n", len(entries), err)
				return nil
			}
		}
		floor := time.Duration(0)
		if ae != nil {
			floor = ae.RetryAfter
		}
		d := backoff(attempt+1, floor)
		if time.Now().Add(d).After(deadline) {
			s.st.undelivered += len(entries)
			s.st.unreachable = true
			fmt.Fprintf(s.env.Stderr, "devsmith logs send: giving up on a batch of %d lines after %s: %v\n", len(entries), s.opt.retryFor, err)
			return nil
		}
		if !sleepCtx(ctx, d) {
			s.st.undelivered += len(entries)
			s.st.unreachable = true
			return nil
		}
	}
}

func (s *sender) post(ctx context.Context, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	res, err := s.cl.send(ctx, "POST", "/api/logs/batch", nil, bytes.NewReader(body), nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return &netError{server: s.cl.server, err: fmt.Errorf("reading the answer: %w", err)}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding the batch answer: %w", err)
	}
	return nil
}
