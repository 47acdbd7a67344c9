// Package logger ships an application's logs to DevSmith Logs. Standard
// library only: copy this package (logger.go, slog.go) into your module.
//
//	log, err := logger.FromEnv() // DEVSMITH_API_KEY, DEVSMITH_URL, ...
//	if err != nil { ... }
//	defer log.Close(context.Background())
//	log.Info("user logged in", map[string]any{"user_id": 123})
//
// Entries are buffered and sent to POST {DEVSMITH_URL}/batch every 100
// entries or 5 s, whichever comes first, from one background goroutine.
// Failed batches are retried with the same batch_id (the server stores a
// repeated batch once) and kept in a bounded buffer; a log call never blocks
// on the network and never panics.
package logger

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

const dropReportInterval = 10 * time.Second

// DefaultURL is used when neither Config.APIURL nor DEVSMITH_URL is set.
const DefaultURL = "http://localhost:3000/api/logs"

// Config configures a Logger. Every zero field falls back to its environment
// variable, then to its default.
type Config struct {
	APIKey        string        // DEVSMITH_API_KEY; required
	APIURL        string        // DEVSMITH_URL; default DefaultURL; batches go to APIURL + "/batch"
	ProjectSlug   string        // DEVSMITH_PROJECT; optional
	ServiceName   string        // DEVSMITH_SERVICE; default the program's name
	BatchSize     int           // DEVSMITH_BATCH_SIZE; default 100 entries
	FlushInterval time.Duration // DEVSMITH_FLUSH_INTERVAL ("5s", "500ms", or seconds); default 5s
	Gzip          bool          // DEVSMITH_GZIP=1; compress request bodies

	MaxBatchBytes  int           // default 1 MiB (the server accepts 5 MiB)
	MaxBufferSize  int           // entries kept while the platform is unreachable; default 100,000
	MaxBufferBytes int           // default 64 MiB
	MaxRetries     int           // retries per send; default 3; negative: none
	RetryBaseDelay time.Duration // first backoff, doubled per retry, with jitter; default 500ms
	RetryMaxDelay  time.Duration // default 30s
	RequestTimeout time.Duration // default 10s
	CloseTimeout   time.Duration // how long Close keeps trying when its ctx has no deadline; default 10s
	HTTPClient     *http.Client  // default: a client honouring HTTP(S)_PROXY
	ErrorOutput    io.Writer     // where the logger reports its own problems; default os.Stderr
}

// String hides the API key.
func (c Config) String() string {
	return fmt.Sprintf("logger.Config{APIURL: %q, ProjectSlug: %q, ServiceName: %q, APIKey: %s}",
		c.APIURL, c.ProjectSlug, c.ServiceName, redactedKey(c.APIKey))
}

// GoString hides the API key.
func (c Config) GoString() string { return c.String() }

func redactedKey(k string) string {
	if k == "" {
		return `""`
	}
	return "[set]"
}

// Stats are the logger's counters.
type Stats struct {
	Logged         int64 // entries accepted by a log call
	Sent           int64 // entries the platform acknowledged
	Dropped        int64 // oldest entries dropped because the buffer was full
	Discarded      int64 // entries refused by the platform (400, 401, ...) or abandoned at Close
	Rejected       int64 // entries the platform rejected one by one (its response's "rejected" list)
	Batches        int64 // batches acknowledged
	FailedAttempts int64 // HTTP attempts that failed
	Buffered       int   // entries waiting now
}

type batch struct {
	id      string
	entries [][]byte
	bytes   int
}

