package partition_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { pgtest.Main(m, &cluster) }

func TestEnsureAndDropExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	retention := 3 * 24 * time.Hour

	require.NoError(t, partition.Ensure(ctx, pool, now, retention))
	require.NoError(t, partition.Ensure(ctx, pool, now, retention), "Ensure is idempotent")
	names, err := partition.List(ctx, pool)
	require.NoError(t, err)
	require.Equal(t, []string{"entries_20260307", "entries_20260308", "entries_20260309", "entries_20260310", "entries_20260311", "entries_20260312"}, names)

	// An entry in the oldest day, with its rollup, and one today.
	_, err = pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message)
		VALUES (1, '2026-03-07T10:00:00Z', 'api', 3, 'old'), (1, '2026-03-10T10:00:00Z', 'api', 3, 'new')`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO logs.entry_rollups VALUES (1, 'api', '2026-03-07', 1, '2026-03-07T10:00:00Z'), (1, 'api', '2026-03-10', 1, '2026-03-10T10:00:00Z')`)
	require.NoError(t, err)

	// A day later the oldest day is wholly past retention: dropped whole.
	dropped, err := partition.DropExpired(ctx, pool, now.Add(24*time.Hour), retention, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"entries_20260307_r0"}, dropped)
	var msgs []string
	rows, err := pool.Query(ctx, "SELECT message FROM logs.entries ORDER BY ts")
	require.NoError(t, err)
	for rows.Next() {
		var m string
		require.NoError(t, rows.Scan(&m))
		msgs = append(msgs, m)
	}
	require.Equal(t, []string{"new"}, msgs)
	var rollups int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM logs.entry_rollups").Scan(&rollups))
	require.Equal(t, 1, rollups)

	// Nothing more to drop the same day.
	dropped, err = partition.DropExpired(ctx, pool, now.Add(24*time.Hour), retention, nil)
	require.NoError(t, err)
	require.Empty(t, dropped)
}

// Each retention class expires on its own: a leaf is dropped when its day is
// past its class's retention, whatever the other classes of the day; a day
// goes when its last leaf does, and the rollups of a project with no entries
// left that day with it.
func TestClassesExpireOnTheirOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	def := 5 * 24 * time.Hour
	_, err := pool.Exec(ctx, `INSERT INTO logs.projects (id, name, slug, retention_days) VALUES (1, 'a', 'a', NULL), (2, 'b', 'b', 2), (3, 'c', 'c', 9)`)
	require.NoError(t, err)
	classes, err := partition.Classes(ctx, pool)
	require.NoError(t, err)
	require.Equal(t, []int{0, 2, 9}, classes)
	require.NoError(t, partition.Ensure(ctx, pool, now, def))
	leaves, err := partition.Leaves(ctx, pool)
	require.NoError(t, err)
	perClass := map[int]int{}
	for _, l := range leaves {
		perClass[l.Class]++
	}
	// From the cut-off day to two days ahead, both included.
	require.Equal(t, map[int]int{0: 5 + 1 + partition.Ahead, 2: 2 + 1 + partition.Ahead, 9: 9 + 1 + partition.Ahead}, perClass)
	require.Equal(t, partition.LeafName(now.AddDate(0, 0, -9), 9), leaves[0].Name)

	// One entry of each class on 2026-03-08, with rollups; b's two days old.
	_, err = pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, retention_days)
		VALUES (1, '2026-03-08T10:00:00Z', 'api', 3, 'a', 0), (2, '2026-03-08T10:00:00Z', 'api', 3, 'b', 2), (3, '2026-03-08T10:00:00Z', 'api', 3, 'c', 9)`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO logs.entry_rollups VALUES (1, 'api', '2026-03-08', 1, '2026-03-08T10:00:00Z'),
		(2, 'api', '2026-03-08', 1, '2026-03-08T10:00:00Z'), (3, 'api', '2026-03-08', 1, '2026-03-08T10:00:00Z')`)
	require.NoError(t, err)
	// c's worker had every entry of that day sampled out: a row of no
	// stored entry, kept until c's own cut-off.
	_, err = pool.Exec(ctx, `INSERT INTO logs.entry_rollups (project_id, service_name, day, count, last_log_at, sampled_out)
		VALUES (3, 'worker', '2026-03-08', 0, '2026-03-08T11:00:00Z', 40)`)
	require.NoError(t, err)
	sampledOut := func() int64 {
		var n int64
		require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(sum(sampled_out), 0) FROM logs.entry_rollups WHERE project_id = 3`).Scan(&n))
		return n
	}
	var archived []string
	archive := func(ctx context.Context, conn *pgxpool.Conn, l partition.Leaf) error {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM logs."+l.Name).Scan(&n); err != nil {
			return err
		}
		archived = append(archived, fmt.Sprintf("%s:%d", l.Name, n))
		return nil
	}

	// Two days later 2026-03-08 is past class 2's cut-off only.
	dropped, err := partition.DropExpired(ctx, pool, now.AddDate(0, 0, 2), def, archive)
	require.NoError(t, err)
	require.Contains(t, dropped, "entries_20260308_r2")
	require.NotContains(t, dropped, "entries_20260308_r0")
	require.Contains(t, archived, "entries_20260308_r2:1")
	var msgs []string
	rows, err := pool.Query(ctx, "SELECT message FROM logs.entries ORDER BY message")
	require.NoError(t, err)
	msgs, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"a", "c"}, msgs)
	var rollupProjects []int64
	rows, err = pool.Query(ctx, "SELECT project_id FROM logs.entry_rollups ORDER BY 1")
	require.NoError(t, err)
	rollupProjects, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Equal(t, []int64{1, 3, 3}, rollupProjects)
	require.Equal(t, int64(40), sampledOut(), "dropping another class's leaf of that day keeps c's sampled-out count")

	// A failing archive keeps its leaf and says which.
	failing := func(context.Context, *pgxpool.Conn, partition.Leaf) error { return errors.New("disk full") }
	dropped, err = partition.DropExpired(ctx, pool, now.AddDate(0, 0, 6), def, failing)
	require.ErrorContains(t, err, "archiving partition entries_20260308_r0: disk full")
	require.Empty(t, dropped)

	// Past every class's cut-off the whole day goes, and c's sampled-out
	// row with it.
	_, err = partition.DropExpired(ctx, pool, now.AddDate(0, 0, 12), def, nil)
	require.NoError(t, err)
	require.Equal(t, int64(0), sampledOut())
	names, err := partition.List(ctx, pool)
	require.NoError(t, err)
	require.NotContains(t, names, "entries_20260308")
}

func TestEnsureClass(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	require.ErrorContains(t, partition.EnsureClass(ctx, pool, now, 0), "at least 1 day")
	require.NoError(t, partition.EnsureClass(ctx, pool, now, 3))
	leaves, err := partition.Leaves(ctx, pool)
	require.NoError(t, err)
	require.Len(t, leaves, 3+1+partition.Ahead)
	for _, l := range leaves {
		require.Equal(t, 3, l.Class)
	}
	// A row of class 3 three days old finds its partition.
	_, err = pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, retention_days) VALUES (1, $1, 'api', 3, 'm', 3)`, now.AddDate(0, 0, -3))
	require.NoError(t, err)
}

