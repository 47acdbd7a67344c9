package authn

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/grpctest"
)

// identityServer is an IdentityService that knows one session and one key,
// and records the service credential each call carried.
type identityServer struct {
	identityv1.UnimplementedIdentityServiceServer

	mu     sync.Mutex
	tokens []string // the x-devsmith-service-token of each call
	calls  int
}

func (s *identityServer) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.tokens = append(s.tokens, md.Get(ServiceTokenHeader)...)
}

func (s *identityServer) ResolveSession(ctx context.Context, req *identityv1.ResolveSessionRequest) (*identityv1.ResolveSessionResponse, error) {
	s.record(ctx)
	if req.GetToken() != "session-1" {
		return nil, status.Error(codes.Unauthenticated, "session is invalid or expired; sign in again")
	}
	return &identityv1.ResolveSessionResponse{
		User: &logsv1.User{Id: 7, Email: "m@example.com", Role: "member"},
		Projects: []*identityv1.ProjectAccess{
			{ProjectId: 1, ProjectSlug: "alpha", Role: "owner", IsActive: true},
			{ProjectId: 2, ProjectSlug: "beta", Role: "viewer"},
		},
	}, nil
}

func (s *identityServer) ResolveApiKey(ctx context.Context, req *identityv1.ResolveApiKeyRequest) (*identityv1.ResolveApiKeyResponse, error) {
	s.record(ctx)
	if req.GetApiKey() != "dsk_alpha" {
		return nil, status.Error(codes.Unauthenticated, "invalid or revoked API key")
	}
	return &identityv1.ResolveApiKeyResponse{ProjectId: 1, ProjectSlug: "alpha"}, nil
}

func (s *identityServer) seen() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, append([]string(nil), s.tokens...)
}

// identityClient serves srv on loopback and returns a client whose
// connection carries the service credential.
func identityClient(t *testing.T, srv *identityServer) *IdentityClient {
	t.Helper()
	g := grpc.NewServer()
	identityv1.RegisterIdentityServiceServer(g, srv)
	conn := grpctest.Serve(t, g, grpc.WithPerRPCCredentials(ServiceCredentials{Token: testServiceToken}))
	return NewIdentityClient(identityv1.NewIdentityServiceClient(conn))
}

func TestIdentityClientSession(t *testing.T) {
	srv := &identityServer{}
	ic := identityClient(t, srv)
	ctx := context.Background()

	p, err := ic.Session(ctx, md("authorization", "Bearer session-1"))
	require.NoError(t, err)
	require.Equal(t, &Principal{
		Kind: KindUser, UserID: 7, Email: "m@example.com", UserRole: "member", SessionToken: "session-1",
		Projects: []ProjectAccess{{ID: 1, Slug: "alpha", Role: "owner", IsActive: true}, {ID: 2, Slug: "beta", Role: "viewer"}},
	}, p)

	_, err = ic.Session(ctx, md("authorization", "Bearer session-2"))
	st := status.Convert(err)
	require.Equal(t, codes.Unauthenticated, st.Code())
	require.Equal(t, "session is invalid or expired; sign in again", st.Message(), "the projects service's answer passes through")

	calls, tokens := srv.seen()
	require.Equal(t, 2, calls)
	require.Equal(t, []string{testServiceToken, testServiceToken}, tokens, "every call carries the service credential")

	for _, bad := range []metadata.MD{md(), md("authorization", ""), md("authorization", "Bearer"), md("authorization", "Basic x"), md("cookie", "devsmith_session=session-1")} {
		_, err := ic.Session(ctx, bad)
		require.ErrorIs(t, err, ErrNoCredentials, "%v", bad)
	}
	calls, _ = srv.seen()
	require.Equal(t, 2, calls, "a call without a token is refused without asking")
}

func TestIdentityClientAPIKey(t *testing.T) {
	srv := &identityServer{}
	ic := identityClient(t, srv)
	ctx := context.Background()

	for _, m := range []metadata.MD{md(APIKeyHeader, "dsk_alpha"), md("authorization", "Bearer dsk_alpha")} {
		p, err := ic.APIKey(ctx, m)
		require.NoError(t, err)
		require.Equal(t, &Principal{Kind: KindProject, ProjectID: 1, ProjectSlug: "alpha", KeyDigest: Digest("dsk_alpha")}, p)
	}
	_, err := ic.APIKey(ctx, md(APIKeyHeader, "dsk_rotated"))
	require.Equal(t, codes.Unauthenticated, status.Code(err))

	for _, bad := range []metadata.MD{md(), md("authorization", "Bearer session-1"), md(APIKeyHeader, "  ")} {
		_, err := ic.APIKey(ctx, bad)
		require.ErrorIs(t, err, ErrNoAPIKey, "%v", bad)
	}
	calls, tokens := srv.seen()
	require.Equal(t, 3, calls)
	require.Equal(t, []string{testServiceToken, testServiceToken, testServiceToken}, tokens)
}
