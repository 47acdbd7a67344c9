package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// fromClient is a browser at addr behind the trusted proxy (the tests'
// loopback), with its User-Agent.
func fromClient(addr, userAgent string) reqOpt {
	return func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", addr)
		r.Header.Set("User-Agent", userAgent)
	}
}

// auditEvents reads GET /api/audit with the query, every page.
func (pl *platform) auditEvents(t *testing.T, tok string, query url.Values) []map[string]any {
	t.Helper()
	var out []map[string]any
	for {
		r := pl.do(t, "GET", "/api/audit?"+query.Encode(), nil, bearer(tok)).expect(t, 200)
		for _, e := range r.JSON["events"].([]any) {
			out = append(out, e.(map[string]any))
		}
		next, _ := r.JSON["next_page_token"].(string)
		if next == "" {
			return out
		}
		query.Set("page_token", next)
	}
}

// find returns the newest event of an action whose details match.
func find(t *testing.T, events []map[string]any, action string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	for _, e := range events {
		if e["action"] == action && (match == nil || match(e)) {
			return e
		}
	}
	t.Fatalf("no %s event in %v", action, events)
	return nil
}

var digits = regexp.MustCompile(`[0-9]+`)

// The audit trail over the REST API, against the real all-in-one: sign-ins,
// a failed one, users and members, each with its actor, address and user
// agent; a maintainer reads only their project's events; ten wrong
// passwords lock the account and the address, after which the right
// password and an unknown email get the same answer; ten invalid API keys
// lock out their address; the lockouts are audited; no event carries a
// secret of the test.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	pl := startAllInOne(t)
	const ua = "e2e-audit/1.0 (test)"
	admin := pl.do(t, "POST", "/api/auth/login", map[string]string{"email": adminEmail, "password": adminPassword},
		fromClient("203.0.113.5", ua)).expect(t, 200).JSON["token"].(string)
	as := func(tok string) []reqOpt { return []reqOpt{bearer(tok), fromClient("203.0.113.5", ua)} }
	pl.do(t, "POST", "/api/auth/login", map[string]string{"email": adminEmail, "password": "not-the-password"},
		fromClient("203.0.113.5", ua)).expectError(t, 401, "UNAUTHENTICATED", "invalid email or password")

	bob := pl.do(t, "POST", "/api/users", map[string]string{"email": "bob@example.com", "password": "bob-password-1", "role": "member"}, as(admin)...).expect(t, 201)
	bobID := num(t, bob.JSON["user"].(map[string]any)["id"])
	pl.do(t, "POST", "/api/users", map[string]string{"email": "maint@example.com", "password": "maint-password-1", "role": "member"}, as(admin)...).expect(t, 201)
	proj := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Audited", "slug": "audited"}, as(admin)...).expect(t, 201)
	projectID := num(t, proj.JSON["project_id"])
	apiKey := proj.JSON["api_key"].(string)
	pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Other", "slug": "other"}, as(admin)...).expect(t, 201)
	members := fmt.Sprintf("/api/logs/projects/%d/members", projectID)
	pl.do(t, "POST", members, map[string]string{"email": "maint@example.com", "role": "maintainer"}, as(admin)...).expect(t, 201)
	pl.do(t, "POST", members, map[string]string{"email": "bob@example.com", "role": "viewer"}, as(admin)...).expect(t, 201)
	pl.do(t, "DELETE", fmt.Sprintf("%s/%d", members, bobID), nil, as(admin)...).expect(t, 200)
	pl.do(t, "DELETE", fmt.Sprintf("/api/users/%d", bobID), nil, as(admin)...).expect(t, 200)
	other := pl.do(t, "POST", "/api/auth/login", map[string]string{"email": "maint@example.com", "password": "maint-password-1"},
		fromClient("203.0.113.5", ua)).expect(t, 200).JSON["token"].(string)
	pl.do(t, "POST", "/api/auth/logout", nil, as(other)...).expect(t, 200)

	events := pl.auditEvents(t, admin, url.Values{})
	for _, c := range []struct {
		action, email string
		match         func(map[string]any) bool
	}{
		{"auth.login", adminEmail, nil},
		{"auth.login_failed", adminEmail, nil},
		{"user.create", adminEmail, func(e map[string]any) bool { return e["details"].(map[string]any)["email"] == "bob@example.com" }},
		{"project.member_add", adminEmail, func(e map[string]any) bool { return e["details"].(map[string]any)["role"] == "viewer" }},
		{"project.member_remove", adminEmail, nil},
		{"user.delete", adminEmail, nil},
		{"auth.logout", "maint@example.com", nil},
	} {
		e := find(t, events, c.action, func(e map[string]any) bool {
			return e["actor"].(map[string]any)["email"] == c.email && (c.match == nil || c.match(e))
		})
		require.Equal(t, "203.0.113.5", e["client_ip"], c.action)
		require.Equal(t, ua, e["user_agent"], c.action)
		require.NotEmpty(t, e["time"], c.action)
		require.NotZero(t, num(t, e["id"]), c.action)
	}
	rm := find(t, events, "project.member_remove", nil)
	require.Equal(t, "audited", rm["project_slug"])
	require.Equal(t, map[string]any{"user_id": float64(bobID), "email": "bob@example.com", "role": "viewer"}, rm["details"])

	// The maintainer sees their project's events only; another project is
	// not found for them; paging and filters work through the REST query.
	maint := pl.login(t, "maint@example.com", "maint-password-1")
	mine := pl.auditEvents(t, maint, url.Values{"page_size": {"1"}})
	require.NotEmpty(t, mine)
	for _, e := range mine {
		require.Equal(t, "audited", e["project_slug"], "%v", e)
	}
	pl.do(t, "GET", "/api/audit?project=other", nil, bearer(maint)).expectError(t, 404, "NOT_FOUND", `project "other" not found`)
	pl.do(t, "GET", "/api/audit?page_size=-1", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "page_size")
	pl.do(t, "GET", "/api/audit?page_token=forged", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "page_token")
	pl.do(t, "GET", "/api/audit", nil).expectError(t, 401, "UNAUTHENTICATED", "")
	logins := pl.auditEvents(t, admin, url.Values{"action": {"auth.*"}, "actor": {"maint@example.com"}})
	require.Len(t, logins, 3, "maint's sign-in, sign-out and the one above: %v", logins)

	// Ten wrong passwords from one address lock the account and the address.
	pl.do(t, "POST", "/api/users", map[string]string{"email": "carol@example.com", "password": "carol-password-1", "role": "member"}, as(admin)...).expect(t, 201)
	attempt := func(email, password string) response {
		return pl.do(t, "POST", "/api/auth/login", map[string]string{"email": email, "password": password}, fromClient("198.51.100.66", "guesser/1"))
	}
	var wrongBody []byte
	for i := range 10 {
		r := attempt("carol@example.com", fmt.Sprintf("guess-%d-password", i))
		r.expectError(t, 401, "UNAUTHENTICATED", "invalid email or password")
		wrongBody = r.Raw
	}
	right := attempt("carol@example.com", "carol-password-1")
	right.expectError(t, 429, "RESOURCE_EXHAUSTED", "too many failed sign-ins")
	unknown := attempt("nobody@example.com", "whatever-password")
	require.Equal(t, right.Status, unknown.Status)
	require.Equal(t, digits.ReplaceAll(right.Raw, nil), digits.ReplaceAll(unknown.Raw, nil), "an unknown email gets the same answer")
	for _, r := range []response{right, unknown} {
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		require.NoError(t, err, "Retry-After: %q", r.Header.Get("Retry-After"))
		require.InDelta(t, 900, secs, 2)
	}
	// Before any lock, an unknown email's answer is a wrong password's.
	ghost := pl.do(t, "POST", "/api/auth/login", map[string]string{"email": "ghost@example.com", "password": "whatever-password"}, fromClient("198.51.100.67", "guesser/1"))
	require.Equal(t, 401, ghost.Status)
	require.Equal(t, wrongBody, ghost.Raw)
	// The account is locked from everywhere; others still sign in from there.
	pl.do(t, "POST", "/api/auth/login", map[string]string{"email": "carol@example.com", "password": "carol-password-1"},
		fromClient("198.51.100.68", "ua")).expectError(t, 429, "RESOURCE_EXHAUSTED", "too many failed sign-ins")

	// Invalid API keys at the batch endpoint lock the client's address
	// (forwarded gateway → ingestion → projects); a valid key keeps
	// working from it.
	batch := map[string]any{"service_name": "svc", "logs": []map[string]any{{"message": "hello", "level": "INFO"}}}
	send := func(k, addr string) response {
		return pl.do(t, "POST", "/api/logs/batch", batch, header("X-API-Key", k), fromClient(addr, "key-guesser/1"))
	}
	for i := range 9 {
		send(fmt.Sprintf("dsk_guess%d", i), "198.51.100.80").expectError(t, 401, "UNAUTHENTICATED", "invalid or revoked API key")
	}
	r := send("dsk_guess9", "198.51.100.80")
	r.expectError(t, 429, "RESOURCE_EXHAUSTED", "too many invalid API keys from this address")
	require.NotEmpty(t, r.Header.Get("Retry-After"))
	send("dsk_guess10", "198.51.100.81").expectError(t, 401, "UNAUTHENTICATED", "invalid or revoked API key")
	send(apiKey, "198.51.100.80").expect(t, 201)
	keyLock := pl.auditEvents(t, admin, url.Values{"action": {"auth.lockout"}})[0]
	require.Equal(t, "198.51.100.80", keyLock["client_ip"], "the client's address, not the gateway's or ingestion's")
	require.Equal(t, map[string]any{"scope": "address", "credential": "api_key", "failures": float64(10), "until": keyLock["details"].(map[string]any)["until"]},
		keyLock["details"])

	locks := pl.auditEvents(t, admin, url.Values{"action": {"auth.lockout"}})[1:]
	require.Len(t, locks, 2, "%v", locks)
	scopes := map[string]bool{}
	for _, e := range locks {
		d := e["details"].(map[string]any)
		scopes[d["scope"].(string)] = true
		require.Equal(t, "password", d["credential"])
		require.NotEmpty(t, d["until"])
		require.Equal(t, "198.51.100.66", e["client_ip"])
		require.Equal(t, "carol@example.com", e["actor"].(map[string]any)["email"])
	}
	require.Equal(t, map[string]bool{"address": true, "account": true}, scopes)

	// Nothing the test sent as a secret is in the trail.
	raw, err := json.Marshal(pl.auditEvents(t, admin, url.Values{"page_size": {"1000"}}))
	require.NoError(t, err)
	for _, secret := range []string{adminPassword, "not-the-password", "bob-password-1", "maint-password-1", "carol-password-1", "guess-3-password", admin, maint, other, apiKey} {
		require.NotContains(t, string(raw), secret)
	}
	require.NotContains(t, string(raw), "dsk_"+apiKey[4:12])
}

