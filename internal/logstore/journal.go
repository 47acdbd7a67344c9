package logstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// JournalChannel is the NOTIFY channel of the tail journal: LISTEN
// devsmith_entries.
const JournalChannel = "devsmith_entries"

// JournalRetention is how long journal rows are kept: how long a tail can
// be disconnected (a listener reconnecting, a client resuming) and still be
// given every entry committed meanwhile.
const JournalRetention = 10 * time.Minute

// Span is one journal row: the entries of one project written by one
// transaction lie within its ranges.
type Span struct {
	ProjectID int64
	MinID     int64
	MaxID     int64
	MinTS     time.Time
	MaxTS     time.Time
}

// Spans are the journal rows of one transaction, as parallel arrays (the
// statement's arguments), one row per project.
type Spans struct {
	ProjectIDs []int64
	MinIDs     []int64
	MaxIDs     []int64
	MinTS      []time.Time
	MaxTS      []time.Time
}

// Add appends sp.
func (s *Spans) Add(sp Span) {
	s.ProjectIDs = append(s.ProjectIDs, sp.ProjectID)
	s.MinIDs, s.MaxIDs = append(s.MinIDs, sp.MinID), append(s.MaxIDs, sp.MaxID)
	s.MinTS, s.MaxTS = append(s.MinTS, sp.MinTS), append(s.MaxTS, sp.MaxTS)
}

// Rollups are the additions of one transaction to logs.entry_rollups, as
// parallel arrays (the statement's arguments): per (project, service, UTC
// day, as a midnight UTC time), how many entries it wrote, how many a
// sampling rule left out (docs/sampling.md) and the newest ts of either.
// Each key appears once.
type Rollups struct {
	ProjectIDs []int64
	Services   []string
	Days       []time.Time
	Counts     []int64
	LastLogAt  []time.Time
	SampledOut []int64
}

// committedSQL adds the rollups ($1..$5, and their sampled_out $29),
// inserts the journal rows
// ($6..$10), the signatures' rows that do not exist yet ($11..$14; an
// existing row takes an earlier first_seen, so it is the oldest entry's ts
// whatever order entries arrive in) and the error groups' rows that do not
// exist yet ($15..$20, errorGroupsCTE, the same way) with their hourly
// counts ($21..$28), and notifies, in one
// statement. Rollup, signature and error group rows are locked in key
// order, so concurrent writers never wait on each other in opposite orders.
const committedSQL = `WITH r AS (
	INSERT INTO logs.entry_rollups AS e (project_id, service_name, day, count, last_log_at, sampled_out)
	SELECT p, s, d, c, l, o FROM unnest($1::bigint[], $2::text[], $3::date[], $4::bigint[], $5::timestamptz[], $29::bigint[]) AS u(p, s, d, c, l, o)
	ORDER BY p, s, d
	ON CONFLICT (project_id, service_name, day) DO UPDATE
	SET count = e.count + EXCLUDED.count, last_log_at = greatest(e.last_log_at, EXCLUDED.last_log_at),
	    sampled_out = e.sampled_out + EXCLUDED.sampled_out
), j AS (
	INSERT INTO logs.tail_journal (project_id, min_id, max_id, min_ts, max_ts)
	SELECT * FROM unnest($6::bigint[], $7::bigint[], $8::bigint[], $9::timestamptz[], $10::timestamptz[])
), g AS (
	INSERT INTO logs.pattern_signatures (project_id, signature, message, first_seen)
	SELECT * FROM unnest($11::bigint[], $12::bigint[], $13::text[], $14::timestamptz[]) AS u(p, g, m, f)
	ORDER BY p, g
	ON CONFLICT (project_id, signature) DO UPDATE SET first_seen = EXCLUDED.first_seen
	WHERE logs.pattern_signatures.first_seen > EXCLUDED.first_seen
), ` + errorGroupsCTE + `
SELECT pg_notify('` + JournalChannel + `', '')`

func committedArgs(r *Rollups, j *Spans, g *Signatures, e *ErrorGroups) []any {
	if g == nil {
		g = &Signatures{}
	}
	sampled := r.SampledOut
	if sampled == nil {
		sampled = make([]int64, len(r.ProjectIDs)) // nothing sampled out
	}
	args := append([]any{r.ProjectIDs, r.Services, r.Days, r.Counts, r.LastLogAt, j.ProjectIDs, j.MinIDs, j.MaxIDs, j.MinTS, j.MaxTS,
		g.ProjectIDs, g.Signatures, g.Messages, g.FirstSeen}, errorGroupsArgs(e)...)
	return append(args, sampled)
}

// QueueCommitted queues on b, for the transaction that wrote the entries
// (before its COMMIT, in the same round trip), the one statement that adds
// r to the rollups, records j in the journal, inserts the rows of g's
// signatures and of e's error groups that have none (g and e may be nil or
// hold only some of the transaction's pairs: those the writer does not
// know to have a row) and notifies JournalChannel. Its result is read with
// Exec.
func QueueCommitted(b *pgx.Batch, r *Rollups, j *Spans, g *Signatures, e *ErrorGroups) {
	b.Queue(committedSQL, committedArgs(r, j, g, e)...)
}

