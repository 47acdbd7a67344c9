package authn

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/internal/grpctest"
)

func md(kv ...string) metadata.MD { return metadata.Pairs(kv...) }

func TestBearerToken(t *testing.T) {
	cases := []struct {
		name string
		md   metadata.MD
		want string
	}{
		{"bearer", md("authorization", "Bearer tok123"), "tok123"},
		{"scheme in any case", md("authorization", "bEaReR tok123"), "tok123"},
		{"token whitespace trimmed", md("authorization", "Bearer   tok123  "), "tok123"},
		{"no header", md(), ""},
		{"empty header", md("authorization", ""), ""},
		{"Bearer alone", md("authorization", "Bearer"), ""},
		{"Bearer and a space", md("authorization", "Bearer "), ""},
		{"Bearer and only whitespace", md("authorization", "Bearer    "), ""},
		{"no space after the scheme", md("authorization", "Bearertok123"), ""},
		{"wrong scheme", md("authorization", "Basic dXNlcjpwYXNz"), ""},
		{"scheme-less token", md("authorization", "tok123"), ""},
		{"leading whitespace is not a scheme", md("authorization", " Bearer tok123"), ""},
		{"two values: the first Bearer one", md("authorization", "Basic dXNlcjpwYXNz", "authorization", "Bearer second"), "second"},
		{"two Bearer values: the first", md("authorization", "Bearer first", "authorization", "Bearer second"), "first"},
		{"another header", md("x-authorization", "Bearer tok123"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, BearerToken(c.md))
		})
	}
}

func TestAPIKey(t *testing.T) {
	cases := []struct {
		name string
		md   metadata.MD
		want string
	}{
		{"x-api-key", md(APIKeyHeader, "dsk_abc"), "dsk_abc"},
		{"x-api-key trimmed", md(APIKeyHeader, "  dsk_abc "), "dsk_abc"},
		{"bearer API key", md("authorization", "Bearer dsk_abc"), "dsk_abc"},
		{"x-api-key wins over the bearer", md(APIKeyHeader, "dsk_header", "authorization", "Bearer dsk_bearer"), "dsk_header"},
		{"a bearer session token is not a key", md("authorization", "Bearer session-token"), ""},
		{"empty x-api-key falls back to the bearer", md(APIKeyHeader, "", "authorization", "Bearer dsk_bearer"), "dsk_bearer"},
		{"whitespace x-api-key is none", md(APIKeyHeader, "   "), ""},
		{"two x-api-key values: the first", md(APIKeyHeader, "dsk_one", APIKeyHeader, "dsk_two"), "dsk_one"},
		{"wrong scheme", md("authorization", "Basic dsk_abc"), ""},
		{"nothing", md(), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, APIKey(c.md))
		})
	}
}

func TestServiceToken(t *testing.T) {
	cases := []struct {
		name string
		md   metadata.MD
		want string
		ok   bool
	}{
		{"matches", md(ServiceTokenHeader, "s3cret"), "s3cret", true},
		{"wrong token", md(ServiceTokenHeader, "s3creT"), "s3cret", false},
		{"prefix of the token", md(ServiceTokenHeader, "s3cre"), "s3cret", false},
		{"longer than the token", md(ServiceTokenHeader, "s3cret!"), "s3cret", false},
		{"no header", md(), "s3cret", false},
		{"empty header", md(ServiceTokenHeader, ""), "s3cret", false},
		{"no token configured refuses even an empty header", md(ServiceTokenHeader, ""), "", false},
		{"no token configured refuses any", md(ServiceTokenHeader, "anything"), "", false},
		{"two values: only the first counts", md(ServiceTokenHeader, "wrong", ServiceTokenHeader, "s3cret"), "s3cret", false},
		{"two values, first right", md(ServiceTokenHeader, "s3cret", ServiceTokenHeader, "wrong"), "s3cret", true},
		{"as a bearer it is not the service credential", md("authorization", "Bearer s3cret"), "s3cret", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.ok, ServiceToken(c.md, c.want))
		})
	}
}

