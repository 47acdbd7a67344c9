package migrations_test

import (
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// Migration 0009 moves each project's key into logs.api_keys as its
// default key, ingest only, and drops logs.projects.key_hash: the old keys
// keep working; a deleted project's key is moved revoked.
func TestAPIKeysMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	_, err := pool.Exec(ctx, `DROP TABLE logs.api_key_addresses, logs.api_keys;
		ALTER TABLE logs.projects ADD COLUMN key_hash bytea UNIQUE;
		DELETE FROM public.devsmith_schema_migrations WHERE version = 9`)
	require.NoError(t, err)
	live := sha256.Sum256([]byte("dsk_live"))
	_, err = pool.Exec(ctx, `INSERT INTO logs.projects (id, name, slug, key_hash, created_at) VALUES (1, 'Live', 'live', $1, '2025-01-02T03:04:05Z')`, live[:])
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO logs.projects (id, name, slug, key_hash, is_active, deleted_at) VALUES (2, 'Gone', 'gone', NULL, false, '2025-06-01T00:00:00Z')`)
	require.NoError(t, err)
	require.NoError(t, migrations.Apply(ctx, pool))

	type key struct {
		ProjectID          int64
		Name, Prefix, Four string
		Hash               []byte
		Scopes             []string
		IsDefault, Revoked bool
		Created            time.Time
	}
	rows, err := pool.Query(ctx, `SELECT project_id, name, prefix, last_four, key_hash, scopes, is_default, revoked_at IS NOT NULL, created_at
		FROM logs.api_keys ORDER BY project_id`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[key])
	require.NoError(t, err)
	require.Len(t, got, 2)
	got[0].Created = got[0].Created.UTC()
	require.Equal(t, key{ProjectID: 1, Name: "default", Prefix: "dsk_", Hash: live[:], Scopes: []string{"ingest"}, IsDefault: true,
		Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, got[0], "the key keeps working: same digest; prefix and last four unknown")
	require.Equal(t, int64(2), got[1].ProjectID)
	require.True(t, got[1].Revoked)
	require.Nil(t, got[1].Hash)
	var hasColumn bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = 'logs' AND table_name = 'projects' AND column_name = 'key_hash')`).Scan(&hasColumn))
	require.False(t, hasColumn, "logs.api_keys is the one home of keys")
}

// Migration 0015 turns each day partition of a database stored before it
// into a partition by retention class whose default-class leaf is the old
// table: every entry is kept, in place, and the new classes' leaves can be
// added beside it.
func TestRetentionClassesKeepTheEntriesStoredBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	_, err := pool.Exec(ctx, "DROP SCHEMA logs CASCADE; TRUNCATE public.devsmith_schema_migrations")
	require.NoError(t, err)
	all, err := migrations.All()
	require.NoError(t, err)
	for _, m := range all {
		if m.Version >= 15 {
			break
		}
		_, err := pool.Exec(ctx, m.SQL)
		require.NoError(t, err, m.Name)
		_, err = pool.Exec(ctx, "INSERT INTO public.devsmith_schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
		require.NoError(t, err)
	}
	// Two day partitions as the ingestion service made them before 0015.
	for _, d := range []string{"20260310", "20260311"} {
		day, _ := time.Parse("20060102", d)
		_, err := pool.Exec(ctx, `CREATE TABLE logs.entries_`+d+` PARTITION OF logs.entries FOR VALUES FROM ('`+
			day.Format(time.RFC3339)+`') TO ('`+day.AddDate(0, 0, 1).Format(time.RFC3339)+`')`)
		require.NoError(t, err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context)
		SELECT 1 + i % 3, timestamptz '2026-03-10 00:00:00+00' + i * interval '77 seconds', 'api', 3, 'm ' || i, ('{"i": ' || i || '}')::jsonb
		FROM generate_series(0, 1999) i`)
	require.NoError(t, err)
	var before string
	require.NoError(t, pool.QueryRow(ctx, `SELECT md5(string_agg(project_id || ts::text || id || message || context::text, ',' ORDER BY id)) FROM logs.entries`).Scan(&before))

	require.NoError(t, migrations.Apply(ctx, pool))

	var after string
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT md5(string_agg(project_id || ts::text || id || message || context::text, ',' ORDER BY id)), count(*) FROM logs.entries`).Scan(&after, &n))
	require.Equal(t, 2000, n)
	require.Equal(t, before, after, "every entry is kept as it was")
	leaves, err := partition.Leaves(ctx, pool)
	require.NoError(t, err)
	require.Equal(t, []partition.Leaf{
		{Name: "entries_20260310_r0", Day: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), Class: 0},
		{Name: "entries_20260311_r0", Day: time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC), Class: 0},
	}, leaves)
	var classes []int
	rows, err := pool.Query(ctx, `SELECT DISTINCT retention_days FROM logs.entries`)
	require.NoError(t, err)
	classes, err = pgx.CollectRows(rows, pgx.RowTo[int])
	require.NoError(t, err)
	require.Equal(t, []int{0}, classes)
	// The old tables have the parent's indexes, the key one included.
	var idx int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		WHERE c.relname = 'entries_20260310_r0'`).Scan(&idx))
	var parentIdx int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_index i WHERE i.indrelid = 'logs.entries'::regclass`).Scan(&parentIdx))
	require.Equal(t, parentIdx, idx)
	// A new class's leaf goes beside the old table.
	require.NoError(t, partition.CreateClass(ctx, pool, time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), 7))
	_, err = pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, retention_days) VALUES (1, '2026-03-10T12:00:00Z', 'api', 3, 'seven', 7)`)
	require.NoError(t, err)
	var leaf string
	require.NoError(t, pool.QueryRow(ctx, `SELECT tableoid::regclass::text FROM logs.entries WHERE message = 'seven'`).Scan(&leaf))
	require.Equal(t, "logs.entries_20260310_r7", leaf)
}
