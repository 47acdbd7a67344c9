// Package authn authenticates the callers of every gRPC service: a project
// API key (ingestion), a user's session token (projects, query, analysis) or
// the service credential shared by the platform's own services. Each service
// supplies an Authenticator that decides, per method, which credential it
// takes; the interceptors here run it and put the Principal in the context.
package authn

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// ServiceTokenHeader carries the service credential between services.
const ServiceTokenHeader = "x-devsmith-service-token"

// APIKeyHeader carries a project API key (the alternative to a Bearer key).
const APIKeyHeader = "x-api-key"

// APIKeyPrefix starts every project API key.
const APIKeyPrefix = "dsk_"

// Kind says which credential authenticated a call.
type Kind int

const (
	// KindAnonymous is a call that needed no credential.
	KindAnonymous Kind = iota
	// KindUser is a signed-in user (session token).
	KindUser
	// KindProject is a project API key.
	KindProject
	// KindService is another service of the platform.
	KindService
)

// ProjectAccess is one project a user may read, with their role on it.
type ProjectAccess struct {
	ID       int64
	Slug     string
	Role     string // owner, maintainer, viewer, admin
	IsActive bool
}

// Principal is who is calling.
type Principal struct {
	Kind Kind

	// For KindUser.
	UserID       int64
	Email        string
	UserRole     string // admin, member
	SessionToken string // the raw token, so Logout can end it; never logged
	Projects     []ProjectAccess

	// For KindProject.
	ProjectID   int64
	ProjectSlug string
	// KeyDigest is Digest of the API key, so that where entries are
	// written the key can be checked again in the same transaction.
	KeyDigest [sha256.Size]byte
	// KeyID is the key's id in logs.api_keys; KeyPrefix its recognisable
	// start (`dsk_` and four characters), for audit events.
	KeyID     int64
	KeyPrefix string
	// Scopes are what the key may do: ScopeIngest, ScopeRead.
	Scopes []string
	// KeyExpires is when the key stops working; zero when never.
	KeyExpires time.Time
}

// Scopes of a project API key.
const (
	ScopeIngest = "ingest"
	ScopeRead   = "read"
)

// HasScope tells whether a project principal's key carries scope.
func (p *Principal) HasScope(scope string) bool {
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// IsAdmin tells whether the principal is an admin user.
func (p *Principal) IsAdmin() bool { return p.Kind == KindUser && p.UserRole == "admin" }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal the interceptor stored, or an anonymous
// one.
func FromContext(ctx context.Context) *Principal {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok {
		return p
	}
	return &Principal{Kind: KindAnonymous}
}

// Authenticator resolves the credentials of one call to a method (the full
// gRPC method name). It returns a status error (Unauthenticated,
// PermissionDenied, Unavailable) when the call may not proceed.
type Authenticator func(ctx context.Context, fullMethod string, md metadata.MD) (*Principal, error)

// UnaryServerInterceptor authenticates unary calls.
func UnaryServerInterceptor(a Authenticator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if isInfrastructure(info.FullMethod) {
			return handler(ctx, req)
		}
		md, _ := metadata.FromIncomingContext(ctx)
		p, err := a(ctx, info.FullMethod, md)
		if err != nil {
			return nil, err
		}
		return handler(WithPrincipal(ctx, p), req)
	}
}

// StreamServerInterceptor authenticates streaming calls.
func StreamServerInterceptor(a Authenticator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if isInfrastructure(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx := ss.Context()
		md, _ := metadata.FromIncomingContext(ctx)
		p, err := a(ctx, info.FullMethod, md)
		if err != nil {
			return err
		}
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: WithPrincipal(ctx, p)})
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

// isInfrastructure tells the methods every caller may use: health checks and
// server reflection (operators list services with grpcurl).
func isInfrastructure(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// BearerToken returns the token of an `authorization: Bearer <token>` header,
// or "".
func BearerToken(md metadata.MD) string {
	for _, v := range md.Get("authorization") {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
	}
	return ""
}

// APIKey returns a project API key from `x-api-key` or a Bearer header, or "".
func APIKey(md metadata.MD) string {
	if v := md.Get(APIKeyHeader); len(v) > 0 && v[0] != "" {
		return strings.TrimSpace(v[0])
	}
	if tok := BearerToken(md); strings.HasPrefix(tok, APIKeyPrefix) {
		return tok
	}
	return ""
}

// Digest is the SHA-256 of an API key or session token: all the database
// keeps of it. The secrets carry 256 random bits, so a fast unsalted digest
// is as strong as the secret itself and can be looked up by index.
func Digest(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// ServiceToken checks the service credential in md against want, in
// constant time.
func ServiceToken(md metadata.MD, want string) bool {
	got := md.Get(ServiceTokenHeader)
	if want == "" || len(got) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got[0]), []byte(want)) == 1
}

// ClientAddress is the address of the client behind a call: the last
// `x-forwarded-for` hop when the call carries the service credential
// serviceToken (the gateway appends that hop itself, after resolving its
// trusted proxies), else the gRPC peer's host, or "unknown". A direct
// caller's own x-forwarded-for names nobody: it could name a new address
// on every attempt.
func ClientAddress(ctx context.Context, serviceToken string) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if ServiceToken(md, serviceToken) {
		if addr := forwardedFor(md); addr != "" {
			return addr
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		addr := p.Addr.String()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			return host
		}
		return addr
	}
	return "unknown"
}

// forwardedFor returns the last `x-forwarded-for` hop, or "".
func forwardedFor(md metadata.MD) string {
	v := md.Get("x-forwarded-for")
	if len(v) == 0 {
		return ""
	}
	parts := strings.Split(v[len(v)-1], ",")
	return strings.TrimSpace(parts[len(parts)-1])
}

// ServiceCredentials attaches the service credential to every outgoing call
// of a client connection. RequireTLS (set when the platform runs with TLS)
// makes gRPC refuse to send it over a connection without transport
// security.
type ServiceCredentials struct {
	Token      string
	RequireTLS bool
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c ServiceCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{ServiceTokenHeader: c.Token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: only
// with RequireTLS; without TLS service traffic stays on loopback or the
// cluster network.
func (c ServiceCredentials) RequireTransportSecurity() bool { return c.RequireTLS }

// Errors every authenticator returns; messages are for clients.
var (
	ErrNoCredentials = status.Error(codes.Unauthenticated, "authentication required: send a session token as `authorization: Bearer <token>`")
	ErrNoAPIKey      = status.Error(codes.Unauthenticated, "API key required: send `Authorization: Bearer dsk_...` or `X-API-Key: dsk_...`")
	ErrNotService    = status.Error(codes.PermissionDenied, "this method is internal to the platform's services")
)
