package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/devsmith/logs/internal/testcert"
)

// browserSession is a sign-in as the dashboard makes it: the session and
// CSRF cookies the gateway set.
type browserSession struct {
	pl            *platform
	session, csrf string
}

func browserLogin(t *testing.T, pl *platform, email, password string) browserSession {
	t.Helper()
	r := pl.do(t, "POST", "/api/auth/login", map[string]string{"email": email, "password": password}).expect(t, 200)
	return browserSessionOf(t, pl, r)
}

// browserSessionOf reads the cookies of a sign-in's answer.
func browserSessionOf(t *testing.T, pl *platform, r response) browserSession {
	t.Helper()
	s := browserSession{pl: pl}
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		switch c.Name {
		case "devsmith_session":
			s.session = c.Value
		case "devsmith_csrf":
			s.csrf = c.Value
		}
	}
	require.NotEmpty(t, s.session, "no session cookie in %v", r.Header.Values("Set-Cookie"))
	require.NotEmpty(t, s.csrf, "no CSRF cookie in %v", r.Header.Values("Set-Cookie"))
	return s
}

func (s browserSession) cookie() reqOpt {
	return header("Cookie", "devsmith_session="+s.session+"; devsmith_csrf="+s.csrf)
}
func (s browserSession) csrfHeader() reqOpt { return header("X-CSRF-Token", s.csrf) }

// opts are what the dashboard's fetch sends: cookies, its Origin, the token.
func (s browserSession) opts() []reqOpt {
	return []reqOpt{s.cookie(), s.csrfHeader(), header("Origin", s.pl.baseURL)}
}

func setCookieLine(t *testing.T, r response, name string) string {
	t.Helper()
	for _, v := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			return v
		}
	}
	t.Fatalf("no Set-Cookie %s in %v", name, r.Header.Values("Set-Cookie"))
	return ""
}

// The browser's defences on a plain (laptop) platform: the cookies, the
// CSRF check of cookie-authenticated writes, and the security headers.
func TestBrowserSecurity(t *testing.T) {
	t.Parallel()
	pl := startAllInOne(t)

	r := pl.do(t, "POST", "/api/auth/login", map[string]string{"email": adminEmail, "password": adminPassword}).expect(t, 200)
	sess := setCookieLine(t, r, "devsmith_session")
	require.Contains(t, sess, "HttpOnly")
	require.Contains(t, sess, "SameSite=Lax", "links from mail and chat keep the session")
	require.NotContains(t, sess, "Secure", "plain HTTP: a Secure cookie would never come back")
	csrf := setCookieLine(t, r, "devsmith_csrf")
	require.NotContains(t, csrf, "HttpOnly", "the dashboard's script reads the CSRF token")
	require.Contains(t, csrf, "SameSite=Lax")
	b := browserSessionOf(t, pl, r)
	require.NotEqual(t, b.session, b.csrf)
	require.NotContains(t, string(r.Raw), b.csrf, "the token is a cookie, not in the body")

	t.Run("security headers on API, dashboard and errors", func(t *testing.T) {
		for _, path := range []string{"/api/auth/me", "/", "/projects", "/api/nope", "/healthz"} {
			res := pl.do(t, "GET", path, nil, bearer(b.session))
			h := res.Header
			require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), path)
			require.Equal(t, "DENY", h.Get("X-Frame-Options"), path)
			require.Equal(t, "strict-origin-when-cross-origin", h.Get("Referrer-Policy"), path)
			csp := h.Get("Content-Security-Policy")
			require.Contains(t, csp, "frame-ancestors 'none'", path)
			require.NotContains(t, csp, "unsafe-inline", path)
			require.NotContains(t, csp, "unsafe-eval", path)
			require.Empty(t, h.Get("Strict-Transport-Security"), "%s: no HSTS over plain HTTP", path)
		}
		// The dashboard's own policy allows its scripts from itself only.
		csp := pl.do(t, "GET", "/", nil).Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self'")
		require.Contains(t, csp, "style-src 'self'")
		// index.html has no inline script or style the policy would block.
		html := string(pl.do(t, "GET", "/", nil).Raw)
		require.NotContains(t, html, "<style")
		require.NotRegexp(t, `<script(?:\s[^>]*)?>\s*[^<\s]`, html, "inline script in index.html")
		require.NotContains(t, html, " style=")
	})

	t.Run("CSRF on cookie-authenticated writes", func(t *testing.T) {
		create := func(slug string) map[string]string { return map[string]string{"name": slug, "slug": slug} }
		origin := header("Origin", pl.baseURL)
		pl.do(t, "POST", "/api/logs/projects", create("csrf-none"), b.cookie(), b.csrfHeader()).
			expectError(t, 403, "csrf", "neither Origin nor Referer")
		pl.do(t, "POST", "/api/logs/projects", create("csrf-evil"), b.cookie(), b.csrfHeader(), header("Origin", "https://evil.example")).
			expectError(t, 403, "csrf", "Origin https://evil.example is not this site")
		pl.do(t, "POST", "/api/logs/projects", create("csrf-evil-ref"), b.cookie(), b.csrfHeader(), header("Referer", "https://evil.example/page")).
			expectError(t, 403, "csrf", "Referer https://evil.example is not this site")
		pl.do(t, "POST", "/api/logs/projects", create("csrf-notoken"), b.cookie(), origin).
			expectError(t, 403, "csrf", "X-CSRF-Token header (the devsmith_csrf cookie's value) is missing")
		pl.do(t, "DELETE", "/api/users/1", nil, b.cookie(), origin, header("X-CSRF-Token", "forged")).
			expectError(t, 403, "csrf", "does not match the session")
		// Another session's token does not fit this session.
		other := browserLogin(t, pl, adminEmail, adminPassword)
		pl.do(t, "POST", "/api/logs/projects", create("csrf-other"), b.cookie(), origin, other.csrfHeader()).
			expectError(t, 403, "csrf", "does not match the session")
		var n int
		require.NoError(t, pl.db.QueryRow(context.Background(), "SELECT count(*) FROM logs.projects WHERE slug LIKE 'csrf-%'").Scan(&n))
		require.Zero(t, n, "a refused write created a project")

		pl.do(t, "POST", "/api/logs/projects", create("csrf-ok"), b.opts()...).expect(t, 201)
		pl.do(t, "POST", "/api/logs/projects", create("csrf-referer"), b.cookie(), b.csrfHeader(), header("Referer", pl.baseURL+"/projects")).expect(t, 201)
		// API clients (Authorization, X-API-Key) need neither.
		key := pl.do(t, "POST", "/api/logs/projects", create("csrf-bearer"), bearer(b.session)).expect(t, 201).JSON["api_key"].(string)
		send(t, pl, key, "api", map[string]any{"level": "INFO", "message": "key write"})
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "web", "logs": []any{map[string]any{"message": "from a page"}}},
			header("X-API-Key", key), header("Origin", "https://elsewhere.example")).expect(t, 201)
		// Sign-in needs a same-site origin when it says one, no token.
		pl.do(t, "POST", "/api/auth/login", map[string]string{"email": adminEmail, "password": adminPassword}, header("Origin", "https://evil.example")).
			expectError(t, 403, "csrf", "not this site")
		pl.do(t, "POST", "/api/auth/login", map[string]string{"email": adminEmail, "password": adminPassword}, b.cookie(), origin).expect(t, 200)
		// Sign-out clears both cookies.
		out := pl.do(t, "POST", "/api/auth/logout", map[string]string{}, other.opts()...).expect(t, 200)
		require.Contains(t, setCookieLine(t, out, "devsmith_session"), "Max-Age=0")
		require.Contains(t, setCookieLine(t, out, "devsmith_csrf"), "Max-Age=0")
	})
}

