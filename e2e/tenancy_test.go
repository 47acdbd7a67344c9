package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/gateway"
)

// The tenancy matrix: every REST route (the bindings of
// proto/devsmith/logs/v1/http.yaml, the gateway's hand-written routes and
// the platform's /metrics) × every kind of caller gets exactly the status it
// should, and no successful answer carries data of a tenant the caller may
// not see. A route without a row fails the test: adding an endpoint means
// adding its row to tenancyRows.

// caller is who sends a request.
type caller int

const (
	anonymous    caller = iota // no credential
	expired                    // a session past its expiry
	outsider                   // a signed-in user with no access to the project
	viewer                     // viewer of the project
	maintainer                 // maintainer of the project
	admin                      // the platform's admin
	owner                      // the project's owner (a member user who created it)
	ownKey                     // the project's default API key (scope ingest)
	otherKey                   // another project's default API key
	readKey                    // a key of the project with the read scope only
	otherReadKey               // another project's read key
	numCallers
)

var callerNames = [numCallers]string{"no credential", "expired session", "user without access", "viewer", "maintainer", "admin", "owner", "own key", "other project's key", "own read key", "other project's read key"}

func (c caller) String() string { return callerNames[c] }

// want is the status each caller must get, in caller order.
type want [numCallers]int

// Shapes of access most routes share; a row may also spell its own.
func public(ok int) want { return want{ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok} }

// signedIn: any session; keys are not sessions (401).
func signedIn(ok int) want { return want{401, 401, ok, ok, ok, ok, ok, 401, 401, 401, 401} }

// members: readers of the project (403 for a user without access).
func members(ok int) want { return want{401, 401, 403, ok, ok, ok, ok, 401, 401, 401, 401} }

// reads: the query API on one project: its readers and its read key; a
// key without the read scope is 403, another project's read key 403 as a
// user without access.
func reads(ok int) want { return want{401, 401, 403, ok, ok, ok, ok, 403, 403, ok, 403} }

// readsAll: the query API on every project the caller sees (a read key:
// its own).
func readsAll(ok int) want { return want{401, 401, ok, ok, ok, ok, ok, 403, 403, ok, ok} }

// writers: maintainers, owners, admins.
func writers(ok int) want { return want{401, 401, 403, 403, ok, ok, ok, 401, 401, 401, 401} }

// managers: owners and admins.
func managers(ok int) want { return want{401, 401, 403, 403, 403, ok, ok, 401, 401, 401, 401} }

// admins: the platform's admins only.
func admins(ok int) want { return want{401, 401, 403, 403, 403, ok, 403, 401, 401, 401, 401} }

// keys: ingestion by API key with the ingest scope; sessions are not
// keys, read keys may not write (403).
func keys(own, other int) want { return want{401, 401, 401, 401, 401, 401, 401, own, other, 403, 403} }

// tenant is a project of the matrix, with what only it holds.
type tenant struct {
	id      int64
	slug    string
	key     string
	readKey string // scope read only
	marker  string // in its entries' messages, service names and error titles
	group   string // an error group id
}

// secrets are strings that must not appear in an answer to a caller who
// may not see the tenant.
func (p *tenant) secrets() []string { return []string{p.slug, p.marker} }

type matrixUser struct {
	id              int64
	email, password string
	token           string
}

// tenancy is the world the matrix runs in.
type tenancy struct {
	pl      *platform
	adminTk string
	users   map[caller]*matrixUser // outsider, viewer, maintainer, owner
	ownerB  *matrixUser
	probe   *matrixUser // a user added to and removed from projects
	expired string
	a, b    *tenant
}

// request is one call of a row against a target project.
type request struct {
	path string
	body any
	opts []reqOpt
}

// tenancyRow is one route (or one variant of it) of the matrix.
type tenancyRow struct {
	route   string // METHOD and pattern, as http.yaml or the mux spells it
	variant string
	// fresh: a success changes its target for good (deletes, rotates,
	// ends the session), so each cell gets a new project and new sessions.
	fresh  bool
	stream bool // an SSE stream: the status is read, then the call ends
	req    func(tc *tenancy, p *tenant) request
	want   want
	// pending names what will change the row once its part lands.
	pending string
	// shows: a success of a caller who sees the target holds the target's
	// marker (the read returned its data, not an empty page).
	shows bool
	// exposes, when set, is why a successful answer may name other
	// tenants (a documented exposure): the leak check is not made.
	exposes string
}