// Logger buffers entries and ships them in batches. Safe for concurrent use.
type Logger struct {
	cfg            Config
	apiKey         string
	endpoint       string
	head           []byte // `{"service_name":...` without the closing brace
	envelope       int    // bytes of a batch besides its entries
	client         *http.Client
	errOut         io.Writer
	bgCtx          context.Context
	bgCancel       context.CancelFunc
	wake           chan struct{}
	stop           chan struct{}
	done           chan struct{}
	sendSem        chan struct{}
	closeOnce      sync.Once
	reportMu       sync.Mutex
	reported       map[string]bool
	mu             sync.Mutex // guards everything below
	open           *batch
	openSince      time.Time
	queue          []*batch // sealed, oldest first
	count          int
	bytes          int
	closed         bool
	pausedTill     time.Time
	undropped      int64 // drops not yet reported
	lastErr        string
	lastDropReport time.Time
	refusal        string // the platform's last refusal (4xx) message
	// Discarded as of the last Flush or Close: each reports refusals since the previous one.
	discardedSeen int64
	stats         Stats
}

// FromEnv returns a Logger configured from DEVSMITH_* environment variables.
func FromEnv() (*Logger, error) { return New(Config{}) }

// New returns a started Logger. Zero Config fields fall back to DEVSMITH_*
// environment variables, then to defaults. It fails when no API key is set or
// a value is malformed.
func New(cfg Config) (*Logger, error) {
	c, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(struct {
		ProjectSlug string `json:"project_slug,omitempty"`
		ServiceName string `json:"service_name"`
	}{c.ProjectSlug, c.ServiceName})
	if err != nil {
		return nil, fmt.Errorf("encoding the batch envelope: %w", err)
	}
	l := &Logger{
		cfg:      c,
		apiKey:   c.APIKey,
		endpoint: strings.TrimRight(c.APIURL, "/") + "/batch",
		head:     head[:len(head)-1],
		client:   c.HTTPClient,
		errOut:   c.ErrorOutput,
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		sendSem:  make(chan struct{}, 1),
		reported: map[string]bool{},
	}
	l.cfg.APIKey = ""
	l.envelope = len(l.head) + 64
	l.bgCtx, l.bgCancel = context.WithCancel(context.Background())
	go l.run()
	return l, nil
}

func resolve(c Config) (Config, error) {
	env := func(name string) string { return strings.TrimSpace(os.Getenv(name)) }
	if c.APIKey == "" {
		c.APIKey = env("DEVSMITH_API_KEY")
	}
	if c.APIKey == "" {
		return c, errors.New("no API key: set DEVSMITH_API_KEY or Config.APIKey")
	}
	if c.APIURL == "" {
		c.APIURL = env("DEVSMITH_URL")
	}
	if c.APIURL == "" {
		c.APIURL = DefaultURL
	}
	if !strings.HasPrefix(c.APIURL, "http://") && !strings.HasPrefix(c.APIURL, "https://") {
		return c, fmt.Errorf("DEVSMITH_URL must start with http:// or https://, got %q", c.APIURL)
	}
	if c.ProjectSlug == "" {
		c.ProjectSlug = env("DEVSMITH_PROJECT")
	}
	if c.ServiceName == "" {
		c.ServiceName = env("DEVSMITH_SERVICE")
	}
	if c.ServiceName == "" && len(os.Args) > 0 {
		c.ServiceName = strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	}
	if c.ServiceName == "" || c.ServiceName == "." {
		c.ServiceName = "app"
	}
	if c.BatchSize == 0 {
		if v := env("DEVSMITH_BATCH_SIZE"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return c, fmt.Errorf("DEVSMITH_BATCH_SIZE: expected a positive integer, got %q", v)
			}
			c.BatchSize = n
		} else {
			c.BatchSize = 100
		}
	}
	if c.BatchSize < 0 {
		return c, fmt.Errorf("BatchSize: expected a positive integer, got %d", c.BatchSize)
	}
	if c.FlushInterval == 0 {
		if v := env("DEVSMITH_FLUSH_INTERVAL"); v != "" {
			d, err := ParseDuration(v)
			if err != nil || d <= 0 {
				return c, fmt.Errorf("DEVSMITH_FLUSH_INTERVAL: %q is not a duration such as 5s, 500ms or 5", v)
			}
			c.FlushInterval = d
		} else {
			c.FlushInterval = 5 * time.Second
		}
	}
	if !c.Gzip {
		switch strings.ToLower(env("DEVSMITH_GZIP")) {
		case "1", "true", "yes":
			c.Gzip = true
		}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxBatchBytes, 1<<20)
	def(&c.MaxBufferSize, 100_000)
	def(&c.MaxBufferBytes, 64<<20)
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = 3
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	defDur(&c.RetryBaseDelay, 500*time.Millisecond)
	defDur(&c.RetryMaxDelay, 30*time.Second)
	defDur(&c.RequestTimeout, 10*time.Second)
	defDur(&c.CloseTimeout, 10*time.Second)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: http.DefaultTransport}
	}
	if c.ErrorOutput == nil {
		c.ErrorOutput = os.Stderr
	}
	return c, nil
}

