package apierr

import (
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// reasonRateLimited marks a ResourceExhausted error that is a rate limit
// (docs/rate-limits.md); its ErrorInfo's metadata carries the figures.
const reasonRateLimited = "RATE_LIMITED"

// RateLimit is what a rate-limited answer tells the client: the limit in
// its window, what is left of it, and when it is whole again.
type RateLimit struct {
	Limit     int           // requests or entries per Window
	Remaining int           // left now
	Reset     time.Duration // until the budget is whole again
	Window    time.Duration // a minute (requests) or a second (entries)
}

// RateLimited is a request refused by a rate limit: ResourceExhausted (HTTP
// 429) with RetryInfo and an ErrorInfo carrying rl, so that the REST edge
// can answer the X-RateLimit-* headers and the body's limit and window.
func RateLimited(retry time.Duration, msg string, rl RateLimit) *Error {
	return &Error{kind: ErrExhausted, msg: msg, retry: max(retry, time.Millisecond), rate: &rl}
}

func (rl *RateLimit) errorInfo() *errdetails.ErrorInfo {
	return &errdetails.ErrorInfo{Reason: reasonRateLimited, Domain: domain, Metadata: map[string]string{
		"limit":     strconv.Itoa(rl.Limit),
		"remaining": strconv.Itoa(rl.Remaining),
		"reset":     strconv.FormatInt(rl.Reset.Milliseconds(), 10) + "ms",
		"window":    rl.Window.String(),
	}}
}

// RateLimitOf reads the figures of a rate-limited status (RateLimited);
// ok is false for any other status.
func RateLimitOf(st *status.Status) (rl RateLimit, ok bool) {
	for _, d := range st.Details() {
		info, isInfo := d.(*errdetails.ErrorInfo)
		if !isInfo || info.GetReason() != reasonRateLimited || info.GetDomain() != domain {
			continue
		}
		m := info.GetMetadata()
		limit, err1 := strconv.Atoi(m["limit"])
		remaining, err2 := strconv.Atoi(m["remaining"])
		reset, err3 := time.ParseDuration(m["reset"])
		window, err4 := time.ParseDuration(m["window"])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return RateLimit{}, false
		}
		return RateLimit{Limit: limit, Remaining: remaining, Reset: reset, Window: window}, true
	}
	return RateLimit{}, false
}
