package analysis

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore"
)

// A new signature has its pattern within 5 s of its commit (the default
// poll interval; a commit notification wakes the miner sooner), the id of
// a founded pattern is its signature, and each project mines apart.
func TestNewSignatureGetsItsPatternWithin5s(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	s := newService(t, pool, Config{LeaderRetry: 20 * time.Millisecond})
	run(t, s)
	require.Eventually(t, s.Leading, 5*time.Second, 5*time.Millisecond)

	committed := time.Now()
	sig := write(t, pool, 1, "disk full on volume data")[0]
	got := mined(t, pool, 1, 5*time.Second, sig)
	t.Logf("mined %v after the commit", time.Since(committed).Round(time.Millisecond))
	require.Equal(t, sig, got[sig], "a founded pattern's id is its signature")
	ps := patternRows(t, pool, 1)
	require.Len(t, ps, 1)
	require.Equal(t, "disk full on volume data", ps[sig].template)
	require.Nil(t, ps[sig].mergedInto)

	// The same message in another project is that project's own pattern.
	require.Equal(t, sig, write(t, pool, 2, "disk full on volume data")[0])
	require.Equal(t, sig, mined(t, pool, 2, 5*time.Second, sig)[sig])
	require.Len(t, patternRows(t, pool, 2), 1)
	requireConsistent(t, pool, 1)
	requireConsistent(t, pool, 2)
}

// Similar messages end in one pattern once a position has shown enough
// values: the patterns merged away keep their row, merged into the
// survivor, their signatures' rows point at it, and filtering entries by
// any of the ids returns every entry (logstore's contract).
func TestSimilarMessagesEndInOnePattern(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		commits [][]string
	}{
		{"one commit, one chunk", [][]string{{"user alice logged in", "user bob logged in", "user carol logged in"}}},
		{"a commit each", [][]string{{"user alice logged in"}, {"user bob logged in"}, {"user carol logged in"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := newPool(t)
			run(t, newService(t, pool, testConfig()))
			var sigs []int64
			for _, c := range tc.commits {
				got := write(t, pool, 1, c...)
				mined(t, pool, 1, 5*time.Second, got...)
				sigs = append(sigs, got...)
			}
			// Rows of one commit are mined in signature order: the
			// survivor is the pattern of the first row mined.
			rows := signatureRows(t, pool, 1)
			first := sigs[0]
			for _, s := range sigs {
				if *rows[s].seq < *rows[first].seq {
					first = s
				}
			}
			got := mined(t, pool, 1, 5*time.Second, sigs...)
			require.Equal(t, map[int64]int64{sigs[0]: first, sigs[1]: first, sigs[2]: first}, got)
			ps := patternRows(t, pool, 1)
			require.Equal(t, "user <*> logged in", ps[first].template)
			require.Nil(t, ps[first].mergedInto)
			// The second row mined founded the second pattern (two values are
			// constants of two patterns), merged away by the third.
			second := int64(0)
			for _, s := range sigs {
				if *rows[s].seq == *rows[first].seq+1 {
					second = s
				}
			}
			require.Contains(t, ps, second, "the merged pattern keeps its row")
			require.NotNil(t, ps[second].mergedInto)
			require.Equal(t, first, *ps[second].mergedInto)
			require.Len(t, ps, 2)
			requireConsistent(t, pool, 1)

			ctx := context.Background()
			for _, id := range []int64{first, second} {
				ps, gs, err := logstore.PatternMembers(ctx, pool, []int64{1}, []int64{id})
				require.NoError(t, err)
				require.ElementsMatch(t, []int64{1, 1, 1}, ps)
				require.ElementsMatch(t, sigs, gs, "members of %x", id)
			}
			entries := readEntries(t, pool, 1)
			require.NoError(t, logstore.ResolvePatterns(ctx, pool, entries))
			for _, e := range entries {
				require.Equal(t, first, e.Pattern, "entry %q", e.Message)
			}
		})
	}
}