var durationRE = regexp.MustCompile(`^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$`)

// ParseDuration reads the DEVSMITH_FLUSH_INTERVAL format shared by every
// DevSmith sample logger: "5s", "500ms", "2m", "1h", or a bare number of
// seconds ("5", "0.5").
func ParseDuration(s string) (time.Duration, error) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("invalid duration %q: use e.g. 5s, 500ms or a number of seconds", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w", s, err)
	}
	unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "": time.Second, "m": time.Minute, "h": time.Hour}[m[2]]
	return time.Duration(f * float64(unit)), nil
}

// String hides the API key.
func (l *Logger) String() string {
	return fmt.Sprintf("logger.Logger{endpoint: %q, service: %q}", l.endpoint, l.cfg.ServiceName)
}

// GoString hides the API key.
func (l *Logger) GoString() string { return l.String() }

// Debug logs at DEBUG. ctx may be nil.
func (l *Logger) Debug(msg string, ctx map[string]any) { l.Log("DEBUG", msg, ctx) }

// Info logs at INFO. ctx may be nil.
func (l *Logger) Info(msg string, ctx map[string]any) { l.Log("INFO", msg, ctx) }

// Warn logs at WARN. ctx may be nil.
func (l *Logger) Warn(msg string, ctx map[string]any) { l.Log("WARN", msg, ctx) }

// Error logs at ERROR. ctx may be nil.
func (l *Logger) Error(msg string, ctx map[string]any) { l.Log("ERROR", msg, ctx) }

// Log logs at any level (TRACE, DEBUG, INFO, WARN, ERROR, FATAL). It never
// blocks on the network and never panics; ctx is encoded before it returns,
// so the caller may reuse the map.
func (l *Logger) Log(level, msg string, ctx map[string]any) { l.LogAt(time.Time{}, level, msg, ctx) }

// LogAt is Log with the entry's timestamp (zero: now).
func (l *Logger) LogAt(t time.Time, level, msg string, ctx map[string]any) {
	if l == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			l.report("log-panic", "could not log an entry: %v", r)
		}
	}()
	line := encodeEntry(t, level, msg, ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.stats.Logged++
	l.enqueueLocked(line)
}

func encodeEntry(t time.Time, level, msg string, ctx map[string]any) []byte {
	if t.IsZero() {
		t = time.Now()
	}
	if msg == "" {
		msg = "(empty message)"
	}
	level = strings.ToUpper(level)
	if level == "" {
		level = "INFO"
	}
	buf := make([]byte, 0, 96+len(msg))
	buf = append(buf, `{"timestamp":"`...)
	buf = t.UTC().AppendFormat(buf, "2006-01-02T15:04:05.000Z07:00")
	buf = append(buf, `","level":`...)
	buf = appendJSONString(buf, level)
	buf = append(buf, `,"message":`...)
	buf = appendJSONString(buf, msg)
	if len(ctx) > 0 {
		buf = append(buf, `,"context":`...)
		buf = append(buf, encodeContext(ctx)...)
	}
	return append(buf, '}')
}

func appendJSONString(buf []byte, s string) []byte {
	b, err := json.Marshal(s) // strings always marshal
	if err != nil {
		return append(buf, `""`...)
	}
	return append(buf, b...)
}

