// Package ginlog is DevSmith Logs middleware for Gin: one entry per request
// and panic recovery. Copy it next to the logger package.
//
//	r := gin.New()
//	r.Use(ginlog.Middleware(log, ginlog.Options{})) // log is a *logger.Logger
//
// Each request gives one entry, "GET /users/42 200", with method, path, route,
// status, duration_ms, ip, user_agent and query in its context; ERROR for 5xx,
// WARN for 4xx, INFO otherwise. A panic is logged at ERROR with its stack in
// that entry, and the request is answered 500 (use it instead of
// gin.Recovery).
package ginlog

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Sink receives the entries; *logger.Logger is one.
type Sink interface {
	Log(level, msg string, ctx map[string]any)
}

// DefaultRedact lists the header and query field names hidden by default.
var DefaultRedact = []string{"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "password"}

// Redacted replaces the value of a redacted header or field.
const Redacted = "[REDACTED]"

// Options configure Middleware. The zero value is the documented default.
type Options struct {
	// SkipPaths are not logged (panics on them still are): exact paths, or
	// prefixes ending in "*". nil means []string{"/health"}; use []string{}
	// to log every path.
	SkipPaths []string
	// Redact lists header and query names (case-insensitive) whose values
	// are replaced by [REDACTED]. nil means DefaultRedact.
	Redact []string
	// LogHeaders adds the request headers (redacted) to every entry; entries
	// of panics always carry them.
	LogHeaders bool
}

// Middleware returns the request-logging and panic-recovering middleware.
// Register it first: r.Use(ginlog.Middleware(log, ginlog.Options{})).
func Middleware(sink Sink, opts Options) gin.HandlerFunc {
	skipPaths := opts.SkipPaths
	if skipPaths == nil {
		skipPaths = []string{"/health"}
	}
	exact := map[string]bool{}
	var prefixes []string
	for _, p := range skipPaths {
		if strings.HasSuffix(p, "*") {
			prefixes = append(prefixes, strings.TrimSuffix(p, "*"))
		} else {
			exact[p] = true
		}
	}
	redactList := opts.Redact
	if redactList == nil {
		redactList = DefaultRedact
	}
	redact := map[string]bool{}
	for _, k := range redactList {
		redact[strings.ToLower(k)] = true
	}
	skipped := func(path string) bool {
		if exact[path] {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(path, p) {
				return true
			}
		}
		return false
	}

	return func(c *gin.Context) {
		start := time.Now()
		path := c.Request.URL.Path
		defer func() {
			rec := recover()
			if rec == nil && skipped(path) {
				return
			}
			var stack []byte
			if rec != nil {
				stack = debug.Stack()
				if c.Writer.Written() {
					c.Abort() // too late for a 500: the client has a status already
				} else {
					c.AbortWithStatus(http.StatusInternalServerError)
				}
			}
			func() {
				defer func() { _ = recover() }() // a broken sink must never break the request
				logRequest(sink, c, start, path, rec, stack, redact, opts.LogHeaders)
			}()
			if errors.Is(asError(rec), http.ErrAbortHandler) {
				panic(rec) // net/http's way to abort a response: keep its meaning
			}
		}()
		c.Next()
	}
}

func logRequest(sink Sink, c *gin.Context, start time.Time, path string, rec any, stack []byte, redact map[string]bool, logHeaders bool) {
	status := c.Writer.Status()
	ctx := map[string]any{
		"method":      c.Request.Method,
		"path":        path,
		"status":      status,
		"duration_ms": float64(time.Since(start).Microseconds()) / 1000,
		"ip":          c.ClientIP(),
	}
	if route := c.FullPath(); route != "" {
		ctx["route"] = route
	}
	if ua := c.Request.UserAgent(); ua != "" {
		ctx["user_agent"] = ua
	}
	if q := c.Request.URL.Query(); len(q) > 0 {
		query := make(map[string]any, len(q))
		for k, vs := range q {
			switch {
			case redact[strings.ToLower(k)]:
				query[k] = Redacted
			case len(vs) == 1:
				query[k] = vs[0]
			default:
				query[k] = vs
			}
		}
		ctx["query"] = query
	}
	if logHeaders || rec != nil {
		headers := make(map[string]any, len(c.Request.Header))
		for k, vs := range c.Request.Header {
			lk := strings.ToLower(k)
			if redact[lk] {
				headers[lk] = Redacted
			} else {
				headers[lk] = strings.Join(vs, ", ")
			}
		}
		ctx["headers"] = headers
	}
	if len(c.Errors) > 0 {
		ctx["errors"] = c.Errors.Errors()
	}
	level := "INFO"
	switch {
	case status >= 500:
		level = "ERROR"
	case status >= 400:
		level = "WARN"
	}
	msg := fmt.Sprintf("%s %s %d", c.Request.Method, path, status)
	if rec != nil {
		ctx["error"] = fmt.Sprint(rec)
		ctx["error_type"] = fmt.Sprintf("%T", rec)
		ctx["stack"] = string(stack)
		msg = fmt.Sprintf("%s: panic: %v", msg, rec)
		level = "ERROR"
	}
	sink.Log(level, msg, ctx)
}

func asError(v any) error {
	err, _ := v.(error)
	return err
}
