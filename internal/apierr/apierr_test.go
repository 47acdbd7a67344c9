package apierr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/internal/grpctest"
)

func TestHTTPStatus(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		code  int
		retry time.Duration
	}{
		{"too large is 413", TooLargef("batch has %d entries", 10001), http.StatusRequestEntityTooLarge, 0},
		{"throttled is 429 with retry", Throttled(3*time.Second, "slow down"), http.StatusTooManyRequests, 3 * time.Second},
		{"plain resource exhausted is 429", status.Error(codes.ResourceExhausted, "x"), http.StatusTooManyRequests, time.Second},
		{"overloaded is 503 with retry", Unavailable(2*time.Second, "busy"), http.StatusServiceUnavailable, 2 * time.Second},
		{"unavailable without a delay advises the default", Unavailable(0, "busy"), http.StatusServiceUnavailable, DefaultRetry},
		{"invalid argument", Invalidf("x"), http.StatusBadRequest, 0},
		{"failed precondition", Preconditionf("x"), http.StatusBadRequest, 0},
		{"unauthenticated", Unauthenticatedf("x"), http.StatusUnauthorized, 0},
		{"permission denied", Deniedf("x"), http.StatusForbidden, 0},
		{"not found", NotFoundf("x"), http.StatusNotFound, 0},
		{"already exists", Existsf("x"), http.StatusConflict, 0},
		{"unimplemented", Unimplementedf("x"), http.StatusNotImplemented, 0},
		{"deadline", New(ErrDeadline, "x"), http.StatusGatewayTimeout, 0},
		{"internal", Internal(errors.New("disk"), "x"), http.StatusInternalServerError, 0},
		{"cancelled by a shutdown is retryable", context.Canceled, http.StatusServiceUnavailable, time.Second},
		{"unmapped error", errors.New("x"), http.StatusInternalServerError, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := status.Convert(ToStatus(context.Background(), zap.NewNop(), "/test", c.err))
			code, retry := HTTPStatus(st)
			require.Equal(t, c.code, code)
			require.Equal(t, c.retry, retry)
		})
	}
}

// unreachablePoolErr is the error of a query on a database nothing listens
// for.
func unreachablePoolErr(t *testing.T) error {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "host=127.0.0.1 port=1 user=x dbname=x sslmode=disable connect_timeout=2")
	require.NoError(t, err)
	defer pool.Close()
	_, err = pool.Exec(context.Background(), "SELECT 1")
	require.Error(t, err)
	return fmt.Errorf("listing things: %w", err)
}

func TestToStatus(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name   string
		ctx    context.Context
		err    error
		code   codes.Code
		msg    string
		logged string // the log message expected, "" for none
	}{
		{name: "client error keeps its message", err: fmt.Errorf("creating: %w", Existsf("slug %q is already taken", "shop")), code: codes.AlreadyExists, msg: `slug "shop" is already taken`},
		{name: "client error with a cause shows only its message", err: WithCause(New(ErrDeadline, "retry with the same batch_id"), context.DeadlineExceeded), code: codes.DeadlineExceeded, msg: "retry with the same batch_id"},
		{name: "internal with a chosen message logs the cause", err: Internal(errors.New("pq: relation missing"), "storing failed"), code: codes.Internal, msg: "storing failed", logged: "request failed"},
		{name: "unavailable with a cause logs it", err: WithCause(Unavailable(0, "cannot check"), errors.New("closed pool")), code: codes.Unavailable, msg: "cannot check", logged: "request refused"},
		{name: "status made on purpose passes through", err: status.Error(codes.PermissionDenied, "internal to the platform"), code: codes.PermissionDenied, msg: "internal to the platform"},
		{name: "wrapped status passes through", err: fmt.Errorf("calling projects: %w", status.Error(codes.NotFound, "gone")), code: codes.NotFound, msg: "gone"},
		{name: "cancel stays cancel", err: fmt.Errorf("querying: %w", context.Canceled), code: codes.Canceled, msg: MsgCanceled},
		{name: "deadline stays deadline", err: fmt.Errorf("querying: %w", context.DeadlineExceeded), code: codes.DeadlineExceeded, msg: MsgDeadline},
		{name: "unreachable database is unavailable", err: unreachablePoolErr(t), code: codes.Unavailable, msg: MsgDBDown, logged: "database unreachable"},
		{name: "error of an ended call is the context's", ctx: ended, err: errors.New("conn closed"), code: codes.Canceled, msg: MsgCanceled},
		{name: "anything else is internal, logged, without detail", err: errors.New(`ERROR: syntax error at or near "SELEC"`), code: codes.Internal, msg: MsgInternal, logged: "request failed"},
		{name: "a kind from elsewhere is internal, logged", err: New(errors.New("mine"), "secret detail"), code: codes.Internal, msg: MsgInternal, logged: "request failed"},
		{name: "prefix keeps code and details", err: WithPrefix("batch 2: ", TooLargef("too many")), code: codes.ResourceExhausted, msg: "batch 2: too many"},
		{name: "prefix of an internal error", err: WithPrefix("batch 2: ", errors.New("pq: detail")), code: codes.Internal, msg: "batch 2: " + MsgInternal, logged: "request failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			ctx := c.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			got := ToStatus(ctx, zap.New(core), "/pkg.Svc/Method", c.err)
			st, ok := status.FromError(got)
			require.True(t, ok, "not a status: %v", got)
			require.Equal(t, c.code, st.Code(), st.Message())
			require.Equal(t, c.msg, st.Message())
			if c.logged == "" {
				require.Zero(t, logs.Len(), "%v", logs.All())
				return
			}
			require.Equal(t, 1, logs.Len())
			entry := logs.All()[0]
			require.Equal(t, c.logged, entry.Message)
			require.Equal(t, "/pkg.Svc/Method", entry.ContextMap()["method"])
			require.Contains(t, entry.ContextMap()["error"], c.err.Error()[len(c.err.Error())-4:], "the cause is logged")
		})
	}
	require.NoError(t, ToStatus(context.Background(), zap.NewNop(), "/x", nil))
	require.NoError(t, WithPrefix("p", nil))
}