// encodeContext marshals ctx; values that cannot be marshaled (channels,
// functions, NaN, cycles...) become their fmt text instead of losing the entry.
func encodeContext(ctx map[string]any) []byte {
	clean := ctx
	copied := false
	for k, v := range ctx {
		if err, ok := v.(error); ok && err != nil {
			if !copied {
				clean = make(map[string]any, len(ctx))
				for k2, v2 := range ctx {
					clean[k2] = v2
				}
				copied = true
			}
			clean[k] = err.Error()
		}
	}
	if b, err := json.Marshal(clean); err == nil {
		return b
	}
	safe := make(map[string]any, len(ctx))
	for k, v := range clean {
		b, err := json.Marshal(v)
		switch {
		case err == nil:
			safe[k] = json.RawMessage(b)
		case isScalar(v):
			safe[k] = fmt.Sprintf("%v", v) // NaN, channels, funcs
		default: // fmt could recurse forever on a cyclic value
			safe[k] = fmt.Sprintf("<%T: %v>", v, err)
		}
	}
	b, err := json.Marshal(safe)
	if err != nil {
		return []byte(`{"_unserializable":true}`)
	}
	return b
}

func isScalar(v any) bool {
	switch reflect.ValueOf(v).Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Pointer, reflect.Struct, reflect.Interface:
		return false
	}
	return true
}

func (l *Logger) enqueueLocked(line []byte) {
	size := len(line) + 1
	if l.open != nil && l.open.bytes+size > l.cfg.MaxBatchBytes {
		l.sealLocked()
	}
	if l.open == nil {
		l.open = &batch{id: newID(), bytes: l.envelope, entries: make([][]byte, 0, min(l.cfg.BatchSize, 1024))}
		l.openSince = time.Now()
		l.signal()
	}
	l.open.entries = append(l.open.entries, line)
	l.open.bytes += size
	l.count++
	l.bytes += size
	l.enforceBoundLocked()
	if l.open != nil && (len(l.open.entries) >= l.cfg.BatchSize || l.open.bytes >= l.cfg.MaxBatchBytes) {
		l.sealLocked()
	}
}

func (l *Logger) sealLocked() {
	if l.open != nil && len(l.open.entries) > 0 {
		l.queue = append(l.queue, l.open)
		l.signal()
	}
	l.open = nil
}

// sealQuietLocked seals without waking the background sender: for Flush and
// Close, which send themselves.
func (l *Logger) sealQuietLocked() {
	if l.open != nil && len(l.open.entries) > 0 {
		l.queue = append(l.queue, l.open)
	}
	l.open = nil
}

func (l *Logger) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Logger) enforceBoundLocked() {
	for l.count > l.cfg.MaxBufferSize || (l.bytes > l.cfg.MaxBufferBytes && l.count > 0) {
		oldest := l.open
		if len(l.queue) > 0 {
			oldest = l.queue[0]
		}
		if oldest == nil {
			return
		}
		size := len(oldest.entries[0]) + 1
		oldest.entries[0] = nil
		oldest.entries = oldest.entries[1:]
		oldest.bytes -= size
		l.bytes -= size
		l.count--
		l.stats.Dropped++
		l.undropped++
		if l.undropped == 1 {
			l.report("", "buffer full (platform unreachable?): dropping the oldest log entries")
		}
		if len(oldest.entries) == 0 {
			if oldest == l.open {
				l.open = nil
			} else {
				l.queue[0] = nil
				l.queue = l.queue[1:]
			}
		}
	}
}

func (l *Logger) take() *batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.queue) == 0 {
		return nil
	}
	b := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	l.count -= len(b.entries)
	l.bytes -= b.bytes - l.envelope
	return b
}

func (l *Logger) requeueFront(b *batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queue = append([]*batch{b}, l.queue...)
	l.count += len(b.entries)
	l.bytes += b.bytes - l.envelope
	l.enforceBoundLocked()
}