func tenancyRows() []tenancyRow {
	get := func(path string) func(*tenancy, *tenant) request {
		return func(_ *tenancy, p *tenant) request { return request{path: strings.ReplaceAll(path, "{slug}", p.slug)} }
	}
	id := func(p *tenant) string { return fmt.Sprint(p.id) }
	batch := func(_ *tenancy, p *tenant) request {
		return request{path: "/api/logs/batch", body: map[string]any{"project_slug": p.slug, "service_name": "matrix", "logs": []any{map[string]any{"message": "matrix write"}}}}
	}
	return []tenancyRow{
		// AuthService.
		{route: "POST /api/auth/login", req: func(tc *tenancy, _ *tenant) request {
			return request{path: "/api/auth/login", body: map[string]string{"email": tc.probe.email, "password": tc.probe.password}}
		}, want: public(200)},
		{route: "POST /api/auth/logout", fresh: true, req: func(*tenancy, *tenant) request {
			return request{path: "/api/auth/logout", body: map[string]any{}}
		}, want: signedIn(200)},
		{route: "GET /api/auth/me", req: get("/api/auth/me"), want: signedIn(200)},
		{route: "GET /api/auth/setup", req: get("/api/auth/setup"), want: public(200)},
		// The first admin exists: nobody creates another (409), whatever
		// they send.
		{route: "POST /api/auth/setup", req: func(*tenancy, *tenant) request {
			return request{path: "/api/auth/setup", body: map[string]string{"email": "second-admin@example.com", "password": "second-admin-pw"}}
		}, want: public(409)},

		// UserService: admins only.
		{route: "GET /api/users", req: get("/api/users"), want: admins(200)},
		{route: "POST /api/users", req: func(*tenancy, *tenant) request {
			return request{path: "/api/users", body: map[string]string{"email": "u-" + randHex(6) + "@example.com", "password": "matrix-password-1", "role": "member"}}
		}, want: admins(201)},
		{route: "DELETE /api/users/{id}", fresh: true, req: func(tc *tenancy, _ *tenant) request {
			u := tc.newUser(nil)
			return request{path: "/api/users/" + fmt.Sprint(u.id)}
		}, want: admins(200)},

		// ProjectService.
		{route: "POST /api/logs/projects", req: func(*tenancy, *tenant) request {
			s := "tm-new-" + randHex(6)
			return request{path: "/api/logs/projects", body: map[string]string{"name": s, "slug": s}}
		}, want: signedIn(201)},
		{route: "GET /api/logs/projects", req: get("/api/logs/projects"), want: signedIn(200)},
		{route: "GET /api/logs/projects/{id}", req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/logs/projects/" + id(p)}
		}, want: members(200)},
		{route: "PUT /api/logs/projects/{id}/regenerate-key", fresh: true, req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/logs/projects/" + id(p) + "/regenerate-key", body: map[string]any{}}
		}, want: writers(200)},
		{route: "DELETE /api/logs/projects/{id}", fresh: true, req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/logs/projects/" + id(p)}
		}, want: managers(200)},
		{route: "GET /api/logs/projects/{project_id}/members", req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/logs/projects/" + id(p) + "/members"}
		}, want: members(200)},
		{route: "POST /api/logs/projects/{project_id}/members", fresh: true, req: func(tc *tenancy, p *tenant) request {
			return request{path: "/api/logs/projects/" + id(p) + "/members", body: map[string]string{"email": tc.probe.email, "role": "maintainer"}}
		}, want: managers(201)},
		{route: "DELETE /api/logs/projects/{project_id}/members/{user_id}", fresh: true, req: func(tc *tenancy, p *tenant) request {
			return request{path: "/api/logs/projects/" + id(p) + "/members/" + fmt.Sprint(tc.probe.id)}
		}, want: managers(200)},
		// UpdateProject: the project's maintainers, owner and admins.
		{route: "PATCH /api/logs/projects/{id}", req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/logs/projects/" + id(p), body: map[string]any{"description": "patched"}}
		}, want: writers(200)},
		// Keys: the project's owner, maintainers and admins (docs/keys.md).
		{route: "POST /api/logs/projects/{project_id}/keys", req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/logs/projects/" + id(p) + "/keys", body: map[string]any{"name": "ci", "scopes": []string{"read"}}}
		}, want: writers(201)},
		{route: "GET /api/logs/projects/{project_id}/keys", shows: false, req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/logs/projects/" + id(p) + "/keys"}
		}, want: writers(200)},
		{route: "DELETE /api/logs/projects/{project_id}/keys/{key_id}", fresh: true, req: func(tc *tenancy, p *tenant) request {
			r := tc.raw("POST", "/api/logs/projects/"+id(p)+"/keys", map[string]any{"name": "doomed", "scopes": []string{"ingest"}}, bearer(tc.users[owner].token))
			kid := "0"
			if k, ok := r.JSON["key"].(map[string]any); ok {
				kid = fmt.Sprint(k["id"])
			}
			return request{path: "/api/logs/projects/" + id(p) + "/keys/" + kid}
		}, want: writers(200)},
		// AuditService (docs/audit.md): admins, and the project's owner
		// and maintainers; a project the caller cannot read is not found,
		// one they only view refused.
		{route: "GET /api/audit", variant: "one project", req: get("/api/audit?project={slug}"),
			want: want{401, 401, 404, 403, 200, 200, 200, 401, 401, 401, 401}},
		// Without a project: the events of every project the caller owns
		// or maintains, never another's (the leak check). Every user of
		// the matrix owns one by now (the POST projects row made it); one
		// who owns and maintains none is refused (403, services/projects
		// TestAuditVisibility).
		{route: "GET /api/audit", variant: "every project the caller owns or maintains", req: get("/api/audit"), want: signedIn(200)},

		// QueryService: the project's readers and its read key (a key
		// without the read scope is 403; docs/keys.md).
		{route: "GET /api/logs/entries", variant: "one project", shows: true, req: get("/api/logs/entries?project={slug}"), want: reads(200)},
		{route: "GET /api/logs/entries", variant: "every project the caller sees", shows: true, req: get("/api/logs/entries"), want: readsAll(200)},
		{route: "GET /api/logs/entries", variant: "a search", shows: true, req: get("/api/logs/entries?q=marker"), want: readsAll(200)},
		{route: "GET /api/logs/export", shows: true, req: get("/api/logs/export?project={slug}"), want: reads(200)},
		{route: "GET /api/logs/export", variant: "every project the caller sees", shows: true, req: get("/api/logs/export"), want: readsAll(200)},
		{route: "GET /api/logs/stats", variant: "one project", req: get("/api/logs/stats?project={slug}"), want: reads(200)},
		{route: "GET /api/logs/stats", variant: "every project the caller sees", req: get("/api/logs/stats"), want: readsAll(200)},
		{route: "GET /api/logs/services", shows: true, req: get("/api/logs/services?project={slug}"), want: reads(200)},
		{route: "GET /api/logs/services", variant: "every project the caller sees", shows: true, req: get("/api/logs/services"), want: readsAll(200)},
		{route: "GET /api/logs/patterns", req: get("/api/logs/patterns?project={slug}"), want: reads(200)},
		{route: "GET /api/logs/errors", shows: true, req: get("/api/logs/errors?project={slug}"), want: reads(200)},
		{route: "GET /api/logs/errors", variant: "every project the caller sees", shows: true, req: get("/api/logs/errors"), want: readsAll(200)},
		// An error group of a project the caller cannot read is not found
		// (404, as one that does not exist: its id reveals nothing), where
		// a project is named and so answers 403.
		{route: "GET /api/logs/errors/{id}", req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/logs/errors/" + p.group}
		}, want: want{401, 401, 404, 200, 200, 200, 200, 403, 403, 200, 404}},
		{route: "PATCH /api/logs/errors/{id}", req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/logs/errors/" + p.group, body: map[string]string{"status": "open"}}
		}, want: want{401, 401, 404, 403, 200, 200, 200, 403, 403, 403, 403}},
		{route: "GET /api/logs/metrics", req: get("/api/logs/metrics?project={slug}"), want: reads(200)},
		{route: "GET /api/logs/tail", stream: true, req: get("/api/logs/tail?project={slug}"), want: reads(200)},

		// AnalysisService.
		{route: "POST /api/logs/analysis", req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/logs/analysis", body: map[string]any{"project": []string{p.slug}}}
		}, want: members(200)},

		// AlertService (docs/alerts.md): sessions only (a key is 401);
		// the project's owner, maintainers and admins manage its rules,
		// viewers read them, and a rule of a project the caller cannot see
		// is not found (404), as is the project when creating one.
		{route: "POST /api/alerts", req: func(_ *tenancy, p *tenant) request {
			return request{path: "/api/alerts", body: matrixAlert(p)}
		}, want: want{401, 401, 404, 403, 201, 201, 201, 401, 401, 401, 401}},
		{route: "GET /api/alerts", req: get("/api/alerts"), want: signedIn(200)},
		{route: "GET /api/alerts/{id}", shows: true, req: func(tc *tenancy, p *tenant) request {
			return request{path: "/api/alerts/" + tc.newAlert(p)}
		}, want: want{401, 401, 404, 200, 200, 200, 200, 401, 401, 401, 401}},
		{route: "GET /api/alerts/{id}/firings", req: func(tc *tenancy, p *tenant) request {
			return request{path: "/api/alerts/" + tc.newAlert(p) + "/firings"}
		}, want: want{401, 401, 404, 200, 200, 200, 200, 401, 401, 401, 401}},
		{route: "PATCH /api/alerts/{id}", req: func(tc *tenancy, p *tenant) request {
			return request{path: "/api/alerts/" + tc.newAlert(p), body: map[string]any{"name": "patched " + p.marker}}
		}, want: want{401, 401, 404, 403, 200, 200, 200, 401, 401, 401, 401}},
		{route: "DELETE /api/alerts/{id}", req: func(tc *tenancy, p *tenant) request {
			return request{path: "/api/alerts/" + tc.newAlert(p)}
		}, want: want{401, 401, 404, 403, 200, 200, 200, 401, 401, 401, 401}},
		{route: "POST /api/alerts/{id}/test", req: func(tc *tenancy, p *tenant) request {
			return request{path: "/api/alerts/" + tc.newAlert(p) + "/test", body: map[string]any{}}
		}, want: want{401, 401, 404, 403, 200, 200, 200, 401, 401, 401, 401}},

		// Ingestion, by API key only; another project's key writes to its
		// own project where the body names none (Loki, OTLP), and is
		// refused where it names this one (the batch's project_slug).
		{route: "POST /api/logs/batch", req: batch, want: keys(201, 403)},
		{route: "POST /loki/api/v1/push", req: func(*tenancy, *tenant) request {
			ts := fmt.Sprint(time.Now().UnixNano())
			return request{path: "/loki/api/v1/push", body: map[string]any{"streams": []any{map[string]any{"stream": map[string]string{"service_name": "matrix"}, "values": [][]string{{ts, "loki matrix"}}}}}}
		}, want: keys(204, 204)},
		{route: "POST /v1/logs", req: func(*tenancy, *tenant) request {
			return request{path: "/v1/logs", body: map[string]any{"resourceLogs": []any{}}}
		}, want: keys(200, 200)},

		// Open to anyone, and holding no tenant's data.
		{route: "GET /healthz", req: get("/healthz"), want: public(200)},
		{route: "GET /readyz", req: get("/readyz"), want: public(200)},
		{route: "GET /metrics", req: get("/metrics"), want: public(200),
			exposes: "project slugs in metric labels, unauthenticated (docs/operations.md: keep /metrics off the public ingress, or scrape --metrics-addr)"},
		{route: gateway.DashboardRoute, variant: "index", req: get("/"), want: public(200)},
		{route: gateway.DashboardRoute, variant: "a client-side route", req: get("/projects/" + "x"), want: public(200)},
	}
}

