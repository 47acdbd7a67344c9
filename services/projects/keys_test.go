package projects

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// auditRow is one row of logs.audit_events, read back.
type auditRow struct {
	Action, Email, KeyPrefix, ClientIP string
	Details                            map[string]any
}

func (e *env) audit(projectID int64) []auditRow {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT action, actor_email, actor_key_prefix, client_ip, details::text
		FROM logs.audit_events WHERE project_id = $1 ORDER BY id`, projectID)
	require.NoError(e.t, err)
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var details string
		require.NoError(e.t, rows.Scan(&r.Action, &r.Email, &r.KeyPrefix, &r.ClientIP, &details))
		require.NoError(e.t, json.Unmarshal([]byte(details), &r.Details))
		out = append(out, r)
	}
	require.NoError(e.t, rows.Err())
	return out
}

func TestProjectKeysLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, owner := e.newUser("owner@example.com", "member")
	_, viewer := e.newUser("viewer@example.com", "member")
	_, maintainer := e.newUser("maintainer@example.com", "member")
	_, stranger := e.newUser("stranger@example.com", "member")
	p := e.newProject(owner, "keys")
	for email, role := range map[string]string{"viewer@example.com": "viewer", "maintainer@example.com": "maintainer"} {
		_, err := e.projects.AddProjectMember(owner, &logsv1.AddProjectMemberRequest{ProjectId: p.GetProjectId(), Email: email, Role: role})
		require.NoError(t, err)
	}

	// The project was created with its default key, ingest only.
	def, err := e.resolveKey(p.GetApiKey())
	require.NoError(t, err)
	require.Equal(t, []string{"ingest"}, def.GetScopes())
	require.Equal(t, p.GetApiKey()[:8], def.GetKeyPrefix())
	require.Nil(t, def.GetExpireTime())

	// Bad requests name what was wrong.
	future := timestamppb.New(time.Now().Add(time.Hour))
	bad := []struct {
		req *logsv1.CreateProjectKeyRequest
		msg string
	}{
		{&logsv1.CreateProjectKeyRequest{Scopes: []string{"read"}}, "name is required"},
		{&logsv1.CreateProjectKeyRequest{Name: strings.Repeat("n", 101), Scopes: []string{"read"}}, "name must be at most 100 characters"},
		{&logsv1.CreateProjectKeyRequest{Name: "ci"}, "scopes: at least one of ingest, read is required"},
		{&logsv1.CreateProjectKeyRequest{Name: "ci", Scopes: []string{"read", "write"}}, `scopes: "write" is not one of ingest, read`},
		{&logsv1.CreateProjectKeyRequest{Name: "ci", Scopes: []string{"read"}, ExpireTime: timestamppb.New(time.Now().Add(-time.Minute).Truncate(time.Second))}, "expire_time must be in the future"},
	}
	for _, b := range bad {
		b.req.ProjectId = p.GetProjectId()
		_, err := e.projects.CreateProjectKey(owner, b.req)
		requireContains(t, err, codes.InvalidArgument, b.msg)
	}
	ok := &logsv1.CreateProjectKeyRequest{ProjectId: p.GetProjectId(), Name: "grafana", Scopes: []string{"read"}}
	_, err = e.projects.CreateProjectKey(viewer, ok)
	requireCode(t, err, codes.PermissionDenied, fmt.Sprintf("viewers cannot manage the keys of project %d", p.GetProjectId()))
	_, err = e.projects.ListProjectKeys(viewer, &logsv1.ListProjectKeysRequest{ProjectId: p.GetProjectId()})
	requireCode(t, err, codes.PermissionDenied)
	_, err = e.projects.CreateProjectKey(stranger, ok)
	requireCode(t, err, codes.PermissionDenied, fmt.Sprintf("project %d is not yours", p.GetProjectId()))
	_, err = e.projects.CreateProjectKey(owner, &logsv1.CreateProjectKeyRequest{ProjectId: 999, Name: "x", Scopes: []string{"read"}})
	requireCode(t, err, codes.NotFound)

	// A maintainer creates a read key and an expiring key with both scopes.
	read, err := e.projects.CreateProjectKey(maintainer, ok)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(read.GetApiKey(), "dsk_"))
	require.Equal(t, read.GetApiKey()[:8], read.GetKey().GetPrefix())
	require.Equal(t, read.GetApiKey()[len(read.GetApiKey())-4:], read.GetKey().GetLastFour())
	require.Equal(t, []string{"read"}, read.GetKey().GetScopes())
	require.False(t, read.GetKey().GetIsDefault())
	both, err := e.projects.CreateProjectKey(owner, &logsv1.CreateProjectKeyRequest{
		ProjectId: p.GetProjectId(), Name: " ci ", Scopes: []string{"read", "INGEST", "read"}, ExpireTime: future,
	})
	require.NoError(t, err)
	require.Equal(t, "ci", both.GetKey().GetName())
	require.Equal(t, []string{"ingest", "read"}, both.GetKey().GetScopes())
	require.Equal(t, future.AsTime().Truncate(time.Microsecond), both.GetKey().GetExpireTime().AsTime())

	got, err := e.resolveKey(read.GetApiKey())
	require.NoError(t, err)
	require.Equal(t, read.GetKey().GetId(), got.GetKeyId())
	require.Equal(t, p.GetProjectId(), got.GetProjectId())
	require.Equal(t, []string{"read"}, got.GetScopes())

	// The list, oldest first, in pages; no secret anywhere in it.
	list, err := e.projects.ListProjectKeys(owner, &logsv1.ListProjectKeysRequest{ProjectId: p.GetProjectId(), PageSize: 2})
	require.NoError(t, err)
	require.Len(t, list.GetKeys(), 2)
	require.Equal(t, "default", list.GetKeys()[0].GetName())
	require.True(t, list.GetKeys()[0].GetIsDefault())
	require.Equal(t, "grafana", list.GetKeys()[1].GetName())
	next, err := e.projects.ListProjectKeys(owner, &logsv1.ListProjectKeysRequest{ProjectId: p.GetProjectId(), PageToken: list.GetNextPageToken()})
	require.NoError(t, err)
	require.Len(t, next.GetKeys(), 1)
	require.Equal(t, "ci", next.GetKeys()[0].GetName())
	require.Empty(t, next.GetNextPageToken())
	for _, secret := range []string{p.GetApiKey(), read.GetApiKey(), both.GetApiKey()} {
		for _, l := range []*logsv1.ListProjectKeysResponse{list, next} {
			b, err := json.Marshal(l)
			require.NoError(t, err)
			require.NotContains(t, string(b), secret)
			require.NotContains(t, string(b), secret[8:len(secret)-4])
		}
	}

	// Expired keys are refused with the time they expired.
	_, err = e.pool.Exec(context.Background(), `UPDATE logs.api_keys SET expire_time = '2026-01-02T03:04:05Z' WHERE id = $1`, both.GetKey().GetId())
	require.NoError(t, err)
	_, err = e.resolveKey(both.GetApiKey())
	requireCode(t, err, codes.Unauthenticated, "API key expired at 2026-01-02T03:04:05Z")

	// Revoking: refused at once, gone from the list, twice is NotFound.
	_, err = e.projects.DeleteProjectKey(viewer, &logsv1.DeleteProjectKeyRequest{ProjectId: p.GetProjectId(), KeyId: read.GetKey().GetId()})
	requireCode(t, err, codes.PermissionDenied)
	del, err := e.projects.DeleteProjectKey(maintainer, &logsv1.DeleteProjectKeyRequest{ProjectId: p.GetProjectId(), KeyId: read.GetKey().GetId()})
	require.NoError(t, err)
	require.Equal(t, `Key "grafana" revoked. It no longer works.`, del.GetMessage())
	_, err = e.resolveKey(read.GetApiKey())
	requireCode(t, err, codes.Unauthenticated, "invalid or revoked API key")
	_, err = e.projects.DeleteProjectKey(owner, &logsv1.DeleteProjectKeyRequest{ProjectId: p.GetProjectId(), KeyId: read.GetKey().GetId()})
	requireCode(t, err, codes.NotFound)
	other := e.newProject(owner, "other")
	_, err = e.projects.DeleteProjectKey(owner, &logsv1.DeleteProjectKeyRequest{ProjectId: other.GetProjectId(), KeyId: both.GetKey().GetId()})
	requireCode(t, err, codes.NotFound, fmt.Sprintf("key %d of project %d not found", both.GetKey().GetId(), other.GetProjectId()))

	// Rotation replaces the default key's secret, same row.
	rot, err := e.projects.RegenerateProjectKey(maintainer, &logsv1.RegenerateProjectKeyRequest{Id: p.GetProjectId()})
	require.NoError(t, err)
	_, err = e.resolveKey(p.GetApiKey())
	requireCode(t, err, codes.Unauthenticated, "invalid or revoked API key")
	after, err := e.resolveKey(rot.GetApiKey())
	require.NoError(t, err)
	require.Equal(t, def.GetKeyId(), after.GetKeyId())
	require.Equal(t, rot.GetApiKey()[:8], after.GetKeyPrefix())

	// Deleting the project revokes every key; no key can be made after.
	_, err = e.projects.DeleteProject(owner, &logsv1.DeleteProjectRequest{Id: p.GetProjectId()})
	require.NoError(t, err)
	for _, k := range []string{rot.GetApiKey(), both.GetApiKey()} {
		_, err = e.resolveKey(k)
		requireCode(t, err, codes.Unauthenticated, "invalid or revoked API key")
	}
	var live int
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM logs.api_keys WHERE project_id = $1 AND key_hash IS NOT NULL`, p.GetProjectId()).Scan(&live))
	require.Zero(t, live)
	_, err = e.projects.CreateProjectKey(owner, ok)
	requireContains(t, err, codes.FailedPrecondition, "deleted")
	empty, err := e.projects.ListProjectKeys(owner, &logsv1.ListProjectKeysRequest{ProjectId: p.GetProjectId()})
	require.NoError(t, err)
	require.Empty(t, empty.GetKeys())

	// Each change wrote its audit event, by whom, never with a secret.
	var events []auditRow
	for _, ev := range e.audit(p.GetProjectId()) {
		if ev.Action != auditMemberAdd { // sharing the project is audited too (audit_test.go)
			events = append(events, ev)
		}
	}
	var actions []string
	for _, ev := range events {
		actions = append(actions, ev.Action)
		b, err := json.Marshal(ev.Details)
		require.NoError(t, err)
		for _, secret := range []string{p.GetApiKey(), read.GetApiKey(), both.GetApiKey(), rot.GetApiKey()} {
			require.NotContains(t, string(b), secret[4:])
		}
	}
	require.Equal(t, []string{"project.create", "project.key_create", "project.key_create", "project.key_revoke",
		"project.key_rotate", "project.delete"}, actions)
	require.Equal(t, "owner@example.com", events[0].Email)
	require.Equal(t, "maintainer@example.com", events[1].Email)
	require.Equal(t, map[string]any{"key_id": float64(read.GetKey().GetId()), "name": "grafana", "scopes": []any{"read"},
		"prefix": read.GetKey().GetPrefix()}, events[1].Details)
	require.Equal(t, future.AsTime().UTC().Format(time.RFC3339), events[2].Details["expire_time"])
	require.Equal(t, "grafana", events[3].Details["name"])
	require.Equal(t, rot.GetApiKey()[:8], events[4].Details["prefix"])
	require.EqualValues(t, 2, events[5].Details["keys_revoked"])
	for _, ev := range events {
		require.NotEmpty(t, ev.ClientIP)
	}
}

func TestRecordKeyUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.newProject(e.admin(), "used")
	k, err := e.resolveKey(p.GetApiKey())
	require.NoError(t, err)
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	record := func(addr string, t0 time.Time, ids ...int64) int32 {
		t.Helper()
		var uses []*identityv1.KeyUse
		for _, id := range ids {
			uses = append(uses, &identityv1.KeyUse{KeyId: id, Address: addr, UseTime: timestamppb.New(t0)})
		}
		res, err := e.identity.RecordKeyUse(serviceCtx(), &identityv1.RecordKeyUseRequest{Uses: uses})
		require.NoError(t, err)
		return res.GetRecorded()
	}
	require.EqualValues(t, 1, record("10.0.0.1", at, k.GetKeyId(), 9999), "an unknown key is skipped")
	require.EqualValues(t, 1, record("10.0.0.1", at.Add(time.Minute), k.GetKeyId()))
	require.EqualValues(t, 1, record("10.0.0.2", at.Add(2*time.Minute), k.GetKeyId()))
	require.EqualValues(t, 1, record("10.0.0.3", at.Add(-time.Hour), k.GetKeyId()), "a late report of an older use")

	list, err := e.projects.ListProjectKeys(e.admin(), &logsv1.ListProjectKeysRequest{ProjectId: p.GetProjectId()})
	require.NoError(t, err)
	require.Equal(t, at.Add(2*time.Minute).Truncate(time.Minute), list.GetKeys()[0].GetLastUsedAt().AsTime(), "to the minute, never backwards")
	require.Equal(t, "10.0.0.2", list.GetKeys()[0].GetLastUsedAddress())

	var addrs []string
	for _, ev := range e.audit(p.GetProjectId()) {
		if ev.Action == "key.new_address" {
			require.Equal(t, k.GetKeyPrefix(), ev.KeyPrefix, "the key is the actor")
			require.Equal(t, ev.ClientIP, ev.Details["address"])
			addrs = append(addrs, ev.ClientIP)
		}
	}
	require.Equal(t, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, addrs, "each new address once")

	_, err = e.identity.RecordKeyUse(serviceCtx(), &identityv1.RecordKeyUseRequest{Uses: []*identityv1.KeyUse{{KeyId: 0}}})
	requireCode(t, err, codes.InvalidArgument, "uses[0].key_id must be positive")
	_, err = e.identity.RecordKeyUse(context.Background(), &identityv1.RecordKeyUseRequest{})
	requireCode(t, err, codes.PermissionDenied, "this method is internal to the platform's services")
}
