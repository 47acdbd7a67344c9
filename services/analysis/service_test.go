package analysis

import (
	"context"
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/grpctest"
)

func member() *authn.Principal {
	return &authn.Principal{Kind: authn.KindUser, UserID: 10, Email: "m@example.com", UserRole: "member", Projects: []authn.ProjectAccess{
		{ID: 1, Slug: "alpha", Role: "owner", IsActive: true},
		{ID: 2, Slug: "beta", Role: "viewer", IsActive: false},
	}}
}

func admin() *authn.Principal {
	return &authn.Principal{Kind: authn.KindUser, UserID: 1, Email: "a@example.com", UserRole: "admin", Projects: []authn.ProjectAccess{
		{ID: 1, Slug: "alpha", Role: "admin", IsActive: true},
		{ID: 3, Slug: "gamma", Role: "admin", IsActive: true},
	}}
}

// serve runs s on a real gRPC server on loopback whose interceptors
// authenticate every call as p, and returns a client.
func serve(t *testing.T, s *Service, p *authn.Principal) logsv1.AnalysisServiceClient {
	t.Helper()
	inject := func(context.Context, string, metadata.MD) (*authn.Principal, error) { return p, nil }
	g := grpc.NewServer(apierr.ServerOptions(s.log, authn.UnaryServerInterceptor(inject), authn.StreamServerInterceptor(inject))...)
	s.Register(g)
	return logsv1.NewAnalysisServiceClient(grpctest.Serve(t, g))
}

func TestAnalyzeLogsChecksTheCallerAndTheWindow(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	cfg := testConfig()
	cfg.MaxWindow = 48 * time.Hour
	s := newService(t, pool, cfg)
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	ts := timestamppb.New
	cases := []struct {
		name      string
		p         *authn.Principal
		req       *logsv1.AnalyzeLogsRequest
		code      codes.Code
		msg       string
		wantSince time.Time
		wantUntil time.Time
	}{
		{name: "anonymous", p: &authn.Principal{Kind: authn.KindAnonymous}, req: &logsv1.AnalyzeLogsRequest{}, code: codes.Unauthenticated},
		{name: "another's project", p: member(), req: &logsv1.AnalyzeLogsRequest{Project: []string{"alpha", "gamma"}}, code: codes.PermissionDenied, msg: `project "gamma" is not yours`},
		{name: "unknown project for an admin", p: admin(), req: &logsv1.AnalyzeLogsRequest{Project: []string{"nope"}}, code: codes.NotFound, msg: `project "nope" not found`},
		{name: "empty window", p: member(), req: &logsv1.AnalyzeLogsRequest{Since: ts(now.Add(-time.Hour)), Until: ts(now.Add(-time.Hour))}, code: codes.InvalidArgument, msg: "since must be before until"},
		{name: "since after the default until", p: member(), req: &logsv1.AnalyzeLogsRequest{Since: ts(now.Add(time.Minute))}, code: codes.InvalidArgument, msg: "since must be before until"},
		{name: "window too long", p: member(), req: &logsv1.AnalyzeLogsRequest{Since: ts(now.Add(-72 * time.Hour))}, code: codes.InvalidArgument, msg: "the window since..until is 3d; at most 2d"},
		{name: "invalid timestamp", p: member(), req: &logsv1.AnalyzeLogsRequest{Until: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}}, code: codes.InvalidArgument, msg: "until is not a valid timestamp"},
		{name: "NUL in a slug", p: member(), req: &logsv1.AnalyzeLogsRequest{Project: []string{"al\x00pha"}}, code: codes.InvalidArgument},
		{name: "defaults: the hour before now", p: member(), req: &logsv1.AnalyzeLogsRequest{}, wantSince: now.Add(-time.Hour), wantUntil: now},
		{name: "since alone: until now", p: member(), req: &logsv1.AnalyzeLogsRequest{Project: []string{"beta", "", "beta"}, Since: ts(now.Add(-36 * time.Hour))}, wantSince: now.Add(-36 * time.Hour), wantUntil: now},
		{name: "until alone: the hour before it", p: admin(), req: &logsv1.AnalyzeLogsRequest{Project: []string{"gamma"}, Until: ts(now.Add(-24 * time.Hour))}, wantSince: now.Add(-25 * time.Hour), wantUntil: now.Add(-24 * time.Hour)},
		{name: "nanoseconds round up to the microsecond", p: member(), req: &logsv1.AnalyzeLogsRequest{Since: ts(now.Add(-time.Hour + time.Nanosecond)), Until: ts(now)}, wantSince: now.Add(-time.Hour + time.Microsecond), wantUntil: now},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res, err := serve(t, s, c.p).AnalyzeLogs(context.Background(), c.req)
			if c.code != codes.OK {
				require.Error(t, err)
				st := status.Convert(err)
				require.Equal(t, c.code, st.Code(), st.Message())
				if c.msg != "" {
					require.Equal(t, c.msg, st.Message())
				}
				return
			}
			require.NoError(t, err)
			require.NotNil(t, res.GetReport())
			require.Equal(t, c.wantSince, res.GetSince().AsTime())
			require.Equal(t, c.wantUntil, res.GetUntil().AsTime())
		})
	}
}

// Without an identity client sessions cannot be resolved: Unavailable,
// never a call that runs unauthenticated.
func TestAuthenticatorWithoutIdentity(t *testing.T) {
	t.Parallel()
	_, err := New(zap.NewNop(), nil, nil, Config{}).Authenticator()(context.Background(), "/x", metadata.Pairs("authorization", "Bearer good"))
	require.Equal(t, codes.Unavailable, status.Code(err))
}

func TestConfig(t *testing.T) {
	t.Parallel()
	var c Config
	fs := newFlagSet()
	c.RegisterFlags(fs)
	require.NoError(t, c.Validate(), "the registered defaults are valid")
	require.Equal(t, Config{}.withDefaults().MaxConns, c.PoolConns())
	require.Equal(t, 31*24*time.Hour, c.MaxWindow)
	require.Equal(t, 500*time.Millisecond, c.MineInterval)
	require.Equal(t, 5000, c.MaxPatterns)

	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--analysis-max-conns=1"}, "--analysis-max-conns 1: must be at least 2"},
		{[]string{"--analysis-max-window=0s"}, "--analysis-max-window 0s: must be positive"},
		{[]string{"--pattern-mine-interval=0s"}, "--pattern-mine-interval 0s: must be positive"},
		{[]string{"--pattern-mine-batch=0"}, "--pattern-mine-batch 0: must be at least 1"},
		{[]string{"--pattern-leader-retry=0s"}, "--pattern-leader-retry 0s: must be positive"},
		{[]string{"--pattern-max-per-project=0"}, "--pattern-max-per-project 0: must be at least 1"},
	} {
		var c Config
		fs := newFlagSet()
		c.RegisterFlags(fs)
		require.NoError(t, fs.Parse(tc.args))
		require.ErrorContains(t, c.Validate(), tc.err)
	}
}

func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