// routesToCover are the routes the matrix must have a row for: every rule
// of http.yaml, every hand-written route of the gateway, and /metrics,
// which the platform serves on the gateway's port.
func routesToCover(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../proto/devsmith/logs/v1/http.yaml")
	require.NoError(t, err)
	defer f.Close()
	rule := regexp.MustCompile(`^\s+(get|post|put|patch|delete):\s*(\S+)\s*$`)
	var routes []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := rule.FindStringSubmatch(sc.Text()); m != nil {
			routes = append(routes, strings.ToUpper(m[1])+" "+strings.Trim(m[2], `"'`))
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, routes, "no rule read from http.yaml")
	routes = append(routes, gateway.HandRoutes()...)
	return append(routes, "GET /metrics")
}

func TestTenancyMatrixCoversEveryRoute(t *testing.T) {
	t.Parallel()
	rows := map[string]bool{}
	for _, r := range tenancyRows() {
		rows[r.route] = true
	}
	var missing []string
	for _, route := range routesToCover(t) {
		if !rows[route] {
			missing = append(missing, route)
		}
		delete(rows, route)
	}
	require.Empty(t, missing, "routes without a row in the tenancy matrix (e2e/tenancy_test.go tenancyRows):\n%s", strings.Join(missing, "\n"))
	require.Empty(t, rows, "rows for routes that no longer exist")
}

