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
	t.Parallel()
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

func TestListServicesPages(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{MaxPageSize: 3, DefaultPageSize: 2})
	last := day.Add(time.Hour)
	// Names in byte order differ from a linguistic collation's ("B" < "a").
	_, err := pool.Exec(context.Background(), `INSERT INTO logs.entry_rollups (project_id, service_name, day, count, last_log_at) VALUES
		(1, 'a', '2026-03-10', 1, $1), (1, 'B', '2026-03-10', 1, $1), (1, 'b', '2026-03-10', 1, $1),
		(1, 'a-b', '2026-03-10', 1, $1), (2, 'a', '2026-03-10', 1, $1)`, last)
	require.NoError(t, err)
	want := []string{"alpha/B", "alpha/a", "alpha/a-b", "alpha/b", "beta/a"}

	// pages reads every page at the size and returns the services and the
	// number of pages.
	pages := func(t *testing.T, size int32) ([]string, int) {
		var got []string
		tok := ""
		for n := 1; ; n++ {
			res, err := s.ListServices(as(member()), &logsv1.ListServicesRequest{PageSize: size, PageToken: tok})
			require.NoError(t, err)
			for _, v := range res.GetServices() {
				got = append(got, v.GetProjectSlug()+"/"+v.GetName())
			}
			if tok = res.GetNextPageToken(); tok == "" {
				return got, n
			}
			require.Less(t, n, 10, "paging does not end")
		}
	}
	for size, wantPages := range map[int32]int{1: 5, 2: 3, 0: 3, 3: 2, 1000: 2} {
		got, n := pages(t, size)
		require.Equal(t, want, got, "page_size %d", size)
		require.Equal(t, wantPages, n, "pages at page_size %d (default 2, at most 3)", size)
	}

	first, err := s.ListServices(as(member()), &logsv1.ListServicesRequest{PageSize: 1})
	require.NoError(t, err)
	require.NotEmpty(t, first.GetNextPageToken())
	for name, req := range map[string]*logsv1.ListServicesRequest{
		"garbled token":          {PageToken: "!!not-a-token"},
		"truncated token":        {PageToken: first.GetNextPageToken()[:8]},
		"token of other filters": {Project: []string{"alpha"}, PageToken: first.GetNextPageToken()},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.ListServices(as(member()), req)
			requireCode(t, err, codes.InvalidArgument, "invalid page_token")
		})
	}
	_, err = s.ListServices(as(member()), &logsv1.ListServicesRequest{PageSize: -1})
	requireCode(t, err, codes.InvalidArgument, "page_size must not be negative")
}
