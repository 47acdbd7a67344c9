package logstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { pgtest.Main(m, &cluster) }

var day = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

// TestColumnsAreTheTable: Columns is every column of logs.entries in table
// order (what COPY without a list would take), and EntryColumns is every
// one of them but received_at and retention_days.
func TestColumnsAreTheTable(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	rows, err := pool.Query(context.Background(), `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'logs' AND table_name = 'entries' ORDER BY ordinal_position`)
	require.NoError(t, err)
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, cols, logstore.ColumnNames())
	require.Equal(t, logstore.EntryColumns, strings.NewReplacer(", received_at", "", ", retention_days", "").Replace(logstore.Columns))
	require.Equal(t, "x.project_id, x.ts, x.id, x.service_name, x.level, x.message, x.context, x.signature, x.error_fp, x.sample_rate", logstore.EntryColumnsOf("x"))
}

// TestEntryRoundTrip writes a row of every level with the column list and
// reads it back with EntryColumns and ScanEntry.
func TestEntryRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	require.NoError(t, partition.Create(ctx, pool, day))
	recv := day.Add(time.Hour)
	var src [][]any
	for l := logstore.MinLevel; l <= logstore.MaxLevel; l++ {
		ts := day.Add(time.Duration(l) * time.Minute)
		src = append(src, []any{int64(7), ts, int64(l) * 10, "api", l, "m " + l.String(), `{"k": "v"}`, recv, int64(l) * 1000, int64(l) * 7, int16(0), nil})
	}
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"logs", "entries"}, logstore.ColumnNames(), pgx.CopyFromRows(src))
	require.NoError(t, err)
	require.EqualValues(t, len(src), n)

	// Levels are stored as their numbers.
	var stored []int16
	rows, err := pool.Query(ctx, `SELECT level FROM logs.entries ORDER BY ts`)
	require.NoError(t, err)
	stored, err = pgx.CollectRows(rows, pgx.RowTo[int16])
	require.NoError(t, err)
	require.Equal(t, []int16{1, 2, 3, 4, 5, 6}, stored)

	// A Level is a smallint argument of a prepared statement as well.
	rows, err = pool.Query(ctx, `SELECT `+logstore.EntryColumns+` FROM logs.entries WHERE level = ANY($1) ORDER BY ts`,
		[]logstore.Level{logstore.LevelWarn, logstore.LevelFatal})
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, logstore.ScanEntry)
	require.NoError(t, err)
	require.Len(t, got, 2)
	e := got[0]
	require.Equal(t, int64(7), e.ProjectID)
	require.True(t, day.Add(4*time.Minute).Equal(e.TS), "%s", e.TS)
	require.Equal(t, int64(40), e.ID)
	require.Equal(t, int64(4000), e.Signature)
	require.Equal(t, int64(28), e.ErrorFP)
	require.Zero(t, e.ErrorGroup, "resolved by ResolveErrorGroups")
	require.Equal(t, "api", e.Service)
	require.Equal(t, logstore.LevelWarn, e.Level)
	require.Equal(t, "m WARN", e.Message)
	require.JSONEq(t, `{"k": "v"}`, string(e.Context))
	require.Equal(t, logstore.LevelFatal, got[1].Level)
}

// listen returns a connection LISTENing on the journal's channel.
func listen(t *testing.T, pool *pgxpool.Pool) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pool.Config().ConnConfig.ConnString())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{logstore.JournalChannel}.Sanitize())
	require.NoError(t, err)
	return conn
}

func waitNotification(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := conn.WaitForNotification(ctx)
	require.NoError(t, err)
	require.Equal(t, logstore.JournalChannel, n.Channel)
}

func span(project, lo, hi int64) logstore.Span {
	return logstore.Span{ProjectID: project, MinID: lo, MaxID: hi, MinTS: day.Add(time.Duration(lo) * time.Second), MaxTS: day.Add(time.Duration(hi) * time.Second)}
}

// utc is sp with its times in UTC (as span makes them), for comparing.
func utc(sp logstore.Span) logstore.Span {
	sp.MinTS, sp.MaxTS = sp.MinTS.UTC(), sp.MaxTS.UTC()
	return sp
}

func spans(sps ...logstore.Span) *logstore.Spans {
	var j logstore.Spans
	for _, sp := range sps {
		j.Add(sp)
	}
	return &j
}

func projectsOf(rows []logstore.JournalRow) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r.ProjectID)
	}
	return out
}

