package partition_test

import (
	"context"
	"testing"
	"time"

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
	dropped, err := partition.DropExpired(ctx, pool, now.Add(24*time.Hour), retention)
	require.NoError(t, err)
	require.Equal(t, []string{"entries_20260307"}, dropped)
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
	dropped, err = partition.DropExpired(ctx, pool, now.Add(24*time.Hour), retention)
	require.NoError(t, err)
	require.Empty(t, dropped)
}
