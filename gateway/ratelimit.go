package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/jsontext"
	"github.com/devsmith/logs/internal/ratelimit"
)

// Rate limits (docs/rate-limits.md) are the services' (package ratelimit):
// a keyed call's response metadata carries its key's budget, which the
// gateway answers as X-RateLimit-Limit, -Remaining and -Reset, on success
// and on failure; a refused call is ResourceExhausted whose ErrorInfo
// carries the figures, answered 429 with Retry-After and the body
// {"error", "code": "rate_limited", "limit", "window"} (the Loki and OTLP
// endpoints keep their own bodies, with the same status and headers).

// HTTP headers of a rate limit.
const (
	headerLimit     = "X-RateLimit-Limit"
	headerRemaining = "X-RateLimit-Remaining"
	headerReset     = "X-RateLimit-Reset"
)

// codeRateLimited is the body's code of a 429 for a rate limit.
const codeRateLimited = "rate_limited"

// outgoingHeader is grpc-gateway's header matcher for generated routes: the
// rate limit's metadata become the X-RateLimit-* headers, anything else
// what grpc-gateway does by default.
func outgoingHeader(key string) (string, bool) {
	switch key {
	case ratelimit.HeaderLimit:
		return headerLimit, true
	case ratelimit.HeaderRemaining:
		return headerRemaining, true
	case ratelimit.HeaderReset:
		return headerReset, true
	}
	return "Grpc-Metadata-" + key, true
}

// copyRateLimitHeaders sets the X-RateLimit-* headers from a hand-written
// handler's call's response metadata, when it has them.
func copyRateLimitHeaders(w http.ResponseWriter, md metadata.MD) {
	for _, k := range []string{ratelimit.HeaderLimit, ratelimit.HeaderRemaining, ratelimit.HeaderReset} {
		if v := md.Get(k); len(v) > 0 {
			name, _ := outgoingHeader(k)
			w.Header().Set(name, v[len(v)-1])
		}
	}
}

// setRateLimitHeaders sets the X-RateLimit-* headers of a rate-limited
// status, and tells whether st is one.
func setRateLimitHeaders(w http.ResponseWriter, st *status.Status) (apierr.RateLimit, bool) {
	rl, ok := apierr.RateLimitOf(st)
	if !ok {
		return rl, false
	}
	copyRateLimitHeaders(w, ratelimit.HeaderMD(rl))
	return rl, true
}

// writeRateLimited writes the 429 body of a rate limit: the error body's
// fields (code rate_limited) with the limit and its window.
func writeRateLimited(w http.ResponseWriter, httpStatus int, msg string, rl apierr.RateLimit) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(httpStatus)
	b := []byte(`{"error":`)
	b = jsontext.AppendString(b, msg)
	b = append(b, `,"code":"`+codeRateLimited+`","limit":`...)
	b = strconv.AppendInt(b, int64(rl.Limit), 10)
	b = append(b, `,"window":`...)
	b = jsontext.AppendString(b, windowName(rl.Window))
	b = append(b, "}\n"...)
	_, _ = w.Write(b)
}

// windowName is a window as the body names it: "1m", "1s".
func windowName(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// leastRemaining picks, of several calls' response metadata (a Loki push's
// batches), the one with the least left of the budget.
func leastRemaining(mds []metadata.MD) metadata.MD {
	var best metadata.MD
	bestLeft := -1
	for _, md := range mds {
		v := md.Get(ratelimit.HeaderRemaining)
		if len(v) == 0 {
			continue
		}
		left, err := strconv.Atoi(v[len(v)-1])
		if err != nil {
			continue
		}
		if bestLeft < 0 || left < bestLeft {
			best, bestLeft = md, left
		}
	}
	return best
}
