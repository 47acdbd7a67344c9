package logger

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testKey = "dsk_test_secret_key_0123456789abcdef"

var tsRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// syncBuffer is an io.Writer safe for the logger's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestLogger(t *testing.T, p *fakePlatform, mod func(*Config)) (*Logger, *syncBuffer) {
	t.Helper()
	errOut := &syncBuffer{}
	cfg := Config{
		APIKey: testKey, APIURL: p.URL, ServiceName: "svc", ProjectSlug: "proj",
		BatchSize: 100, FlushInterval: time.Hour, RetryBaseDelay: 5 * time.Millisecond,
		CloseTimeout: 5 * time.Second, ErrorOutput: errOut,
	}
	if mod != nil {
		mod(&cfg)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_ = l.Close(ctx)
	})
	return l, errOut
}

func flush(t *testing.T, l *Logger) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return l.Flush(ctx)
}

func mustFlush(t *testing.T, l *Logger) {
	t.Helper()
	if err := flush(t, l); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func eventually(t *testing.T, what string, pred func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !pred() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func indexes(es []fakeEntry) []int {
	var out []int
	for _, e := range es {
		if v, ok := e.Context["i"].(float64); ok {
			out = append(out, int(v))
		}
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func equalInts(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestBatchesBySizeInTheDocumentedShape(t *testing.T) {
	p := newFakePlatform(t, nil)
	l, _ := newTestLogger(t, p, func(c *Config) { c.BatchSize = 5 })
	for i := 0; i < 12; i++ {
		l.Info(fmt.Sprintf("m%d", i), map[string]any{"i": i})
	}
	p.waitFor(func() bool { return len(p.accepted()) == 2 }, 5*time.Second)
	if got := l.Stats().Buffered; got != 2 {
		t.Fatalf("buffered = %d, want 2", got)
	}
	mustFlush(t, l)
	reqs := p.requests()
	var sizes []int
	ids := map[string]bool{}
	for _, r := range reqs {
		sizes = append(sizes, len(r.Body.Logs))
		ids[r.Body.BatchID] = true
	}
	if !equalInts(sizes, []int{5, 5, 2}) || len(ids) != 3 {
		t.Fatalf("batch sizes %v, %d distinct ids", sizes, len(ids))
	}
	r := reqs[0]
	if r.Path != "/api/logs/batch" || r.Header.Get("Authorization") != "Bearer "+testKey ||
		r.Header.Get("Content-Type") != "application/json" || r.Body.ServiceName != "svc" || r.Body.ProjectSlug != "proj" {
		t.Fatalf("unexpected request: %s %v %+v", r.Path, r.Header, r.Body)
	}
	if got := indexes(p.entries()); !equalInts(got, seq(0, 12)) {
		t.Fatalf("entries %v", got)
	}
	for _, e := range p.entries() {
		if !tsRE.MatchString(e.Timestamp) || e.Level != "INFO" {
			t.Fatalf("entry %+v", e)
		}
	}
}

func TestSendsAfterFlushIntervalWithoutFlush(t *testing.T) {
	p := newFakePlatform(t, nil)
	l, _ := newTestLogger(t, p, func(c *Config) { c.FlushInterval = 50 * time.Millisecond })
	start := time.Now()
	l.Debug("a", nil)
	l.Warn("b", nil)
	l.Error("c", map[string]any{"k": "v"})
	p.waitFor(func() bool { return len(p.accepted()) == 1 }, 3*time.Second)
	if el := p.requests()[0].At.Sub(start); el < 40*time.Millisecond {
		t.Fatalf("sent after %v, before the interval", el)
	}
	es := p.entries()
	got := fmt.Sprint(es[0].Level, es[0].Message, es[1].Level, es[1].Message, es[2].Level, es[2].Message, es[2].Context)
	if got != fmt.Sprint("DEBUG", "a", "WARN", "b", "ERROR", "c", map[string]any{"k": "v"}) {
		t.Fatalf("entries %v", got)
	}
}

func TestBatchesCappedByBytes(t *testing.T) {
	p := newFakePlatform(t, nil)
	l, _ := newTestLogger(t, p, func(c *Config) { c.MaxBatchBytes = 2000 })
	for i := 0; i < 10; i++ {
		l.Info(strings.Repeat("x", 400), map[string]any{"i": i})
	}
	mustFlush(t, l)
	reqs := p.requests()
	if len(reqs) < 3 {
		t.Fatalf("%d batches, want several", len(reqs))
	}
	for _, r := range reqs {
		if len(r.Raw) > 2000 {
			t.Fatalf("batch of %d bytes", len(r.Raw))
		}
	}
	if got := indexes(p.entries()); !equalInts(got, seq(0, 10)) {
		t.Fatalf("entries %v", got)
	}
}

func TestRetriesWithBackoffReusingBatchID(t *testing.T) {
	p := newFakePlatform(t, func(_ fakeRequest, n int) fakeAnswer {
		if n < 2 {
			return fakeAnswer{status: 503, body: map[string]string{"error": "busy", "code": "UNAVAILABLE"}}
		}
		return ok201()
	})
	l, _ := newTestLogger(t, p, func(c *Config) { c.RetryBaseDelay = 40 * time.Millisecond })
	l.Info("once", nil)
	mustFlush(t, l)
	reqs := p.requests()
	if len(reqs) != 3 || reqs[0].Body.BatchID != reqs[1].Body.BatchID || reqs[1].Body.BatchID != reqs[2].Body.BatchID {
		t.Fatalf("%d requests; ids must all be equal", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 19*time.Millisecond {
		t.Fatalf("first backoff %v", gap)
	}
	if gap := reqs[2].At.Sub(reqs[1].At); gap < 39*time.Millisecond {
		t.Fatalf("second backoff %v, should double", gap)
	}
	if len(p.entries()) != 1 {
		t.Fatalf("%d entries", len(p.entries()))
	}
}

func TestHonoursRetryAfter(t *testing.T) {
	p := newFakePlatform(t, func(_ fakeRequest, n int) fakeAnswer {
		if n == 0 {
			return fakeAnswer{status: 429, header: map[string]string{"Retry-After": "1"}, body: map[string]string{"error": "rate limited"}}
		}
		return ok201()
	})
	l, _ := newTestLogger(t, p, func(c *Config) { c.RetryBaseDelay = time.Millisecond })
	l.Info("x", nil)
	mustFlush(t, l)
	reqs := p.requests()
	if len(reqs) != 2 || reqs[0].Body.BatchID != reqs[1].Body.BatchID {
		t.Fatalf("%d requests", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 950*time.Millisecond {
		t.Fatalf("retried after %v, before Retry-After", gap)
	}
}

func TestNoRetryOn400And401ReportedOnce(t *testing.T) {
	for _, status := range []int{400, 401} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			msg := fmt.Sprintf("server says no (%d)", status)
			p := newFakePlatform(t, func(fakeRequest, int) fakeAnswer {
				return fakeAnswer{status: status, body: map[string]string{"error": msg, "code": "X"}}
			})
			l, errOut := newTestLogger(t, p, func(c *Config) { c.BatchSize = 1 })
			l.Info("a", nil)
			l.Info("b", nil)
			err := flush(t, l)
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Fatalf("Flush error %v", err)
			}
			if n := len(p.requests()); n != 2 {
				t.Fatalf("%d requests, want one per batch", n)
			}
			if c := strings.Count(errOut.String(), msg); c != 1 {
				t.Fatalf("reported %d times: %q", c, errOut.String())
			}
			if strings.Contains(errOut.String(), testKey) || strings.Contains(err.Error(), testKey) {
				t.Fatal("API key printed")
			}
			if d := l.Stats().Discarded; d != 2 {
				t.Fatalf("discarded %d", d)
			}
		})
	}
}

func TestFailedBatchGoesBackWholeWithItsBatchID(t *testing.T) {
	var up atomic.Bool
	p := newFakePlatform(t, func(fakeRequest, int) fakeAnswer {
		if up.Load() {
			return ok201()
		}
		return fakeAnswer{status: 500, body: map[string]string{"error": "down"}}
	})
	l, _ := newTestLogger(t, p, func(c *Config) { c.MaxRetries = 2 })
	for i := 0; i < 3; i++ {
		l.Info(fmt.Sprintf("m%d", i), map[string]any{"i": i})
	}
	if err := flush(t, l); err == nil {
		t.Fatal("Flush succeeded against a failing platform")
	}
	if n, b := len(p.requests()), l.Stats().Buffered; n != 3 || b != 3 {
		t.Fatalf("%d requests, %d buffered", n, b)
	}
	up.Store(true)
	mustFlush(t, l)
	ids := map[string]bool{}
	for _, r := range p.requests() {
		ids[r.Body.BatchID] = true
	}
	if len(ids) != 1 || !equalInts(indexes(p.entries()), seq(0, 3)) {
		t.Fatalf("%d ids, entries %v", len(ids), indexes(p.entries()))
	}
}

func TestSplitsOn413(t *testing.T) {
	p := newFakePlatform(t, func(r fakeRequest, _ int) fakeAnswer {
		if len(r.Body.Logs) > 3 {
			return fakeAnswer{status: 413, body: map[string]string{"error": "too large"}}
		}
		return ok201()
	})
	l, _ := newTestLogger(t, p, nil)
	for i := 0; i < 10; i++ {
		l.Info("m", map[string]any{"i": i})
	}
	mustFlush(t, l)
	if got := indexes(p.entries()); !equalInts(got, seq(0, 10)) {
		t.Fatalf("entries %v", got)
	}
	first := p.requests()[0].Body.BatchID
	ids := map[string]bool{}
	for _, r := range p.accepted() {
		if ids[r.Body.BatchID] || r.Body.BatchID == first {
			t.Fatalf("halves must get fresh batch ids")
		}
		ids[r.Body.BatchID] = true
	}
}

func TestBoundedBufferDropsOldestWhenUnreachable(t *testing.T) {
	var up atomic.Bool
	p := newFakePlatform(t, func(fakeRequest, int) fakeAnswer {
		if up.Load() {
			return ok201()
		}
		return fakeAnswer{drop: true}
	})
	l, errOut := newTestLogger(t, p, func(c *Config) { c.BatchSize = 5; c.MaxBufferSize = 10; c.MaxRetries = 1 })
	for i := 0; i < 25; i++ {
		l.Info("m", map[string]any{"i": i})
	}
	// Whatever the sender had in flight has failed and come back: at most 10 kept.
	eventually(t, "two failed attempts", func() bool {
		s := l.Stats()
		return s.FailedAttempts >= 2 && s.Buffered == 10
	})
	if d := l.Stats().Dropped; d != 15 {
		t.Fatalf("dropped %d, want 15", d)
	}
	up.Store(true)
	mustFlush(t, l)
	es := p.entries()
	if got := indexes(es); !equalInts(got, seq(15, 25)) {
		t.Fatalf("kept %v, want the newest 10", got)
	}
	var report *fakeEntry
	for i := range es {
		if _, ok := es[i].Context["_devsmith_dropped"]; ok {
			report = &es[i]
		}
	}
	if report == nil || report.Context["_devsmith_dropped"].(float64) != 15 || report.Level != "WARN" {
		t.Fatalf("no drop report entry: %+v", es)
	}
	out := errOut.String()
	if !strings.Contains(out, "dropping the oldest") || !strings.Contains(out, "dropped 15 log entries") {
		t.Fatalf("stderr: %q", out)
	}
}

func TestConcurrentLogging(t *testing.T) {
	p := newFakePlatform(t, nil)
	l, _ := newTestLogger(t, p, func(c *Config) { c.BatchSize = 7 })
	const workers, each = 16, 300
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			for i := 0; i < each; i++ {
				l.Info(fmt.Sprintf("w%d i%d", w, i), map[string]any{"w": w, "i": i})
				if i%50 == 0 {
					_ = l.Stats()
				}
			}
		}(w)
	}
	close(start)
	wg.Wait()
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	es := p.entries()
	seen := map[string]bool{}
	perWorker := map[int][]int{}
	for _, e := range es {
		if seen[e.Message] {
			t.Fatalf("duplicate %s", e.Message)
		}
		seen[e.Message] = true
		w := int(e.Context["w"].(float64))
		perWorker[w] = append(perWorker[w], int(e.Context["i"].(float64)))
	}
	if len(es) != workers*each {
		t.Fatalf("%d entries, want %d", len(es), workers*each)
	}
	for w := 0; w < workers; w++ {
		if !equalInts(perWorker[w], seq(0, each)) {
			t.Fatalf("worker %d out of order", w)
		}
	}
}

func TestCloseFlushesAndIgnoresLaterLogs(t *testing.T) {
	p := newFakePlatform(t, nil)
	l, _ := newTestLogger(t, p, nil)
	l.Info("one", nil)
	l.Info("two", nil)
	l.Info("three", nil)
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var msgs []string
	for _, e := range p.entries() {
		msgs = append(msgs, e.Message)
	}
	if fmt.Sprint(msgs) != "[one two three]" {
		t.Fatalf("entries %v", msgs)
	}
	l.Info("after close", nil)
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := len(p.requests()); n != 1 {
		t.Fatalf("%d requests", n)
	}
}

func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	p := newFakePlatform(t, func(fakeRequest, int) fakeAnswer { return fakeAnswer{drop: true} })
	l, errOut := newTestLogger(t, p, func(c *Config) { c.RetryBaseDelay = 20 * time.Millisecond })
	l.Info("lost", nil)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := l.Close(ctx)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Close: %v after %v", err, time.Since(start))
	}
	if !strings.Contains(errOut.String(), "1 log entries were not delivered before close") {
		t.Fatalf("stderr: %q", errOut.String())
	}
	if s := l.Stats(); s.Discarded != 1 || s.Buffered != 0 {
		t.Fatalf("stats %+v", s)
	}
}

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, fmt.Errorf("cannot marshal") }

