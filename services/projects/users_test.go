package projects

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
)

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	_, err := e.users.CreateUser(admin, &logsv1.CreateUserRequest{Email: "Taken@Example.com", Password: testPassword})
	require.NoError(t, err)

	tests := []struct {
		name     string
		req      *logsv1.CreateUserRequest
		code     codes.Code
		fragment string
	}{
		{"no email", &logsv1.CreateUserRequest{Password: testPassword}, codes.InvalidArgument, "email is required"},
		{"no at", &logsv1.CreateUserRequest{Email: "user.example.com", Password: testPassword}, codes.InvalidArgument, "email must be"},
		{"two ats", &logsv1.CreateUserRequest{Email: "a@b@example.com", Password: testPassword}, codes.InvalidArgument, "email must be"},
		{"empty local part", &logsv1.CreateUserRequest{Email: "@example.com", Password: testPassword}, codes.InvalidArgument, "email must be"},
		{"space", &logsv1.CreateUserRequest{Email: "a b@example.com", Password: testPassword}, codes.InvalidArgument, "email must be"},
		{"email too long", &logsv1.CreateUserRequest{Email: strings.Repeat("a", 243) + "@example.com", Password: testPassword}, codes.InvalidArgument, "email must be at most 254"},
		{"short password", &logsv1.CreateUserRequest{Email: "new@example.com", Password: "1234567"}, codes.InvalidArgument, "password must be at least 8"},
		{"long password", &logsv1.CreateUserRequest{Email: "new@example.com", Password: strings.Repeat("p", 73)}, codes.InvalidArgument, "password must be at most 72 bytes"},
		{"bad role", &logsv1.CreateUserRequest{Email: "new@example.com", Password: testPassword, Role: "owner"}, codes.InvalidArgument, "role must be"},
		{"taken email", &logsv1.CreateUserRequest{Email: "taken@example.COM", Password: testPassword}, codes.AlreadyExists, "a user with email taken@example.COM already exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.users.CreateUser(admin, tc.req)
			requireContains(t, err, tc.code, tc.fragment)
		})
	}

	t.Run("valid", func(t *testing.T) {
		for _, tc := range []struct{ email, role, want string }{
			{"Member@Example.com", "", "member"},
			{"second-admin@example.com", "admin", "admin"},
			{strings.Repeat("a", 242) + "@example.com", "member", "member"},
		} {
			res, err := e.users.CreateUser(admin, &logsv1.CreateUserRequest{Email: tc.email, Password: "12345678", Role: tc.role})
			require.NoError(t, err)
			require.Equal(t, tc.email, res.GetUser().GetEmail(), "stored as given")
			require.Equal(t, tc.want, res.GetUser().GetRole())
			require.NotZero(t, res.GetUser().GetId())
			e.login(tc.email, "12345678")
		}
	})
}

func TestUsersAdminOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, member := e.newUser("member@example.com", "member")
	_, err := e.users.ListUsers(member, &logsv1.ListUsersRequest{})
	requireCode(t, err, codes.PermissionDenied, msgAdminOnly)
	_, err = e.users.CreateUser(member, &logsv1.CreateUserRequest{Email: "x@example.com", Password: testPassword})
	requireCode(t, err, codes.PermissionDenied, msgAdminOnly)
	_, err = e.users.DeleteUser(member, &logsv1.DeleteUserRequest{Id: 1})
	requireCode(t, err, codes.PermissionDenied, msgAdminOnly)
}

func TestListUsersPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	want := []string{testAdminEmail}
	for i := range 6 {
		email := "user" + string(rune('a'+i)) + "@example.com"
		_, err := e.users.CreateUser(admin, &logsv1.CreateUserRequest{Email: email, Password: testPassword})
		require.NoError(t, err)
		want = append(want, email)
	}
	// Equal creation times are ordered by id.
	_, err := e.pool.Exec(context.Background(), `UPDATE logs.users SET created_at = '2025-01-01T00:00:00Z' WHERE email IN ('userb@example.com', 'userc@example.com', 'userd@example.com')`)
	require.NoError(t, err)
	want = append([]string{"userb@example.com", "userc@example.com", "userd@example.com", testAdminEmail, "usera@example.com"}, want[5:]...)

	var got []string
	tok := ""
	pages := 0
	for {
		res, err := e.users.ListUsers(admin, &logsv1.ListUsersRequest{PageSize: 2, PageToken: tok})
		require.NoError(t, err)
		pages++
		require.LessOrEqual(t, len(res.GetUsers()), 2)
		for _, u := range res.GetUsers() {
			got = append(got, u.GetEmail())
		}
		tok = res.GetNextPageToken()
		if tok == "" {
			break
		}
		require.Less(t, pages, 10, "pagination does not end")
	}
	require.Equal(t, want, got)
	require.Equal(t, 4, pages)

	all, err := e.users.ListUsers(admin, &logsv1.ListUsersRequest{PageSize: 5000})
	require.NoError(t, err)
	require.Len(t, all.GetUsers(), 7)
	require.Empty(t, all.GetNextPageToken())

	_, err = e.users.ListUsers(admin, &logsv1.ListUsersRequest{PageSize: -1})
	requireContains(t, err, codes.InvalidArgument, "page_size")
	for _, bad := range []string{"!!!", "bm90LWEta2V5", "MTIzLmFiYw"} {
		_, err = e.users.ListUsers(admin, &logsv1.ListUsersRequest{PageToken: bad})
		requireCode(t, err, codes.InvalidArgument, msgBadPage)
	}
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	admin := e.admin()
	cur, err := e.auth.GetCurrentUser(admin, &logsv1.GetCurrentUserRequest{})
	require.NoError(t, err)
	adminID := cur.GetUser().GetId()

	ownerID, owner := e.newUser("owner@example.com", "member")
	memberID, member := e.newUser("member@example.com", "member")
	p := e.newProject(owner, "owned")
	_, err = e.projects.AddProjectMember(owner, &logsv1.AddProjectMemberRequest{ProjectId: p.GetProjectId(), Email: "member@example.com", Role: "viewer"})
	require.NoError(t, err)

	_, err = e.users.DeleteUser(admin, &logsv1.DeleteUserRequest{Id: adminID})
	requireContains(t, err, codes.FailedPrecondition, "your own account")
	_, err = e.users.DeleteUser(admin, &logsv1.DeleteUserRequest{Id: 999999})
	requireCode(t, err, codes.NotFound, "user 999999 not found")

	// Deleting a user ends their sessions and memberships; their project
	// stays, without owner, visible to admins.
	_, err = e.users.DeleteUser(admin, &logsv1.DeleteUserRequest{Id: ownerID})
	require.NoError(t, err)
	_, err = e.auth.GetCurrentUser(owner, &logsv1.GetCurrentUserRequest{})
	requireCode(t, err, codes.Unauthenticated, msgBadSession)
	got, err := e.projects.GetProject(admin, &logsv1.GetProjectRequest{Id: p.GetProjectId()})
	require.NoError(t, err)
	require.Zero(t, got.GetProject().GetOwnerId())
	require.Equal(t, "admin", got.GetProject().GetRole())
	res, err := e.resolveKey(p.GetApiKey())
	require.NoError(t, err, "the project keeps ingesting")
	require.Equal(t, p.GetProjectId(), res.GetProjectId())
	_, err = e.projects.GetProject(member, &logsv1.GetProjectRequest{Id: p.GetProjectId()})
	require.NoError(t, err, "a member of another user's project keeps it")

	_, err = e.users.DeleteUser(admin, &logsv1.DeleteUserRequest{Id: memberID})
	require.NoError(t, err)
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM logs.project_members`).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM logs.sessions WHERE user_id IN ($1, $2)`, ownerID, memberID).Scan(&n))
	require.Zero(t, n)

	// One admin may delete another; the last admin cannot go.
	admin2ID, admin2 := e.newUser("admin2@example.com", "admin")
	_, err = e.users.DeleteUser(admin2, &logsv1.DeleteUserRequest{Id: adminID})
	require.NoError(t, err)
	err = e.svc.store.inTx(ctx, func(tx pgx.Tx) error {
		_, err := e.svc.store.deleteUser(ctx, tx, admin2ID)
		return err
	})
	require.True(t, errors.Is(err, apierr.ErrPrecondition), "got %v", err)
	require.ErrorContains(t, err, "last admin")
	list, err := e.users.ListUsers(admin2, &logsv1.ListUsersRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetUsers(), 1)
}
