package projects

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

func TestCreateFirstAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AdminEmail, c.AdminPassword = "", "" })
	ctx := context.Background()

	st, err := e.auth.GetSetupStatus(ctx, &logsv1.GetSetupStatusRequest{})
	require.NoError(t, err)
	require.True(t, st.GetSetupRequired())

	// A browser that is not on this machine (as the gateway reports it) is refused.
	remote := metadata.AppendToOutgoingContext(ctx, "x-forwarded-for", "203.0.113.7")
	_, err = e.auth.CreateFirstAdmin(remote, &logsv1.CreateFirstAdminRequest{Email: "root@example.com", Password: "long-enough-pw"})
	requireContains(t, err, codes.PermissionDenied, "loopback")

	_, err = e.auth.CreateFirstAdmin(ctx, &logsv1.CreateFirstAdminRequest{Email: "root@example.com", Password: "short"})
	requireContains(t, err, codes.InvalidArgument, "password")

	local := metadata.AppendToOutgoingContext(ctx, "x-forwarded-for", "127.0.0.1")
	res, err := e.auth.CreateFirstAdmin(local, &logsv1.CreateFirstAdminRequest{Email: "root@example.com", Password: "long-enough-pw"})
	require.NoError(t, err)
	require.Equal(t, "admin", res.GetUser().GetRole())
	me, err := e.auth.GetCurrentUser(bearer(res.GetToken()), &logsv1.GetCurrentUserRequest{})
	require.NoError(t, err, "the setup answer signs the admin in")
	require.Equal(t, "root@example.com", me.GetUser().GetEmail())

	// Once a user exists, setup is over.
	st, err = e.auth.GetSetupStatus(ctx, &logsv1.GetSetupStatusRequest{})
	require.NoError(t, err)
	require.False(t, st.GetSetupRequired())
	_, err = e.auth.CreateFirstAdmin(local, &logsv1.CreateFirstAdminRequest{Email: "second@example.com", Password: "long-enough-pw"})
	requireContains(t, err, codes.AlreadyExists, "already")
}
