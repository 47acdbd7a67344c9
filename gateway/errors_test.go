package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/jsontext"
)

func TestErrorAnswers(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		httpStatus int
		body       string
		retryAfter string
		logged     string // the log message expected, "" for none
	}{
		{
			name: "a backend's client error keeps its code and message",
			err:  status.Error(codes.AlreadyExists, `slug "shop" is already taken`), httpStatus: http.StatusConflict,
			body: `{"error":"slug \"shop\" is already taken","code":"ALREADY_EXISTS"}`,
		},
		{
			name: "the gateway's own bad request names the field",
			err:  badRequest("%s must be %s, not a JSON %s", "logs", "an array of log entries", "string"), httpStatus: http.StatusBadRequest,
			body: `{"error":"logs must be an array of log entries, not a JSON string","code":"INVALID_ARGUMENT"}`,
		},
		{
			name: "a body over the limit is 413",
			err:  fmt.Errorf("reading: %w", &http.MaxBytesError{Limit: 10}), httpStatus: http.StatusTooManyRequests,
			body: `{"error":"request body too large","code":"RESOURCE_EXHAUSTED"}`, retryAfter: "1",
		},
		{
			name: "a non-status error is 500 internal, logged, its text never sent",
			err:  fmt.Errorf("encoding batch response: %w", errors.New("proto: secret field")), httpStatus: http.StatusInternalServerError,
			body: `{"error":"internal error","code":"INTERNAL"}`, logged: "request failed",
		},
		{
			name: "a backend's internal status is answered without its message",
			err:  status.Error(codes.Internal, "pq: relation logs.entries does not exist"), httpStatus: http.StatusInternalServerError,
			body: `{"error":"internal error","code":"INTERNAL"}`, logged: "request failed",
		},
		{
			name: "a transport failure hides the backend's address",
			err:  status.Error(codes.Unavailable, "connection error: dial tcp 10.0.0.7:9091: connect: connection refused"), httpStatus: http.StatusServiceUnavailable,
			body: `{"error":"a backend service is unavailable; retry shortly","code":"UNAVAILABLE"}`, retryAfter: "1", logged: "backend unavailable",
		},
		{
			name: "a service's refusal with a retry delay keeps its message",
			err:  apierr.ToStatus(t.Context(), zap.NewNop(), "/x", apierr.Unavailable(3*time.Second, "ingestion is overloaded; retry later")), httpStatus: http.StatusServiceUnavailable,
			body: `{"error":"ingestion is overloaded; retry later","code":"UNAVAILABLE"}`, retryAfter: "3",
		},
		{
			name: "too large is 413",
			err:  apierr.ToStatus(t.Context(), zap.NewNop(), "/x", apierr.TooLargef("batch has %d entries; the limit is %d", 11, 10)), httpStatus: http.StatusRequestEntityTooLarge,
			body: `{"error":"batch has 11 entries; the limit is 10","code":"RESOURCE_EXHAUSTED"}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			g := &Gateway{log: zap.New(core)}
			rec := httptest.NewRecorder()
			g.writeRPCError(rec, httptest.NewRequest(http.MethodGet, "/api/x", nil), c.err)
			require.Equal(t, c.httpStatus, rec.Code)
			require.JSONEq(t, c.body, rec.Body.String())
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.Equal(t, c.retryAfter, rec.Header().Get("Retry-After"))
			if c.logged == "" {
				require.Zero(t, logs.Len())
				return
			}
			require.Equal(t, 1, logs.Len())
			require.Equal(t, c.logged, logs.All()[0].Message)
			require.Equal(t, c.err.Error(), logs.All()[0].ContextMap()["error"], "the cause is logged")
		})
	}
}

func TestStatusOf(t *testing.T) {
	cases := []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"status passes through", status.Error(codes.NotFound, "project 9 not found"), codes.NotFound, "project 9 not found"},
		{"wrapped status passes through", fmt.Errorf("calling: %w", status.Error(codes.PermissionDenied, "no")), codes.PermissionDenied, "no"},
		{"body too large", &http.MaxBytesError{Limit: 1}, codes.ResourceExhausted, "request body too large"},
		{"anything else is internal", errors.New("open /etc/secret: permission denied"), codes.Internal, "internal error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := statusOf(c.err)
			require.Equal(t, c.code, st.Code())
			require.Equal(t, c.msg, st.Message())
		})
	}
}

func TestBatchDecodeErrorsAreClientErrors(t *testing.T) {
	cases := []struct {
		body, msg string
	}{
		{`[1]`, "the body must be a JSON object with service_name and logs, not a JSON array"},
		{`{"service_name": 5, "logs": []}`, "service_name must be a string, not a JSON number"},
		{`{"service_name": "api", "logs": "x"}`, "logs must be an array of log entries, not a JSON string"},
		{`{"service_name": "api", "logs": [`, "malformed JSON body: unexpected end of JSON input"},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			_, err := decodeBatch([]byte(c.body))
			st, ok := status.FromError(err)
			require.True(t, ok, "a status made by the gateway: %v", err)
			require.Equal(t, codes.InvalidArgument, st.Code())
			require.Equal(t, c.msg, st.Message())

			core, logs := observer.New(zapcore.DebugLevel)
			g := &Gateway{log: zap.New(core), cfg: Config{MaxBodyBytes: 1 << 20}, inflight: &byteBudget{max: 1 << 20}}
			rec := httptest.NewRecorder()
			g.handleBatch(rec, httptest.NewRequest(http.MethodPost, "/api/logs/batch", strings.NewReader(c.body)))
			require.Equal(t, http.StatusBadRequest, rec.Code)
			require.JSONEq(t, `{"error":`+string(jsontext.AppendString(nil, c.msg))+`,"code":"INVALID_ARGUMENT"}`, rec.Body.String())
			require.Zero(t, logs.Len(), "a client's mistake is not logged as a failure")
		})
	}
}
