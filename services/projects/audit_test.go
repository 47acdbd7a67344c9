package projects

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore/partition"
)

const testUA = "audit-test/1.0"

// allEvents reads every event the caller may see, page by page.
func (e *env) allEvents(ctx context.Context, req *logsv1.ListAuditEventsRequest) []*logsv1.AuditEvent {
	e.t.Helper()
	var out []*logsv1.AuditEvent
	for {
		res, err := e.trail.ListAuditEvents(ctx, req)
		require.NoError(e.t, err)
		out = append(out, res.GetEvents()...)
		if res.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = res.GetNextPageToken()
	}
}

func actions(events []*logsv1.AuditEvent) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev.GetAction())
	}
	return out
}

// Every audited change of this service records who did it, from where,
// with what user agent, and what changed, newest first.
func TestAuditWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gw := func(ctx context.Context) context.Context { return viaGateway(ctx, "203.0.113.50", testUA) }
	res, err := e.auth.Login(gw(context.Background()), &logsv1.LoginRequest{Email: testAdminEmail, Password: testAdminPassword})
	require.NoError(t, err)
	admin := gw(bearer(res.GetToken()))
	_, err = e.auth.Login(gw(context.Background()), &logsv1.LoginRequest{Email: "Admin@Example.com", Password: "wrong-password"})
	requireCode(t, err, codes.Unauthenticated, msgBadLogin)
	_, err = e.auth.Login(gw(context.Background()), &logsv1.LoginRequest{Email: "ghost@example.com", Password: "wrong-password"})
	requireCode(t, err, codes.Unauthenticated, msgBadLogin)
	u, err := e.users.CreateUser(admin, &logsv1.CreateUserRequest{Email: "bob@example.com", Password: testPassword, Role: roleMember})
	require.NoError(t, err)
	p := e.newProject(admin, "audited")
	_, err = e.projects.AddProjectMember(admin, &logsv1.AddProjectMemberRequest{ProjectId: p.GetProjectId(), Email: "bob@example.com", Role: roleViewer})
	require.NoError(t, err)
	_, err = e.projects.RemoveProjectMember(admin, &logsv1.RemoveProjectMemberRequest{ProjectId: p.GetProjectId(), UserId: u.GetUser().GetId()})
	require.NoError(t, err)
	_, err = e.users.DeleteUser(admin, &logsv1.DeleteUserRequest{Id: u.GetUser().GetId()})
	require.NoError(t, err)
	carolCtx := func() context.Context {
		_, err := e.users.CreateUser(admin, &logsv1.CreateUserRequest{Email: "carol@example.com", Password: testPassword, Role: roleMember})
		require.NoError(t, err)
		r, err := e.auth.Login(gw(context.Background()), &logsv1.LoginRequest{Email: "carol@example.com", Password: testPassword})
		require.NoError(t, err)
		return gw(bearer(r.GetToken()))
	}()
	_, err = e.auth.Logout(carolCtx, &logsv1.LogoutRequest{})
	require.NoError(t, err)
	// A refused change records nothing.
	_, err = e.projects.RemoveProjectMember(admin, &logsv1.RemoveProjectMemberRequest{ProjectId: p.GetProjectId(), UserId: 9999})
	requireCode(t, err, codes.NotFound)

	events := e.allEvents(admin, &logsv1.ListAuditEventsRequest{})
	ours := events[:0:0]
	for _, ev := range events {
		if !strings.HasPrefix(ev.GetAction(), "project.create") && !strings.HasPrefix(ev.GetAction(), "project.key") {
			ours = append(ours, ev) // the keys part records those
		}
	}
	require.Equal(t, []string{
		auditLogout, auditLogin, auditUserCreate, // carol
		auditUserDelete, auditMemberRemove, auditMemberAdd, auditUserCreate,
		auditLoginFailed, auditLoginFailed, auditLogin,
		auditUserCreate, // the first admin, at start
	}, actions(ours))
	byIndex := func(i int) *logsv1.AuditEvent { return ours[i] }
	for i := range len(ours) - 1 {
		ev := byIndex(i)
		require.Equal(t, "203.0.113.50", ev.GetClientIp(), ev.GetAction())
		require.Equal(t, testUA, ev.GetUserAgent(), ev.GetAction())
		require.False(t, ev.GetTime().AsTime().Before(byIndex(i+1).GetTime().AsTime()), "newest first")
	}
	carolOut, carolIn := byIndex(0), byIndex(1)
	require.Equal(t, "carol@example.com", carolOut.GetActor().GetEmail())
	require.Equal(t, carolIn.GetActor().GetUserId(), carolOut.GetActor().GetUserId())
	require.NotZero(t, carolIn.GetActor().GetUserId())

	del := byIndex(3)
	require.Equal(t, testAdminEmail, del.GetActor().GetEmail())
	require.Equal(t, map[string]any{"user_id": float64(u.GetUser().GetId()), "email": "bob@example.com", "role": roleMember}, del.GetDetails().AsMap())
	rm, add := byIndex(4), byIndex(5)
	for _, ev := range []*logsv1.AuditEvent{rm, add} {
		require.Equal(t, "audited", ev.GetProjectSlug())
		require.Equal(t, map[string]any{"user_id": float64(u.GetUser().GetId()), "email": "bob@example.com", "role": roleViewer}, ev.GetDetails().AsMap())
	}
	ghost, known := byIndex(7), byIndex(8)
	require.Equal(t, "ghost@example.com", ghost.GetActor().GetEmail())
	require.Zero(t, ghost.GetActor().GetUserId(), "no user has that email")
	require.Equal(t, "Admin@Example.com", known.GetActor().GetEmail(), "the email as tried")
	require.NotZero(t, known.GetActor().GetUserId())
	first := byIndex(10)
	require.Equal(t, true, first.GetDetails().AsMap()["first_admin"])
	require.Empty(t, first.GetActor().GetEmail(), "the process made it, from its settings")
}

