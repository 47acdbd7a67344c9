package projects

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/authn"
)

// retryOf returns the RetryInfo delay of a status error.
func retryOf(t *testing.T, err error) time.Duration {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	t.Fatalf("no RetryInfo in %v", err)
	return 0
}

// lockouts returns the auth.lockout events' details, oldest first, read
// as the admin signed in with ctx.
func (e *env) lockouts(admin context.Context) []map[string]any {
	e.t.Helper()
	res, err := e.trail.ListAuditEvents(admin, &logsv1.ListAuditEventsRequest{Action: auditLockout})
	require.NoError(e.t, err)
	var out []map[string]any
	for i := len(res.GetEvents()) - 1; i >= 0; i-- {
		ev := res.GetEvents()[i]
		d := ev.GetDetails().AsMap()
		d["client_ip"] = ev.GetClientIp()
		d["email"] = ev.GetActor().GetEmail()
		out = append(out, d)
	}
	return out
}

// Failures counted by one replica lock out on the other: the count is in
// PostgreSQL. Ten wrong passwords from an address lock it and the account
// for 15 minutes; then the right password and an unknown email get the
// same answer, and each lock is audited once.
func TestLockoutAcrossReplicas(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	b := a.newReplica()
	admin := a.admin()
	from := func(addr string) context.Context { return viaGateway(context.Background(), addr, "lockout-test") }
	wrong := &logsv1.LoginRequest{Email: testAdminEmail, Password: "wrong-password"}
	right := &logsv1.LoginRequest{Email: testAdminEmail, Password: testAdminPassword}
	unknown := &logsv1.LoginRequest{Email: "nobody@example.com", Password: "wrong-password"}

	for i := range defaultLoginFailures {
		replica := a
		if i%2 == 1 {
			replica = b
		}
		_, err := replica.auth.Login(from("203.0.113.7"), wrong)
		requireCode(t, err, codes.Unauthenticated, msgBadLogin)
	}
	_, errA := a.auth.Login(from("203.0.113.7"), right)
	requireCode(t, errA, codes.ResourceExhausted, "too many failed sign-ins; retry in 900 s")
	require.Equal(t, defaultLoginLockout, retryOf(t, errA))
	_, errB := b.auth.Login(from("203.0.113.7"), right)
	require.Equal(t, status.Convert(errA).Proto(), status.Convert(errB).Proto(), "both replicas refuse the same way")
	_, errUnknown := b.auth.Login(from("203.0.113.7"), unknown)
	require.Equal(t, status.Convert(errA).Proto(), status.Convert(errUnknown).Proto(), "an unknown email gets the identical answer")

	// The account is locked from every address; another account from
	// another address is not.
	_, err := a.auth.Login(from("203.0.113.8"), right)
	requireCode(t, err, codes.ResourceExhausted, "too many failed sign-ins; retry in 900 s")
	_, err = a.auth.Login(from("203.0.113.8"), unknown)
	requireCode(t, err, codes.Unauthenticated, msgBadLogin)

	locks := a.lockouts(admin)
	require.Len(t, locks, 2, "one event per lock, none for the refused attempts: %v", locks)
	until := a.clock.Now().Add(defaultLoginLockout).UTC().Format(time.RFC3339)
	for i, scope := range []string{scopeAddress, scopeAccount} {
		require.Equal(t, scope, locks[i]["scope"])
		require.Equal(t, credentialPassword, locks[i]["credential"])
		require.Equal(t, "203.0.113.7", locks[i]["client_ip"])
		require.Equal(t, testAdminEmail, locks[i]["email"])
		require.Equal(t, until, locks[i]["until"])
		require.EqualValues(t, defaultLoginFailures, locks[i]["failures"])
	}

	// The lock ends on both replicas at once.
	a.clock.Advance(defaultLoginLockout)
	_, err = b.auth.Login(from("203.0.113.7"), right)
	require.NoError(t, err)
}