func TestIsInfrastructure(t *testing.T) {
	for method, want := range map[string]bool{
		"/grpc.health.v1.Health/Check":                                   true,
		"/grpc.health.v1.Health/Watch":                                   true,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      true,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": true,
		"/grpc.health.v1.HealthX/Check":                                  false,
		"/devsmith.logs.v1.QueryService/ListEntries":                     false,
		"grpc.health.v1.Health/Check":                                    false,
		"/x/grpc.health.v1.Health/Check":                                 false,
	} {
		require.Equal(t, want, isInfrastructure(method), method)
	}
}

func TestPrincipal(t *testing.T) {
	p := FromContext(context.Background())
	require.Equal(t, KindAnonymous, p.Kind, "no principal is anonymous")
	require.False(t, p.IsAdmin())

	admin := &Principal{Kind: KindUser, UserRole: "admin"}
	require.Same(t, admin, FromContext(WithPrincipal(context.Background(), admin)))
	require.True(t, admin.IsAdmin())
	require.False(t, (&Principal{Kind: KindUser, UserRole: "member"}).IsAdmin())
	require.False(t, (&Principal{Kind: KindProject, UserRole: "admin"}).IsAdmin(), "only a user is an admin")

	require.Equal(t, Digest("dsk_a"), Digest("dsk_a"))
	require.NotEqual(t, Digest("dsk_a"), Digest("dsk_b"))
}

// The echo test service: one unary and one server-streaming method, with
// the health messages. Its handlers record what the interceptor gave them.
const (
	echoService = "authn.test.Echo"
	echoCheck   = "/" + echoService + "/Check"
	echoWatch   = "/" + echoService + "/Watch"
)

// testServiceToken is the service credential of the test servers.
const testServiceToken = "test-service-token"

type echo struct {
	calls     atomic.Int64
	principal atomic.Pointer[Principal]
	client    atomic.Pointer[string] // ClientAddress(ctx, testServiceToken)
}

func (e *echo) record(ctx context.Context) {
	e.calls.Add(1)
	e.principal.Store(FromContext(ctx))
	addr := ClientAddress(ctx, testServiceToken)
	e.client.Store(&addr)
}

func echoDesc(e *echo) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: echoService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Check",
			Handler: func(_ any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
				req := new(healthpb.HealthCheckRequest)
				if err := dec(req); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, _ any) (any, error) {
					e.record(ctx)
					return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
				}
				if in == nil {
					return h(ctx, req)
				}
				return in(ctx, req, &grpc.UnaryServerInfo{FullMethod: echoCheck}, h)
			},
		}},
		Streams: []grpc.StreamDesc{{
			StreamName:    "Watch",
			ServerStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				if err := ss.RecvMsg(new(healthpb.HealthCheckRequest)); err != nil {
					return err
				}
				e.record(ss.Context())
				return ss.SendMsg(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
			},
		}},
	}
}

// serveEcho serves the echo service and the health service on loopback
// behind the authn interceptors running a, and returns a connection.
func serveEcho(t *testing.T, a Authenticator) (*echo, *grpc.ClientConn) {
	t.Helper()
	e := &echo{}
	g := grpc.NewServer(
		grpc.ChainUnaryInterceptor(UnaryServerInterceptor(a)),
		grpc.ChainStreamInterceptor(StreamServerInterceptor(a)),
	)
	g.RegisterService(echoDesc(e), struct{}{})
	healthpb.RegisterHealthServer(g, health.NewServer())
	return e, grpctest.Serve(t, g)
}

func callCheck(ctx context.Context, conn *grpc.ClientConn) error {
	return conn.Invoke(ctx, echoCheck, &healthpb.HealthCheckRequest{}, new(healthpb.HealthCheckResponse))
}

func callWatch(ctx context.Context, conn *grpc.ClientConn) error {
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, echoWatch)
	if err != nil {
		return err
	}
	if err := s.SendMsg(&healthpb.HealthCheckRequest{}); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	return s.RecvMsg(new(healthpb.HealthCheckResponse))
}

// errBadServiceToken is the test authenticator's answer to a wrong service
// credential.
var errBadServiceToken = status.Error(codes.Unauthenticated, "invalid service credential")

