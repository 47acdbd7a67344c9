// Package apierr is the one way the services report errors. Below the gRPC
// edge code returns plain (wrapped) errors; a failure the client should see
// is a client error: a kind (ErrInvalid, ErrNotFound, ...) and a message
// safe to show. ToStatus turns any error into the status a client sees, and
// the server interceptors apply it to every call, so handlers just return
// their error. HTTPStatus reads a status back at the REST edge, including
// what a code alone does not carry (413 versus 429, Retry-After).
package apierr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Kinds of failure. Each is one gRPC code (and HTTP status); errors.Is
// tells the kind of a client error.
var (
	ErrInvalid         = errors.New("invalid argument")        // InvalidArgument, 400
	ErrNotFound        = errors.New("not found")               // NotFound, 404
	ErrExists          = errors.New("already exists")          // AlreadyExists, 409
	ErrDenied          = errors.New("permission denied")       // PermissionDenied, 403
	ErrPrecondition    = errors.New("failed precondition")     // FailedPrecondition, 400
	ErrUnauthenticated = errors.New("unauthenticated")         // Unauthenticated, 401
	ErrTooLarge        = errors.New("too large")               // ResourceExhausted marked too large, 413
	ErrExhausted       = errors.New("resource exhausted")      // ResourceExhausted, 429 (rate, or a consumer too slow)
	ErrUnavailable     = errors.New("unavailable")             // Unavailable with a retry delay, 503
	ErrDeadline        = errors.New("deadline exceeded")       // DeadlineExceeded, 504
	ErrUnimplemented   = errors.New("unimplemented")           // Unimplemented, 501
	ErrInternal        = errors.New("internal error")          // Internal, 500, with a chosen message; the cause is logged
	errUnknownKind     = errors.New("unknown kind of failure") // a kind not listed above: Internal
)

// Messages of the failures that are not client errors.
const (
	MsgInternal = "internal error"
	MsgDBDown   = "the database is unreachable; retry shortly"
	MsgCanceled = "request canceled"
	MsgDeadline = "request deadline exceeded"
)

// DefaultRetry is the retry delay of Unavailable errors that name none.
const DefaultRetry = time.Second

const (
	domain = "logs.devsmith"
	// reasonTooLarge marks a ResourceExhausted error that means "request too
	// large" (HTTP 413) rather than "rate limited" (HTTP 429).
	reasonTooLarge = "PAYLOAD_TOO_LARGE"
)

var kindCodes = []struct {
	kind error
	code codes.Code
}{
	{ErrInvalid, codes.InvalidArgument},
	{ErrNotFound, codes.NotFound},
	{ErrExists, codes.AlreadyExists},
	{ErrDenied, codes.PermissionDenied},
	{ErrPrecondition, codes.FailedPrecondition},
	{ErrUnauthenticated, codes.Unauthenticated},
	{ErrTooLarge, codes.ResourceExhausted},
	{ErrExhausted, codes.ResourceExhausted},
	{ErrUnavailable, codes.Unavailable},
	{ErrDeadline, codes.DeadlineExceeded},
	{ErrUnimplemented, codes.Unimplemented},
	{ErrInternal, codes.Internal},
}

