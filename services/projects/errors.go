package projects

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Kinds of failure the package reports. Each maps to one gRPC code in
// toStatus; the client-facing message travels in a clientError.
var (
	errInvalid         = errors.New("invalid argument")
	errNotFound        = errors.New("not found")
	errExists          = errors.New("already exists")
	errDenied          = errors.New("permission denied")
	errPrecondition    = errors.New("failed precondition")
	errUnauthenticated = errors.New("unauthenticated")
)

// clientError is a failure whose message is safe to show the caller: it
// names the field or object that was wrong and nothing of the internals.
type clientError struct {
	kind error
	msg  string
}

func (e *clientError) Error() string { return e.msg }
func (e *clientError) Unwrap() error { return e.kind }

func newClientError(kind error, format string, args ...any) error {
	return &clientError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error {
	return newClientError(errInvalid, format, args...)
}

func notFoundf(format string, args ...any) error {
	return newClientError(errNotFound, format, args...)
}

func existsf(format string, args ...any) error {
	return newClientError(errExists, format, args...)
}

func deniedf(format string, args ...any) error {
	return newClientError(errDenied, format, args...)
}

func preconditionf(format string, args ...any) error {
	return newClientError(errPrecondition, format, args...)
}

func unauthenticatedf(format string, args ...any) error {
	return newClientError(errUnauthenticated, format, args...)
}

// Messages shared by several paths.
const (
	msgBadSession  = "session is invalid or expired; sign in again"
	msgBadLogin    = "invalid email or password"
	msgBadAPIKey   = "invalid or revoked API key"
	msgAdminOnly   = "admin role required"
	msgBadPage     = "invalid page_token"
	msgInternal    = "internal error; the projects service logged the cause"
	msgUnavailable = "credentials cannot be checked right now; retry shortly"
	msgDBDown      = "the database is unreachable; retry shortly"
)

var kindCodes = []struct {
	kind error
	code codes.Code
}{
	{errInvalid, codes.InvalidArgument},
	{errNotFound, codes.NotFound},
	{errExists, codes.AlreadyExists},
	{errDenied, codes.PermissionDenied},
	{errPrecondition, codes.FailedPrecondition},
	{errUnauthenticated, codes.Unauthenticated},
}

// toStatus maps an error to the gRPC status the client sees. It is the only
// place that does so: client errors keep their message, status errors made
// on purpose (throttling) pass through, an unreachable database is
// Unavailable (retry), a cancelled call stays cancelled, and anything else is logged here and reported as Internal without detail.
func (s *Service) toStatus(method string, err error) error {
	if err == nil {
		return nil
	}
	var ce *clientError
	if errors.As(err, &ce) {
		for _, kc := range kindCodes {
			if errors.Is(ce.kind, kc.kind) {
				return status.Error(kc.code, ce.msg)
			}
		}
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus().Err()
	}
	var connErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connErr) || pgconn.SafeToRetry(err):
		s.log.Warn("database unreachable", zap.String("method", method), zap.Error(err))
		return status.Error(codes.Unavailable, msgDBDown)
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the call was cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "the call's deadline passed")
	}
	s.log.Error("request failed", zap.String("method", method), zap.Error(err))
	return status.Error(codes.Internal, msgInternal)
}
