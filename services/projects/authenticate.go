package projects

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/metadata"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// Authenticator decides, per method, which credential a call needs:
// none for AuthService.Login, the service credential for IdentityService,
// and a session token for everything else. Sessions are resolved locally
// (no IdentityService round trip) into the same principal ResolveSession
// gives the other services. It answers statuses: it runs before the
// error-mapping interceptor.
func (s *Service) Authenticator() authn.Authenticator {
	return func(ctx context.Context, fullMethod string, md metadata.MD) (*authn.Principal, error) {
		p, err := s.authenticate(ctx, fullMethod, md)
		if err != nil {
			return nil, apierr.ToStatus(ctx, s.log, fullMethod, err)
		}
		return p, nil
	}
}

func (s *Service) authenticate(ctx context.Context, fullMethod string, md metadata.MD) (*authn.Principal, error) {
	identityPrefix := "/" + identityv1.IdentityService_ServiceDesc.ServiceName + "/"
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
			return nil, errBadServiceToken
		}
		return &authn.Principal{Kind: authn.KindService}, nil
	}
	tok := authn.BearerToken(md)
	if tok == "" {
		return nil, authn.ErrNoCredentials
	}
	if strings.HasPrefix(tok, authn.APIKeyPrefix) {
		return nil, errKeyNotSession
	}
	_, p, err := s.resolveSession(ctx, tok)
	var ce *apierr.Error
	switch {
	case err == nil:
		return p, nil
	case errors.As(err, &ce):
		return nil, err
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	// Not the session's fault: the caller may retry.
	return nil, errCredentialsUnchecked(err)
}

// resolveSession turns a session token into its user and a user principal
// with every project the user may read.
func (s *Service) resolveSession(ctx context.Context, tok string) (user, *authn.Principal, error) {
	if tok == "" {
		return user{}, nil, errBadSession
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
		return nil, errBadSession
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
		return nil, errAdminOnly
	}
	return p, nil
}