func TestTenancyMatrix(t *testing.T) {
	t.Parallel()
	pl := startAllInOne(t)
	tc := newTenancy(t, pl)

	rows := tenancyRows()
	cells, pending, exposed := 0, 0, 0
	var failures []string
	for _, row := range rows {
		if row.pending != "" {
			pending++
		}
		if row.exposes != "" {
			exposed++
			t.Logf("%s: not checked for other tenants' data: %s", row.route, row.exposes)
		}
		for c := range numCallers {
			cells++
			target := tc.a
			if row.fresh {
				target = tc.newProject(t, "tm-fresh-"+randHex(6))
			}
			req := row.req(tc, target)
			status, body := tc.call(t, row, c, target, req)
			name := row.route
			if row.variant != "" {
				name += " (" + row.variant + ")"
			}
			if status != row.want[c] {
				failures = append(failures, fmt.Sprintf("%s as %s: got %d, want %d: %.300s", name, c, status, row.want[c], body))
				continue
			}
			if status/100 == 2 && row.shows && (c == viewer || c == maintainer || c == owner || c == admin) && !bytes.Contains(body, []byte(target.marker)) {
				failures = append(failures, fmt.Sprintf("%s as %s: the answer lacks the project's own data (%q): %.300s", name, c, target.marker, body))
			}
			if status/100 == 2 && row.exposes == "" {
				for _, p := range tc.hidden(c, target) {
					for _, s := range p.secrets() {
						if bytes.Contains(body, []byte(s)) {
							failures = append(failures, fmt.Sprintf("%s as %s: the answer holds %q of a tenant the caller may not see: %.300s", name, c, s, body))
						}
					}
				}
			}
		}
	}
	t.Logf("tenancy matrix: %d routes, %d rows × %d callers = %d cells (%d rows pending another part, %d with a documented exposure)", len(routesToCover(t)), len(rows), numCallers, cells, pending, exposed)
	require.Empty(t, failures, "%d of %d cells wrong:\n%s", len(failures), cells, strings.Join(failures, "\n"))
}

