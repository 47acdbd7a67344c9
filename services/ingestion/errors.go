package ingestion

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/internal/apierr"
)

// requestError is a batch refused whole for its envelope; msg is for the
// client.
type requestError struct {
	code     codes.Code
	tooLarge bool // HTTP 413 (apierr.TooLarge)
	msg      string
}

func (e *requestError) Error() string { return e.msg }

// retryAfter is how long refused callers are told to wait.
const retryAfter = time.Second

var (
	// errOverloaded: the write queue is full.
	errOverloaded = errors.New("ingestion is overloaded; retry later")
	// errStarting: partitions are not ensured yet.
	errStarting = errors.New("ingestion is starting; retry later")
	// errStopping: the service is shutting down.
	errStopping = errors.New("ingestion is shutting down; retry later")
)

// writeError wraps a failed write of a batch; the cause is logged, never
// sent.
type writeError struct{ err error }

func (e *writeError) Error() string { return "writing batch: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// toStatus maps an error of this package to the gRPC status a client sees.
// It is called once, by the handlers.
func toStatus(log *zap.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err // already a status (authentication, or a mapped error)
	}
	var re *requestError
	var we *writeError
	switch {
	case errors.As(err, &re):
		if re.tooLarge {
			return apierr.TooLarge(re.msg)
		}
		return status.Error(re.code, re.msg)
	case errors.Is(err, errOverloaded), errors.Is(err, errStarting), errors.Is(err, errStopping):
		return apierr.Throttled(codes.Unavailable, err.Error(), retryAfter)
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "request deadline exceeded; the batch may or may not be stored: retry it with the same batch_id")
	case errors.As(err, &we):
		log.Error("batch write failed", zap.String("method", method), zap.Error(we.err))
		return status.Error(codes.Internal, "storing the batch failed; it was not stored, retry it")
	default:
		log.Error("ingestion failed", zap.String("method", method), zap.Error(err))
		return status.Error(codes.Internal, "internal error")
	}
}

// withPrefix returns st's error with its message prefixed, keeping its code
// and details (a stream names the batch that failed).
func withPrefix(err error, prefix string) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	p := st.Proto()
	p.Message = prefix + p.Message
	return status.FromProto(p).Err()
}