func TestLogNeverPanics(t *testing.T) {
	p := newFakePlatform(t, nil)
	l, _ := newTestLogger(t, p, nil)
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	l.Info("channel", map[string]any{"c": make(chan int), "ok": 1})
	l.Info("cyclic", cyclic)
	l.Info("nan", map[string]any{"v": math.NaN()})
	l.Info("marshaler", map[string]any{"m": failingMarshaler{}})
	l.Info("error value", map[string]any{"err": io.ErrUnexpectedEOF})
	l.Info("", nil)
	l.Log("nonsense-level", "x", nil)
	var nilLogger *Logger
	nilLogger.Info("nil logger", nil)
	mustFlush(t, l)
	by := map[string]fakeEntry{}
	for _, e := range p.entries() {
		by[e.Message] = e
	}
	if len(by) != 7 || !strings.Contains(by["cyclic"].Context["self"].(string), "cycle") {
		t.Fatalf("entries %+v", p.entries())
	}
	if by["channel"].Context["ok"].(float64) != 1 || !strings.HasPrefix(by["channel"].Context["c"].(string), "0x") {
		t.Fatalf("channel entry %+v", by["channel"])
	}
	if by["nan"].Context["v"] != "NaN" || by["error value"].Context["err"] != "unexpected EOF" {
		t.Fatalf("entries %+v", by)
	}
	if _, ok := by["(empty message)"]; !ok || by["x"].Level != "NONSENSE-LEVEL" {
		t.Fatalf("entries %+v", by)
	}
}