// newTenancy seeds two projects of two owners, each with its own entries,
// error group and markers, and the users of every caller kind.
func newTenancy(t *testing.T, pl *platform) *tenancy {
	t.Helper()
	tc := &tenancy{pl: pl, adminTk: pl.login(t, adminEmail, adminPassword), users: map[caller]*matrixUser{}}
	for _, c := range []caller{outsider, viewer, maintainer, owner} {
		tc.users[c] = tc.newUser(t)
	}
	tc.ownerB = tc.newUser(t)
	tc.probe = tc.newUser(t)
	tc.a = tc.newProject(t, "tm-alpha-"+randHex(6))
	tc.b = tc.newProjectOf(t, tc.ownerB, "tm-bravo-"+randHex(6))
	for _, p := range []*tenant{tc.a, tc.b} {
		tc.seed(t, p)
	}
	// An expired session: signed in, then past its expiry in the database.
	exp := tc.newUser(t)
	tc.expired = exp.token
	sum := sha256.Sum256([]byte(exp.token))
	tag, err := pl.db.Exec(context.Background(), "UPDATE logs.sessions SET expires_at = now() - interval '1 minute' WHERE token_hash = $1", sum[:])
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())
	return tc
}

// newUser creates a member user and signs them in. With t nil (inside a
// cell) a failure is not fatal: it shows as the cell's wrong status.
func (tc *tenancy) newUser(t *testing.T) *matrixUser {
	u := &matrixUser{email: "tm-" + randHex(6) + "@example.com", password: "matrix-password-1"}
	r := tc.raw("POST", "/api/users", map[string]string{"email": u.email, "password": u.password, "role": "member"}, bearer(tc.adminTk))
	if r.Status != 201 {
		if t != nil {
			t.Fatalf("creating a user: %d %s", r.Status, r.Raw)
		}
		return u
	}
	u.id = int64(r.JSON["user"].(map[string]any)["id"].(float64))
	u.token = tc.signIn(u)
	return u
}

