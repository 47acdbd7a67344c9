package query

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/authn"
)

// fakeIdentity answers ResolveSession for one token.
type fakeIdentity struct {
	identityv1.IdentityServiceClient
}

func (fakeIdentity) ResolveSession(_ context.Context, req *identityv1.ResolveSessionRequest, _ ...grpc.CallOption) (*identityv1.ResolveSessionResponse, error) {
	if req.GetToken() != "good" {
		return nil, status.Error(codes.Unauthenticated, "session expired")
	}
	return &identityv1.ResolveSessionResponse{
		User:     &logsv1.User{Id: 7, Email: "u@example.com", Role: "member"},
		Projects: []*identityv1.ProjectAccess{{ProjectId: 1, ProjectSlug: "alpha", Role: "owner", IsActive: true}},
	}, nil
}

func TestAuthenticator(t *testing.T) {
	s := New(zap.NewNop(), nil, authn.NewIdentityClient(fakeIdentity{}), Config{})
	auth := s.Authenticator()
	ctx := context.Background()

	p, err := auth(ctx, "/devsmith.logs.v1.QueryService/ListEntries", metadata.Pairs("authorization", "Bearer good"))
	require.NoError(t, err)
	require.Equal(t, authn.KindUser, p.Kind)
	require.Equal(t, []authn.ProjectAccess{{ID: 1, Slug: "alpha", Role: "owner", IsActive: true}}, p.Projects)

	_, err = auth(ctx, "/devsmith.logs.v1.QueryService/TailEntries", metadata.Pairs("authorization", "Bearer bad"))
	requireCode(t, err, codes.Unauthenticated, "session expired")
	_, err = auth(ctx, "/devsmith.logs.v1.QueryService/GetStats", metadata.MD{})
	requireCode(t, err, codes.Unauthenticated, "")

	_, err = New(zap.NewNop(), nil, nil, Config{}).Authenticator()(ctx, "/x", metadata.Pairs("authorization", "Bearer good"))
	requireCode(t, err, codes.Unavailable, "")
}
