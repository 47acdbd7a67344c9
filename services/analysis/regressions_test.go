package analysis

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// errorGroup inserts a group of project with fingerprint fp in status
// (resolved and ignored ones resolved now) and returns its id.
func errorGroup(t *testing.T, pool *pgxpool.Pool, project, fp int64, status string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, pool.QueryRow(context.Background(), `INSERT INTO logs.error_groups
		(project_id, fingerprint, exception_type, title, culprit, first_seen, status, resolved_at)
		VALUES ($1, $2, 'TypeError', 'TypeError: boom', 'pay (orders.js)', now() - interval '1 minute', $3,
		        CASE WHEN $3 <> 'open' THEN now() END) RETURNING id`, project, fp, status).Scan(&id))
	return id
}

// writeError stores an ERROR entry of group id at its resolved_at (now
// when it has none) plus offset.
func writeError(t *testing.T, pool *pgxpool.Pool, id int64, offset time.Duration) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context, error_fp)
		SELECT project_id, coalesce(resolved_at, now()) + $2 * interval '1 microsecond', 'api', 5, 'boom', '{}', fingerprint
		FROM logs.error_groups WHERE id = $1`, id, offset.Microseconds())
	require.NoError(t, err)
}

type groupState struct {
	status     string
	regression bool
	resolved   *time.Time
}

func stateOf(t *testing.T, pool *pgxpool.Pool, id int64) groupState {
	t.Helper()
	var g groupState
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT status, regression, resolved_at FROM logs.error_groups WHERE id = $1`, id).
		Scan(&g.status, &g.regression, &g.resolved))
	return g
}

// A resolved group with a new entry (ts after resolved_at) is open again
// with regression set within 5 s of the commit; an entry older than the
// resolution does not reopen its group, nor does any entry an ignored one.
func TestResolvedGroupReopensOnANewEntry(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	s := newService(t, pool, testConfig())
	run(t, s)
	require.Eventually(t, s.Leading, 5*time.Second, 5*time.Millisecond)

	regressed := errorGroup(t, pool, 1, 11, "resolved")
	older := errorGroup(t, pool, 1, 12, "resolved")
	ignored := errorGroup(t, pool, 1, 13, "ignored")
	open := errorGroup(t, pool, 2, 11, "open") // the same fingerprint, another project
	resolvedAt := stateOf(t, pool, regressed).resolved
	require.NotNil(t, resolvedAt)

	// Written before the regression's entry: by the time it is reopened,
	// a check has seen these.
	writeError(t, pool, older, -time.Second)
	writeError(t, pool, ignored, time.Second)
	writeError(t, pool, open, time.Second)
	committed := time.Now()
	writeError(t, pool, regressed, time.Second)
	require.Eventually(t, func() bool { return stateOf(t, pool, regressed).status == "open" }, 5*time.Second, 10*time.Millisecond,
		"the resolved group with a new entry is not reopened")
	t.Logf("reopened %v after the commit", time.Since(committed).Round(time.Millisecond))
	g := stateOf(t, pool, regressed)
	require.True(t, g.regression)
	require.NotNil(t, g.resolved, "resolved_at is kept: when it was resolved before it regressed")
	require.True(t, resolvedAt.Equal(*g.resolved))

	require.Equal(t, groupState{"resolved", false, stateOf(t, pool, older).resolved}, stateOf(t, pool, older), "an older entry does not reopen")
	require.Equal(t, "ignored", stateOf(t, pool, ignored).status)
	require.False(t, stateOf(t, pool, ignored).regression)
	require.Equal(t, groupState{"open", false, nil}, stateOf(t, pool, open), "an open group is not a regression")

	// Resolved again (as UpdateErrorGroup does), then a newer entry: a
	// regression again.
	_, err := pool.Exec(context.Background(), `UPDATE logs.error_groups SET status = 'resolved', regression = false, resolved_at = now() WHERE id = $1`, regressed)
	require.NoError(t, err)
	writeError(t, pool, regressed, time.Second)
	require.Eventually(t, func() bool { g := stateOf(t, pool, regressed); return g.status == "open" && g.regression }, 5*time.Second, 10*time.Millisecond)
}