func (tc *tenancy) signIn(u *matrixUser) string {
	r := tc.raw("POST", "/api/auth/login", map[string]string{"email": u.email, "password": u.password})
	tok, _ := r.JSON["token"].(string)
	return tok
}

// newProject makes a project owned by the owner user, shared with the
// viewer and the maintainer (and the probe user as a viewer).
func (tc *tenancy) newProject(t *testing.T, slug string) *tenant {
	p := tc.newProjectOf(t, tc.users[owner], slug)
	for _, m := range []struct {
		u    *matrixUser
		role string
	}{{tc.users[viewer], "viewer"}, {tc.users[maintainer], "maintainer"}, {tc.probe, "viewer"}} {
		tc.raw("POST", fmt.Sprintf("/api/logs/projects/%d/members", p.id), map[string]string{"email": m.u.email, "role": m.role}, bearer(tc.users[owner].token)).expect(t, 201)
	}
	return p
}

func (tc *tenancy) newProjectOf(t *testing.T, u *matrixUser, slug string) *tenant {
	r := tc.raw("POST", "/api/logs/projects", map[string]string{"name": slug, "slug": slug}, bearer(u.token)).expect(t, 201)
	p := &tenant{id: num(t, r.JSON["project_id"]), slug: slug, key: r.JSON["api_key"].(string), marker: "marker" + strings.TrimPrefix(slug, "tm")}
	k := tc.raw("POST", fmt.Sprintf("/api/logs/projects/%d/keys", p.id), map[string]any{"name": "reader", "scopes": []string{"read"}}, bearer(u.token)).expect(t, 201)
	p.readKey = k.JSON["api_key"].(string)
	return p
}

// seed writes the project's entries: its marker in messages, service and
// an error group, with a metric.
func (tc *tenancy) seed(t *testing.T, p *tenant) {
	entry := func(level, msg string) map[string]any {
		return map[string]any{"level": level, "message": msg, "context": map[string]any{"duration_ms": 12, "route": "/" + p.marker}}
	}
	tc.raw("POST", "/api/logs/batch", map[string]any{"service_name": "svc-" + p.marker, "logs": []any{
		entry("INFO", "hello "+p.marker), entry("ERROR", "failure "+p.marker), entry("WARN", "warning marker "+p.marker),
	}}, bearer(p.key)).expect(t, 201)
	require.Eventually(t, func() bool {
		r := tc.raw("GET", "/api/logs/errors?project="+p.slug, nil, bearer(tc.adminTk))
		groups, _ := r.JSON["groups"].([]any)
		if len(groups) == 0 {
			return false
		}
		p.group = groups[0].(map[string]any)["id"].(string)
		return true
	}, 30*time.Second, 50*time.Millisecond, "no error group for %s", p.slug)
}

