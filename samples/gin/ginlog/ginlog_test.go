package ginlog

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
)

type entry struct {
	level, msg string
	ctx        map[string]any
}

type captureSink struct {
	mu      sync.Mutex
	entries []entry
}

func (s *captureSink) Log(level, msg string, ctx map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, entry{level, msg, ctx})
}

func (s *captureSink) all() []entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]entry(nil), s.entries...)
}

func newRouter(sink Sink, opts Options) *gin.Engine {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(Middleware(sink, opts))
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/users/:id", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"id": c.Param("id")}) })
	r.GET("/redirect", func(c *gin.Context) { c.Redirect(http.StatusFound, "/") })
	r.GET("/fail", func(c *gin.Context) { c.String(http.StatusServiceUnavailable, "unavailable") })
	r.GET("/bad", func(c *gin.Context) {
		_ = c.Error(errors.New("validation failed"))
		c.String(http.StatusUnprocessableEntity, "bad")
	})
	r.GET("/error", func(c *gin.Context) { panic("boom") })
	r.GET("/error-after-write", func(c *gin.Context) {
		c.String(http.StatusOK, "partial")
		panic(errors.New("late boom"))
	})
	r.GET("/health", func(c *gin.Context) { c.String(http.StatusOK, "healthy") })
	r.GET("/static/app.css", func(c *gin.Context) { c.String(http.StatusOK, "css") })
	return r
}

func do(r http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = "192.0.2.7:41234"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func TestOneEntryPerRequestWithRequestFields(t *testing.T) {
	sink := &captureSink{}
	r := newRouter(sink, Options{})
	w := do(r, "GET", "/users/42?sort=asc", map[string]string{"User-Agent": "test-agent"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	es := sink.all()
	if len(es) != 1 {
		t.Fatalf("%d entries", len(es))
	}
	e := es[0]
	c := e.ctx
	if e.level != "INFO" || e.msg != "GET /users/42 200" || c["method"] != "GET" || c["path"] != "/users/42" ||
		c["route"] != "/users/:id" || c["status"] != 200 || c["ip"] != "192.0.2.7" || c["user_agent"] != "test-agent" {
		t.Fatalf("entry %+v", e)
	}
	if d, ok := c["duration_ms"].(float64); !ok || d < 0 {
		t.Fatalf("duration_ms %v", c["duration_ms"])
	}
	if q := c["query"].(map[string]any); q["sort"] != "asc" {
		t.Fatalf("query %v", c["query"])
	}
}

func TestLevelByStatus(t *testing.T) {
	sink := &captureSink{}
	r := newRouter(sink, Options{})
	cases := []struct {
		path   string
		status int
		level  string
	}{{"/fail", 503, "ERROR"}, {"/bad", 422, "WARN"}, {"/nowhere", 404, "WARN"}, {"/redirect", 302, "INFO"}, {"/", 200, "INFO"}}
	for i, tc := range cases {
		w := do(r, "GET", tc.path, nil)
		es := sink.all()
		if w.Code != tc.status || len(es) != i+1 || es[i].ctx["status"] != tc.status || es[i].level != tc.level {
			t.Fatalf("%s: code %d, entries %+v", tc.path, w.Code, es)
		}
	}
	if errs, _ := sink.all()[1].ctx["errors"].([]string); len(errs) != 1 || errs[0] != "validation failed" {
		t.Fatalf("gin errors not in context: %v", sink.all()[1].ctx)
	}
}

func TestSkipPaths(t *testing.T) {
	sink := &captureSink{}
	r := newRouter(sink, Options{})
	do(r, "GET", "/health", nil)
	do(r, "GET", "/", nil)
	if es := sink.all(); len(es) != 1 || es[0].ctx["path"] != "/" {
		t.Fatalf("entries %+v", es)
	}
	sink2 := &captureSink{}
	r2 := newRouter(sink2, Options{SkipPaths: []string{"/", "/static/*"}})
	do(r2, "GET", "/static/app.css", nil)
	do(r2, "GET", "/", nil)
	do(r2, "GET", "/health", nil)
	if es := sink2.all(); len(es) != 1 || es[0].ctx["path"] != "/health" {
		t.Fatalf("entries %+v", es)
	}
}

func TestRedaction(t *testing.T) {
	sink := &captureSink{}
	r := newRouter(sink, Options{LogHeaders: true})
	do(r, "GET", "/?password=hunter2&user=bob", map[string]string{
		"Authorization": "Bearer secret-token", "Cookie": "sid=secret-cookie", "X-Trace": "keep",
	})
	c := sink.all()[0].ctx
	h := c["headers"].(map[string]any)
	q := c["query"].(map[string]any)
	if h["authorization"] != Redacted || h["cookie"] != Redacted || h["x-trace"] != "keep" ||
		q["password"] != Redacted || q["user"] != "bob" {
		t.Fatalf("headers %v query %v", h, q)
	}
	sink2 := &captureSink{}
	r2 := newRouter(sink2, Options{LogHeaders: true, Redact: []string{"X-Trace"}})
	do(r2, "GET", "/", map[string]string{"X-Trace": "hide-me"})
	if h := sink2.all()[0].ctx["headers"].(map[string]any); h["x-trace"] != Redacted {
		t.Fatalf("headers %v", h)
	}
}

func TestPanicLoggedWithStackThen500(t *testing.T) {
	sink := &captureSink{}
	r := newRouter(sink, Options{})
	w := do(r, "GET", "/error", map[string]string{"Authorization": "Bearer secret-token"})
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", w.Code)
	}
	es := sink.all()
	if len(es) != 1 {
		t.Fatalf("%d entries", len(es))
	}
	e := es[0]
	stack, _ := e.ctx["stack"].(string)
	if e.level != "ERROR" || e.ctx["status"] != 500 || e.ctx["error"] != "boom" || e.msg != "GET /error 500: panic: boom" ||
		!strings.Contains(stack, "goroutine") || !strings.Contains(stack, "ginlog_test.go") {
		t.Fatalf("entry %+v", e)
	}
	if h := e.ctx["headers"].(map[string]any); h["authorization"] != Redacted {
		t.Fatalf("headers %v", h)
	}
	// After the status was written the client keeps it; the panic is still logged at ERROR.
	w = do(r, "GET", "/error-after-write", nil)
	es = sink.all()
	if w.Code != http.StatusOK || len(es) != 2 || es[1].level != "ERROR" || es[1].ctx["error"] != "late boom" {
		t.Fatalf("code %d entries %+v", w.Code, es)
	}
}

type brokenSink struct{}

func (brokenSink) Log(string, string, map[string]any) { panic("sink broke") }

func TestBrokenSinkNeverBreaksARequest(t *testing.T) {
	r := newRouter(brokenSink{}, Options{})
	w := do(r, "GET", "/users/1", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"id":"1"`) {
		t.Fatalf("code %d body %s", w.Code, w.Body)
	}
}

func TestAbortHandlerPanicKeepsItsMeaning(t *testing.T) {
	sink := &captureSink{}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(Middleware(sink, Options{}))
	r.GET("/abort", func(c *gin.Context) { panic(http.ErrAbortHandler) })
	defer func() {
		if rec := recover(); rec != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler re-panicked", rec)
		}
		if es := sink.all(); len(es) != 1 || es[0].level != "ERROR" {
			t.Fatalf("entries %+v", es)
		}
	}()
	do(r, "GET", "/abort", nil)
}