// tlsClient trusts the test's CA only, and opens a new connection per
// request (so a rotated certificate is seen).
func tlsClient(ca *testcert.CA) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}, Timeout: 30 * time.Second}
}

// servedSerial is the serial of the certificate addr serves, over a new
// TLS connection that trusts ca (ALPN h2, as gRPC requires).
func servedSerial(t *testing.T, ca *testcert.CA, addr string) *big.Int {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
	require.NoError(t, err)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

// The all-in-one with a certificate: HTTPS on the gateway, TLS on every
// gRPC listener and between the services, HSTS and Secure cookies, and a
// rotated certificate served without restart (a broken one is not).
func TestTLS(t *testing.T) {
	t.Parallel()
	ca, err := testcert.NewCA("DevSmith e2e CA")
	require.NoError(t, err)
	dir := t.TempDir()
	first, err := ca.Issue("127.0.0.1", "localhost")
	require.NoError(t, err)
	certFile, keyFile, err := first.Write(dir)
	require.NoError(t, err)
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ca.PEM, 0o644))

	pl := startAllInOneEnv(t, newDataDir(t), "127.0.0.1:0", []string{
		"DEVSMITH_TLS_CERT=" + certFile,
		"DEVSMITH_TLS_KEY=" + keyFile,
		"DEVSMITH_TLS_CA=" + caFile,
		"DEVSMITH_TLS_RELOAD_INTERVAL=200ms",
	}, tlsClient(ca))
	require.True(t, strings.HasPrefix(pl.baseURL, "https://"), pl.baseURL)
	httpAddr := strings.TrimPrefix(pl.baseURL, "https://")

	// The whole path over TLS: gateway → projects (sign-in), → ingestion
	// (which asks projects for the key), → query (which asks projects for
	// the session).
	r := pl.do(t, "POST", "/api/auth/login", map[string]string{"email": adminEmail, "password": adminPassword}).expect(t, 200)
	require.Contains(t, setCookieLine(t, r, "devsmith_session"), "Secure")
	require.Contains(t, setCookieLine(t, r, "devsmith_csrf"), "Secure")
	require.Equal(t, "max-age=31536000", r.Header.Get("Strict-Transport-Security"))
	admin := r.JSON["token"].(string)
	key := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "TLS", "slug": "tls"}, bearer(admin)).expect(t, 201).JSON["api_key"].(string)
	send(t, pl, key, "api", map[string]any{"level": "INFO", "message": "over tls"})
	entries := pl.do(t, "GET", "/api/logs/entries?project=tls", nil, bearer(admin)).expect(t, 200).JSON["entries"].([]any)
	require.Len(t, entries, 1)
	require.Equal(t, "over tls", entries[0].(map[string]any)["message"])

	// Plain HTTP on the HTTPS port is refused.
	res, err := http.Get("http://" + httpAddr + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)

	// Every gRPC listener serves TLS with the certificate; a plain client
	// gets nowhere.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	for _, svc := range []string{"projects", "ingestion", "query", "analysis"} {
		addr := pl.grpcAddrs[svc]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
		require.NoError(t, err)
		hr, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "liveness"})
		require.NoError(t, err, svc)
		require.Equal(t, healthpb.HealthCheckResponse_SERVING, hr.GetStatus(), svc)
		conn.Close()

		plain, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		_, err = healthpb.NewHealthClient(plain).Check(ctx, &healthpb.HealthCheckRequest{Service: "liveness"})
		require.Error(t, err, "%s answered a plain-text gRPC call", svc)
		plain.Close()
		cancel()
		require.Equal(t, first.Serial, servedSerial(t, ca, addr), svc)
	}
	require.Equal(t, first.Serial, servedSerial(t, ca, httpAddr))

	// Rotate: the new pair is served on every listener without restart.
	second, err := ca.Issue("127.0.0.1", "localhost")
	require.NoError(t, err)
	_, _, err = second.Write(dir)
	require.NoError(t, err)
	addrs := []string{httpAddr, pl.grpcAddrs["projects"], pl.grpcAddrs["ingestion"], pl.grpcAddrs["query"], pl.grpcAddrs["analysis"]}
	for _, addr := range addrs {
		require.Eventually(t, func() bool { return servedSerial(t, ca, addr).Cmp(second.Serial) == 0 },
			20*time.Second, 50*time.Millisecond, "%s still serves the old certificate", addr)
	}
	pl.procs[0].waitLog(t, "TLS certificate reloaded", nil)
	send(t, pl, key, "api", map[string]any{"level": "INFO", "message": "after rotation"})

	// A broken pair (the certificate of another key) keeps the one in use.
	third, err := ca.Issue("127.0.0.1")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(certFile, third.CertPEM, 0o644))
	// Handshakes make the check; the refusal is logged once tried.
	require.Eventually(t, func() bool {
		require.Equal(t, second.Serial, servedSerial(t, ca, httpAddr))
		return pl.procs[0].logged("new TLS certificate does not load; serving the previous one")
	}, 20*time.Second, 50*time.Millisecond, "the broken pair was not reported")
	for _, addr := range addrs {
		require.Equal(t, second.Serial, servedSerial(t, ca, addr), addr)
	}
	pl.do(t, "GET", "/api/auth/me", nil, bearer(admin)).expect(t, 200)
}