// Stats returns the logger's counters.
func (l *Logger) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Buffered = l.count
	return s
}

// Flush sends everything buffered now, each batch with its retries, and
// returns an error if any of it was not delivered (it stays buffered), or if
// the platform refused entries (400, 401, 403, ...) since the last Flush or
// Close.
func (l *Logger) Flush(ctx context.Context) error {
	return l.deliver(ctx, false)
}

// Close stops accepting entries and keeps trying to deliver the buffer until
// it is delivered or ctx ends (without a deadline on ctx: Config.CloseTimeout).
// What could not be delivered is reported on ErrorOutput and in the error.
// Close stops the background goroutine; calling it again is harmless.
func (l *Logger) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.sealLocked()
		l.mu.Unlock()
		close(l.stop)
		l.bgCancel() // ends the background sender's backoff; a request in flight completes
	})
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.cfg.CloseTimeout)
		defer cancel()
	}
	var err error
	select {
	case <-l.done:
		err = l.deliver(ctx, true)
	case <-ctx.Done():
		err = fmt.Errorf("waiting for the background sender: %w", ctx.Err())
	}
	l.reportDrops(true)
	if err != nil {
		l.mu.Lock()
		left := l.count
		l.stats.Discarded += int64(left)
		l.discardedSeen = l.stats.Discarded
		l.queue, l.open, l.count, l.bytes = nil, nil, 0, 0
		l.mu.Unlock()
		if left > 0 {
			l.report("", "%d log entries were not delivered before close: %v", left, err)
		}
	}
	return err
}

func (l *Logger) deliver(ctx context.Context, persistent bool) error {
	l.mu.Lock()
	l.sealQuietLocked()
	l.mu.Unlock()
	select {
	case l.sendSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the send in progress: %w", ctx.Err())
	}
	err := l.drain(ctx)
	for err != nil && persistent && ctx.Err() == nil {
		l.mu.Lock()
		pause := max(time.Until(l.pausedTill), l.cfg.RetryBaseDelay)
		l.mu.Unlock()
		if !sleep(ctx, pause) {
			break
		}
		l.mu.Lock()
		l.sealQuietLocked()
		l.mu.Unlock()
		err = l.drain(ctx)
	}
	<-l.sendSem
	l.mu.Lock()
	left, discarded, lastErr := l.count, l.stats.Discarded-l.discardedSeen, l.refusal
	l.discardedSeen = l.stats.Discarded
	l.mu.Unlock()
	switch {
	case left > 0 && err != nil:
		return fmt.Errorf("%d log entries not delivered: %w", left, err)
	case left > 0:
		return fmt.Errorf("%d log entries not delivered", left)
	case discarded > 0:
		return fmt.Errorf("%d log entries refused by the platform: %s", discarded, lastErr)
	}
	return nil
}

