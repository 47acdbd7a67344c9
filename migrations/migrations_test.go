package migrations_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/pgtest"
	"github.com/devsmith/logs/migrations"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { pgtest.Main(m, &cluster) }

func TestApplyIsIdempotentAndSafeConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t) // already migrated from the template
	_, err := pool.Exec(ctx, "DROP SCHEMA logs CASCADE; TRUNCATE public.devsmith_schema_migrations")
	require.NoError(t, err)

	// Replicas starting together: every Apply succeeds, each migration runs once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := pgxpool.New(ctx, pool.Config().ConnString())
			if err != nil {
				errs[i] = err
				return
			}
			defer p.Close()
			errs[i] = migrations.Apply(ctx, p)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	all, err := migrations.All()
	require.NoError(t, err)
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM public.devsmith_schema_migrations").Scan(&n))
	require.Equal(t, len(all), n)
	pending, err := migrations.Pending(ctx, pool)
	require.NoError(t, err)
	require.Zero(t, pending)

	// The schema's slug rule holds in the database too.
	_, err = pool.Exec(ctx, "INSERT INTO logs.projects (name, slug) VALUES ('x', 'Bad Slug')")
	require.Error(t, err)
}

// Migration 0008 counts the entries stored before it: the hourly counts of
// the error groups start equal to the entries' (a database upgraded with
// errors in it does not lose them from the counts).
func TestErrorGroupHoursBackfill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	require.NoError(t, partition.Create(ctx, pool, day))
	_, err := pool.Exec(ctx, "DROP TABLE logs.error_group_hours; DELETE FROM public.devsmith_schema_migrations WHERE version = 8")
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context, error_fp)
		SELECT 1 + i % 2, $1::timestamptz + i * interval '7 minutes 13 seconds', 'svc-' || (i % 3), 4 + i % 3, 'failed', '{}', CASE WHEN i % 5 = 0 THEN 0 ELSE 100 + i % 4 END
		FROM generate_series(0, 199) i`, day)
	require.NoError(t, err)
	require.NoError(t, migrations.Apply(ctx, pool))

	var total, rows, diff int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(sum(count), 0), count(*) FROM logs.error_group_hours`).Scan(&total, &rows))
	require.EqualValues(t, 160, total)
	require.Greater(t, rows, int64(24))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM (
		(SELECT project_id, error_fp, date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00'), level, service_name, count(*), min(ts), max(ts)
		 FROM logs.entries WHERE error_fp <> 0 GROUP BY 1, 2, 3, 4, 5
		 EXCEPT SELECT project_id, error_fp, hour, level, service_name, count, first_ts, last_ts FROM logs.error_group_hours)
	) d`).Scan(&diff))
	require.Zero(t, diff)
}

// Migration 0013 sums the per-service hourly counts stored before it: the
// counts without services start equal to those with them.
func TestErrorGroupLevelHoursBackfill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	_, err := pool.Exec(ctx, "DROP TABLE logs.error_group_level_hours; DELETE FROM public.devsmith_schema_migrations WHERE version = 13")
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO logs.error_group_hours (project_id, error_fp, hour, level, service_name, count, first_ts, last_ts)
		SELECT 1 + i % 2, 100 + i % 4, timestamptz '2026-03-10 00:00:00+00' + (i % 5) * interval '1 hour', 4 + i % 3, 'svc-' || (i % 7), 1 + i,
			timestamptz '2026-03-10 00:00:00+00' + (i % 5) * interval '1 hour' + i * interval '1 second',
			timestamptz '2026-03-10 00:00:00+00' + (i % 5) * interval '1 hour' + (i + 30) * interval '1 second'
		FROM generate_series(0, 299) i`)
	require.NoError(t, err)
	require.NoError(t, migrations.Apply(ctx, pool))

	var total, rows, diff int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(sum(count), 0), count(*) FROM logs.error_group_level_hours`).Scan(&total, &rows))
	require.EqualValues(t, 300*301/2, total)
	require.EqualValues(t, 60, rows) // i mod 60 fixes (fingerprint, hour, level); the project follows the fingerprint
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM (
		(SELECT project_id, hour, error_fp, level, sum(count), min(first_ts), max(last_ts) FROM logs.error_group_hours GROUP BY 1, 2, 3, 4
		 EXCEPT SELECT project_id, hour, error_fp, level, count, first_ts, last_ts FROM logs.error_group_level_hours)
	) d`).Scan(&diff))
	require.Zero(t, diff)
}