// TestJournalVisibility: a transaction's journal rows are read once it has
// committed, by the first read past a snapshot taken before (even one that
// saw it in progress), and never again past a later snapshot; a rolled
// back transaction's rows never.
func TestJournalVisibility(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	conn := listen(t, pool)

	rows, s0, err := logstore.ReadJournal(ctx, pool, nil)
	require.NoError(t, err)
	require.Empty(t, rows, "no past: only the snapshot")

	// A transaction in progress: its rows are not visible yet, and the
	// snapshot that did not see them lists it as in progress.
	open, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = open.Rollback(ctx) }()
	require.NoError(t, logstore.RecordCommitted(ctx, open, &logstore.Rollups{}, spans(span(1, 10, 20), span(2, 15, 16)), nil, nil))
	var openXID uint64
	require.NoError(t, open.QueryRow(ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&openXID))
	rows, s1, err := logstore.ReadJournal(ctx, pool, &s0)
	require.NoError(t, err)
	require.Empty(t, rows)
	require.True(t, s1.Includes(openXID), "the open transaction lies past the snapshot taken while it ran")

	// One that rolls back.
	aborted, err := pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, logstore.RecordCommitted(ctx, aborted, &logstore.Rollups{}, spans(span(3, 1, 1)), nil, nil))
	require.NoError(t, aborted.Rollback(ctx))

	// One that commits after the snapshot s1 was taken.
	later, err := pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, logstore.RecordCommitted(ctx, later, &logstore.Rollups{}, spans(span(1, 30, 40)), nil, nil))
	require.NoError(t, later.Commit(ctx))
	waitNotification(t, conn)

	rows, s2, err := logstore.ReadJournal(ctx, pool, &s1)
	require.NoError(t, err)
	require.Equal(t, []int64{1}, projectsOf(rows))
	require.Equal(t, span(1, 30, 40), utc(rows[0].Span))
	require.True(t, s1.Includes(rows[0].XID))
	require.False(t, s2.Includes(rows[0].XID), "read once")
	require.True(t, s2.Includes(openXID), "still in progress")

	// The open transaction commits: the next read past s2 has its rows
	// (in xid, project order), the read past s0 has all three.
	require.NoError(t, open.Commit(ctx))
	waitNotification(t, conn)
	rows, s3, err := logstore.ReadJournal(ctx, pool, &s2)
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2}, projectsOf(rows))
	require.Equal(t, openXID, rows[0].XID)
	require.Equal(t, span(1, 10, 20), utc(rows[0].Span))
	require.Equal(t, span(2, 15, 16), utc(rows[1].Span))
	rows, _, err = logstore.ReadJournal(ctx, pool, &s0)
	require.NoError(t, err)
	require.Len(t, rows, 3)
	rows, _, err = logstore.ReadJournal(ctx, pool, &s3)
	require.NoError(t, err)
	require.Empty(t, rows, "nothing committed since")
}

// TestQueueCommittedInOneRoundTrip: the statement goes into the batch that
// commits the transaction; it adds to the rollups (a key written twice
// sums its counts and keeps the newest ts), journals and notifies.
func TestQueueCommittedInOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	conn := listen(t, pool)
	c, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer c.Release()
	commit := func(r logstore.Rollups, j *logstore.Spans) {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		logstore.QueueCommitted(b, &r, j, nil, nil)
		b.Queue("COMMIT")
		require.NoError(t, c.SendBatch(ctx, b).Close())
	}
	noon, evening := day.Add(12*time.Hour), day.Add(20*time.Hour)
	commit(logstore.Rollups{
		ProjectIDs: []int64{1, 1}, Services: []string{"api", "web"}, Days: []time.Time{day, day},
		Counts: []int64{3, 1}, LastLogAt: []time.Time{evening, noon},
	}, spans(span(1, 1, 4)))
	waitNotification(t, conn)
	commit(logstore.Rollups{
		ProjectIDs: []int64{1}, Services: []string{"api"}, Days: []time.Time{day},
		Counts: []int64{2}, LastLogAt: []time.Time{noon},
	}, spans(span(1, 5, 6)))
	waitNotification(t, conn)

	type rollup struct {
		service string
		count   int64
		last    time.Time
	}
	rows, err := pool.Query(ctx, `SELECT service_name, count, last_log_at FROM logs.entry_rollups WHERE project_id = 1 AND day = $1 ORDER BY 1`, day)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rollup, error) {
		var v rollup
		err := r.Scan(&v.service, &v.count, &v.last)
		return v, err
	})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "api", got[0].service)
	require.Equal(t, int64(5), got[0].count)
	require.True(t, evening.Equal(got[0].last), "%s", got[0].last)
	require.Equal(t, "web", got[1].service)
	require.Equal(t, int64(1), got[1].count)

	journal, _, err := logstore.ReadJournal(ctx, pool, &logstore.Snapshot{})
	require.NoError(t, err)
	require.Len(t, journal, 2)
	require.Equal(t, span(1, 1, 4), utc(journal[0].Span))
	require.Equal(t, span(1, 5, 6), utc(journal[1].Span))
}

// TestPruneJournal deletes the rows older than the retention, by the
// database's clock, and keeps the others.
func TestPruneJournal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	for i := range int64(3) {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		require.NoError(t, logstore.RecordCommitted(ctx, tx, &logstore.Rollups{}, spans(span(1, 10*i, 10*i+1)), nil, nil))
		require.NoError(t, tx.Commit(ctx))
	}
	_, err := pool.Exec(ctx, `UPDATE logs.tail_journal SET created_at = now() - make_interval(secs => $1) WHERE min_id = 0`,
		(logstore.JournalRetention + time.Second).Seconds())
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE logs.tail_journal SET created_at = now() - make_interval(secs => $1) WHERE min_id = 10`,
		(logstore.JournalRetention - time.Minute).Seconds())
	require.NoError(t, err)

	n, err := logstore.PruneJournal(ctx, pool)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	rows, _, err := logstore.ReadJournal(ctx, pool, &logstore.Snapshot{})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, int64(10), rows[0].MinID)
	require.Equal(t, int64(20), rows[1].MinID)
	n, err = logstore.PruneJournal(ctx, pool)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestSnapshotIncludes(t *testing.T) {
	t.Parallel()
	s := logstore.Snapshot{Xmax: 110, XIP: []uint64{100, 104, 107}}
	for x, want := range map[uint64]bool{0: false, 99: false, 100: true, 101: false, 104: true, 109: false, 110: true, 500: true} {
		require.Equal(t, want, s.Includes(x), "xid %d", x)
	}
	require.True(t, logstore.Snapshot{}.Includes(0), "the zero snapshot: everything")
}