// Admins read every event; owners and maintainers their projects' only;
// others nothing.
func TestAuditVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	_, owner := e.newUser("owner@example.com", roleMember)
	_, maint := e.newUser("maint@example.com", roleMember)
	_, viewer := e.newUser("viewer@example.com", roleMember)
	mine := e.newProject(owner, "mine")
	other := e.newProject(admin, "other")
	for _, m := range []struct{ email, role string }{{"maint@example.com", roleMaintainer}, {"viewer@example.com", roleViewer}} {
		_, err := e.projects.AddProjectMember(owner, &logsv1.AddProjectMemberRequest{ProjectId: mine.GetProjectId(), Email: m.email, Role: m.role})
		require.NoError(t, err)
	}
	_, err := e.projects.AddProjectMember(admin, &logsv1.AddProjectMemberRequest{ProjectId: other.GetProjectId(), Email: "viewer@example.com", Role: roleViewer})
	require.NoError(t, err)

	all := e.allEvents(admin, &logsv1.ListAuditEventsRequest{})
	require.Contains(t, actions(all), auditLogin)
	for _, ctx := range []context.Context{owner, maint} {
		got := e.allEvents(ctx, &logsv1.ListAuditEventsRequest{})
		require.NotEmpty(t, got)
		for _, ev := range got {
			require.Equal(t, "mine", ev.GetProjectSlug(), "%s", ev.GetAction())
		}
		got = e.allEvents(ctx, &logsv1.ListAuditEventsRequest{Project: "mine", Action: auditMemberAdd})
		require.Len(t, got, 2)
		_, err := e.trail.ListAuditEvents(ctx, &logsv1.ListAuditEventsRequest{Project: "other"})
		requireCode(t, err, codes.NotFound, `project "other" not found`)
		_, err = e.trail.ListAuditEvents(ctx, &logsv1.ListAuditEventsRequest{Project: "nope"})
		requireCode(t, err, codes.NotFound, `project "nope" not found`)
	}
	_, err = e.trail.ListAuditEvents(viewer, &logsv1.ListAuditEventsRequest{})
	requireContains(t, err, codes.PermissionDenied, "owners and maintainers")
	_, err = e.trail.ListAuditEvents(viewer, &logsv1.ListAuditEventsRequest{Project: "mine"})
	requireContains(t, err, codes.PermissionDenied, "only owners, maintainers and admins")
	got := e.allEvents(admin, &logsv1.ListAuditEventsRequest{Project: "other"})
	require.Equal(t, []string{auditMemberAdd}, actions(got[:1]))
	_, err = e.trail.ListAuditEvents(context.Background(), &logsv1.ListAuditEventsRequest{})
	requireCode(t, err, codes.Unauthenticated)
}

func TestAuditFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	start := time.Now()
	for i := range 5 {
		_, err := e.users.CreateUser(admin, &logsv1.CreateUserRequest{Email: fmt.Sprintf("u%d@example.com", i), Password: testPassword, Role: roleMember})
		require.NoError(t, err)
	}
	_, err := e.auth.Login(context.Background(), &logsv1.LoginRequest{Email: "u1@example.com", Password: testPassword})
	require.NoError(t, err)
	_, err = e.auth.Login(context.Background(), &logsv1.LoginRequest{Email: "u1@example.com", Password: "wrong-password"})
	require.Error(t, err)

	// Pages of two cover everything once, newest first.
	everything := e.allEvents(admin, &logsv1.ListAuditEventsRequest{PageSize: 1000})
	paged := e.allEvents(admin, &logsv1.ListAuditEventsRequest{PageSize: 2})
	require.Equal(t, actions(everything), actions(paged))
	seen := map[int64]bool{}
	for _, ev := range paged {
		require.False(t, seen[ev.GetId()])
		seen[ev.GetId()] = true
	}

	require.Equal(t, []string{auditLoginFailed, auditLogin, auditLogin},
		actions(e.allEvents(admin, &logsv1.ListAuditEventsRequest{Action: "auth.*"})), "a family")
	require.Len(t, e.allEvents(admin, &logsv1.ListAuditEventsRequest{Action: auditUserCreate}), 6, "exact (with the first admin)")
	require.Equal(t, []string{auditLoginFailed, auditLogin},
		actions(e.allEvents(admin, &logsv1.ListAuditEventsRequest{Actor: "U1@example.com"})), "an actor, any case")
	require.Len(t, e.allEvents(admin, &logsv1.ListAuditEventsRequest{Since: timestamppb.New(start)}), len(everything)-2,
		"since: not the first admin's creation nor sign-in")
	require.Len(t, e.allEvents(admin, &logsv1.ListAuditEventsRequest{Until: timestamppb.New(start)}), 2)

	for _, c := range []struct {
		req  *logsv1.ListAuditEventsRequest
		code codes.Code
		msg  string
	}{
		{&logsv1.ListAuditEventsRequest{PageSize: -1}, codes.InvalidArgument, "page_size must not be negative"},
		{&logsv1.ListAuditEventsRequest{PageToken: "tampered!"}, codes.InvalidArgument, msgBadPage},
		{&logsv1.ListAuditEventsRequest{Action: "auth"}, codes.InvalidArgument, `action "auth": want an action such as project.key_rotate, or a family such as auth.*`},
		{&logsv1.ListAuditEventsRequest{Action: "auth.%"}, codes.InvalidArgument, `action "auth.%": want an action such as project.key_rotate, or a family such as auth.*`},
		{&logsv1.ListAuditEventsRequest{Since: timestamppb.New(start), Until: timestamppb.New(start)}, codes.InvalidArgument, "since must be before until"},
	} {
		_, err := e.trail.ListAuditEvents(admin, c.req)
		requireCode(t, err, c.code, c.msg)
	}
	// A token cut from a real one is refused too.
	res, err := e.trail.ListAuditEvents(admin, &logsv1.ListAuditEventsRequest{PageSize: 1})
	require.NoError(t, err)
	_, err = e.trail.ListAuditEvents(admin, &logsv1.ListAuditEventsRequest{PageToken: res.GetNextPageToken()[:4]})
	requireCode(t, err, codes.InvalidArgument, msgBadPage)
}

