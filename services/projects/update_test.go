package projects

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore/partition"
)

func rule(service string, debug, info float64) *logsv1.SamplingRule {
	return &logsv1.SamplingRule{ServiceName: service, DebugRate: debug, InfoRate: info}
}

// Retention and sampling rules through UpdateProject: bad values are
// refused naming the field, rule and value, and change nothing.
func TestUpdateRetentionAndSamplingValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RetentionMax = 90 * 24 * time.Hour })
	owner := e.admin()
	id := e.newProject(owner, "shop").GetProjectId()
	many := make([]*logsv1.SamplingRule, 101)
	for i := range many {
		many[i] = rule("svc"+strings.Repeat("x", i), 0.5, 0.5)
	}
	for _, c := range []struct {
		name string
		req  *logsv1.UpdateProjectRequest
		msg  string
	}{
		{"over the max", &logsv1.UpdateProjectRequest{RetentionDays: ptr[int32](91)}, "retention_days 91: at most 90 (DEVSMITH_RETENTION_MAX)"},
		{"negative", &logsv1.UpdateProjectRequest{RetentionDays: ptr[int32](-1)}, "retention_days -1: must be 0 (the platform's default) or 1 to 90"},
		{"too many rules", &logsv1.UpdateProjectRequest{Sampling: &logsv1.SamplingUpdate{Rules: many}}, "sampling.rules: at most 100 rules, got 101"},
		{"long service", &logsv1.UpdateProjectRequest{Sampling: &logsv1.SamplingUpdate{Rules: []*logsv1.SamplingRule{rule(strings.Repeat("é", 201), 1, 1)}}},
			"sampling.rules[0].service_name: at most 200 characters"},
		{"duplicate service", &logsv1.UpdateProjectRequest{Sampling: &logsv1.SamplingUpdate{Rules: []*logsv1.SamplingRule{rule("api", 1, 1), rule("web", 1, 1), rule(" api ", 1, 1)}}},
			`sampling.rules[2].service_name "api": rule 0 is already for it`},
		{"two default rules", &logsv1.UpdateProjectRequest{Sampling: &logsv1.SamplingUpdate{Rules: []*logsv1.SamplingRule{rule("", 1, 1), rule(" ", 1, 1)}}},
			"sampling.rules[1].service_name: rule 0 is already the rule of all services"},
		{"debug 0", &logsv1.UpdateProjectRequest{Sampling: &logsv1.SamplingUpdate{Rules: []*logsv1.SamplingRule{rule("api", 0, 1)}}},
			"sampling.rules[0].debug_rate 0: must be more than 0 and at most 1 (1 keeps every entry)"},
		{"info over 1", &logsv1.UpdateProjectRequest{Sampling: &logsv1.SamplingUpdate{Rules: []*logsv1.SamplingRule{rule("api", 1, 1), rule("web", 0.5, 1.5)}}},
			"sampling.rules[1].info_rate 1.5: must be more than 0 and at most 1 (1 keeps every entry)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.Id = id
			_, err := e.projects.UpdateProject(owner, c.req)
			requireCode(t, err, codes.InvalidArgument, c.msg)
		})
	}
	got, err := e.projects.GetProject(owner, &logsv1.GetProjectRequest{Id: id})
	require.NoError(t, err)
	require.EqualValues(t, 30, got.GetProject().GetRetentionDays(), "the platform's default retention")
	require.True(t, got.GetProject().GetRetentionIsDefault())
	require.Empty(t, got.GetProject().GetSamplingRules())
}

func ptr[T any](v T) *T { return &v }

