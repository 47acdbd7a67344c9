package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/devsmith/logs/services/ingestion/tailnotify"
)

// position is where a read of the tail journal left off: the snapshot it
// read in. Every transaction with an id below xmax that is not in xip had
// ended by then, so its journal rows, if it committed, were read; what the
// next read needs is the rest: xid >= xmax, or xid in xip.
type position struct {
	at   time.Time // when the read was made, by this service's clock
	xmax uint64
	xip  []uint64 // sorted, each < xmax
}

// maxResumeXIP bounds the in-progress list a position may carry (a
// snapshot's list is bounded by the server's connections).
const maxResumeXIP = 10_000

// includes tells whether a transaction's rows are past p.
func (p *position) includes(xid uint64) bool {
	if xid >= p.xmax {
		return true
	}
	_, ok := slices.BinarySearch(p.xip, xid)
	return ok
}

// union is the position past which lie the rows past p or past q.
func (p *position) union(q *position) *position {
	lo, hi := p, q
	if q.xmax < p.xmax {
		lo, hi = q, p
	}
	u := &position{at: minTime(p.at, q.at), xmax: lo.xmax, xip: slices.Clone(lo.xip)}
	for _, x := range hi.xip {
		if x < lo.xmax {
			u.xip = append(u.xip, x)
		}
	}
	slices.Sort(u.xip)
	u.xip = slices.Compact(u.xip)
	return u
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// token is p as a resume token: "<unix ms>:<xmax>:<xip,...>".
func (p *position) token() string {
	b := strconv.AppendInt(nil, p.at.UnixMilli(), 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, p.xmax, 10)
	b = append(b, ':')
	for i, x := range p.xip {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, x, 10)
	}
	return string(b)
}

// parseFields reads the "<first>:<xmax>:<xip,...>" shape that both a
// resume token (first: unix ms) and pg_current_snapshot()'s text (first:
// xmin) have. The in-progress list is checked (each below xmax, at most
// maxResumeXIP), sorted and deduplicated.
func parseFields(s string) (first int64, xmax uint64, xip []uint64, err error) {
	f := strings.Split(s, ":")
	if len(f) != 3 {
		return 0, 0, nil, errors.New("want three fields")
	}
	if first, err = strconv.ParseInt(f[0], 10, 64); err != nil {
		return 0, 0, nil, errors.New("first field")
	}
	if xmax, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return 0, 0, nil, errors.New("xmax")
	}
	if f[2] == "" {
		return first, xmax, nil, nil
	}
	parts := strings.Split(f[2], ",")
	if len(parts) > maxResumeXIP {
		return 0, 0, nil, errors.New("too many transactions")
	}
	for _, p := range parts {
		x, err := strconv.ParseUint(p, 10, 64)
		if err != nil || x >= xmax {
			return 0, 0, nil, errors.New("transaction list")
		}
		xip = append(xip, x)
	}
	slices.Sort(xip)
	return first, xmax, slices.Compact(xip), nil
}

// parseToken reads a resume token made by token.
func parseToken(s string) (*position, error) {
	ms, xmax, xip, err := parseFields(s)
	if err != nil {
		return nil, invalidArg("resume_token %q is not a token this service gave out (%v)", truncateForMessage(s), err)
	}
	return &position{at: time.UnixMilli(ms), xmax: xmax, xip: xip}, nil
}

// truncateForMessage keeps an echoed token short.
func truncateForMessage(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// parseSnapshot reads pg_current_snapshot()'s text, "xmin:xmax:xip,...",
// as the position of a read made at at.
func parseSnapshot(s string, at time.Time) (*position, error) {
	_, xmax, xip, err := parseFields(s)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot %q: %v", s, err)
	}
	return &position{at: at, xmax: xmax, xip: xip}, nil
}

// journalRow is one row of logs.tail_journal.
type journalRow struct {
	xid  uint64
	span tailnotify.Span
}

// journalSQL reads, in one snapshot, that snapshot and the journal rows past
// a position ($1 xmax, $2 in-progress list); with a NULL $1 only the
// snapshot (the LEFT JOIN keeps its row when no journal row matches).
const journalSQL = `WITH snap AS (SELECT pg_current_snapshot()::text AS s)
SELECT snap.s, j.xid::text, j.project_id, j.min_id, j.max_id, j.min_ts, j.max_ts
FROM snap LEFT JOIN logs.tail_journal j ON j.xid >= $1::text::xid8 OR j.xid = ANY($2::text[]::xid8[])
ORDER BY j.xid, j.project_id`

// readJournal returns the journal rows past from (none when from is nil)
// and the position the read leaves off at.
func readJournal(ctx context.Context, pool *pgxpool.Pool, from *position, now time.Time) ([]journalRow, *position, error) {
	var xmax *string
	xip := []string{}
	if from != nil {
		s := strconv.FormatUint(from.xmax, 10)
		xmax = &s
		for _, x := range from.xip {
			xip = append(xip, strconv.FormatUint(x, 10))
		}
	}
	rows, err := pool.Query(ctx, journalSQL, xmax, xip)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the tail journal: %w", err)
	}
	defer rows.Close()
	var snap string
	var out []journalRow
	for rows.Next() {
		var xid *string
		var project, minID, maxID *int64
		var minTS, maxTS *time.Time
		if err := rows.Scan(&snap, &xid, &project, &minID, &maxID, &minTS, &maxTS); err != nil {
			return nil, nil, fmt.Errorf("reading the tail journal: %w", err)
		}
		if xid == nil {
			continue // no journal row: the snapshot alone
		}
		x, err := strconv.ParseUint(*xid, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("reading the tail journal: xid %q: %w", *xid, err)
		}
		out = append(out, journalRow{xid: x, span: tailnotify.Span{
			ProjectID: *project, MinID: *minID, MaxID: *maxID, MinTS: *minTS, MaxTS: *maxTS,
		}})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading the tail journal: %w", err)
	}
	pos, err := parseSnapshot(snap, now)
	if err != nil {
		return nil, nil, err
	}
	return out, pos, nil
}
