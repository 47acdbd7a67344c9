package projects

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	res, err := e.auth.Login(ctx, &logsv1.LoginRequest{Email: testAdminEmail, Password: testAdminPassword})
	require.NoError(t, err)
	raw, err := base64.RawURLEncoding.DecodeString(res.GetToken())
	require.NoError(t, err, "token is base64url without padding")
	require.Len(t, raw, 32)
	require.Equal(t, testAdminEmail, res.GetUser().GetEmail())
	require.Equal(t, "admin", res.GetUser().GetRole())
	require.WithinDuration(t, time.Now().Add(7*24*time.Hour), res.GetExpireTime().AsTime(), 5*time.Second)

	// Only the digest is stored.
	sum := sha256.Sum256([]byte(res.GetToken()))
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM logs.sessions WHERE token_hash = $1`, sum[:]).Scan(&n))
	require.Equal(t, 1, n)

	cur, err := e.auth.GetCurrentUser(bearer(res.GetToken()), &logsv1.GetCurrentUserRequest{})
	require.NoError(t, err)
	require.Equal(t, res.GetUser().GetId(), cur.GetUser().GetId())

	// Email is compared case-insensitively.
	_, err = e.auth.Login(ctx, &logsv1.LoginRequest{Email: "ADMIN@example.COM", Password: testAdminPassword})
	require.NoError(t, err)

	for name, req := range map[string]*logsv1.LoginRequest{
		"wrong password":      {Email: testAdminEmail, Password: "not-the-password"},
		"unknown email":       {Email: "nobody@example.com", Password: testAdminPassword},
		"password wrong case": {Email: testAdminEmail, Password: "ADMIN-PASSWORD"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.auth.Login(ctx, req)
			requireCode(t, err, codes.Unauthenticated, "invalid email or password")
		})
	}

	// bcrypt reads only 72 bytes; a longer password never matches.
	long := strings.Repeat("p", 72)
	_, err = e.users.CreateUser(e.admin(), &logsv1.CreateUserRequest{Email: "long@example.com", Password: long})
	require.NoError(t, err)
	e.login("long@example.com", long)
	_, err = e.auth.Login(ctx, &logsv1.LoginRequest{Email: "long@example.com", Password: long + "x"})
	requireCode(t, err, codes.Unauthenticated, msgBadLogin)

	_, err = e.auth.Login(ctx, &logsv1.LoginRequest{Password: "x"})
	requireContains(t, err, codes.InvalidArgument, "email")
	_, err = e.auth.Login(ctx, &logsv1.LoginRequest{Email: testAdminEmail})
	requireContains(t, err, codes.InvalidArgument, "password")
}

func TestSessionRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.auth.GetCurrentUser(context.Background(), &logsv1.GetCurrentUserRequest{})
	requireCode(t, err, codes.Unauthenticated, status.Convert(authn.ErrNoCredentials).Message())

	_, err = e.projects.ListProjects(bearer("garbage"), &logsv1.ListProjectsRequest{})
	requireCode(t, err, codes.Unauthenticated, msgBadSession)

	// A project key is not a session.
	p := e.newProject(e.admin(), "keyed")
	_, err = e.projects.ListProjects(bearer(p.GetApiKey()), &logsv1.ListProjectsRequest{})
	requireContains(t, err, codes.Unauthenticated, "session token")
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, _ := e.login(testAdminEmail, testAdminPassword)
	other, _ := e.login(testAdminEmail, testAdminPassword)

	res, err := e.auth.Logout(ctx, &logsv1.LogoutRequest{})
	require.NoError(t, err)
	require.NotEmpty(t, res.GetMessage())

	_, err = e.auth.GetCurrentUser(ctx, &logsv1.GetCurrentUserRequest{})
	requireCode(t, err, codes.Unauthenticated, msgBadSession)
	_, err = e.auth.Logout(ctx, &logsv1.LogoutRequest{})
	requireCode(t, err, codes.Unauthenticated, msgBadSession)

	// Only that session ended.
	_, err = e.auth.GetCurrentUser(other, &logsv1.GetCurrentUserRequest{})
	require.NoError(t, err)
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, tok := e.login(testAdminEmail, testAdminPassword)
	_, keep := e.login(testAdminEmail, testAdminPassword)
	_, err := e.auth.GetCurrentUser(ctx, &logsv1.GetCurrentUserRequest{})
	require.NoError(t, err)

	sum := sha256.Sum256([]byte(tok))
	_, err = e.pool.Exec(context.Background(),
		`UPDATE logs.sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, sum[:])
	require.NoError(t, err)

	_, err = e.auth.GetCurrentUser(ctx, &logsv1.GetCurrentUserRequest{})
	requireCode(t, err, codes.Unauthenticated, msgBadSession)
	_, err = e.identity.ResolveSession(serviceCtx(), &identityv1.ResolveSessionRequest{Token: tok})
	requireCode(t, err, codes.Unauthenticated, msgBadSession)

	// Run sweeps the expired session and keeps the live one.
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(runCtx) }()
	require.Eventually(t, func() bool {
		var n int
		err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM logs.sessions WHERE token_hash = $1`, sum[:]).Scan(&n)
		return err == nil && n == 0
	}, 10*time.Second, 20*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	_, err = e.auth.GetCurrentUser(bearer(keep), &logsv1.GetCurrentUserRequest{})
	require.NoError(t, err)
}

func TestSessionTTL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.SessionTTL = time.Hour })
	res, err := e.auth.Login(context.Background(), &logsv1.LoginRequest{Email: testAdminEmail, Password: testAdminPassword})
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(time.Hour), res.GetExpireTime().AsTime(), 5*time.Second)
	var expires time.Time
	sum := sha256.Sum256([]byte(res.GetToken()))
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT expires_at FROM logs.sessions WHERE token_hash = $1`, sum[:]).Scan(&expires))
	require.True(t, res.GetExpireTime().AsTime().Equal(expires), "the answer is what was stored")
}

func TestBootstrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	countUsers := func(e *env) int {
		var n int
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM logs.users`).Scan(&n))
		return n
	}

	e := newEnv(t)
	require.Equal(t, 1, countUsers(e))
	cur, err := e.auth.GetCurrentUser(e.admin(), &logsv1.GetCurrentUserRequest{})
	require.NoError(t, err)
	require.Equal(t, "admin", cur.GetUser().GetRole())

	// A second start (or another replica) changes nothing, even with other
	// settings.
	again := New(zaptest.NewLogger(t), e.pool, Config{AdminEmail: "other@example.com", AdminPassword: "other-password", BcryptCost: bcrypt.MinCost})
	require.NoError(t, again.Bootstrap(ctx))
	require.Equal(t, 1, countUsers(e))

	t.Run("without settings", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.AdminEmail, c.AdminPassword = "", "" })
		require.Equal(t, 0, countUsers(e))
	})
	t.Run("bad settings", func(t *testing.T) {
		pool := cluster.NewPool(t)
		svc := New(zaptest.NewLogger(t), pool, Config{AdminEmail: "admin@example.com", AdminPassword: "short", BcryptCost: bcrypt.MinCost})
		err := svc.Bootstrap(ctx)
		require.ErrorContains(t, err, "password must be at least 8 characters")
		svc = New(zaptest.NewLogger(t), pool, Config{AdminEmail: "not-an-email", AdminPassword: "long-enough", BcryptCost: bcrypt.MinCost})
		require.ErrorContains(t, svc.Bootstrap(ctx), "admin email")
	})
}

func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, _ := e.login(testAdminEmail, testAdminPassword)
	e.pool.Close()

	_, err := e.auth.GetCurrentUser(ctx, &logsv1.GetCurrentUserRequest{})
	requireCode(t, err, codes.Unavailable, msgUnavailable)
	_, err = e.auth.Login(context.Background(), &logsv1.LoginRequest{Email: testAdminEmail, Password: testAdminPassword})
	requireCode(t, err, codes.Internal, apierr.MsgInternal)
	_, err = e.identity.ResolveApiKey(serviceCtx(), &identityv1.ResolveApiKeyRequest{ApiKey: "dsk_x"})
	requireCode(t, err, codes.Internal, apierr.MsgInternal)
}

func TestDatabaseUnreachable(t *testing.T) {
	// Nothing listens on port 1.
	pool, err := pgxpool.New(context.Background(), "host=127.0.0.1 port=1 user=x dbname=x sslmode=disable connect_timeout=2")
	require.NoError(t, err)
	defer pool.Close()
	svc := New(zaptest.NewLogger(t), pool, Config{BcryptCost: bcrypt.MinCost})
	_, err = (&identityServer{Service: svc}).ResolveApiKey(context.Background(), &identityv1.ResolveApiKeyRequest{ApiKey: "dsk_x"})
	mapped := apierr.ToStatus(context.Background(), svc.log, "/test", err)
	requireCode(t, mapped, codes.Unavailable, apierr.MsgDBDown)
	httpStatus, retry := apierr.HTTPStatus(status.Convert(mapped))
	require.Equal(t, http.StatusServiceUnavailable, httpStatus)
	require.Equal(t, apierr.DefaultRetry, retry)
}