// credentialAuthenticator takes every credential kind the way the services
// do: the service credential when its header is present, else a project API
// key, else a session token.
func credentialAuthenticator(methods *[]string) Authenticator {
	return func(_ context.Context, fullMethod string, md metadata.MD) (*Principal, error) {
		*methods = append(*methods, fullMethod)
		if len(md.Get(ServiceTokenHeader)) > 0 {
			if !ServiceToken(md, testServiceToken) {
				return nil, errBadServiceToken
			}
			return &Principal{Kind: KindService}, nil
		}
		if key := APIKey(md); key != "" {
			return &Principal{Kind: KindProject, KeyDigest: Digest(key)}, nil
		}
		if tok := BearerToken(md); tok != "" {
			return &Principal{Kind: KindUser, SessionToken: tok}, nil
		}
		return nil, ErrNoCredentials
	}
}

func TestInterceptorsCarryEachCredential(t *testing.T) {
	var methods []string
	e, conn := serveEcho(t, credentialAuthenticator(&methods))
	cases := []struct {
		name    string
		md      []string // outgoing metadata pairs
		kind    Kind
		token   string // session token, for KindUser
		key     string // API key, for KindProject
		errCode codes.Code
		errMsg  string
	}{
		{name: "API key as a bearer", md: []string{"authorization", "Bearer dsk_alpha"}, kind: KindProject, key: "dsk_alpha"},
		{name: "API key in X-API-Key", md: []string{"X-API-Key", "dsk_alpha"}, kind: KindProject, key: "dsk_alpha"},
		{name: "X-API-Key over a bearer session", md: []string{"x-api-key", "dsk_alpha", "authorization", "Bearer session-1"}, kind: KindProject, key: "dsk_alpha"},
		{name: "session bearer", md: []string{"authorization", "Bearer session-1"}, kind: KindUser, token: "session-1"},
		{name: "session bearer, header name in capitals", md: []string{"Authorization", "bearer session-1"}, kind: KindUser, token: "session-1"},
		{name: "service credential", md: []string{ServiceTokenHeader, testServiceToken}, kind: KindService},
		{name: "service credential beats a user's bearer", md: []string{ServiceTokenHeader, testServiceToken, "authorization", "Bearer session-1"}, kind: KindService},
		{name: "wrong service credential", md: []string{ServiceTokenHeader, "guess"}, errCode: codes.Unauthenticated, errMsg: "invalid service credential"},
		{name: "a session cookie is not read here (the gateway turns it into a bearer)", md: []string{"cookie", "devsmith_session=session-1"}, errCode: codes.Unauthenticated, errMsg: status.Convert(ErrNoCredentials).Message()},
		{name: "no credential", errCode: codes.Unauthenticated, errMsg: status.Convert(ErrNoCredentials).Message()},
		{name: "empty authorization", md: []string{"authorization", ""}, errCode: codes.Unauthenticated},
		{name: "Bearer alone", md: []string{"authorization", "Bearer"}, errCode: codes.Unauthenticated},
		{name: "wrong scheme", md: []string{"authorization", "Basic dXNlcjpwYXNz"}, errCode: codes.Unauthenticated},
		{name: "whitespace token", md: []string{"authorization", "Bearer    "}, errCode: codes.Unauthenticated},
		{name: "two authorization values: the Bearer one", md: []string{"authorization", "Basic x", "authorization", "Bearer session-2"}, kind: KindUser, token: "session-2"},
	}
	for _, c := range cases {
		for _, call := range []struct {
			name   string
			method string
			do     func(context.Context, *grpc.ClientConn) error
		}{{"unary", echoCheck, callCheck}, {"stream", echoWatch, callWatch}} {
			t.Run(c.name+"/"+call.name, func(t *testing.T) {
				methods = nil
				e.principal.Store(nil)
				before := e.calls.Load()
				ctx := metadata.AppendToOutgoingContext(context.Background(), c.md...)
				err := call.do(ctx, conn)
				require.Equal(t, []string{call.method}, methods, "the authenticator sees the full method")
				if c.errCode != codes.OK {
					st := status.Convert(err)
					require.Equal(t, c.errCode, st.Code(), st.Message())
					if c.errMsg != "" {
						require.Equal(t, c.errMsg, st.Message())
					}
					require.Equal(t, before, e.calls.Load(), "a refused call never reaches the handler")
					return
				}
				require.NoError(t, err)
				p := e.principal.Load()
				require.NotNil(t, p)
				require.Equal(t, c.kind, p.Kind)
				require.Equal(t, c.token, p.SessionToken)
				if c.key != "" {
					require.Equal(t, Digest(c.key), p.KeyDigest)
				}
			})
		}
	}
}