func TestPurgeShortened(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	retention := 10 * 24 * time.Hour
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	// 1: shortened from the default to 3 days an hour ago; 2: the default,
	// never changed; 3: lengthened from 3 to 7 days; 4: shortened to 3 days
	// longer ago than any class is kept (its rows here cannot exist after
	// such a change: they show the projects looked at are bounded).
	exec(`INSERT INTO logs.projects (id, name, slug, retention_days, retention_changed_at) VALUES
		(1, 'short', 'short', 3, $1), (2, 'default', 'default', NULL, NULL),
		(3, 'longer', 'longer', 7, $1), (4, 'old', 'old', 3, $2)`, now.Add(-time.Hour), now.Add(-11*24*time.Hour))
	require.NoError(t, partition.Ensure(ctx, pool, now, retention))

	// A row per project and day from 03-01 to 03-10 under the class each
	// was written with, their rollups, and 25,000 more of project 1 on
	// 03-05 (several chunks).
	for d := 1; d <= 10; d++ {
		ts := time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC)
		exec(`INSERT INTO logs.entries (project_id, ts, service_name, level, message, retention_days) VALUES
			(1, $1, 'api', 3, 'p1', 0), (2, $1, 'api', 3, 'p2', 0), (4, $1, 'api', 3, 'p4', 0)`, ts)
		exec(`INSERT INTO logs.entry_rollups VALUES (1, 'api', $1, 1, $2), (2, 'api', $1, 1, $2)`, partition.Day(ts), ts)
		if d >= 8 {
			exec(`INSERT INTO logs.entries (project_id, ts, service_name, level, message, retention_days) VALUES (3, $1, 'api', 3, 'p3', 3)`, ts)
		}
	}
	exec(`INSERT INTO logs.entries (project_id, ts, service_name, level, message, retention_days)
		SELECT 1, '2026-03-05T00:00:00Z'::timestamptz + i * interval '1 second', 'web', 3, 'bulk', 0 FROM generate_series(1, 25000) i`)
	// Project 1's entries since the change, under its new class.
	exec(`INSERT INTO logs.entries (project_id, ts, service_name, level, message, retention_days) VALUES (1, '2026-03-10T14:30:00Z', 'api', 3, 'p1 new', 3)`)

	n, err := partition.PurgeShortened(ctx, pool, now, retention)
	require.NoError(t, err)
	require.EqualValues(t, 6+25000, n, "project 1's rows of 03-01..03-06 (before its cut-off's day 03-07)")

	days := func(project int64) []string {
		t.Helper()
		rows, err := pool.Query(ctx, `SELECT DISTINCT to_char(ts AT TIME ZONE 'UTC', 'MM-DD') FROM logs.entries WHERE project_id = $1 ORDER BY 1`, project)
		require.NoError(t, err)
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return got
	}
	all := []string{"03-01", "03-02", "03-03", "03-04", "03-05", "03-06", "03-07", "03-08", "03-09", "03-10"}
	require.Equal(t, all[6:], days(1))
	require.Equal(t, all, days(2))
	require.Equal(t, all[7:], days(3))
	require.Equal(t, all, days(4))
	var rollups []string
	rows, err := pool.Query(ctx, `SELECT project_id || ' ' || to_char(day, 'MM-DD') FROM logs.entry_rollups WHERE project_id = 1 ORDER BY day`)
	require.NoError(t, err)
	rollups, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"1 03-07", "1 03-08", "1 03-09", "1 03-10"}, rollups, "project 1's rollups of the purged days went with them")
	var other int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM logs.entry_rollups WHERE project_id = 2`).Scan(&other))
	require.Equal(t, 10, other)

	// Each row goes once: the next round finds nothing.
	n, err = partition.PurgeShortened(ctx, pool, now.Add(time.Minute), retention)
	require.NoError(t, err)
	require.Zero(t, n)
}
