package query

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/internal/authn"
)

// clientError is an error whose message is meant for the caller: it names
// the field that was wrong. Everything else is internal and is logged, not
// shown.
type clientError struct {
	code codes.Code
	msg  string
}

func (e *clientError) Error() string { return e.msg }

func invalidArg(format string, args ...any) error {
	return &clientError{code: codes.InvalidArgument, msg: fmt.Sprintf(format, args...)}
}

func permissionDenied(format string, args ...any) error {
	return &clientError{code: codes.PermissionDenied, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &clientError{code: codes.NotFound, msg: fmt.Sprintf(format, args...)}
}

// errBadPageToken is a page token that is garbled or was made for other
// filters.
var errBadPageToken = &clientError{code: codes.InvalidArgument, msg: "invalid page_token"}

// errFellBehind ends a tail whose subscriber could not keep up.
var errFellBehind = &clientError{code: codes.ResourceExhausted, msg: "tail fell behind; reconnect"}

// errLostTrack ends the tails when the journal may have been pruned past
// what they were sent (the listener was disconnected too long).
var errLostTrack = &clientError{code: codes.Unavailable, msg: "tail lost track of new entries while the database was unreachable; reconnect"}

// errShuttingDown refuses a tail while the service stops.
var errShuttingDown = &clientError{code: codes.Unavailable, msg: "tail is shutting down; reconnect"}

// toStatus maps err, once, to the gRPC status a handler returns. doing says
// what the handler was doing, for the log and the internal error's message.
func (s *Service) toStatus(ctx context.Context, doing string, err error) error {
	if err == nil {
		return nil
	}
	var ce *clientError
	if errors.As(err, &ce) {
		return status.Error(ce.code, ce.msg)
	}
	if _, ok := status.FromError(err); ok {
		// Already a status (authentication).
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "request timed out while "+doing)
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) {
		s.log.Warn("database unavailable", zap.String("doing", doing), zap.Error(err))
		return status.Error(codes.Unavailable, "database unavailable while "+doing+"; retry")
	}
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	s.log.Error("query failed", zap.String("doing", doing), zap.Error(err))
	return status.Error(codes.Internal, "internal error while "+doing)
}

// errNotUser is returned when a handler is reached without a signed-in user
// (a wiring mistake, or a test without a principal).
var errNotUser = authn.ErrNoCredentials
