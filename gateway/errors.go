package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/jsontext"
)

// writeError writes the REST error body (docs/api.md), {"error": ..., "code": ...},
// with the HTTP status the gRPC status maps to (and Retry-After).
func writeError(w http.ResponseWriter, err error) {
	st := statusOf(err)
	httpStatus, retry := apierr.HTTPStatus(st)
	setRetryAfter(w, retry)
	if rl, ok := setRateLimitHeaders(w, st); ok {
		writeRateLimited(w, httpStatus, st.Message(), rl)
		return
	}
	writeErrorBody(w, httpStatus, st.Code(), st.Message())
}

// setRetryAfter sets Retry-After to retry in whole seconds (at least 1),
// when retry is positive.
func setRetryAfter(w http.ResponseWriter, retry time.Duration) {
	if retry > 0 {
		secs := int(retry.Seconds() + 0.999)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
}

func writeErrorBody(w http.ResponseWriter, httpStatus int, code codes.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(httpStatus)
	b := []byte(`{"error":`)
	b = jsontext.AppendString(b, msg)
	b = append(b, `,"code":`...)
	b = jsontext.AppendString(b, codeName(code))
	b = append(b, "}\n"...)
	_, _ = w.Write(b)
}

// statusOf turns any error into a status. A status passes through; the one
// client error the gateway meets without making it a status (a body over
// MaxBodyBytes, from http.MaxBytesReader) is named; anything else is a
// failure of the gateway itself: Internal with a generic message (the
// caller logs err), never err's text.
func statusOf(err error) *status.Status {
	// The status itself, not status.FromError's, whose message of a
	// wrapped status is the wrapping text.
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus()
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return status.New(codes.ResourceExhausted, "request body too large")
	}
	return status.New(codes.Internal, "internal error")
}

// badRequest is a client error the gateway finds in a request, its message
// naming what was wrong.
func badRequest(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// codeName is the gRPC status name, e.g. INVALID_ARGUMENT.
func codeName(c codes.Code) string {
	switch c {
	case codes.OK:
		return "OK"
	case codes.Canceled:
		return "CANCELLED"
	case codes.Unknown:
		return "UNKNOWN"
	case codes.InvalidArgument:
		return "INVALID_ARGUMENT"
	case codes.DeadlineExceeded:
		return "DEADLINE_EXCEEDED"
	case codes.NotFound:
		return "NOT_FOUND"
	case codes.AlreadyExists:
		return "ALREADY_EXISTS"
	case codes.PermissionDenied:
		return "PERMISSION_DENIED"
	case codes.ResourceExhausted:
		return "RESOURCE_EXHAUSTED"
	case codes.FailedPrecondition:
		return "FAILED_PRECONDITION"
	case codes.Aborted:
		return "ABORTED"
	case codes.OutOfRange:
		return "OUT_OF_RANGE"
	case codes.Unimplemented:
		return "UNIMPLEMENTED"
	case codes.Internal:
		return "INTERNAL"
	case codes.Unavailable:
		return "UNAVAILABLE"
	case codes.DataLoss:
		return "DATA_LOSS"
	case codes.Unauthenticated:
		return "UNAUTHENTICATED"
	}
	return "UNKNOWN"
}

// errorHandler is grpc-gateway's error hook. Internal errors are logged here
// and answered with a generic message: nothing internal reaches a client.
func (g *Gateway) errorHandler(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, g.publicStatus(r, err).Err())
}

// publicStatus is the status a client may see for err: internal failures
// and transport errors are logged and replaced by generic messages.
func (g *Gateway) publicStatus(r *http.Request, err error) *status.Status {
	st := statusOf(err)
	if st.Code() == codes.Unknown || st.Code() == codes.Internal {
		g.log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
		st = status.New(codes.Internal, "internal error")
	}
	if st.Code() == codes.Unavailable && len(st.Details()) == 0 {
		// A transport failure: its message names internal addresses.
		g.log.Warn("backend unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		st = status.New(codes.Unavailable, "a backend service is unavailable; retry shortly")
	}
	return st
}

func (g *Gateway) routingErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		writeErrorBody(w, httpStatus, codes.Unimplemented, "method "+r.Method+" is not allowed on "+r.URL.Path)
	case http.StatusBadRequest:
		writeErrorBody(w, httpStatus, codes.InvalidArgument, "bad request")
	default:
		writeErrorBody(w, http.StatusNotFound, codes.NotFound, "no such endpoint: "+r.URL.Path)
	}
}
