package authn

import (
	"context"

	"google.golang.org/grpc/metadata"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
)

// IdentityClient resolves credentials through the projects service's
// IdentityService. Its connection must carry ServiceCredentials. Nothing is
// cached here: a rotated key or ended session is refused by the next call.
type IdentityClient struct {
	c identityv1.IdentityServiceClient
	// serviceToken vouches for the x-forwarded-for of incoming calls
	// (ClientAddress); empty trusts none.
	serviceToken string
}

// IdentityOption configures an IdentityClient.
type IdentityOption func(*IdentityClient)

// ForwardClientAddress makes APIKey pass the client's address
// (ClientAddress of the incoming call, trusting the x-forwarded-for of
// callers with serviceToken) on to ResolveApiKey, which counts invalid
// keys per address.
func ForwardClientAddress(serviceToken string) IdentityOption {
	return func(ic *IdentityClient) { ic.serviceToken = serviceToken }
}

// NewIdentityClient wraps a client of the projects service.
func NewIdentityClient(c identityv1.IdentityServiceClient, opts ...IdentityOption) *IdentityClient {
	ic := &IdentityClient{c: c}
	for _, o := range opts {
		o(ic)
	}
	return ic
}

// Session resolves the Bearer session token in md to a user principal.
// Errors are the projects service's status errors, passed through.
func (ic *IdentityClient) Session(ctx context.Context, md metadata.MD) (*Principal, error) {
	tok := BearerToken(md)
	if tok == "" {
		return nil, ErrNoCredentials
	}
	res, err := ic.c.ResolveSession(ctx, &identityv1.ResolveSessionRequest{Token: tok})
	if err != nil {
		return nil, err
	}
	return SessionPrincipal(tok, res), nil
}

// APIKey resolves the project API key in md to a project principal.
func (ic *IdentityClient) APIKey(ctx context.Context, md metadata.MD) (*Principal, error) {
	key := APIKey(md)
	if key == "" {
		return nil, ErrNoAPIKey
	}
	out := metadata.AppendToOutgoingContext(ctx, "x-forwarded-for", ClientAddress(ctx, ic.serviceToken))
	res, err := ic.c.ResolveApiKey(out, &identityv1.ResolveApiKeyRequest{ApiKey: key})
	if err != nil {
		return nil, err
	}
	p := &Principal{
		Kind: KindProject, ProjectID: res.GetProjectId(), ProjectSlug: res.GetProjectSlug(), KeyDigest: Digest(key),
		KeyID: res.GetKeyId(), KeyPrefix: res.GetKeyPrefix(), Scopes: res.GetScopes(),
	}
	if res.GetExpireTime() != nil {
		p.KeyExpires = res.GetExpireTime().AsTime()
	}
	return p, nil
}

// SessionPrincipal builds a user principal from a ResolveSession answer.
func SessionPrincipal(token string, res *identityv1.ResolveSessionResponse) *Principal {
	p := &Principal{
		Kind:         KindUser,
		UserID:       res.GetUser().GetId(),
		Email:        res.GetUser().GetEmail(),
		UserRole:     res.GetUser().GetRole(),
		SessionToken: token,
	}
	for _, a := range res.GetProjects() {
		p.Projects = append(p.Projects, ProjectAccess{ID: a.GetProjectId(), Slug: a.GetProjectSlug(), Role: a.GetRole(), IsActive: a.GetIsActive()})
	}
	return p
}