// No event carries a password, session token or API key used while it
// was recorded.
func TestAuditNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.LoginFailures = 2 })
	admin, adminToken := e.login(testAdminEmail, testAdminPassword)
	secrets := []string{testAdminPassword, testPassword, adminToken, "wrong-password-1", "wrong-password-2"}
	_, bob := e.newUser("bob@example.com", roleMember)
	_, bobToken := e.login("bob@example.com", testPassword)
	secrets = append(secrets, bobToken)
	p := e.newProject(bob, "secretive")
	secrets = append(secrets, p.GetApiKey())
	rot, err := e.projects.RegenerateProjectKey(bob, &logsv1.RegenerateProjectKeyRequest{Id: p.GetProjectId()})
	require.NoError(t, err)
	secrets = append(secrets, rot.GetApiKey())
	_, err = e.projects.AddProjectMember(bob, &logsv1.AddProjectMemberRequest{ProjectId: p.GetProjectId(), Email: testAdminEmail, Role: roleViewer})
	require.NoError(t, err)
	for _, pw := range []string{"wrong-password-1", "wrong-password-2"} {
		_, err := e.auth.Login(context.Background(), &logsv1.LoginRequest{Email: "bob@example.com", Password: pw})
		require.Error(t, err)
	}
	_, err = e.resolveKey("dsk_" + strings.Repeat("x", 43))
	require.Error(t, err)
	secrets = append(secrets, "dsk_"+strings.Repeat("x", 43))
	_, err = e.auth.Logout(bob, &logsv1.LogoutRequest{})
	require.NoError(t, err)

	events := e.allEvents(admin, &logsv1.ListAuditEventsRequest{})
	require.GreaterOrEqual(t, len(events), 8)
	for _, ev := range events {
		b, err := protojson.Marshal(ev)
		require.NoError(t, err)
		for _, s := range secrets {
			require.NotContains(t, string(b), s, "event %s", ev.GetAction())
		}
	}
	// Nor does the table itself, in any column.
	var dump string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(a::text, ' '), '') FROM logs.audit_events a`).Scan(&dump))
	for _, s := range secrets {
		require.NotContains(t, dump, s)
	}
}

// The database refuses to change or delete events; only dropping a
// partition past retention removes them.
func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.admin()
	ctx := context.Background()
	for _, sql := range []string{
		`UPDATE logs.audit_events SET action = 'nothing.happened'`,
		`DELETE FROM logs.audit_events`,
		`TRUNCATE logs.audit_events`,
	} {
		_, err := e.pool.Exec(ctx, sql)
		require.ErrorContains(t, err, "logs.audit_events is append-only", sql)
		require.ErrorContains(t, err, "refused", sql)
	}
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM logs.audit_events WHERE action <> 'nothing.happened'`).Scan(&n))
	require.Equal(t, 2, n, "the first admin's creation and sign-in are intact")
}

func TestAuditPartitions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now()
	retention := 400 * 24 * time.Hour
	// 15 months ago ended over 400 days ago; 13 months ago did not.
	expired, kept := month(now).AddDate(0, -15, 0), month(now).AddDate(0, -13, 0)
	for _, m := range []time.Time{expired, kept} {
		_, err := e.pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE logs.%s PARTITION OF logs.audit_events FOR VALUES FROM ('%s') TO ('%s')`,
			auditPartitionName(m), m.Format(time.RFC3339), m.AddDate(0, 1, 0).Format(time.RFC3339)))
		require.NoError(t, err)
		_, err = e.pool.Exec(ctx, `INSERT INTO logs.audit_events (time, action) VALUES ($1, 'auth.login'), ($2, 'auth.login')`,
			m, m.AddDate(0, 1, 0).Add(-time.Second))
		require.NoError(t, err)
	}

	// Replicas at once take turns.
	var wg sync.WaitGroup
	results := make([][]string, 3)
	errs := make([]error, 3)
	for i := range 3 {
		wg.Go(func() { results[i], errs[i] = maintainAuditPartitions(ctx, e.pool, now, retention) })
	}
	wg.Wait()
	var dropped []string
	for i := range 3 {
		require.NoError(t, errs[i])
		dropped = append(dropped, results[i]...)
	}
	require.Equal(t, []string{auditPartitionName(expired)}, dropped, "dropped once, by one of them")

	names, err := partition.Children(ctx, e.pool, "audit_events")
	require.NoError(t, err)
	want := []string{auditPartitionName(kept)}
	for i := range 3 {
		want = append(want, auditPartitionName(month(now).AddDate(0, i, 0)))
	}
	require.Equal(t, want, names, "the kept month, this month and the next two")
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM logs.audit_events WHERE time < $1`, month(now).AddDate(0, -12, 0)).Scan(&n))
	require.Equal(t, 2, n, "the kept month's events, and only those")
	// An event can be written at the end of the last month ahead.
	_, err = e.pool.Exec(ctx, `INSERT INTO logs.audit_events (time, action) VALUES ($1, 'auth.login')`,
		month(now).AddDate(0, 3, 0).Add(-time.Second))
	require.NoError(t, err)
}