// run is the background sender: it seals the open batch after FlushInterval
// and drains sealed batches, pausing after a failed drain.
func (l *Logger) run() {
	defer close(l.done)
	for {
		l.mu.Lock()
		now := time.Now()
		if l.open != nil && now.Sub(l.openSince) >= l.cfg.FlushInterval {
			l.sealLocked()
		}
		ready := len(l.queue) > 0 && !now.Before(l.pausedTill)
		wait := time.Duration(-1)
		if !ready {
			if l.open != nil {
				wait = l.openSince.Add(l.cfg.FlushInterval).Sub(now)
			}
			if len(l.queue) > 0 {
				if w := l.pausedTill.Sub(now); wait < 0 || w < wait {
					wait = w
				}
			}
		}
		l.mu.Unlock()
		if ready {
			select {
			case l.sendSem <- struct{}{}:
			case <-l.stop:
				return
			}
			// A Flush may have held the send while we waited, failed, and
			// paused sending: then the pause holds for us too.
			l.mu.Lock()
			paused := time.Now().Before(l.pausedTill)
			l.mu.Unlock()
			if !paused {
				_ = l.drain(l.bgCtx) // failures are reported and retried later
			}
			<-l.sendSem
			continue
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(max(wait, time.Millisecond))
			fire = timer.C
		}
		select {
		case <-l.stop:
		case <-l.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		select {
		case <-l.stop:
			return
		default:
		}
	}
}

// drain sends sealed batches in order until none is left or one still fails
// after its retries (it goes back to the buffer whole, with its batch_id).
func (l *Logger) drain(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b := l.take()
		if b == nil {
			return nil
		}
		res, retryAfter, err := l.send(ctx, b)
		switch res {
		case resultOK:
			l.mu.Lock()
			l.pausedTill = time.Time{}
			l.mu.Unlock()
			l.reportDrops(false)
		case resultSplit:
			mid := (len(b.entries) + 1) / 2
			l.requeueFront(l.newBatch(b.entries[mid:]))
			l.requeueFront(l.newBatch(b.entries[:mid]))
		case resultDiscard:
		case resultFail:
			l.requeueFront(b)
			l.mu.Lock()
			l.pausedTill = time.Now().Add(max(l.cfg.FlushInterval, retryAfter))
			l.mu.Unlock()
			return err
		}
	}
}

func (l *Logger) newBatch(entries [][]byte) *batch {
	b := &batch{id: newID(), entries: entries, bytes: l.envelope}
	for _, e := range entries {
		b.bytes += len(e) + 1
	}
	return b
}

// reportDrops reports entries dropped since the last report: on stderr and
// as a WARN entry, at most once per dropReportInterval under sustained
// overload; final (Close) reports on stderr only.
func (l *Logger) reportDrops(final bool) {
	l.mu.Lock()
	n := l.undropped
	if n == 0 || (!final && !l.lastDropReport.IsZero() && time.Since(l.lastDropReport) < dropReportInterval) {
		l.mu.Unlock()
		return
	}
	l.undropped = 0
	l.lastDropReport = time.Now()
	l.mu.Unlock()
	l.report("", "dropped %d log entries while the platform was unreachable (buffer full)", n)
	if final {
		return
	}
	line := encodeEntry(time.Time{}, "WARN",
		fmt.Sprintf("devsmith logger dropped %d log entries: buffer full while the platform was unreachable", n),
		map[string]any{"_devsmith_dropped": n})
	l.mu.Lock()
	l.enqueueLocked(line)
	l.sealLocked()
	l.mu.Unlock()
}

type result int

const (
	resultOK result = iota
	resultSplit
	resultDiscard
	resultFail
)

func (l *Logger) send(ctx context.Context, b *batch) (result, time.Duration, error) {
	body := make([]byte, 0, b.bytes)
	body = append(body, l.head...)
	body = append(body, `,"batch_id":"`...)
	body = append(body, b.id...)
	body = append(body, `","logs":[`...)
	for i, e := range b.entries {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, e...)
	}
	body = append(body, "]}"...)
	if l.cfg.Gzip {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = zb.Bytes()
	}
	var retryAfter time.Duration
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return resultFail, retryAfter, ctx.Err()
		}
		status, text, header, netErr := l.post(ctx, body)
		if status >= 200 && status < 300 {
			l.accepted(len(b.entries), text)
			return resultOK, 0, nil
		}
		serverMsg := serverError(text, status)
		var err error
		if netErr != nil {
			err = netErr
		} else {
			err = fmt.Errorf("HTTP %d: %s", status, serverMsg)
		}
		l.mu.Lock()
		l.stats.FailedAttempts++
		l.lastErr = err.Error()
		l.mu.Unlock()
		if status == http.StatusRequestEntityTooLarge {
			if len(b.entries) > 1 {
				return resultSplit, 0, err
			}
			l.mu.Lock()
			l.stats.Discarded++
			l.refusal = err.Error()
			l.mu.Unlock()
			l.report("too-large", "an entry is too large for the platform and was dropped: %s", serverMsg)
			return resultDiscard, 0, err
		}
		retryable := netErr != nil || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
		if !retryable {
			l.mu.Lock()
			l.stats.Discarded += int64(len(b.entries))
			l.refusal = err.Error()
			l.mu.Unlock()
			l.report(fmt.Sprintf("http-%d-%s", status, serverMsg),
				"the platform refused a batch of %d entries (HTTP %d): %s; not retrying", len(b.entries), status, serverMsg)
			return resultDiscard, 0, err
		}
		retryAfter = 0
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			retryAfter = parseRetryAfter(header)
		}
		if attempt >= l.cfg.MaxRetries {
			if ctx.Err() == nil {
				l.report("send-failed", "could not send %d entries (%v); keeping them buffered and retrying later", len(b.entries), err)
			}
			return resultFail, retryAfter, err
		}
		wait := retryAfter
		if wait <= 0 {
			backoff := min(l.cfg.RetryMaxDelay, l.cfg.RetryBaseDelay<<attempt)
			wait = backoff/2 + time.Duration(mathrand.Int63n(int64(backoff/2)+1))
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return resultFail, retryAfter, err
		}
		if !sleep(ctx, wait) {
			return resultFail, retryAfter, err
		}
	}
}