// hidden are the tenants whose data the caller must not see, of the
// target and the two seeded.
func (tc *tenancy) hidden(c caller, target *tenant) []*tenant {
	all := []*tenant{tc.a, tc.b}
	if target != tc.a {
		all = append(all, target)
	}
	var out []*tenant
	for _, p := range all {
		visible := false
		switch c {
		case admin:
			visible = true
		case viewer, maintainer, owner:
			visible = p != tc.b // members of A and of every fresh project
		case ownKey:
			visible = p == target
		case otherKey, otherReadKey:
			visible = p == tc.b
		case readKey:
			visible = p == target
		}
		if !visible {
			out = append(out, p)
		}
	}
	return out
}

// credential is the header of caller c for a call on target: fresh rows
// get new sessions (their success may end them).
func (tc *tenancy) credential(c caller, target *tenant, fresh bool) reqOpt {
	switch c {
	case anonymous:
		return func(*http.Request) {}
	case expired:
		return bearer(tc.expired)
	case admin:
		if fresh {
			return bearer(tc.signIn(&matrixUser{email: adminEmail, password: adminPassword}))
		}
		return bearer(tc.adminTk)
	case ownKey:
		return bearer(target.key)
	case otherKey:
		return bearer(tc.b.key)
	case readKey:
		return bearer(target.readKey)
	case otherReadKey:
		return bearer(tc.b.readKey)
	}
	u := tc.users[c]
	if fresh {
		return bearer(tc.signIn(u))
	}
	return bearer(u.token)
}

func (tc *tenancy) call(t *testing.T, row tenancyRow, c caller, target *tenant, req request) (int, []byte) {
	t.Helper()
	method, _, _ := strings.Cut(row.route, " ")
	if row.route == gateway.DashboardRoute {
		method = "GET"
	}
	opts := append([]reqOpt{tc.credential(c, target, row.fresh)}, req.opts...)
	if !row.stream {
		r := tc.raw(method, req.path, req.body, opts...)
		return r.Status, r.Raw
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, method, tc.pl.baseURL+req.path, nil)
	require.NoError(t, err)
	for _, o := range opts {
		o(hr)
	}
	res, err := tc.pl.httpClient().Do(hr)
	require.NoError(t, err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	return res.StatusCode, nil // the stream itself is the tail's tests' business
}

// raw is pl.do without failing on a transport error's absence of JSON.
func (tc *tenancy) raw(method, path string, body any, opts ...reqOpt) response {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, tc.pl.baseURL+path, rd)
	if err != nil {
		return response{Status: -1, Raw: []byte(err.Error())}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	res, err := tc.pl.httpClient().Do(req)
	if err != nil {
		return response{Status: -1, Raw: []byte(err.Error())}
	}
	defer res.Body.Close()
	var payload io.Reader = res.Body
	if res.Header.Get("Content-Type") == "application/gzip" {
		// An export: its JSON lines are what is checked.
		if zr, err := gzip.NewReader(res.Body); err == nil {
			payload = zr
		}
	}
	raw, _ := io.ReadAll(payload)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(raw, &out.JSON)
	}
	return out
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// matrixAlert is a rule of p that never fires (its webhook, a closed local
// port, is only reached by test notifications).
func matrixAlert(p *tenant) map[string]any {
	return map[string]any{
		"name": "matrix " + p.marker, "project": p.slug, "window": "1m",
		"condition": map[string]any{"type": "count", "threshold": 1e9},
		"channels":  []any{map[string]any{"type": "webhook", "url": "http://127.0.0.1:9/matrix"}},
	}
}

// newAlert creates a rule of p as its owner and returns its id ("0" when
// that failed: the cell then shows the wrong status).
func (tc *tenancy) newAlert(p *tenant) string {
	tok := tc.users[owner].token
	if p == tc.b {
		tok = tc.ownerB.token
	}
	r := tc.raw("POST", "/api/alerts", matrixAlert(p), bearer(tok))
	if a, ok := r.JSON["alert"].(map[string]any); ok {
		return fmt.Sprint(a["id"])
	}
	return "0"
}
