package projects

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/grpctest"
	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

// TestMain checks, once every test has ended and the cluster is stopped,
// that no goroutine is left (the session sweep, the gRPC servers).
func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.WithCluster(m, &cluster)) }

const (
	testAdminEmail    = "admin@example.com"
	testAdminPassword = "admin-password"
	testServiceToken  = "test-service-token"
	testPassword      = "member-password"
)

// clock is a settable time source for the service under test.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is one service over a fresh database, served by a real gRPC server on
// loopback with the service's own interceptors.
type env struct {
	t        *testing.T
	pool     *pgxpool.Pool
	svc      *Service
	clock    *clock
	auth     logsv1.AuthServiceClient
	users    logsv1.UserServiceClient
	projects logsv1.ProjectServiceClient
	identity identityv1.IdentityServiceClient
	trail    logsv1.AuditServiceClient // the audit trail's
}

func newEnv(t *testing.T, opts ...func(*Config)) *env {
	t.Helper()
	return newEnvOn(t, cluster.NewPool(t), newClock(), opts...)
}

// newReplica is another service, with its own gRPC server, over e's
// database and clock: a second replica.
func (e *env) newReplica(opts ...func(*Config)) *env {
	e.t.Helper()
	return newEnvOn(e.t, e.pool, e.clock, opts...)
}

func newEnvOn(t *testing.T, pool *pgxpool.Pool, clk *clock, opts ...func(*Config)) *env {
	t.Helper()
	cfg := Config{
		ServiceToken:  testServiceToken,
		AdminEmail:    testAdminEmail,
		AdminPassword: testAdminPassword,
		BcryptCost:    bcrypt.MinCost,
		LoginSlowdown: time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	svc := New(zaptest.NewLogger(t), pool, cfg)
	svc.now = clk.Now // before any call is served
	require.NoError(t, svc.Bootstrap(context.Background()))

	g := grpc.NewServer(apierr.ServerOptions(svc.log, authn.UnaryServerInterceptor(svc.Authenticator()), authn.StreamServerInterceptor(svc.Authenticator()))...)
	svc.Register(g)
	conn := grpctest.Serve(t, g)
	return &env{
		t:        t,
		pool:     pool,
		svc:      svc,
		clock:    clk,
		auth:     logsv1.NewAuthServiceClient(conn),
		users:    logsv1.NewUserServiceClient(conn),
		projects: logsv1.NewProjectServiceClient(conn),
		identity: identityv1.NewIdentityServiceClient(conn),
		trail:    logsv1.NewAuditServiceClient(conn),
	}
}

// viaGateway adds to ctx what the gateway sends for a browser at addr:
// the service credential, the client's address last in x-forwarded-for
// and its User-Agent.
func viaGateway(ctx context.Context, addr, userAgent string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, authn.ServiceTokenHeader, testServiceToken,
		"x-forwarded-for", "198.51.100.1, "+addr, "grpcgateway-user-agent", userAgent)
}

func bearer(tok string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

func serviceCtx() context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), authn.ServiceTokenHeader, testServiceToken)
}

// login signs in and returns a context carrying the session and the token.
func (e *env) login(email, password string) (context.Context, string) {
	e.t.Helper()
	res, err := e.auth.Login(context.Background(), &logsv1.LoginRequest{Email: email, Password: password})
	require.NoError(e.t, err)
	return bearer(res.GetToken()), res.GetToken()
}

func (e *env) admin() context.Context {
	e.t.Helper()
	ctx, _ := e.login(testAdminEmail, testAdminPassword)
	return ctx
}

// newUser creates a user as the admin and signs them in.
func (e *env) newUser(email, role string) (int64, context.Context) {
	e.t.Helper()
	res, err := e.users.CreateUser(e.admin(), &logsv1.CreateUserRequest{Email: email, Password: testPassword, Role: role})
	require.NoError(e.t, err)
	ctx, _ := e.login(email, testPassword)
	return res.GetUser().GetId(), ctx
}

func (e *env) newProject(ctx context.Context, slug string) *logsv1.CreateProjectResponse {
	e.t.Helper()
	res, err := e.projects.CreateProject(ctx, &logsv1.CreateProjectRequest{Name: "Project " + slug, Slug: slug})
	require.NoError(e.t, err)
	return res
}

func (e *env) resolveKey(key string) (*identityv1.ResolveApiKeyResponse, error) {
	return e.identity.ResolveApiKey(serviceCtx(), &identityv1.ResolveApiKeyRequest{ApiKey: key})
}

// requireCode asserts a gRPC status code and, if given, the exact message.
func requireCode(t *testing.T, err error, code codes.Code, msg ...string) {
	t.Helper()
	require.Error(t, err)
	st, ok := status.FromError(err)
	require.True(t, ok, "not a status error: %v", err)
	require.Equal(t, code, st.Code(), "message: %s", st.Message())
	if len(msg) > 0 {
		require.Equal(t, msg[0], st.Message())
	}
}

// requireContains asserts a gRPC status code and a message fragment.
func requireContains(t *testing.T, err error, code codes.Code, fragment string) {
	t.Helper()
	requireCode(t, err, code)
	require.Contains(t, status.Convert(err).Message(), fragment)
}
