package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.WithCluster(m, &cluster)) }

// testKey is a secrets key for the tests (base64 of 32 bytes).
const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// fixture is a fresh database with a project, and the service over it at
// a fixed now.
type fixture struct {
	t       *testing.T
	pool    *pgxpool.Pool
	s       *Service
	now     time.Time
	project int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	now := time.Now().UTC().Truncate(time.Second)
	for _, d := range []time.Time{now.Add(-48 * time.Hour), now.Add(-24 * time.Hour), now} {
		require.NoError(t, partition.Create(ctx, pool, partition.Day(d)))
	}
	f := &fixture{t: t, pool: pool, now: now}
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO logs.projects (name, slug) VALUES ('Shop', 'shop') RETURNING id`).Scan(&f.project))
	f.s = New(zaptest.NewLogger(t), pool, Config{Interval: time.Second, SecretsKey: testKey})
	f.s.now = func() time.Time { return f.now }
	return f
}

// entry writes one entry of the project.
func (f *fixture) entry(ts time.Time, service, level, msg string, ctxJSON string, fp int64) {
	f.t.Helper()
	lv := map[string]int16{"DEBUG": 2, "INFO": 3, "WARN": 4, "ERROR": 5, "FATAL": 6}[level]
	_, err := f.pool.Exec(context.Background(), `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context, error_fp)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, f.project, ts, service, lv, msg, ctxJSON, fp)
	require.NoError(f.t, err)
}

func (f *fixture) rule(cond string, threshold float64, window time.Duration, q query) *rule {
	if q.Levels == nil {
		q.Levels = []int16{}
	}
	if q.Services == nil {
		q.Services = []string{}
	}
	if q.Context == nil {
		q.Context = map[string]string{}
	}
	return &rule{ID: 1, ProjectID: f.project, ProjectSlug: "shop", Name: "r", Query: q, Window: window, Condition: cond, Threshold: threshold, State: "ok"}
}