// An account is locked by failures from many addresses, whether or not a
// user has it, and the answers before and during the lock do not tell
// which.
func TestLockoutPerAccountIndistinguishable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.LoginFailures = 3 })
	e.newUser("member@example.com", roleMember)
	for _, email := range []string{"member@example.com", "ghost@example.com"} {
		for i := range 3 {
			addr := "203.0.113." + string(rune('1'+i))
			_, err := e.auth.Login(viaGateway(context.Background(), addr, "ua"), &logsv1.LoginRequest{Email: email, Password: "wrong-password"})
			requireCode(t, err, codes.Unauthenticated, msgBadLogin)
		}
	}
	_, known := e.auth.Login(viaGateway(context.Background(), "192.0.2.1", "ua"), &logsv1.LoginRequest{Email: "MEMBER@example.com", Password: testPassword})
	_, ghost := e.auth.Login(viaGateway(context.Background(), "192.0.2.1", "ua"), &logsv1.LoginRequest{Email: "ghost@example.com", Password: testPassword})
	requireCode(t, known, codes.ResourceExhausted, "too many failed sign-ins; retry in 900 s")
	require.Equal(t, status.Convert(known).Proto(), status.Convert(ghost).Proto())
	// Other accounts from that address are not affected.
	_, err := e.auth.Login(viaGateway(context.Background(), "192.0.2.1", "ua"), &logsv1.LoginRequest{Email: testAdminEmail, Password: testAdminPassword})
	require.NoError(t, err)
}

