package analysis

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/logstore/signature"
	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

// TestMain checks, once every test has ended and the cluster is stopped,
// that no goroutine is left: the miner's loop ends with Run, and every
// gRPC server stops.
func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.WithCluster(m, &cluster)) }

// testConfig mines fast: a test waits for the miner by polling.
func testConfig() Config {
	return Config{MineInterval: 20 * time.Millisecond, LeaderRetry: 20 * time.Millisecond}
}

// newPool is a pool on a fresh database with today's partition.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := cluster.NewPool(t)
	require.NoError(t, partition.Create(context.Background(), pool, partition.Day(time.Now())))
	return pool
}

// newService makes a service on pool (not running).
func newService(t *testing.T, pool *pgxpool.Pool, cfg Config) *Service {
	t.Helper()
	return New(zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)), pool, nil, cfg)
}

// run starts s.Run; stop cancels it and waits until Run has returned
// (also at the test's end).
func run(t *testing.T, s *Service) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

// write stores one entry per message in project, in one transaction, as
// the ingestion service does: each entry with its message's signature, and
// the signature rows the transaction's pairs have none of
// (logstore.RecordCommitted). It returns the messages' signatures.
func write(t *testing.T, pool *pgxpool.Pool, project int64, msgs ...string) []int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	var h signature.Hasher
	var sigs logstore.Signatures
	seen := map[int64]bool{}
	out := make([]int64, len(msgs))
	now := time.Now().UTC()
	for i, m := range msgs {
		s := h.Of(m)
		out[i] = s
		_, err := tx.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context, signature)
			VALUES ($1, $2, 'api', 3, $3, '{}', $4)`, project, now, m, s)
		require.NoError(t, err)
		if !seen[s] {
			seen[s] = true
			sigs.Add(project, s, m, now)
		}
	}
	require.NoError(t, logstore.RecordCommitted(ctx, tx, &logstore.Rollups{}, &logstore.Spans{}, &sigs, nil))
	require.NoError(t, tx.Commit(ctx))
	return out
}

// sigRow is a logs.pattern_signatures row as the tests read it.
type sigRow struct {
	pattern *int64
	seq     *int64
}

func signatureRows(t *testing.T, pool *pgxpool.Pool, project int64) map[int64]sigRow {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT signature, pattern_id, mined_seq FROM logs.pattern_signatures WHERE project_id = $1`, project)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]sigRow{}
	for rows.Next() {
		var s int64
		var r sigRow
		require.NoError(t, rows.Scan(&s, &r.pattern, &r.seq))
		out[s] = r
	}
	require.NoError(t, rows.Err())
	return out
}

// mined waits (at most within) until every row of sigs in project is
// mined, and returns each one's pattern.
func mined(t *testing.T, pool *pgxpool.Pool, project int64, within time.Duration, sigs ...int64) map[int64]int64 {
	t.Helper()
	var out map[int64]int64
	require.Eventually(t, func() bool {
		rows := signatureRows(t, pool, project)
		out = map[int64]int64{}
		for _, s := range sigs {
			r, ok := rows[s]
			if !ok || r.pattern == nil {
				return false
			}
			out[s] = *r.pattern
		}
		return true
	}, within, 10*time.Millisecond, "signatures not mined within %s", within)
	return out
}

// patternRow is a logs.patterns row as the tests read it.
type patternRow struct {
	template   string
	mergedInto *int64
	firstSeen  time.Time
}

func patternRows(t *testing.T, pool *pgxpool.Pool, project int64) map[int64]patternRow {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id, template, merged_into, first_seen FROM logs.patterns WHERE project_id = $1`, project)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]patternRow{}
	for rows.Next() {
		var id int64
		var r patternRow
		require.NoError(t, rows.Scan(&id, &r.template, &r.mergedInto, &r.firstSeen))
		out[id] = r
	}
	require.NoError(t, rows.Err())
	return out
}

// requireConsistent asserts the contract of logs.patterns: every mined
// signature row points at a live pattern of its project, and every merged
// pattern at a live one.
func requireConsistent(t *testing.T, pool *pgxpool.Pool, project int64) {
	t.Helper()
	ps := patternRows(t, pool, project)
	for s, r := range signatureRows(t, pool, project) {
		if r.pattern == nil {
			continue
		}
		p, ok := ps[*r.pattern]
		require.True(t, ok, "signature %x points at pattern %x, which has no row", s, *r.pattern)
		require.Nil(t, p.mergedInto, "signature %x points at pattern %x, merged away", s, *r.pattern)
	}
	for id, p := range ps {
		if p.mergedInto == nil {
			continue
		}
		live, ok := ps[*p.mergedInto]
		require.True(t, ok, "pattern %x merged into %x, which has no row", id, *p.mergedInto)
		require.Nil(t, live.mergedInto, "pattern %x merged into %x, merged away too", id, *p.mergedInto)
	}
}
