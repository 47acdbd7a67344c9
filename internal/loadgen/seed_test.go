package loadgen

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { pgtest.Main(m, &cluster) }

// TestSeedWritesErrorGroups: the seed writes every WARN, ERROR and FATAL
// entry with its fingerprint and the group rows a writer would: each code
// path of errorEntryOf is one group per project, every fingerprint has its
// row, first_seen is the oldest entry's ts.
func TestSeedWritesErrorGroups(t *testing.T) {
	ctx := context.Background()
	pool := cluster.NewPool(t)
	_, err := Seed(ctx, pool, SeedConfig{
		Entries: 20_000, Projects: []SeedProject{{ID: 1, Slug: "a"}, {ID: 2, Slug: "b"}}, Services: 3, Days: 2,
		End: time.Now().UTC().Truncate(time.Hour), Conns: 2, ChunkRows: 3000, Seed: 1, Out: io.Discard,
	})
	require.NoError(t, err)
	q := func(sql string) int64 {
		t.Helper()
		var n int64
		require.NoError(t, pool.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	require.Zero(t, q(`SELECT count(*) FROM logs.entries WHERE (level >= 4) <> (error_fp <> 0)`))
	require.Positive(t, q(`SELECT count(*) FROM logs.entries WHERE error_fp <> 0`))
	require.Zero(t, q(`SELECT count(*) FROM logs.entries e WHERE error_fp <> 0 AND NOT EXISTS
		(SELECT 1 FROM logs.error_groups g WHERE g.project_id = e.project_id AND g.fingerprint = e.error_fp)`))
	require.Zero(t, q(`SELECT count(*) FROM logs.error_groups g WHERE first_seen <>
		(SELECT min(ts) FROM logs.entries e WHERE e.project_id = g.project_id AND e.error_fp = g.fingerprint)`))
	// The five stacks' paths: one group per project each, named by their
	// innermost in-app frame.
	for _, culprit := range []string{"chargeCard (billing.js)", "loadUser (users.js)", "reserve_stock (inventory.py)", "fetch_report (jobs.py)", "main.(*Cart).Item (cart.go)"} {
		require.EqualValues(t, 2, q(`SELECT count(*) FROM logs.error_groups WHERE culprit = '`+culprit+`'`), culprit)
	}
	// Without a stack: one group per (project, message signature).
	require.Equal(t, q(`SELECT count(DISTINCT (project_id, signature)) FROM logs.entries WHERE message LIKE '%: context.deadlineExceededError: %'`),
		q(`SELECT count(*) FROM logs.error_groups WHERE title LIKE 'context.deadlineExceededError: upstream request to %'`))
	require.Equal(t, q(`SELECT count(DISTINCT (project_id, error_fp)) FROM logs.entries WHERE error_fp <> 0`), q(`SELECT count(*) FROM logs.error_groups`))
}
