package query

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/logstore"
)

// position is where a read of the tail journal left off: the snapshot it
// read in (a logstore.Snapshot: what the next read needs is xid >= xmax, or
// xid in xip), and when.
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
	return logstore.Snapshot{Xmax: p.xmax, XIP: p.xip}.Includes(xid)
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

// parseFields reads a resume token's "<unix ms>:<xmax>:<xip,...>". The
// in-progress list is checked (each below xmax, at most maxResumeXIP),
// sorted and deduplicated.
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
		return nil, apierr.Invalidf("resume_token %q is not a token this service gave out (%v)", truncateForMessage(s), err)
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

// readJournal returns the journal rows past from (none when from is nil)
// and the position the read leaves off at, made at now.
func readJournal(ctx context.Context, pool *pgxpool.Pool, from *position, now time.Time) ([]logstore.JournalRow, *position, error) {
	var past *logstore.Snapshot
	if from != nil {
		past = &logstore.Snapshot{Xmax: from.xmax, XIP: from.xip}
	}
	rows, snap, err := logstore.ReadJournal(ctx, pool, past)
	if err != nil {
		return nil, nil, err
	}
	return rows, &position{at: now, xmax: snap.Xmax, xip: snap.XIP}, nil
}
