package migrations_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

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