func readEntries(t *testing.T, pool *pgxpool.Pool, project int64) []logstore.Entry {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT `+logstore.EntryColumns+` FROM logs.entries WHERE project_id = $1`, project)
	require.NoError(t, err)
	entries, err := pgx.CollectRows(rows, logstore.ScanEntry)
	require.NoError(t, err)
	return entries
}

// A service started on a database another one mined rebuilds the same
// patterns: the rows keep their ids, mined_seq goes on, and a new message
// joins (or merges) patterns created before the restart.
func TestRestartRebuildsTheSamePatterns(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	stop := run(t, newService(t, pool, testConfig()))
	alice, bob := write(t, pool, 1, "user alice logged in")[0], write(t, pool, 1, "user bob logged in")[0]
	before := append([]int64{alice, bob}, write(t, pool, 1, "worker 1 started job alpha", "worker 2 started job beta", "worker 3 started job gamma")...)
	minedBefore := mined(t, pool, 1, 5*time.Second, before...)
	worker := minedBefore[before[2]]
	require.Equal(t, worker, minedBefore[before[3]], "three jobs: one pattern")
	rowsBefore := signatureRows(t, pool, 1)
	require.Equal(t, bob, *rowsBefore[bob].pattern, "two users: still two patterns")
	stop()

	run(t, newService(t, pool, testConfig()))
	after := write(t, pool, 1, "user carol logged in")
	after = append(after, write(t, pool, 1, "worker 4 started job delta")...)
	got := mined(t, pool, 1, 5*time.Second, append(before, after...)...)
	require.Equal(t, alice, got[after[0]], "the third user merges the patterns replayed")
	require.Equal(t, alice, got[bob])
	require.Equal(t, worker, got[after[1]], "a new job joins the pattern created before the restart")
	rows := signatureRows(t, pool, 1)
	for _, s := range before[2:] {
		require.Equal(t, rowsBefore[s], rows[s], "rows the restart did not merge keep their pattern and seq")
	}
	require.EqualValues(t, len(before), *rows[after[0]].seq, "mined_seq goes on after the replayed rows")
	requireConsistent(t, pool, 1)
}

// Two services on one database: only one mines; when it stops the other
// takes over within its retry and goes on with the same patterns.
func TestOneMinerPerDatabase(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	a, b := newService(t, pool, testConfig()), newService(t, pool, testConfig())
	stopA, stopB := run(t, a), run(t, b)
	require.Eventually(t, func() bool { return a.Leading() || b.Leading() }, 5*time.Second, 5*time.Millisecond)
	// However long they run, never both.
	require.Never(t, func() bool { return a.Leading() == b.Leading() }, 300*time.Millisecond, 5*time.Millisecond)
	leader, follower, stopLeader := a, b, stopA
	if b.Leading() {
		leader, follower, stopLeader = b, a, stopB
	}
	first := []int64{write(t, pool, 1, "user alice logged in")[0], write(t, pool, 1, "user bob logged in")[0]}
	mined(t, pool, 1, 5*time.Second, first...)
	require.True(t, leader.Leading())

	stopLeader()
	require.Eventually(t, follower.Leading, 5*time.Second, 5*time.Millisecond, "the other replica takes over")
	carol := write(t, pool, 1, "user carol logged in")[0]
	got := mined(t, pool, 1, 5*time.Second, append(first, carol)...)
	require.Equal(t, map[int64]int64{first[0]: first[0], first[1]: first[0], carol: first[0]}, got)
	requireConsistent(t, pool, 1)
}

// A miner whose connection is killed loses leadership and its state; it
// comes back, replays, and mines on with the same patterns.
func TestMinerSurvivesALostConnection(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	s := newService(t, pool, testConfig())
	run(t, s)
	first := []int64{write(t, pool, 1, "user alice logged in")[0], write(t, pool, 1, "user bob logged in")[0]}
	mined(t, pool, 1, 5*time.Second, first...)
	ctx := context.Background()
	pid := minerPID(t, pool)
	var killed bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&killed))
	require.True(t, killed)
	require.Eventually(t, func() bool { p, ok := lockHolder(t, pool); return ok && p != pid }, 5*time.Second, 5*time.Millisecond,
		"the miner takes its lock again on a new connection")

	carol := write(t, pool, 1, "user carol logged in")[0]
	got := mined(t, pool, 1, 5*time.Second, append(first, carol)...)
	require.Equal(t, map[int64]int64{first[0]: first[0], first[1]: first[0], carol: first[0]}, got)
	requireConsistent(t, pool, 1)
}

// lockHolder is the backend holding the miner's lock on pool's database.
func lockHolder(t *testing.T, pool *pgxpool.Pool) (int32, bool) {
	t.Helper()
	var pid int32
	err := pool.QueryRow(context.Background(), `SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid::bigint = ($1::bigint >> 32) AND objid::bigint = ($1::bigint & 4294967295)`, minerLock).Scan(&pid)
	if err == pgx.ErrNoRows {
		return 0, false
	}
	require.NoError(t, err)
	return pid, true
}

func minerPID(t *testing.T, pool *pgxpool.Pool) int32 {
	t.Helper()
	var pid int32
	require.Eventually(t, func() bool {
		var ok bool
		pid, ok = lockHolder(t, pool)
		return ok
	}, 5*time.Second, 5*time.Millisecond)
	return pid
}

// Past MaxPatterns live patterns a project's messages that join none go to
// the overflow pattern 0, whose row is written once; a similar message
// still joins its pattern, and the bound holds across a restart.
func TestPatternsBoundedPerProject(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	cfg := testConfig()
	cfg.MaxPatterns = 2
	stop := run(t, newService(t, pool, cfg))
	var sigs []int64
	for _, m := range []string{"cache warmed", "disk full on volume data", "queue drained after a long wait"} {
		sigs = append(sigs, write(t, pool, 1, m)...)
	}
	got := mined(t, pool, 1, 5*time.Second, sigs...)
	require.Equal(t, map[int64]int64{sigs[0]: sigs[0], sigs[1]: sigs[1], sigs[2]: logstore.OverflowPattern}, got)
	ps := patternRows(t, pool, 1)
	require.Len(t, ps, 3)
	require.Equal(t, logstore.OverflowTemplate, ps[logstore.OverflowPattern].template)
	stop()

	run(t, newService(t, pool, cfg))
	more := write(t, pool, 1, "connection reset by a peer we trusted", "disk full on volume logs")
	got = mined(t, pool, 1, 5*time.Second, more...)
	require.Equal(t, logstore.OverflowPattern, got[more[0]], "still full after the restart")
	require.Equal(t, sigs[1], got[more[1]], "full, a similar message joins its pattern")
	ps = patternRows(t, pool, 1)
	require.Len(t, ps, 3)
	require.Equal(t, "disk full on volume <*>", ps[sigs[1]].template)
	requireConsistent(t, pool, 1)
	// Another project has its own bound.
	other := write(t, pool, 2, "queue drained after a long wait")[0]
	require.Equal(t, other, mined(t, pool, 2, 5*time.Second, other)[other])
}
