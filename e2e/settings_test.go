package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestProjectRetention checks a project's retention and sampling rules
// end to end: PATCH /api/logs/projects/{id} by a maintainer, refused to a
// viewer and over the maximum; the answer shows them; the ingestion
// service then refuses entries older than the project's retention and
// writes the others in the leaf of its retention class; 0 returns to the
// platform's default.
func TestProjectRetention(t *testing.T) {
	t.Parallel()
	pl := startAllInOne(t)
	ctx := context.Background()
	admin := pl.login(t, adminEmail, adminPassword)
	for _, u := range []string{"maint@example.com", "viewer@example.com"} {
		pl.do(t, "POST", "/api/users", map[string]string{"email": u, "password": "password-123"}, bearer(admin)).expect(t, 201)
	}
	r := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Shop", "slug": "shop"}, bearer(admin)).expect(t, 201)
	id := num(t, r.JSON["project_id"])
	key := r.JSON["api_key"].(string)
	path := fmt.Sprintf("/api/logs/projects/%d", id)
	pl.do(t, "POST", path+"/members", map[string]string{"email": "maint@example.com", "role": "maintainer"}, bearer(admin)).expect(t, 201)
	pl.do(t, "POST", path+"/members", map[string]string{"email": "viewer@example.com", "role": "viewer"}, bearer(admin)).expect(t, 201)
	maint := pl.login(t, "maint@example.com", "password-123")
	viewer := pl.login(t, "viewer@example.com", "password-123")

	p := pl.do(t, "GET", path, nil, bearer(maint)).expect(t, 200).JSON["project"].(map[string]any)
	require.Equal(t, float64(30), p["retention_days"], "the platform's default, DEVSMITH_RETENTION")
	require.Equal(t, true, p["retention_is_default"])
	require.Nil(t, p["oldest_log_at"], "no entry yet")

	pl.do(t, "PATCH", path, map[string]any{"retention_days": 7}, bearer(viewer)).expectError(t, 403, "PERMISSION_DENIED", "viewers")
	pl.do(t, "PATCH", path, map[string]any{"retention_days": 366}, bearer(maint)).
		expectError(t, 400, "INVALID_ARGUMENT", "retention_days 366: at most 365 (DEVSMITH_RETENTION_MAX)")
	p = pl.do(t, "PATCH", path, map[string]any{"retention_days": 7}, bearer(maint)).expect(t, 200).JSON["project"].(map[string]any)
	require.Equal(t, float64(7), p["retention_days"])
	require.Equal(t, false, p["retention_is_default"])
	p = pl.do(t, "GET", path, nil, bearer(viewer)).expect(t, 200).JSON["project"].(map[string]any)
	require.Equal(t, float64(7), p["retention_days"])
	require.Equal(t, false, p["retention_is_default"])

	// The project's first batch reads its settings: 7 days.
	now := time.Now().UTC()
	old, kept := now.AddDate(0, 0, -10), now.AddDate(0, 0, -3).Truncate(time.Millisecond)
	r = pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": []map[string]any{
		{"timestamp": old.Format(time.RFC3339Nano), "message": "ten days old"},
		{"timestamp": kept.Format(time.RFC3339Nano), "message": "three days old"},
	}}, header("X-API-Key", key)).expect(t, 201)
	require.Equal(t, float64(1), r.JSON["count"], "body: %s", r.Raw)
	rejected := r.JSON["rejected"].([]any)
	require.Len(t, rejected, 1)
	require.Equal(t, float64(0), rejected[0].(map[string]any)["index"])
	require.Contains(t, rejected[0].(map[string]any)["reason"], "retention")
	var leaf string
	require.NoError(t, pl.db.QueryRow(ctx, `SELECT tableoid::regclass::text FROM logs.entries WHERE project_id = $1`, id).Scan(&leaf))
	require.Equal(t, "logs.entries_"+kept.Format("20060102")+"_r7", leaf, "written in the leaf of its retention class")
	p = pl.do(t, "GET", path, nil, bearer(viewer)).expect(t, 200).JSON["project"].(map[string]any)
	oldest, err := time.Parse(time.RFC3339Nano, p["oldest_log_at"].(string))
	require.NoError(t, err)
	require.True(t, kept.Equal(oldest), "oldest entry kept %v, want %v", oldest, kept)

	p = pl.do(t, "PATCH", path, map[string]any{"retention_days": 0}, bearer(maint)).expect(t, 200).JSON["project"].(map[string]any)
	require.Equal(t, float64(30), p["retention_days"])
	require.Equal(t, true, p["retention_is_default"])

	var details string
	require.NoError(t, pl.db.QueryRow(ctx, `SELECT string_agg(details::text, ' | ' ORDER BY id) FROM logs.audit_events
		WHERE action = 'project.update' AND project_id = $1`, id).Scan(&details))
	require.Equal(t, `{"retention_days": {"to": 7, "from": 0}} | {"retention_days": {"to": 0, "from": 7}}`, details)
}