// logged reports whether p has logged msg so far.
func (p *proc) logged(msg string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if l["msg"] == msg {
			return true
		}
	}
	return false
}

// Each service in its own process with TLS: every hop between processes
// (gateway → projects, ingestion, query; ingestion and query → projects'
// IdentityService with the service credential) is a TLS connection
// checked against the CA and the address's name.
func TestTLSSeparateProcesses(t *testing.T) {
	t.Parallel()
	ca, err := testcert.NewCA("DevSmith e2e CA")
	require.NoError(t, err)
	dir := t.TempDir()
	leaf, err := ca.Issue("127.0.0.1")
	require.NoError(t, err)
	certFile, keyFile, err := leaf.Write(dir)
	require.NoError(t, err)
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ca.PEM, 0o644))
	pl := startSeparateEnv(t, []string{
		"DEVSMITH_TLS_CERT=" + certFile,
		"DEVSMITH_TLS_KEY=" + keyFile,
		"DEVSMITH_TLS_CA=" + caFile,
	}, tlsClient(ca))
	require.True(t, strings.HasPrefix(pl.baseURL, "https://"), pl.baseURL)
	for _, svc := range []string{"projects", "ingestion", "query", "analysis"} {
		require.Equal(t, leaf.Serial, servedSerial(t, ca, pl.grpcAddrs[svc]), svc)
	}
	admin := pl.login(t, adminEmail, adminPassword)
	key := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "TLS", "slug": "tls-apart"}, bearer(admin)).expect(t, 201).JSON["api_key"].(string)
	send(t, pl, key, "api", map[string]any{"level": "WARN", "message": "between processes"})
	entries := pl.do(t, "GET", "/api/logs/entries?project=tls-apart", nil, bearer(admin)).expect(t, 200).JSON["entries"].([]any)
	require.Len(t, entries, 1)
	require.Equal(t, "between processes", entries[0].(map[string]any)["message"])
}
