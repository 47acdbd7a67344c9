// Package apierr builds the few gRPC status errors whose HTTP meaning a
// status code alone does not carry (413 versus 429, Retry-After), and reads
// them back at the REST edge.
package apierr

import (
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	domain = "logs.devsmith"
	// reasonTooLarge marks a ResourceExhausted error that means "request too
	// large" (HTTP 413) rather than "rate limited" (HTTP 429).
	reasonTooLarge = "PAYLOAD_TOO_LARGE"
)

// TooLarge is a request over a size or count limit: HTTP 413.
func TooLarge(msg string) error {
	st, _ := status.New(codes.ResourceExhausted, msg).WithDetails(&errdetails.ErrorInfo{Reason: reasonTooLarge, Domain: domain})
	return st.Err()
}

// Throttled is a request refused for load or rate: HTTP 429 with
// ResourceExhausted, or 503 with Unavailable; both say when to retry.
func Throttled(code codes.Code, msg string, retryAfter time.Duration) error {
	st, _ := status.New(code, msg).WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
	return st.Err()
}

// HTTPStatus maps a status to the HTTP status DESIGN §4 asks for, and the
// Retry-After to send (0 for none).
func HTTPStatus(st *status.Status) (int, time.Duration) {
	var retry time.Duration
	tooLarge := false
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			tooLarge = tooLarge || (d.GetReason() == reasonTooLarge && d.GetDomain() == domain)
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay().AsDuration()
		}
	}
	switch st.Code() {
	case codes.OK:
		return http.StatusOK, 0
	case codes.InvalidArgument, codes.OutOfRange, codes.FailedPrecondition:
		return http.StatusBadRequest, 0
	case codes.Unauthenticated:
		return http.StatusUnauthorized, 0
	case codes.PermissionDenied:
		return http.StatusForbidden, 0
	case codes.NotFound:
		return http.StatusNotFound, 0
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict, 0
	case codes.ResourceExhausted:
		if tooLarge {
			return http.StatusRequestEntityTooLarge, 0
		}
		if retry <= 0 {
			retry = time.Second
		}
		return http.StatusTooManyRequests, retry
	case codes.Unavailable:
		if retry <= 0 {
			retry = time.Second
		}
		return http.StatusServiceUnavailable, retry
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout, 0
	case codes.Canceled:
		// The call was cut short by the server (a shutdown cancels in-flight
		// work) or by a client that has gone; either way a client still
		// listening must retry, not drop the request as a 4xx.
		return http.StatusServiceUnavailable, time.Second
	case codes.Unimplemented:
		return http.StatusNotImplemented, 0
	default:
		return http.StatusInternalServerError, 0
	}
}