func TestKindsAndDetails(t *testing.T) {
	err := fmt.Errorf("checking: %w", Invalidf("level %q is unknown", "LOUD"))
	require.ErrorIs(t, err, ErrInvalid)
	require.NotErrorIs(t, err, ErrNotFound)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, `level "LOUD" is unknown`, e.Message())

	timedOut := New(ErrDeadline, "timed out")
	withCause := WithCause(timedOut, context.DeadlineExceeded)
	require.ErrorIs(t, withCause, context.DeadlineExceeded, "the cause is visible to errors.Is")
	require.ErrorIs(t, withCause, ErrDeadline)
	require.NotErrorIs(t, timedOut, context.DeadlineExceeded, "WithCause does not change the shared error")
	plain := errors.New("x")
	require.Same(t, plain, WithCause(plain, context.Canceled), "WithCause leaves other errors alone")

	st := status.Convert(ToStatus(context.Background(), zap.NewNop(), "/x", Throttled(1500*time.Millisecond, "slow down")))
	var retry time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri.GetRetryDelay().AsDuration()
		}
	}
	require.Equal(t, 1500*time.Millisecond, retry)
	httpStatus, retryAfter := HTTPStatus(st)
	require.Equal(t, http.StatusTooManyRequests, httpStatus)
	require.Equal(t, 1500*time.Millisecond, retryAfter)
}

// failingHealth answers every call with err.
type failingHealth struct {
	healthpb.UnimplementedHealthServer
	err error
}

func (f failingHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return nil, f.err
}

func (f failingHealth) Watch(_ *healthpb.HealthCheckRequest, ss grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	if err := ss.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
		return err
	}
	return f.err
}

func TestInterceptorsMapEveryCall(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	cases := []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"client error", Deniedf("project %q is not yours", "gamma"), codes.PermissionDenied, `project "gamma" is not yours`},
		{"internal detail hidden", fmt.Errorf("scanning: %w", errors.New("pq: column \"secret\" does not exist")), codes.Internal, MsgInternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The authentication interceptor stands outside, as in the
			// platform: it sees the mapped error.
			var outer error
			unaryAuth := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				res, err := h(ctx, req)
				outer = err
				return res, err
			}
			streamAuth := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				return h(srv, ss)
			}
			g := grpc.NewServer(ServerOptions(log, unaryAuth, streamAuth)...)
			healthpb.RegisterHealthServer(g, failingHealth{err: c.err})
			client := healthpb.NewHealthClient(grpctest.Serve(t, g))

			_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
			st := status.Convert(err)
			require.Equal(t, c.code, st.Code())
			require.Equal(t, c.msg, st.Message())
			_, isStatus := status.FromError(outer)
			require.True(t, isStatus, "the outer interceptor sees a status: %v", outer)

			stream, err := client.Watch(context.Background(), &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			_, err = stream.Recv()
			require.NoError(t, err)
			_, err = stream.Recv()
			require.NotErrorIs(t, err, io.EOF)
			st = status.Convert(err)
			require.Equal(t, c.code, st.Code())
			require.Equal(t, c.msg, st.Message())
		})
	}
	var methods []string
	for _, e := range logs.FilterMessage("request failed").All() {
		methods = append(methods, e.ContextMap()["method"].(string))
	}
	require.Equal(t, []string{"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"}, methods, "internal errors are logged with their method")
}