// post returns the status and body of one attempt, or a network error.
// Cancelling the background context (Close) does not abort a request in
// flight: it would be sent again, and a repeat is wasted work even though the
// platform stores it once.
func (l *Logger) post(ctx context.Context, body []byte) (int, []byte, string, error) {
	if ctx == l.bgCtx {
		ctx = context.WithoutCancel(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, "", fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+l.apiKey)
	req.Header.Set("User-Agent", "devsmith-logger-go/1")
	if l.cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := l.client.Do(req)
	if err != nil {
		return 0, nil, "", fmt.Errorf("sending to %s: %w", l.endpoint, unwrapURLError(err))
	}
	defer res.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, text, res.Header.Get("Retry-After"), nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (l *Logger) accepted(n int, text []byte) {
	l.mu.Lock()
	l.stats.Sent += int64(n)
	l.stats.Batches++
	l.mu.Unlock()
	l.reportMu.Lock()
	wasFailing := l.reported["send-failed"]
	delete(l.reported, "send-failed")
	l.reportMu.Unlock()
	if wasFailing {
		l.report("", "the platform is reachable again; sending buffered entries")
	}
	var res struct {
		Rejected []struct {
			Index  int    `json:"index"`
			Reason string `json:"reason"`
		} `json:"rejected"`
	}
	if json.Unmarshal(text, &res) != nil || len(res.Rejected) == 0 {
		return
	}
	l.mu.Lock()
	l.stats.Rejected += int64(len(res.Rejected))
	l.mu.Unlock()
	r := res.Rejected[0]
	l.report("rejected-"+r.Reason, "the platform rejected %d entries, e.g. #%d: %s", len(res.Rejected), r.Index, r.Reason)
}

// report writes one line to ErrorOutput; with a key, only the first time.
func (l *Logger) report(once, format string, args ...any) {
	l.reportMu.Lock()
	defer l.reportMu.Unlock()
	if once != "" {
		if l.reported[once] {
			return
		}
		if len(l.reported) > 100 {
			clear(l.reported)
		}
		l.reported[once] = true
	}
	msg := fmt.Sprintf(format, args...)
	if l.apiKey != "" {
		msg = strings.ReplaceAll(msg, l.apiKey, "[api key]")
	}
	_, _ = fmt.Fprintf(l.errOut, "devsmith-logger: %s\n", msg)
}

func serverError(text []byte, status int) string {
	var body struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(text, &body) == nil && body.Error != "" {
		return truncate(body.Error, 500)
	}
	if len(text) == 0 {
		return fmt.Sprintf("status %d", status)
	}
	return truncate(strings.Join(strings.Fields(string(text)), " "), 200)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 0), 5*time.Minute)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