func TestInfrastructureNeedsNoCredential(t *testing.T) {
	var calls atomic.Int64
	refuseAll := func(context.Context, string, metadata.MD) (*Principal, error) {
		calls.Add(1)
		return nil, ErrNotService
	}
	_, conn := serveEcho(t, refuseAll)
	res, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, res.GetStatus())
	require.Zero(t, calls.Load(), "health checks skip the authenticator")

	err = callCheck(context.Background(), conn)
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	err = callWatch(context.Background(), conn)
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	require.EqualValues(t, 2, calls.Load())
}

// The client address the services believe: the gateway's x-forwarded-for
// hop only from a caller holding the service credential; from anyone else
// the peer.
func TestClientAddress(t *testing.T) {
	var methods []string
	e, conn := serveEcho(t, credentialAuthenticator(&methods))
	cases := []struct {
		name string
		md   []string
		want string
	}{
		{"direct caller: the peer", []string{"authorization", "Bearer s"}, "127.0.0.1"},
		{"direct caller's own x-forwarded-for is ignored", []string{"x-forwarded-for", "203.0.113.9", "authorization", "Bearer s"}, "127.0.0.1"},
		{"a wrong service credential does not make it believed", []string{"x-forwarded-for", "203.0.113.9", ServiceTokenHeader + "-x", testServiceToken, "authorization", "Bearer s"}, "127.0.0.1"},
		{"the gateway: its last hop", []string{ServiceTokenHeader, testServiceToken, "x-forwarded-for", "203.0.113.9"}, "203.0.113.9"},
		{"the gateway: the last of several hops", []string{ServiceTokenHeader, testServiceToken, "x-forwarded-for", "198.51.100.1, 10.0.0.2 ,203.0.113.9 "}, "203.0.113.9"},
		{"the gateway: the last of several headers", []string{ServiceTokenHeader, testServiceToken, "x-forwarded-for", "198.51.100.1", "x-forwarded-for", "203.0.113.9"}, "203.0.113.9"},
		{"the gateway without x-forwarded-for: the peer", []string{ServiceTokenHeader, testServiceToken}, "127.0.0.1"},
		{"the gateway with an empty hop: the peer", []string{ServiceTokenHeader, testServiceToken, "x-forwarded-for", "198.51.100.1, "}, "127.0.0.1"},
		{"IPv6 hop", []string{ServiceTokenHeader, testServiceToken, "x-forwarded-for", "2001:db8::1"}, "2001:db8::1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), c.md...)
			require.NoError(t, callCheck(ctx, conn))
			require.Equal(t, c.want, *e.client.Load())
		})
	}

	// Without a configured service credential nothing is believed.
	ctx := metadata.NewIncomingContext(context.Background(), md(ServiceTokenHeader, "", "x-forwarded-for", "203.0.113.9"))
	require.Equal(t, "unknown", ClientAddress(ctx, ""), "no peer, no trusted hop")
	ctx = peer.NewContext(ctx, &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP("192.0.2.4"), Port: 5000}})
	require.Equal(t, "192.0.2.4", ClientAddress(ctx, ""))
	ctx = peer.NewContext(context.Background(), &peer.Peer{Addr: &net.UnixAddr{Name: "/run/devsmith.sock", Net: "unix"}})
	require.Equal(t, "/run/devsmith.sock", ClientAddress(ctx, testServiceToken), "an address without a port is used whole")
}
