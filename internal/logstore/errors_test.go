package logstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/partition"
)

func TestErrorGroupID(t *testing.T) {
	t.Parallel()
	require.Equal(t, "", logstore.FormatErrorGroupID(0), "no group")
	require.Equal(t, "42", logstore.FormatErrorGroupID(42))
	for _, tc := range []struct {
		s  string
		id int64
		ok bool
	}{
		{"42", 42, true}, {"9223372036854775807", 9223372036854775807, true},
		{"", 0, false}, {"0", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"0x1f", 0, false},
		{"1 ", 0, false}, {"9223372036854775808", 0, false}, {"00000000000000000042", 0, false},
	} {
		id, ok := logstore.ParseErrorGroupID(tc.s)
		require.Equal(t, tc.ok, ok, "%q", tc.s)
		require.Equal(t, tc.id, id, "%q", tc.s)
	}
}

// An entry's group is the row of its (project, fingerprint); fingerprint 0
// has none; ReopenRegressions reopens exactly the resolved groups with a
// later entry.
func TestErrorGroupsReadSide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	require.NoError(t, partition.Create(ctx, pool, day))
	group := func(project, fp int64, status string, resolved *time.Time) int64 {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO logs.error_groups (project_id, fingerprint, exception_type, title, culprit, first_seen, status, resolved_at)
			VALUES ($1, $2, '', 't', 'c', $3, $4, $5) RETURNING id`, project, fp, day, status, resolved).Scan(&id))
		return id
	}
	at := func(h int) *time.Time { t := day.Add(time.Duration(h) * time.Hour); return &t }
	a := group(1, 7, "open", nil)
	b := group(2, 7, "resolved", at(10)) // a later entry: reopens
	c := group(1, 8, "resolved", at(10)) // only an older entry
	d := group(1, 9, "ignored", at(1))   // ignored: stays
	e := group(2, 8, "resolved", at(10)) // no entry at all
	for _, r := range []struct {
		project, fp int64
		h           int
	}{{1, 7, 5}, {2, 7, 11}, {1, 8, 9}, {1, 9, 12}, {1, 0, 12}} {
		_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context, error_fp)
			VALUES ($1, $2, 'api', 5, 'x', '{}', $3)`, r.project, *at(r.h), r.fp)
		require.NoError(t, err)
	}

	entries := []logstore.Entry{{ProjectID: 1, ErrorFP: 7}, {ProjectID: 2, ErrorFP: 7}, {ProjectID: 1, ErrorFP: 0}, {ProjectID: 1, ErrorFP: 8}, {ProjectID: 1, ErrorFP: 7}}
	require.NoError(t, logstore.ResolveErrorGroups(ctx, pool, entries))
	got := make([]int64, len(entries))
	for i, en := range entries {
		got[i] = en.ErrorGroup
	}
	require.Equal(t, []int64{a, b, 0, c, a}, got)
	require.Equal(t, logstore.FormatErrorGroupID(a), entries[0].Proto("alpha").GetErrorGroupId())
	require.Equal(t, "", entries[2].Proto("alpha").GetErrorGroupId())

	refs, err := logstore.ErrorGroupMembers(ctx, pool, []int64{b, 999})
	require.NoError(t, err)
	require.Equal(t, []logstore.ErrorGroupRef{{ID: b, Project: 2, Fingerprint: 7}}, refs)

	ids, err := logstore.ReopenRegressions(ctx, pool)
	require.NoError(t, err)
	require.Equal(t, []int64{b}, ids)
	ids, err = logstore.ReopenRegressions(ctx, pool)
	require.NoError(t, err)
	require.Empty(t, ids, "reopened once")
	status := map[int64]string{}
	rows, err := pool.Query(ctx, `SELECT id, status || CASE WHEN regression THEN '+regression' ELSE '' END FROM logs.error_groups`)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		var s string
		require.NoError(t, rows.Scan(&id, &s))
		status[id] = s
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[int64]string{a: "open", b: "open+regression", c: "resolved", d: "ignored", e: "resolved"}, status)
}