// Error is a client error: its message is safe to show the caller (it names
// the field or object that was wrong and nothing of the internals). A cause,
// when set, is for errors.Is and the log, never for the client.
type Error struct {
	kind  error
	msg   string
	retry time.Duration // Unavailable, ResourceExhausted: the delay to advise
	rate  *RateLimit    // a rate limit's figures (RateLimited), else nil
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

// Unwrap gives the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// Message is what the client is told.
func (e *Error) Message() string { return e.msg }

// New is a client error of a kind with a fixed message.
func New(kind error, msg string) *Error { return &Error{kind: kind, msg: msg} }

// Invalidf is an InvalidArgument client error.
func Invalidf(format string, args ...any) error { return newf(ErrInvalid, format, args) }

// NotFoundf is a NotFound client error.
func NotFoundf(format string, args ...any) error { return newf(ErrNotFound, format, args) }

// Existsf is an AlreadyExists client error.
func Existsf(format string, args ...any) error { return newf(ErrExists, format, args) }

// Deniedf is a PermissionDenied client error.
func Deniedf(format string, args ...any) error { return newf(ErrDenied, format, args) }

// Preconditionf is a FailedPrecondition client error.
func Preconditionf(format string, args ...any) error { return newf(ErrPrecondition, format, args) }

// Unauthenticatedf is an Unauthenticated client error.
func Unauthenticatedf(format string, args ...any) error {
	return newf(ErrUnauthenticated, format, args)
}

// TooLargef is a request over a size or count limit: HTTP 413.
func TooLargef(format string, args ...any) error { return newf(ErrTooLarge, format, args) }

// Unimplementedf is an Unimplemented client error.
func Unimplementedf(format string, args ...any) error {
	return newf(ErrUnimplemented, format, args)
}

// Throttled is a request refused for rate (ResourceExhausted, HTTP 429)
// that may be retried after retry.
func Throttled(retry time.Duration, msg string) *Error {
	return &Error{kind: ErrExhausted, msg: msg, retry: retry}
}

// Unavailable is a request refused for load or state (Unavailable, HTTP
// 503) that may be retried after retry (DefaultRetry when 0).
func Unavailable(retry time.Duration, msg string) *Error {
	return &Error{kind: ErrUnavailable, msg: msg, retry: retry}
}

// Internal is a failure whose cause is logged while the client reads msg
// (which says what happened to the request, e.g. that it was not stored).
func Internal(cause error, msg string) error {
	return &Error{kind: ErrInternal, msg: msg, cause: cause}
}

// WithCause returns err, a client error, carrying cause (for errors.Is and
// the log); another error is returned as it is.
func WithCause(err, cause error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.cause = cause
	return &c
}

func newf(kind error, format string, args []any) error {
	return &Error{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// prefixed is an error whose client message is prefixed (a stream names
// the message that failed).
type prefixed struct {
	prefix string
	err    error
}

func (p *prefixed) Error() string { return p.prefix + p.err.Error() }
func (p *prefixed) Unwrap() error { return p.err }

// WithPrefix returns err so that the status ToStatus makes of it has its
// message prefixed, keeping its code and details. prefix must be safe to
// show.
func WithPrefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	return &prefixed{prefix: prefix, err: err}
}

// ToStatus maps err, once, to the status the client sees: a client error
// keeps its kind's code and its message; a status error (one made on
// purpose, or a downstream service's answer) passes through; a cancelled
// call or a passed deadline stays so; an unreachable database is
// Unavailable with a retry delay; anything else is logged with the method
// and becomes Internal with a generic message. ctx is the call's.
func ToStatus(ctx context.Context, log *zap.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	var p *prefixed
	if errors.As(err, &p) {
		st := status.Convert(ToStatus(ctx, log, method, p.err)).Proto()
		st.Message = p.prefix + st.Message
		return status.FromProto(st).Err()
	}
	var e *Error
	if errors.As(err, &e) {
		st := e.status()
		switch {
		case st.Code() == codes.Internal && (e.cause != nil || st.Message() != e.msg):
			// A failure with a cause, or a client error of no known kind.
			log.Error("request failed", zap.String("method", method), zap.Error(err))
		case e.cause != nil && st.Code() == codes.Unavailable:
			log.Warn("request refused", zap.String("method", method), zap.Error(err))
		}
		return st.Err()
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus().Err()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, MsgCanceled)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, MsgDeadline)
	case DatabaseUnavailable(err):
		log.Warn("database unreachable", zap.String("method", method), zap.Error(err))
		return Unavailable(DefaultRetry, MsgDBDown).status().Err()
	case ctx.Err() != nil:
		// The call ended while the failing work ran; its error says so less
		// plainly than the context does.
		return ToStatus(ctx, log, method, ctx.Err())
	}
	log.Error("request failed", zap.String("method", method), zap.Error(err))
	return status.Error(codes.Internal, MsgInternal)
}

func (e *Error) status() *status.Status {
	code := codes.Internal
	kind := errUnknownKind
	for _, kc := range kindCodes {
		if errors.Is(e.kind, kc.kind) {
			code, kind = kc.code, kc.kind
			break
		}
	}
	msg := e.msg
	if kind == errUnknownKind {
		msg = MsgInternal
	}
	st := status.New(code, msg)
	var detail *status.Status
	var err error
	switch kind {
	case ErrTooLarge:
		detail, err = st.WithDetails(&errdetails.ErrorInfo{Reason: reasonTooLarge, Domain: domain})
	case ErrUnavailable, ErrExhausted:
		retry := e.retry
		if retry <= 0 && kind == ErrUnavailable {
			retry = DefaultRetry
		}
		if retry > 0 && e.rate != nil {
			detail, err = st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)}, e.rate.errorInfo())
		} else if retry > 0 {
			detail, err = st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)})
		}
	}
	if detail != nil && err == nil {
		return detail
	}
	return st
}

// UnaryServerInterceptor maps the error of every unary call with ToStatus.
// Install it inside the authentication interceptor, so the handlers'
// errors pass through it.
func UnaryServerInterceptor(log *zap.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		res, err := handler(ctx, req)
		if err != nil {
			return nil, ToStatus(ctx, log, info.FullMethod, err)
		}
		return res, nil
	}
}

// StreamServerInterceptor maps the error of every streaming call with
// ToStatus.
func StreamServerInterceptor(log *zap.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return ToStatus(ss.Context(), log, info.FullMethod, handler(srv, ss))
	}
}

// ServerOptions are the interceptors of a service's gRPC server: unary and
// stream, authentication (the given ones) outside, error mapping inside.
// Tests build their servers with them so they see what clients see.
func ServerOptions(log *zap.Logger, unary grpc.UnaryServerInterceptor, stream grpc.StreamServerInterceptor) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary, UnaryServerInterceptor(log)),
		grpc.ChainStreamInterceptor(stream, StreamServerInterceptor(log)),
	}
}

// HTTPStatus maps a status to the HTTP status the REST API answers with
// (docs/api.md), and the Retry-After to send (0 for none).
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