// A good sign-in clears its account's failures but not its address's,
// and a lock is never lifted early.
func TestLockoutSuccessClearsAccountOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.LoginFailures = 3 })
	e.newUser("member@example.com", roleMember)
	from := viaGateway(context.Background(), "203.0.113.9", "ua")
	for range 2 {
		_, err := e.auth.Login(from, &logsv1.LoginRequest{Email: "member@example.com", Password: "wrong-password"})
		requireCode(t, err, codes.Unauthenticated, msgBadLogin)
	}
	_, err := e.auth.Login(from, &logsv1.LoginRequest{Email: "member@example.com", Password: testPassword})
	require.NoError(t, err)
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT failures FROM logs.auth_failures WHERE scope = 'address' AND subject = '203.0.113.9'`).Scan(&n))
	require.Equal(t, 2, n, "the address keeps its count")
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM logs.auth_failures WHERE scope = 'account'`).Scan(&n))
	require.Zero(t, n, "the account's count is gone")
	// One more failure, on any account, locks the address.
	_, err = e.auth.Login(from, &logsv1.LoginRequest{Email: "other@example.com", Password: "wrong-password"})
	requireCode(t, err, codes.Unauthenticated, msgBadLogin)
	_, err = e.auth.Login(from, &logsv1.LoginRequest{Email: "member@example.com", Password: testPassword})
	requireContains(t, err, codes.ResourceExhausted, "too many failed sign-ins")

	// A window that ended starts again from one.
	e.clock.Advance(defaultLoginLockout)
	_, err = e.auth.Login(from, &logsv1.LoginRequest{Email: "other@example.com", Password: "wrong-password"})
	requireCode(t, err, codes.Unauthenticated, msgBadLogin)
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT failures FROM logs.auth_failures WHERE scope = 'address' AND subject = '203.0.113.9'`).Scan(&n))
	require.Equal(t, 1, n)
}

// Each failed answer waits longer than the last, up to a bound; good
// answers do not wait.
func TestLockoutSlowdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.LoginFailures = 20
		c.LoginSlowdown = 10 * time.Millisecond
	})
	var mu sync.Mutex
	var waits []time.Duration
	e.svc.wait = func(_ context.Context, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
	}
	from := viaGateway(context.Background(), "203.0.113.10", "ua")
	for range 11 {
		_, err := e.auth.Login(from, &logsv1.LoginRequest{Email: testAdminEmail, Password: "wrong-password"})
		requireCode(t, err, codes.Unauthenticated, msgBadLogin)
	}
	_, err := e.auth.Login(from, &logsv1.LoginRequest{Email: testAdminEmail, Password: testAdminPassword})
	require.NoError(t, err)
	ms := time.Millisecond
	require.Equal(t, []time.Duration{10 * ms, 20 * ms, 30 * ms, 40 * ms, 50 * ms, 60 * ms, 70 * ms, 80 * ms, 80 * ms, 80 * ms}, waits,
		"no wait after the first failure, then one step more per failure, at most 8")
}

// Invalid API keys lock out the address they come from, across replicas;
// valid keys keep working from it.
func TestInvalidAPIKeysLockAddress(t *testing.T) {
	t.Parallel()
	a := newEnv(t, func(c *Config) { c.LoginFailures = 4 })
	b := a.newReplica(func(c *Config) { c.LoginFailures = 4 })
	key := a.newProject(a.admin(), "keyed").GetApiKey()
	// As ingestion calls: the service credential and the client's address
	// (authn.IdentityClient).
	from := func(addr string) context.Context {
		return metadata.AppendToOutgoingContext(serviceCtx(), "x-forwarded-for", addr)
	}
	bad := []string{"dsk_wrong1", "not-a-key", "dsk_wrong2"}
	for i, k := range bad {
		replica := []*env{a, b}[i%2]
		_, err := replica.identity.ResolveApiKey(from("203.0.113.20"), &identityv1.ResolveApiKeyRequest{ApiKey: k})
		requireCode(t, err, codes.Unauthenticated, msgBadAPIKey)
	}
	_, err := b.identity.ResolveApiKey(from("203.0.113.20"), &identityv1.ResolveApiKeyRequest{ApiKey: "dsk_wrong3"})
	requireCode(t, err, codes.ResourceExhausted, "too many invalid API keys from this address; retry in 900 s")
	require.Equal(t, defaultLoginLockout, retryOf(t, err))
	_, err = a.identity.ResolveApiKey(from("203.0.113.20"), &identityv1.ResolveApiKeyRequest{ApiKey: "dsk_wrong4"})
	requireCode(t, err, codes.ResourceExhausted, "too many invalid API keys from this address; retry in 900 s")

	res, err := a.identity.ResolveApiKey(from("203.0.113.20"), &identityv1.ResolveApiKeyRequest{ApiKey: key})
	require.NoError(t, err, "a valid key works from a locked address")
	require.Equal(t, "keyed", res.GetProjectSlug())
	_, err = a.identity.ResolveApiKey(from("203.0.113.21"), &identityv1.ResolveApiKeyRequest{ApiKey: "dsk_wrong5"})
	requireCode(t, err, codes.Unauthenticated, msgBadAPIKey)
	// Sign-ins from the address are counted apart.
	_, err = a.auth.Login(viaGateway(context.Background(), "203.0.113.20", "ua"), &logsv1.LoginRequest{Email: testAdminEmail, Password: testAdminPassword})
	require.NoError(t, err)

	locks := a.lockouts(a.admin())
	require.Len(t, locks, 1)
	require.Equal(t, scopeAddress, locks[0]["scope"])
	require.Equal(t, credentialAPIKey, locks[0]["credential"])
	require.Equal(t, "203.0.113.20", locks[0]["client_ip"])

	// A direct caller's own x-forwarded-for names nobody: without the
	// service credential the call is refused before any key is looked at.
	direct := metadata.AppendToOutgoingContext(context.Background(), "x-forwarded-for", "203.0.113.30")
	_, err = a.identity.ResolveApiKey(direct, &identityv1.ResolveApiKeyRequest{ApiKey: "dsk_wrong6"})
	requireCode(t, err, codes.PermissionDenied)
}

// The sweep deletes counts whose window and lock have ended, and only
// those.
func TestDeleteEndedFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.LoginFailures = 2 })
	login := func(addr, email string) {
		_, err := e.auth.Login(viaGateway(context.Background(), addr, "ua"), &logsv1.LoginRequest{Email: email, Password: "wrong-password"})
		requireCode(t, err, codes.Unauthenticated, msgBadLogin)
	}
	login("203.0.113.40", "x@example.com")
	login("203.0.113.40", "x@example.com") // locks the address and x@ for 15 min
	e.clock.Advance(defaultLoginWindow + time.Minute)
	login("203.0.113.41", "y@example.com") // fresh windows for .41 and y@
	n, err := e.svc.store.deleteEndedFailures(context.Background(), e.clock.Now(), defaultLoginWindow)
	require.NoError(t, err)
	require.Zero(t, n, "the locks last 15 minutes, the other windows just began")
	e.clock.Advance(defaultLoginLockout)
	n, err = e.svc.store.deleteEndedFailures(context.Background(), e.clock.Now(), defaultLoginWindow)
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
}

// authn.IdentityClient passes on the address of the client whose call it
// resolves a key for, trusting the x-forwarded-for of that call only when
// it carries the service credential (the gateway's).
func TestIdentityClientForwardsClientAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ic := authn.NewIdentityClient(e.identity, authn.ForwardClientAddress(testServiceToken))
	resolve := func(incoming metadata.MD) {
		ctx := metadata.NewIncomingContext(serviceCtx(), incoming)
		_, err := ic.APIKey(ctx, metadata.Pairs("x-api-key", "dsk_wrong"))
		requireCode(t, err, codes.Unauthenticated, msgBadAPIKey)
	}
	resolve(metadata.Pairs(authn.ServiceTokenHeader, testServiceToken, "x-forwarded-for", "203.0.113.60"))
	resolve(metadata.Pairs("x-forwarded-for", "203.0.113.61")) // a direct caller names nobody
	rows, err := e.pool.Query(context.Background(), `SELECT subject FROM logs.auth_failures WHERE scope = 'key_address' ORDER BY subject`)
	require.NoError(t, err)
	subjects, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"203.0.113.60", "unknown"}, subjects)
}