func TestNeverPrintsTheAPIKey(t *testing.T) {
	answers := []fakeAnswer{
		{status: 401, body: map[string]string{"error": "invalid API key", "code": "UNAUTHENTICATED"}},
		{status: 500, body: map[string]string{"error": "oops"}},
		{drop: true},
	}
	p := newFakePlatform(t, func(_ fakeRequest, n int) fakeAnswer { return answers[n%3] })
	l, errOut := newTestLogger(t, p, func(c *Config) { c.BatchSize = 1; c.MaxRetries = 1 })
	l.Info("a", nil)
	l.Info("b", nil)
	ferr := flush(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	cerr := l.Close(ctx)
	cfg := Config{APIKey: testKey}
	for _, s := range []string{errOut.String(), fmt.Sprint(ferr), fmt.Sprint(cerr), fmt.Sprintf("%v %+v %#v %s", l, l, l, l),
		fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), fmt.Sprintf("%+v", &cfg)} {
		if strings.Contains(s, testKey) {
			t.Fatalf("API key printed in %q", s)
		}
	}
	if !strings.Contains(errOut.String(), "invalid API key") {
		t.Fatalf("stderr: %q", errOut.String())
	}
}

func TestGzip(t *testing.T) {
	p := newFakePlatform(t, nil)
	l, _ := newTestLogger(t, p, func(c *Config) { c.Gzip = true })
	l.Info("compressed", nil)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := p.requests()[0]
	if r.Header.Get("Content-Encoding") != "gzip" || r.Body.Logs[0].Message != "compressed" {
		t.Fatalf("request %+v", r)
	}
}