// Two projects services over one database, each its own process: failures
// counted by one lock out on the other.
func TestLockoutAcrossProjectsProcesses(t *testing.T) {
	t.Parallel()
	env := []string{
		"DATABASE_URL=" + cluster.NewDatabase(t),
		"DEVSMITH_SERVICE_TOKEN=e2e-service-token",
		"DEVSMITH_ADMIN_EMAIL=" + adminEmail,
		"DEVSMITH_ADMIN_PASSWORD=" + adminPassword,
		"DEVSMITH_GRPC_ADDR=127.0.0.1:0",
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY=0",
		"DEVSMITH_LOGIN_SLOWDOWN=1ms",
	}
	var clients []logsv1.AuthServiceClient
	for range 2 {
		p := startProc(t, "devsmith-projects", env)
		conn, err := grpc.NewClient(serviceAddr(t, p, "projects"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		clients = append(clients, logsv1.NewAuthServiceClient(conn))
	}
	ctx := context.Background()
	for i := range 10 {
		_, err := clients[i%2].Login(ctx, &logsv1.LoginRequest{Email: adminEmail, Password: "wrong-password"})
		require.Equal(t, codes.Unauthenticated, status.Code(err), "attempt %d: %v", i, err)
	}
	for i, c := range clients {
		_, err := c.Login(ctx, &logsv1.LoginRequest{Email: adminEmail, Password: adminPassword})
		require.Equal(t, codes.ResourceExhausted, status.Code(err), "replica %d: %v", i, err)
		require.True(t, strings.HasPrefix(status.Convert(err).Message(), "too many failed sign-ins"))
	}
}
