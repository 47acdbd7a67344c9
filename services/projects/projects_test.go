package projects

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

func TestCreateProjectValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, member := e.newUser("member@example.com", "member")
	e.newProject(member, "taken")

	tests := []struct {
		name     string
		req      *logsv1.CreateProjectRequest
		code     codes.Code
		fragment string
	}{
		{"no name", &logsv1.CreateProjectRequest{Slug: "a"}, codes.InvalidArgument, "name is required"},
		{"blank name", &logsv1.CreateProjectRequest{Name: "   ", Slug: "a"}, codes.InvalidArgument, "name is required"},
		{"long name", &logsv1.CreateProjectRequest{Name: strings.Repeat("n", 201), Slug: "a"}, codes.InvalidArgument, "name must be at most 200"},
		{"no slug", &logsv1.CreateProjectRequest{Name: "A"}, codes.InvalidArgument, "slug must be 1-100 lowercase letters, digits or dashes"},
		{"upper slug", &logsv1.CreateProjectRequest{Name: "A", Slug: "My-App"}, codes.InvalidArgument, "slug must be 1-100 lowercase letters, digits or dashes"},
		{"slug with space", &logsv1.CreateProjectRequest{Name: "A", Slug: "my app"}, codes.InvalidArgument, "slug must be"},
		{"slug with underscore", &logsv1.CreateProjectRequest{Name: "A", Slug: "my_app"}, codes.InvalidArgument, "slug must be"},
		{"long slug", &logsv1.CreateProjectRequest{Name: "A", Slug: strings.Repeat("s", 101)}, codes.InvalidArgument, "slug must be"},
		{"long description", &logsv1.CreateProjectRequest{Name: "A", Slug: "a", Description: strings.Repeat("d", 2001)}, codes.InvalidArgument, "description must be at most 2000"},
		{"long url", &logsv1.CreateProjectRequest{Name: "A", Slug: "a", RepositoryUrl: "https://example.com/" + strings.Repeat("u", 2030)}, codes.InvalidArgument, "repository_url must be at most 2048"},
		{"ftp url", &logsv1.CreateProjectRequest{Name: "A", Slug: "a", RepositoryUrl: "ftp://example.com/repo"}, codes.InvalidArgument, "repository_url must be an http or https URL"},
		{"relative url", &logsv1.CreateProjectRequest{Name: "A", Slug: "a", RepositoryUrl: "example.com/repo"}, codes.InvalidArgument, "repository_url"},
		{"javascript url", &logsv1.CreateProjectRequest{Name: "A", Slug: "a", RepositoryUrl: "javascript:alert(1)"}, codes.InvalidArgument, "repository_url"},
		{"taken slug", &logsv1.CreateProjectRequest{Name: "A", Slug: "taken"}, codes.AlreadyExists, `slug "taken" is already taken`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.projects.CreateProject(member, tc.req)
			requireContains(t, err, tc.code, tc.fragment)
		})
	}

	t.Run("valid", func(t *testing.T) {
		for _, req := range []*logsv1.CreateProjectRequest{
			{Name: "Checkout API", Slug: "checkout-api", Description: "Payments", RepositoryUrl: "https://github.com/acme/checkout"},
			{Name: strings.Repeat("n", 200), Slug: strings.Repeat("s", 100), Description: strings.Repeat("d", 2000)},
			{Name: "Ünïcode ✓", Slug: "0-9", RepositoryUrl: "http://git.internal:8080/x"},
		} {
			res, err := e.projects.CreateProject(member, req)
			require.NoError(t, err)
			require.Equal(t, req.GetSlug(), res.GetSlug())
			require.Equal(t, req.GetName(), res.GetName())
			require.Equal(t, "Project created. Copy the API key now: it will not be shown again.", res.GetMessage())
			require.True(t, strings.HasPrefix(res.GetApiKey(), "dsk_"))
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(res.GetApiKey(), "dsk_"))
			require.NoError(t, err)
			require.Len(t, raw, 32)

			got, err := e.projects.GetProject(member, &logsv1.GetProjectRequest{Id: res.GetProjectId()})
			require.NoError(t, err)
			require.Equal(t, req.GetDescription(), got.GetProject().GetDescription())
			require.Equal(t, req.GetRepositoryUrl(), got.GetProject().GetRepositoryUrl())
			require.Equal(t, "owner", got.GetProject().GetRole())
			require.True(t, got.GetProject().GetIsActive())

			// The key is stored only as its digest.
			var stored []byte
			require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT key_hash FROM logs.api_keys WHERE project_id = $1 AND is_default`, res.GetProjectId()).Scan(&stored))
			require.Equal(t, digest(res.GetApiKey()), stored)
		}
	})
}

func TestProjectVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	_, alice := e.newUser("alice@example.com", "member")
	_, bob := e.newUser("bob@example.com", "member")
	a := e.newProject(admin, "admins")
	b := e.newProject(alice, "alices")

	slugs := func(ctx context.Context) map[string]string {
		res, err := e.projects.ListProjects(ctx, &logsv1.ListProjectsRequest{})
		require.NoError(t, err)
		out := map[string]string{}
		for _, p := range res.GetProjects() {
			out[p.GetSlug()] = p.GetRole()
		}
		return out
	}
	require.Equal(t, map[string]string{"admins": "owner", "alices": "admin"}, slugs(admin))
	require.Equal(t, map[string]string{"alices": "owner"}, slugs(alice))
	require.Empty(t, slugs(bob))

	_, err := e.projects.GetProject(alice, &logsv1.GetProjectRequest{Id: a.GetProjectId()})
	requireCode(t, err, codes.PermissionDenied, fmt.Sprintf("project %d is not yours", a.GetProjectId()))
	_, err = e.projects.GetProject(alice, &logsv1.GetProjectRequest{Id: 424242})
	requireCode(t, err, codes.NotFound, "project 424242 not found")
	got, err := e.projects.GetProject(admin, &logsv1.GetProjectRequest{Id: b.GetProjectId()})
	require.NoError(t, err)
	require.Equal(t, "admin", got.GetProject().GetRole())

	// Only the owner or an admin manages a project.
	_, err = e.projects.RegenerateProjectKey(bob, &logsv1.RegenerateProjectKeyRequest{Id: b.GetProjectId()})
	requireCode(t, err, codes.PermissionDenied, fmt.Sprintf("project %d is not yours", b.GetProjectId()))
	_, err = e.projects.DeleteProject(bob, &logsv1.DeleteProjectRequest{Id: b.GetProjectId()})
	requireCode(t, err, codes.PermissionDenied)
	_, err = e.projects.ListProjectMembers(bob, &logsv1.ListProjectMembersRequest{ProjectId: b.GetProjectId()})
	requireCode(t, err, codes.PermissionDenied)
	_, err = e.projects.RegenerateProjectKey(admin, &logsv1.RegenerateProjectKeyRequest{Id: b.GetProjectId()})
	require.NoError(t, err, "an admin rotates any key")

	// ResolveSession reports the same access.
	_, bobTok := e.login("bob@example.com", testPassword)
	res, err := e.identity.ResolveSession(serviceCtx(), &identityv1.ResolveSessionRequest{Token: bobTok})
	require.NoError(t, err)
	require.Equal(t, "bob@example.com", res.GetUser().GetEmail())
	require.Empty(t, res.GetProjects())
}

func TestSharing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ownerID, owner := e.newUser("owner@example.com", "member")
	friendID, friend := e.newUser("friend@example.com", "member")
	_, stranger := e.newUser("stranger@example.com", "member")
	p := e.newProject(owner, "shared")
	id := p.GetProjectId()

	// Share as viewer: reads, cannot rotate, delete or share.
	add, err := e.projects.AddProjectMember(owner, &logsv1.AddProjectMemberRequest{ProjectId: id, Email: "Friend@Example.com", Role: "viewer"})
	require.NoError(t, err)
	require.Equal(t, friendID, add.GetMember().GetUserId())
	require.Equal(t, "friend@example.com", add.GetMember().GetEmail())
	require.Equal(t, "viewer", add.GetMember().GetRole())

	got, err := e.projects.GetProject(friend, &logsv1.GetProjectRequest{Id: id})
	require.NoError(t, err)
	require.Equal(t, "viewer", got.GetProject().GetRole())
	require.Equal(t, ownerID, got.GetProject().GetOwnerId())
	list, err := e.projects.ListProjects(friend, &logsv1.ListProjectsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetProjects(), 1)
	members, err := e.projects.ListProjectMembers(friend, &logsv1.ListProjectMembersRequest{ProjectId: id})
	require.NoError(t, err)
	require.Len(t, members.GetMembers(), 1)
	_, err = e.projects.RegenerateProjectKey(friend, &logsv1.RegenerateProjectKeyRequest{Id: id})
	requireCode(t, err, codes.PermissionDenied, "viewers cannot rotate keys")
	_, err = e.projects.DeleteProject(friend, &logsv1.DeleteProjectRequest{Id: id})
	requireCode(t, err, codes.PermissionDenied)
	_, err = e.projects.AddProjectMember(friend, &logsv1.AddProjectMemberRequest{ProjectId: id, Email: "stranger@example.com", Role: "viewer"})
	requireCode(t, err, codes.PermissionDenied)
	_, friendTok := e.login("friend@example.com", testPassword)
	res, err := e.identity.ResolveSession(serviceCtx(), &identityv1.ResolveSessionRequest{Token: friendTok})
	require.NoError(t, err)
	require.Len(t, res.GetProjects(), 1)
	require.Equal(t, &identityv1.ProjectAccess{ProjectId: id, ProjectSlug: "shared", Role: "viewer", IsActive: true}, res.GetProjects()[0])

	// Upsert to maintainer: can rotate, still cannot delete.
	add, err = e.projects.AddProjectMember(owner, &logsv1.AddProjectMemberRequest{ProjectId: id, Email: "friend@example.com", Role: "maintainer"})
	require.NoError(t, err)
	require.Equal(t, "maintainer", add.GetMember().GetRole())
	members, err = e.projects.ListProjectMembers(owner, &logsv1.ListProjectMembersRequest{ProjectId: id})
	require.NoError(t, err)
	require.Len(t, members.GetMembers(), 1)
	require.Equal(t, "maintainer", members.GetMembers()[0].GetRole())
	rot, err := e.projects.RegenerateProjectKey(friend, &logsv1.RegenerateProjectKeyRequest{Id: id})
	require.NoError(t, err)
	_, err = e.resolveKey(rot.GetApiKey())
	require.NoError(t, err)
	_, err = e.projects.DeleteProject(friend, &logsv1.DeleteProjectRequest{Id: id})
	requireCode(t, err, codes.PermissionDenied, fmt.Sprintf("only the owner of project %d or an admin can delete it", id))

	// Bad shares.
	for _, tc := range []struct {
		name string
		req  *logsv1.AddProjectMemberRequest
		code codes.Code
		msg  string
	}{
		{"unknown email", &logsv1.AddProjectMemberRequest{ProjectId: id, Email: "ghost@example.com", Role: "viewer"}, codes.NotFound, "no user with email ghost@example.com"},
		{"owner", &logsv1.AddProjectMemberRequest{ProjectId: id, Email: "owner@example.com", Role: "viewer"}, codes.InvalidArgument, "owner"},
		{"bad role", &logsv1.AddProjectMemberRequest{ProjectId: id, Email: "stranger@example.com", Role: "owner"}, codes.InvalidArgument, "role must be"},
		{"no email", &logsv1.AddProjectMemberRequest{ProjectId: id, Role: "viewer"}, codes.InvalidArgument, "email is required"},
		{"no project", &logsv1.AddProjectMemberRequest{ProjectId: 9999, Email: "stranger@example.com", Role: "viewer"}, codes.NotFound, "project 9999 not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.projects.AddProjectMember(owner, tc.req)
			requireContains(t, err, tc.code, tc.msg)
		})
	}
	_, err = e.projects.GetProject(stranger, &logsv1.GetProjectRequest{Id: id})
	requireCode(t, err, codes.PermissionDenied)

	// Stop sharing.
	_, err = e.projects.RemoveProjectMember(friend, &logsv1.RemoveProjectMemberRequest{ProjectId: id, UserId: friendID})
	requireCode(t, err, codes.PermissionDenied, fmt.Sprintf("only the owner of project %d or an admin can stop sharing it", id))
	_, err = e.projects.RemoveProjectMember(owner, &logsv1.RemoveProjectMemberRequest{ProjectId: id, UserId: friendID})
	require.NoError(t, err)
	_, err = e.projects.GetProject(friend, &logsv1.GetProjectRequest{Id: id})
	requireCode(t, err, codes.PermissionDenied)
	_, err = e.projects.RemoveProjectMember(owner, &logsv1.RemoveProjectMemberRequest{ProjectId: id, UserId: friendID})
	requireCode(t, err, codes.NotFound, fmt.Sprintf("user %d is not a member of project %d", friendID, id))

	// An admin manages members of any project.
	_, err = e.projects.AddProjectMember(e.admin(), &logsv1.AddProjectMemberRequest{ProjectId: id, Email: "stranger@example.com", Role: "viewer"})
	require.NoError(t, err)
	_, err = e.projects.GetProject(stranger, &logsv1.GetProjectRequest{Id: id})
	require.NoError(t, err)
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, owner := e.newUser("owner@example.com", "member")
	p := e.newProject(owner, "rotating")

	res, err := e.resolveKey(p.GetApiKey())
	require.NoError(t, err)
	require.Equal(t, p.GetProjectId(), res.GetProjectId())
	require.Equal(t, "rotating", res.GetProjectSlug())

	rot, err := e.projects.RegenerateProjectKey(owner, &logsv1.RegenerateProjectKeyRequest{Id: p.GetProjectId()})
	require.NoError(t, err)
	require.Equal(t, "API key regenerated. The old key no longer works.", rot.GetMessage())
	require.NotEqual(t, p.GetApiKey(), rot.GetApiKey())

	_, err = e.resolveKey(p.GetApiKey())
	requireCode(t, err, codes.Unauthenticated, "invalid or revoked API key")
	res, err = e.resolveKey(rot.GetApiKey())
	require.NoError(t, err)
	require.Equal(t, p.GetProjectId(), res.GetProjectId())
}

func TestDeleteProject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, owner := e.newUser("owner@example.com", "member")
	p := e.newProject(owner, "doomed")
	other := e.newProject(owner, "survivor")

	del, err := e.projects.DeleteProject(owner, &logsv1.DeleteProjectRequest{Id: p.GetProjectId()})
	require.NoError(t, err)
	require.Equal(t, "Project deleted. Its API key no longer works; its logs stay readable.", del.GetMessage())

	_, err = e.resolveKey(p.GetApiKey())
	requireCode(t, err, codes.Unauthenticated, "invalid or revoked API key")
	_, err = e.resolveKey(other.GetApiKey())
	require.NoError(t, err)

	list, err := e.projects.ListProjects(owner, &logsv1.ListProjectsRequest{})
	require.NoError(t, err)
	active := map[string]bool{}
	for _, pr := range list.GetProjects() {
		active[pr.GetSlug()] = pr.GetIsActive()
	}
	require.Equal(t, map[string]bool{"doomed": false, "survivor": true}, active)

	var live int
	var deletedAt *time.Time
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT deleted_at, (SELECT count(*) FROM logs.api_keys WHERE project_id = $1 AND key_hash IS NOT NULL)
		FROM logs.projects WHERE id = $1`, p.GetProjectId()).Scan(&deletedAt, &live))
	require.Zero(t, live, "every key of a deleted project loses its digest")
	require.NotNil(t, deletedAt)

	_, err = e.projects.RegenerateProjectKey(owner, &logsv1.RegenerateProjectKeyRequest{Id: p.GetProjectId()})
	requireContains(t, err, codes.FailedPrecondition, "deleted")
	_, err = e.projects.CreateProject(owner, &logsv1.CreateProjectRequest{Name: "Again", Slug: "doomed"})
	requireCode(t, err, codes.AlreadyExists, `slug "doomed" is already taken`)
	_, err = e.projects.DeleteProject(owner, &logsv1.DeleteProjectRequest{Id: p.GetProjectId()})
	require.NoError(t, err, "deleting twice is harmless")
	_, err = e.projects.DeleteProject(owner, &logsv1.DeleteProjectRequest{Id: 9999})
	requireCode(t, err, codes.NotFound)

	// An admin deletes anyone's project and still sees it, inactive.
	admin := e.admin()
	_, err = e.projects.DeleteProject(admin, &logsv1.DeleteProjectRequest{Id: other.GetProjectId()})
	require.NoError(t, err)
	_, adminTok := e.login(testAdminEmail, testAdminPassword)
	res, err := e.identity.ResolveSession(serviceCtx(), &identityv1.ResolveSessionRequest{Token: adminTok})
	require.NoError(t, err)
	require.Len(t, res.GetProjects(), 2)
	for _, a := range res.GetProjects() {
		require.False(t, a.GetIsActive())
		require.Equal(t, "admin", a.GetRole())
	}
}

func TestLogCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, owner := e.newUser("owner@example.com", "member")
	busy := e.newProject(owner, "busy")
	quiet := e.newProject(owner, "quiet")
	other := e.newProject(e.admin(), "other")

	latest := time.Date(2025, 11, 11, 20, 45, 0, 123000000, time.UTC)
	for _, r := range []struct {
		project int64
		service string
		day     string
		count   int64
		last    time.Time
	}{
		{busy.GetProjectId(), "api", "2025-11-10", 1000, latest.Add(-24 * time.Hour)},
		{busy.GetProjectId(), "api", "2025-11-11", 234, latest},
		{busy.GetProjectId(), "worker", "2025-11-11", 5, latest.Add(-time.Hour)},
		{other.GetProjectId(), "api", "2025-11-12", 77, latest.Add(24 * time.Hour)},
	} {
		_, err := e.pool.Exec(ctx, `INSERT INTO logs.entry_rollups (project_id, service_name, day, count, last_log_at) VALUES ($1, $2, $3, $4, $5)`,
			r.project, r.service, r.day, r.count, r.last)
		require.NoError(t, err)
	}

	list, err := e.projects.ListProjects(owner, &logsv1.ListProjectsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetProjects(), 2)
	bySlug := map[string]*logsv1.Project{}
	for _, p := range list.GetProjects() {
		bySlug[p.GetSlug()] = p
	}
	require.EqualValues(t, 1239, bySlug["busy"].GetLogCount())
	require.True(t, latest.Equal(bySlug["busy"].GetLastLogAt().AsTime()))
	require.Zero(t, bySlug["quiet"].GetLogCount())
	require.Nil(t, bySlug["quiet"].GetLastLogAt())

	got, err := e.projects.GetProject(owner, &logsv1.GetProjectRequest{Id: busy.GetProjectId()})
	require.NoError(t, err)
	require.EqualValues(t, 1239, got.GetProject().GetLogCount())
	got, err = e.projects.GetProject(owner, &logsv1.GetProjectRequest{Id: quiet.GetProjectId()})
	require.NoError(t, err)
	require.Nil(t, got.GetProject().GetLastLogAt())
}

func TestListProjectsPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, owner := e.newUser("owner@example.com", "member")
	var ids []int64
	for i := range 7 {
		ids = append(ids, e.newProject(owner, fmt.Sprintf("p%d", i)).GetProjectId())
	}
	e.newProject(e.admin(), "not-owners")
	// Projects created at the same instant are ordered by id, newest first.
	_, err := e.pool.Exec(context.Background(), `UPDATE logs.projects SET created_at = '2025-01-01T00:00:00Z' WHERE slug IN ('p2', 'p3', 'p4')`)
	require.NoError(t, err)
	want := []int64{ids[6], ids[5], ids[1], ids[0], ids[4], ids[3], ids[2]}

	var got []int64
	tok := ""
	for pages := 1; ; pages++ {
		res, err := e.projects.ListProjects(owner, &logsv1.ListProjectsRequest{PageSize: 3, PageToken: tok})
		require.NoError(t, err)
		require.LessOrEqual(t, len(res.GetProjects()), 3)
		for _, p := range res.GetProjects() {
			got = append(got, p.GetId())
		}
		tok = res.GetNextPageToken()
		if tok == "" {
			require.Equal(t, 3, pages)
			break
		}
		require.Less(t, pages, 10, "pagination does not end")
	}
	require.Equal(t, want, got)

	// An exact multiple of the page size ends without an empty page.
	res, err := e.projects.ListProjects(owner, &logsv1.ListProjectsRequest{PageSize: 7})
	require.NoError(t, err)
	require.Len(t, res.GetProjects(), 7)
	require.Empty(t, res.GetNextPageToken())

	_, err = e.projects.ListProjects(owner, &logsv1.ListProjectsRequest{PageSize: -5})
	requireContains(t, err, codes.InvalidArgument, "page_size")
	_, err = e.projects.ListProjects(owner, &logsv1.ListProjectsRequest{PageToken: "%%%"})
	requireCode(t, err, codes.InvalidArgument, msgBadPage)
}

func TestListProjectMembersPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, owner := e.newUser("owner@example.com", "member")
	id := e.newProject(owner, "shared").GetProjectId()
	var want []int64
	for i := range 5 {
		uid, _ := e.newUser(fmt.Sprintf("m%d@example.com", i), "member")
		_, err := e.projects.AddProjectMember(owner, &logsv1.AddProjectMemberRequest{ProjectId: id, Email: fmt.Sprintf("m%d@example.com", i), Role: "viewer"})
		require.NoError(t, err)
		want = append(want, uid)
	}
	// Members added at the same instant are ordered by user id.
	_, err := e.pool.Exec(context.Background(), `UPDATE logs.project_members SET created_at = '2025-01-01T00:00:00Z'
		WHERE project_id = $1 AND user_id = ANY($2)`, id, []int64{want[3], want[4]})
	require.NoError(t, err)
	want = []int64{want[3], want[4], want[0], want[1], want[2]}

	var got []int64
	tok := ""
	for pages := 1; ; pages++ {
		res, err := e.projects.ListProjectMembers(owner, &logsv1.ListProjectMembersRequest{ProjectId: id, PageSize: 2, PageToken: tok})
		require.NoError(t, err)
		require.LessOrEqual(t, len(res.GetMembers()), 2)
		for _, m := range res.GetMembers() {
			got = append(got, m.GetUserId())
		}
		if tok = res.GetNextPageToken(); tok == "" {
			require.Equal(t, 3, pages)
			break
		}
		require.Less(t, pages, 10, "pagination does not end")
	}
	require.Equal(t, want, got)

	// The default page holds them all; an exact multiple ends without an empty page.
	res, err := e.projects.ListProjectMembers(owner, &logsv1.ListProjectMembersRequest{ProjectId: id})
	require.NoError(t, err)
	require.Len(t, res.GetMembers(), 5)
	require.Empty(t, res.GetNextPageToken())
	res, err = e.projects.ListProjectMembers(owner, &logsv1.ListProjectMembersRequest{ProjectId: id, PageSize: 5})
	require.NoError(t, err)
	require.Len(t, res.GetMembers(), 5)
	require.Empty(t, res.GetNextPageToken())

	_, err = e.projects.ListProjectMembers(owner, &logsv1.ListProjectMembersRequest{ProjectId: id, PageSize: -1})
	requireContains(t, err, codes.InvalidArgument, "page_size")
	_, err = e.projects.ListProjectMembers(owner, &logsv1.ListProjectMembersRequest{ProjectId: id, PageToken: "%%%"})
	requireCode(t, err, codes.InvalidArgument, msgBadPage)
}