func TestEnvironmentConfiguration(t *testing.T) {
	p := newFakePlatform(t, nil)
	t.Setenv("DEVSMITH_API_KEY", testKey)
	t.Setenv("DEVSMITH_URL", p.URL+"/")
	t.Setenv("DEVSMITH_PROJECT", "envproj")
	t.Setenv("DEVSMITH_SERVICE", "envsvc")
	t.Setenv("DEVSMITH_BATCH_SIZE", "2")
	t.Setenv("DEVSMITH_FLUSH_INTERVAL", "1h")
	l, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	l.Info("a", nil)
	l.Info("b", nil)
	p.waitFor(func() bool { return len(p.accepted()) == 1 }, 5*time.Second)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := p.requests()[0].Body
	if b.ServiceName != "envsvc" || b.ProjectSlug != "envproj" {
		t.Fatalf("envelope %+v", b)
	}
	for env, bad := range map[string]string{"DEVSMITH_BATCH_SIZE": "lots", "DEVSMITH_FLUSH_INTERVAL": "soon", "DEVSMITH_URL": "localhost:3000"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, bad)
			if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), env) {
				t.Fatalf("FromEnv with %s=%q: %v", env, bad, err)
			}
		})
	}
	t.Setenv("DEVSMITH_API_KEY", "")
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "DEVSMITH_API_KEY") {
		t.Fatalf("FromEnv without a key: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"5s": 5 * time.Second, "500ms": 500 * time.Millisecond, "5": 5 * time.Second,
		"1.5": 1500 * time.Millisecond, "2m": 2 * time.Minute, "1h": time.Hour,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"5 parsecs", "-1s", "1m30s", ""} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}

