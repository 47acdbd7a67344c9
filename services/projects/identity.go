package projects

import (
	"context"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	"github.com/devsmith/logs/internal/authn"
)

// identityServer is the IdentityService, for the other services.
type identityServer struct {
	identityv1.UnimplementedIdentityServiceServer
	*Service
}

// resolveKey resolves a key ingestion has not seen yet: a SHA-256
// digest and one lookup by unique index, nothing cached here. Ingestion
// verifies the key again in every write transaction (services/ingestion,
// keys.go), so a rotated or deleted key is refused at once on any replica.
// ResolveApiKey (keyguess.go) counts the keys it refuses.
func (s *identityServer) resolveKey(ctx context.Context, req *identityv1.ResolveApiKeyRequest) (*identityv1.ResolveApiKeyResponse, error) {
	key := req.GetApiKey()
	if key == "" {
		return nil, errNoAPIKey
	}
	if !strings.HasPrefix(key, authn.APIKeyPrefix) {
		return nil, errBadAPIKey
	}
	k, err := s.store.resolveAPIKey(ctx, digest(key))
	if err != nil {
		return nil, err
	}
	if k.Expired {
		return nil, errKeyExpired(*k.ExpireTime)
	}
	res := &identityv1.ResolveApiKeyResponse{
		ProjectId:   k.ProjectID,
		ProjectSlug: k.ProjectSlug,
		KeyId:       k.ID,
		Scopes:      k.Scopes,
		KeyPrefix:   k.Prefix,
	}
	if k.ExpireTime != nil {
		res.ExpireTime = timestamppb.New(*k.ExpireTime)
	}
	return res, nil
}

func (s *identityServer) ResolveSession(ctx context.Context, req *identityv1.ResolveSessionRequest) (*identityv1.ResolveSessionResponse, error) {
	u, p, err := s.resolveSession(ctx, req.GetToken())
	if err != nil {
		return nil, err
	}
	res := &identityv1.ResolveSessionResponse{User: userProto(u)}
	for _, a := range p.Projects {
		res.Projects = append(res.Projects, &identityv1.ProjectAccess{
			ProjectId: a.ID, ProjectSlug: a.Slug, Role: a.Role, IsActive: a.IsActive,
		})
	}
	return res, nil
}
