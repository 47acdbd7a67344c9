package projects

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	"github.com/devsmith/logs/internal/authn"
)

func TestIdentityServiceNeedsServiceToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, tok := e.login(testAdminEmail, testAdminPassword)
	p := e.newProject(admin, "app")

	wrong := metadata.AppendToOutgoingContext(context.Background(), authn.ServiceTokenHeader, "not-the-token")
	for name, tc := range map[string]struct {
		ctx  context.Context
		code codes.Code
	}{
		"nothing":       {context.Background(), codes.PermissionDenied},
		"user session":  {admin, codes.PermissionDenied},
		"wrong token":   {wrong, codes.Unauthenticated},
		"empty service": {metadata.AppendToOutgoingContext(context.Background(), authn.ServiceTokenHeader, ""), codes.Unauthenticated},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.identity.ResolveApiKey(tc.ctx, &identityv1.ResolveApiKeyRequest{ApiKey: p.GetApiKey()})
			requireCode(t, err, tc.code)
			_, err = e.identity.ResolveSession(tc.ctx, &identityv1.ResolveSessionRequest{Token: tok})
			requireCode(t, err, tc.code)
		})
	}

	res, err := e.identity.ResolveApiKey(serviceCtx(), &identityv1.ResolveApiKeyRequest{ApiKey: p.GetApiKey()})
	require.NoError(t, err)
	require.Equal(t, p.GetProjectId(), res.GetProjectId())
	sess, err := e.identity.ResolveSession(serviceCtx(), &identityv1.ResolveSessionRequest{Token: tok})
	require.NoError(t, err)
	require.Equal(t, testAdminEmail, sess.GetUser().GetEmail())
	require.Equal(t, "admin", sess.GetUser().GetRole())
	require.NotNil(t, sess.GetUser().GetCreatedAt())
	require.Equal(t, []*identityv1.ProjectAccess{{ProjectId: p.GetProjectId(), ProjectSlug: "app", Role: "owner", IsActive: true}}, sess.GetProjects())

	// The session principal the interceptor builds from it matches what the
	// other services get through authn.IdentityClient.
	ic := authn.NewIdentityClient(e.identity)
	pr, err := ic.Session(serviceCtx(), metadata.Pairs("authorization", "Bearer "+tok))
	require.NoError(t, err)
	require.Equal(t, authn.KindUser, pr.Kind)
	require.True(t, pr.IsAdmin())
	require.Equal(t, []authn.ProjectAccess{{ID: p.GetProjectId(), Slug: "app", Role: "owner", IsActive: true}}, pr.Projects)
}

func TestResolveApiKeyRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.newProject(e.admin(), "app")
	for name, key := range map[string]string{
		"empty":         "",
		"no prefix":     "abc",
		"unknown":       "dsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"key with tail": p.GetApiKey() + "x",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.resolveKey(key)
			requireCode(t, err, codes.Unauthenticated)
		})
	}
	_, err := e.identity.ResolveSession(serviceCtx(), &identityv1.ResolveSessionRequest{})
	requireCode(t, err, codes.Unauthenticated, msgBadSession)
}

// BenchmarkResolveApiKey measures the per-batch key check against the real
// database: a SHA-256 digest and one lookup by unique index.
func BenchmarkResolveApiKey(b *testing.B) {
	ctx := context.Background()
	pool := cluster.NewPool(b)
	st := &store{pool: pool}
	var key string
	for i := range 1000 {
		k, hash, err := newAPIKey()
		require.NoError(b, err)
		_, err = pool.Exec(ctx, `WITH p AS (INSERT INTO logs.projects (name, slug) VALUES ($1, $1) RETURNING id)
			INSERT INTO logs.api_keys (project_id, name, key_hash, prefix, scopes) SELECT id, 'default', $2, 'dsk_', '{ingest}' FROM p`,
			"bench-"+strconv.Itoa(i), hash)
		require.NoError(b, err)
		key = k
	}
	_, err := pool.Exec(ctx, `ANALYZE logs.projects, logs.api_keys`)
	require.NoError(b, err)
	for b.Loop() {
		if _, err := st.resolveAPIKey(ctx, digest(key)); err != nil {
			b.Fatal(err)
		}
	}
}
