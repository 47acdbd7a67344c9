package query

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// TestFilteredPagesEqualPlainSQL walks every page of filtered listings
// (which read keys from the service index first) and of unfiltered ones,
// and compares them with a plain ORDER BY over the same filters: same
// entries, same order, nothing skipped or repeated across pages, also when
// many entries share a timestamp and the range spans partitions.
func TestFilteredPagesEqualPlainSQL(t *testing.T) {
	t.Parallel()
	d0 := time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
	s, pool := newService(t, Config{}, d0, d0.AddDate(0, 0, 1), d0.AddDate(0, 0, 2))
	ctx := context.Background()
	_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message)
		SELECT 1 + i % 3, $1::timestamptz + ((i / 7) * interval '17 minutes'),
		       (ARRAY['api', 'worker', 'web'])[1 + (i / 3) % 3], 1 + (i / 9) % 6, 'm' || i
		FROM generate_series(0, 1399) i`, d0.Add(12*time.Hour))
	require.NoError(t, err)

	since, until := d0.Add(18*time.Hour), d0.Add(40*time.Hour)
	for _, c := range []struct {
		name     string
		req      *logsv1.ListEntriesRequest
		where    string
		projects []int64
	}{
		{"service", &logsv1.ListEntriesRequest{Project: []string{"alpha"}, Service: []string{"api"}},
			"service_name = 'api'", []int64{alpha}},
		{"levels", &logsv1.ListEntriesRequest{Project: []string{"beta"}, Level: []string{"warn", "ERROR"}},
			"level IN (4, 5)", []int64{beta}},
		{"service, level, time range", &logsv1.ListEntriesRequest{Project: []string{"alpha"}, Service: []string{"web"}, Level: []string{"info", "debug"},
			Since: timestamppb.New(since), Until: timestamppb.New(until)},
			fmt.Sprintf("service_name = 'web' AND level IN (2, 3) AND ts >= '%s' AND ts < '%s'", since.Format(time.RFC3339), until.Format(time.RFC3339)), []int64{alpha}},
		{"several projects and services", &logsv1.ListEntriesRequest{Service: []string{"api", "worker"}, Level: []string{"fatal", "trace", "info"}},
			"service_name IN ('api', 'worker') AND level IN (1, 3, 6)", []int64{alpha, beta, gamma}},
		{"no filter (primary key)", &logsv1.ListEntriesRequest{Project: []string{"gamma"}, Since: timestamppb.New(since)},
			fmt.Sprintf("ts >= '%s'", since.Format(time.RFC3339)), []int64{gamma}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, err := pool.Query(ctx, "SELECT id FROM logs.entries WHERE project_id = ANY($1) AND "+c.where+" ORDER BY ts DESC, id DESC", c.projects)
			require.NoError(t, err)
			want, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			require.NoError(t, err)
			require.Greater(t, len(want), 15, "the case needs several pages")

			var got []int64
			req := c.req
			req.PageSize = 7
			for pages := 0; ; pages++ {
				require.Less(t, pages, 100)
				res, err := s.ListEntries(as(admin()), req)
				require.NoError(t, err)
				require.EqualValues(t, len(want), res.GetTotalSize())
				for _, e := range res.GetEntries() {
					got = append(got, e.GetId())
				}
				if res.GetNextPageToken() == "" {
					break
				}
				req.PageToken = res.GetNextPageToken()
			}
			require.Equal(t, want, got)
		})
	}
}