func TestFlushRespectsItsContext(t *testing.T) {
	p := newFakePlatform(t, func(fakeRequest, int) fakeAnswer {
		return fakeAnswer{status: 503, header: map[string]string{"Retry-After": "60"}}
	})
	l, _ := newTestLogger(t, p, nil)
	l.Info("x", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Flush took %v past its deadline", el)
	}
	if b := l.Stats().Buffered; b != 1 {
		t.Fatalf("buffered %d, want the entry kept", b)
	}
}

// BenchmarkLog measures the cost of one log call on the caller's goroutine
// (encoding and buffering; sending happens in the background).
func BenchmarkLog(b *testing.B) {
	srv := newBenchPlatform(b)
	l, err := New(Config{APIKey: testKey, APIURL: srv, ServiceName: "bench", ErrorOutput: io.Discard, MaxBufferSize: 1 << 22, MaxBufferBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(context.Background())
	ctx := map[string]any{"user_id": 123, "path": "/api/orders", "ok": true}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Info("order created", ctx)
	}
	b.StopTimer()
	if s := l.Stats(); s.Dropped > 0 {
		b.Fatalf("dropped %d entries", s.Dropped)
	}
}

// BenchmarkLogParallel is BenchmarkLog from GOMAXPROCS goroutines.
func BenchmarkLogParallel(b *testing.B) {
	srv := newBenchPlatform(b)
	l, err := New(Config{APIKey: testKey, APIURL: srv, ServiceName: "bench", ErrorOutput: io.Discard, MaxBufferSize: 1 << 22, MaxBufferBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(context.Background())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := map[string]any{"user_id": 123, "path": "/api/orders", "ok": true}
		for pb.Next() {
			l.Info("order created", ctx)
		}
	})
}

func newBenchPlatform(b *testing.B) string {
	b.Helper()
	srv := newHTTPServer(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"count":0,"message":"ok","rejected":[],"truncated":0}`)
	})
	b.Cleanup(srv.Close)
	return srv.URL + "/api/logs"
}
