package projects

import (
	"context"
	"errors"
	"strings"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/authn"
)

// Authenticator decides, per method, which credential a call needs:
// none for AuthService.Login, the service credential for IdentityService,
// and a session token for everything else. Sessions are resolved locally
// (no IdentityService round trip) into the same principal ResolveSession
// gives the other services.
func (s *Service) Authenticator() authn.Authenticator {
	identityPrefix := "/" + identityv1.IdentityService_ServiceDesc.ServiceName + "/"
	return func(ctx context.Context, fullMethod string, md metadata.MD) (*authn.Principal, error) {
		switch {
		case fullMethod == logsv1.AuthService_Login_FullMethodName,
			fullMethod == logsv1.AuthService_GetSetupStatus_FullMethodName,
			fullMethod == logsv1.AuthService_CreateFirstAdmin_FullMethodName:
			return &authn.Principal{Kind: authn.KindAnonymous}, nil
		case strings.HasPrefix(fullMethod, identityPrefix):
			if len(md.Get(authn.ServiceTokenHeader)) == 0 {
				return nil, authn.ErrNotService
			}
			if !authn.ServiceToken(md, s.cfg.ServiceToken) {
				return nil, status.Error(codes.Unauthenticated, "invalid service credential")
			}
			return &authn.Principal{Kind: authn.KindService}, nil
		}
		tok := authn.BearerToken(md)
		if tok == "" {
			return nil, authn.ErrNoCredentials
		}
		if strings.HasPrefix(tok, authn.APIKeyPrefix) {
			return nil, status.Error(codes.Unauthenticated, "this method needs a user's session token, not a project API key")
		}
		_, p, err := s.resolveSession(ctx, tok)
		if err != nil {
			var ce *clientError
			if errors.As(err, &ce) {
				return nil, s.toStatus(fullMethod, err)
			}
			if ctx.Err() != nil {
				return nil, s.toStatus(fullMethod, ctx.Err())
			}
			s.log.Error("resolving session failed", zap.String("method", fullMethod), zap.Error(err))
			return nil, status.Error(codes.Unavailable, msgUnavailable)
		}
		return p, nil
	}
}

// resolveSession turns a session token into its user and a user principal
// with every project the user may read.
func (s *Service) resolveSession(ctx context.Context, tok string) (user, *authn.Principal, error) {
	if tok == "" {
		return user{}, nil, unauthenticatedf(msgBadSession)
	}
	u, err := s.store.sessionUser(ctx, digest(tok))
	if err != nil {
		return user{}, nil, err
	}
	projects, err := s.store.access(ctx, u.ID, u.Role == roleAdmin)
	if err != nil {
		return user{}, nil, err
	}
	return u, &authn.Principal{
		Kind:         authn.KindUser,
		UserID:       u.ID,
		Email:        u.Email,
		UserRole:     u.Role,
		SessionToken: tok,
		Projects:     projects,
	}, nil
}

// caller returns the signed-in user of a call.
func caller(ctx context.Context) (*authn.Principal, error) {
	p := authn.FromContext(ctx)
	if p.Kind != authn.KindUser {
		return nil, unauthenticatedf(msgBadSession)
	}
	return p, nil
}

// adminCaller returns the signed-in user of a call if they are an admin.
func adminCaller(ctx context.Context) (*authn.Principal, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsAdmin() {
		return nil, deniedf(msgAdminOnly)
	}
	return p, nil
}
