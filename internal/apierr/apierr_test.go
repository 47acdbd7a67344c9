package apierr

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestHTTPStatus(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		code  int
		retry time.Duration
	}{
		{"too large is 413", TooLarge("batch has 10001 entries"), http.StatusRequestEntityTooLarge, 0},
		{"throttled is 429 with retry", Throttled(codes.ResourceExhausted, "slow down", 3*time.Second), http.StatusTooManyRequests, 3 * time.Second},
		{"plain resource exhausted is 429", status.Error(codes.ResourceExhausted, "x"), http.StatusTooManyRequests, time.Second},
		{"overloaded is 503 with retry", Throttled(codes.Unavailable, "busy", 2*time.Second), http.StatusServiceUnavailable, 2 * time.Second},
		{"invalid argument", status.Error(codes.InvalidArgument, "x"), http.StatusBadRequest, 0},
		{"unauthenticated", status.Error(codes.Unauthenticated, "x"), http.StatusUnauthorized, 0},
		{"permission denied", status.Error(codes.PermissionDenied, "x"), http.StatusForbidden, 0},
		{"not found", status.Error(codes.NotFound, "x"), http.StatusNotFound, 0},
		{"already exists", status.Error(codes.AlreadyExists, "x"), http.StatusConflict, 0},
		{"internal", status.Error(codes.Internal, "x"), http.StatusInternalServerError, 0},
		{"cancelled by a shutdown is retryable", status.Error(codes.Canceled, "x"), http.StatusServiceUnavailable, time.Second},
		{"not a status", errors.New("x"), http.StatusInternalServerError, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _ := status.FromError(c.err)
			code, retry := HTTPStatus(st)
			require.Equal(t, c.code, code)
			require.Equal(t, c.retry, retry)
		})
	}
}