// Setting a retention creates its class's partitions first, stores it with
// retention_changed_at, shows it on every answer and audits old → new; 0
// returns to the default. Sampling rules are replaced whole and come back
// by service name.
func TestUpdateRetentionAndSampling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.DefaultRetention = 36 * time.Hour })
	ctx := context.Background()
	_, owner := e.newUser("owner@example.com", "member")
	id := e.newProject(owner, "shop").GetProjectId()

	p, err := e.projects.GetProject(owner, &logsv1.GetProjectRequest{Id: id})
	require.NoError(t, err)
	require.EqualValues(t, 2, p.GetProject().GetRetentionDays(), "36h shows as 2 days: a leaf is kept until its whole day is past")
	require.True(t, p.GetProject().GetRetentionIsDefault())

	res, err := e.projects.UpdateProject(owner, &logsv1.UpdateProjectRequest{Id: id, RetentionDays: ptr[int32](7),
		Sampling: &logsv1.SamplingUpdate{Rules: []*logsv1.SamplingRule{rule("worker", 0.1, 0.5), rule("", 0.25, 1), rule("api", 1, 0.3)}}})
	require.NoError(t, err)
	require.EqualValues(t, 7, res.GetProject().GetRetentionDays())
	require.False(t, res.GetProject().GetRetentionIsDefault())
	var services []string
	for _, r := range res.GetProject().GetSamplingRules() {
		services = append(services, r.GetServiceName())
	}
	require.Equal(t, []string{"", "api", "worker"}, services, "by service name")
	require.Equal(t, 0.1, res.GetProject().GetSamplingRules()[2].GetDebugRate(), "the rate as given, not as a real reads back")
	require.Equal(t, 0.3, res.GetProject().GetSamplingRules()[1].GetInfoRate())

	var changed *time.Time
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT retention_changed_at FROM logs.projects WHERE id = $1`, id).Scan(&changed))
	require.NotNil(t, changed)
	leaves, err := partition.Leaves(ctx, e.pool)
	require.NoError(t, err)
	days := map[time.Time]bool{}
	for _, l := range leaves {
		if l.Class == 7 {
			days[l.Day] = true
		}
	}
	for d := partition.Day(e.clock.Now().AddDate(0, 0, -7)); !d.After(partition.Day(e.clock.Now())); d = d.AddDate(0, 0, 1) {
		require.True(t, days[d], "the r7 leaf of %s exists before the retention is committed", d.Format(time.DateOnly))
	}

	list, err := e.projects.ListProjects(owner, &logsv1.ListProjectsRequest{})
	require.NoError(t, err)
	require.EqualValues(t, 7, list.GetProjects()[0].GetRetentionDays(), "lists carry the retention")
	require.Len(t, list.GetProjects()[0].GetSamplingRules(), 3)

	// The same retention again leaves retention_changed_at alone.
	_, err = e.projects.UpdateProject(owner, &logsv1.UpdateProjectRequest{Id: id, RetentionDays: ptr[int32](7)})
	require.NoError(t, err)
	var again *time.Time
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT retention_changed_at FROM logs.projects WHERE id = $1`, id).Scan(&again))
	require.True(t, changed.Equal(*again))

	res, err = e.projects.UpdateProject(owner, &logsv1.UpdateProjectRequest{Id: id, RetentionDays: ptr[int32](0),
		Sampling: &logsv1.SamplingUpdate{Rules: []*logsv1.SamplingRule{rule("api", 0.5, 0.5)}}})
	require.NoError(t, err)
	require.EqualValues(t, 2, res.GetProject().GetRetentionDays())
	require.True(t, res.GetProject().GetRetentionIsDefault())
	require.Len(t, res.GetProject().GetSamplingRules(), 1, "the rules are replaced whole")
	res, err = e.projects.UpdateProject(owner, &logsv1.UpdateProjectRequest{Id: id, Sampling: &logsv1.SamplingUpdate{}})
	require.NoError(t, err)
	require.Empty(t, res.GetProject().GetSamplingRules(), "no rules: every entry kept")

	rows, err := e.pool.Query(ctx, `SELECT details::text FROM logs.audit_events WHERE action = 'project.update' AND project_id = $1 ORDER BY id`, id)
	require.NoError(t, err)
	var details []string
	for rows.Next() {
		var d string
		require.NoError(t, rows.Scan(&d))
		details = append(details, d)
	}
	require.NoError(t, rows.Err())
	require.Len(t, details, 4)
	require.JSONEq(t, `{"retention_days": {"from": 0, "to": 7}, "sampling_rules": [
		{"service_name": "", "debug_rate": 0.25, "info_rate": 1},
		{"service_name": "api", "debug_rate": 1, "info_rate": 0.3},
		{"service_name": "worker", "debug_rate": 0.1, "info_rate": 0.5}]}`, details[0])
	require.JSONEq(t, `{"retention_days": {"from": 7, "to": 7}}`, details[1])
	require.JSONEq(t, `{"retention_days": {"from": 7, "to": 0}, "sampling_rules": [{"service_name": "api", "debug_rate": 0.5, "info_rate": 0.5}]}`, details[2])
	require.JSONEq(t, `{"sampling_rules": []}`, details[3])

	// Viewers may not.
	_, viewer := e.newUser("viewer@example.com", "member")
	_, err = e.projects.AddProjectMember(owner, &logsv1.AddProjectMemberRequest{ProjectId: id, Email: "viewer@example.com", Role: "viewer"})
	require.NoError(t, err)
	_, err = e.projects.UpdateProject(viewer, &logsv1.UpdateProjectRequest{Id: id, RetentionDays: ptr[int32](7)})
	requireContains(t, err, codes.PermissionDenied, "viewers cannot change project")
}

// A project's oldest entry kept is exact, whatever its rollups' oldest
// day, and its sampled-out count sums its rollups.
func TestOldestLogAndSampledOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	owner := e.admin()
	shop := e.newProject(owner, "shop").GetProjectId()
	quiet := e.newProject(owner, "quiet").GetProjectId()
	now := time.Now().UTC()
	require.NoError(t, partition.Ensure(ctx, e.pool, now, 30*24*time.Hour))
	oldest := now.AddDate(0, 0, -3).Truncate(time.Microsecond)
	for _, ts := range []time.Time{now, oldest.Add(time.Minute), oldest, now.AddDate(0, 0, -1)} {
		_, err := e.pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message) VALUES ($1, $2, 'api', 3, 'x')`, shop, ts)
		require.NoError(t, err)
	}
	for _, r := range []struct {
		day        time.Time
		count, out int64
	}{{oldest, 2, 40}, {now.AddDate(0, 0, -1), 1, 2}, {now, 1, 0}} {
		_, err := e.pool.Exec(ctx, `INSERT INTO logs.entry_rollups (project_id, service_name, day, count, last_log_at, sampled_out)
			VALUES ($1, 'api', $2::timestamptz::date, $3, $2, $4)`, shop, r.day, r.count, r.out)
		require.NoError(t, err)
	}
	list, err := e.projects.ListProjects(owner, &logsv1.ListProjectsRequest{})
	require.NoError(t, err)
	by := map[int64]*logsv1.Project{}
	for _, p := range list.GetProjects() {
		by[p.GetId()] = p
	}
	require.True(t, oldest.Equal(by[shop].GetOldestLogAt().AsTime()), "got %v want %v", by[shop].GetOldestLogAt().AsTime(), oldest)
	require.EqualValues(t, 42, by[shop].GetSampledOutCount())
	require.Nil(t, by[quiet].GetOldestLogAt())
	require.Zero(t, by[quiet].GetSampledOutCount())
}
