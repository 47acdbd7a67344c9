package query

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

func TestListServices(t *testing.T) {
	s, pool := newService(t, Config{})
	t1 := day.Add(time.Hour)
	t2 := day.Add(26 * time.Hour)
	_, err := pool.Exec(context.Background(), `INSERT INTO logs.entry_rollups (project_id, service_name, day, count, last_log_at) VALUES
		(2, 'web', '2026-03-10', 4, $1),
		(1, 'worker', '2026-03-10', 1, $1),
		(1, 'api', '2026-03-10', 7, $1),
		(1, 'api', '2026-03-11', 2, $2),
		(3, 'api', '2026-03-11', 9, $2)`, t1, t2)
	require.NoError(t, err)

	type svc struct {
		project, name string
		last          time.Time
	}
	list := func(t *testing.T, res *logsv1.ListServicesResponse) []svc {
		var out []svc
		for _, v := range res.GetServices() {
			out = append(out, svc{v.GetProjectSlug(), v.GetName(), v.GetLastLogAt().AsTime()})
		}
		return out
	}

	res, err := s.ListServices(as(member()), &logsv1.ListServicesRequest{})
	require.NoError(t, err)
	require.Equal(t, []svc{{"alpha", "api", t2}, {"alpha", "worker", t1}, {"beta", "web", t1}}, list(t, res))

	res, err = s.ListServices(as(member()), &logsv1.ListServicesRequest{Project: []string{"beta"}})
	require.NoError(t, err)
	require.Equal(t, []svc{{"beta", "web", t1}}, list(t, res))

	res, err = s.ListServices(as(admin()), &logsv1.ListServicesRequest{Project: []string{"gamma", "alpha"}})
	require.NoError(t, err)
	require.Equal(t, []svc{{"alpha", "api", t2}, {"alpha", "worker", t1}, {"gamma", "api", t2}}, list(t, res))

	_, err = s.ListServices(as(admin()), &logsv1.ListServicesRequest{Project: []string{"zeta"}})
	requireCode(t, err, codes.NotFound, `project "zeta" not found`)
}