// TestProjectSampling checks PATCH of a project's sampling rules: a round
// trip (sorted by service, "" the rule of all services), replacement, and
// validation errors naming the rule and field.
func TestProjectSampling(t *testing.T) {
	t.Parallel()
	pl := startAllInOne(t)
	admin := pl.login(t, adminEmail, adminPassword)
	r := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Shop", "slug": "shop"}, bearer(admin)).expect(t, 201)
	path := fmt.Sprintf("/api/logs/projects/%d", num(t, r.JSON["project_id"]))

	rules := []map[string]any{
		{"service_name": "worker", "debug_rate": 0.1, "info_rate": 0.5},
		{"service_name": "", "debug_rate": 0.25, "info_rate": 1},
	}
	p := pl.do(t, "PATCH", path, map[string]any{"sampling": map[string]any{"rules": rules}}, bearer(admin)).expect(t, 200).JSON["project"].(map[string]any)
	require.Equal(t, []any{
		map[string]any{"service_name": "", "debug_rate": 0.25, "info_rate": float64(1)},
		map[string]any{"service_name": "worker", "debug_rate": 0.1, "info_rate": 0.5},
	}, p["sampling_rules"])
	list := pl.do(t, "GET", "/api/logs/projects", nil, bearer(admin)).expect(t, 200).JSON["projects"].([]any)
	require.Len(t, list[0].(map[string]any)["sampling_rules"], 2, "lists carry the rules")

	for _, c := range []struct {
		rules []map[string]any
		want  string
	}{
		{[]map[string]any{{"service_name": "api", "debug_rate": 0, "info_rate": 1}}, "sampling.rules[0].debug_rate 0: must be more than 0 and at most 1"},
		{[]map[string]any{{"service_name": "api", "debug_rate": 1, "info_rate": 1}, {"service_name": "web", "debug_rate": 1, "info_rate": 2}}, "sampling.rules[1].info_rate 2"},
		{[]map[string]any{{"service_name": "api", "debug_rate": 1, "info_rate": 1}, {"service_name": "api", "debug_rate": 1, "info_rate": 1}}, `sampling.rules[1].service_name "api": rule 0 is already for it`},
	} {
		pl.do(t, "PATCH", path, map[string]any{"sampling": map[string]any{"rules": c.rules}}, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", c.want)
	}
	p = pl.do(t, "GET", path, nil, bearer(admin)).expect(t, 200).JSON["project"].(map[string]any)
	require.Len(t, p["sampling_rules"], 2, "refused changes changed nothing")

	p = pl.do(t, "PATCH", path, map[string]any{"sampling": map[string]any{"rules": []any{}}}, bearer(admin)).expect(t, 200).JSON["project"].(map[string]any)
	require.Empty(t, p["sampling_rules"], "no rules: every entry kept")
}