// RecordCommitted runs QueueCommitted's statement on its own, within the
// caller's transaction tx.
func RecordCommitted(ctx context.Context, tx Querier, r *Rollups, j *Spans, g *Signatures, e *ErrorGroups) error {
	if _, err := tx.Exec(ctx, committedSQL, committedArgs(r, j, g, e)...); err != nil {
		return fmt.Errorf("recording rollups and the tail journal: %w", err)
	}
	return nil
}

// Snapshot is where a journal read left off: the transactions whose rows
// it may not have seen are those with an id at or past Xmax, and those in
// XIP (in progress when it read; sorted, each below Xmax). Every other
// transaction had ended, so its rows, if it committed, were read.
type Snapshot struct {
	Xmax uint64
	XIP  []uint64
}

// Includes tells whether the rows of transaction xid lie past s.
func (s Snapshot) Includes(xid uint64) bool {
	if xid >= s.Xmax {
		return true
	}
	_, ok := slices.BinarySearch(s.XIP, xid)
	return ok
}

// parseSnapshot reads pg_current_snapshot()'s text, "xmin:xmax:xip,...".
func parseSnapshot(s string) (Snapshot, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 {
		return Snapshot{}, errors.New("want three fields")
	}
	if _, err := strconv.ParseUint(f[0], 10, 64); err != nil {
		return Snapshot{}, errors.New("xmin")
	}
	xmax, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return Snapshot{}, errors.New("xmax")
	}
	snap := Snapshot{Xmax: xmax}
	if f[2] == "" {
		return snap, nil
	}
	for p := range strings.SplitSeq(f[2], ",") {
		x, err := strconv.ParseUint(p, 10, 64)
		if err != nil || x >= xmax {
			return Snapshot{}, errors.New("transaction list")
		}
		snap.XIP = append(snap.XIP, x)
	}
	slices.Sort(snap.XIP)
	snap.XIP = slices.Compact(snap.XIP)
	return snap, nil
}

// JournalRow is one row of logs.tail_journal: the id (xid8) of the
// transaction that wrote it, and its span.
type JournalRow struct {
	XID uint64
	Span
}

// journalSQL reads, in one snapshot, that snapshot and the journal rows
// past a snapshot ($1 xmax, $2 in-progress list); with a NULL $1 only the
// snapshot (the LEFT JOIN keeps its row when no journal row matches).
const journalSQL = `WITH snap AS (SELECT pg_current_snapshot()::text AS s)
SELECT snap.s, j.xid::text, j.project_id, j.min_id, j.max_id, j.min_ts, j.max_ts
FROM snap LEFT JOIN logs.tail_journal j ON j.xid >= $1::text::xid8 OR j.xid = ANY($2::text[]::xid8[])
ORDER BY j.xid, j.project_id`

// ReadJournal returns the journal rows past from, in (xid, project) order
// (none when from is nil), and the snapshot the read leaves off at: the
// next read past it returns every row committed since, and none of these.
func ReadJournal(ctx context.Context, db Querier, from *Snapshot) ([]JournalRow, Snapshot, error) {
	var xmax *string
	xip := []string{}
	if from != nil {
		s := strconv.FormatUint(from.Xmax, 10)
		xmax = &s
		for _, x := range from.XIP {
			xip = append(xip, strconv.FormatUint(x, 10))
		}
	}
	rows, err := db.Query(ctx, journalSQL, xmax, xip)
	if err != nil {
		return nil, Snapshot{}, fmt.Errorf("reading the tail journal: %w", err)
	}
	defer rows.Close()
	var snap string
	var out []JournalRow
	for rows.Next() {
		var xid *string
		var project, minID, maxID *int64
		var minTS, maxTS *time.Time
		if err := rows.Scan(&snap, &xid, &project, &minID, &maxID, &minTS, &maxTS); err != nil {
			return nil, Snapshot{}, fmt.Errorf("reading the tail journal: %w", err)
		}
		if xid == nil {
			continue // no journal row: the snapshot alone
		}
		x, err := strconv.ParseUint(*xid, 10, 64)
		if err != nil {
			return nil, Snapshot{}, fmt.Errorf("reading the tail journal: xid %q: %w", *xid, err)
		}
		out = append(out, JournalRow{XID: x, Span: Span{
			ProjectID: *project, MinID: *minID, MaxID: *maxID, MinTS: *minTS, MaxTS: *maxTS,
		}})
	}
	if err := rows.Err(); err != nil {
		return nil, Snapshot{}, fmt.Errorf("reading the tail journal: %w", err)
	}
	pos, err := parseSnapshot(snap)
	if err != nil {
		return nil, Snapshot{}, fmt.Errorf("reading the tail journal: snapshot %q: %w", snap, err)
	}
	return out, pos, nil
}

// PruneJournal deletes the journal rows older than JournalRetention, by the
// database's clock (which stamped them), and returns how many.
func PruneJournal(ctx context.Context, db Querier) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM logs.tail_journal WHERE created_at < now() - make_interval(secs => $1)`,
		JournalRetention.Seconds())
	if err != nil {
		return 0, fmt.Errorf("deleting tail journal rows older than %s: %w", JournalRetention, err)
	}
	return tag.RowsAffected(), nil
}
