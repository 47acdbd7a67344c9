package logstore

import (
	"context"
	"time"
)

// Error groups, the write side (docs/errors.md). Every WARN, ERROR and FATAL
// entry is written with its fingerprint (logs.entries.error_fp, package
// fingerprint; 0 for other levels), and the transaction that writes a
// (project, fingerprint) pair's entries also inserts the pair's
// logs.error_groups row if it has none (ErrorGroups, QueueCommitted): a
// committed entry's fingerprint always has its group. The row's exception
// type, title and culprit are those of the first event written; an existing
// row only takes an earlier first_seen, so first_seen is the oldest entry's
// ts whatever order entries arrive in. Status, regression and resolved_at
// belong to the query and analysis services.
//
// The same statement adds the transaction's entries with a fingerprint to
// logs.error_group_hours (ErrorGroups.Hours, migration 0008): per (project,
// fingerprint, hour, level, service) how many and their oldest and newest
// ts, so that a range's whole hours are counted without reading entries.

// ErrorGroups are what one transaction adds to the error groups: the
// (project, fingerprint) pairs it writes entries of that may have no row
// yet, as parallel arrays, each pair once, with its group's description and
// the oldest ts of its entries (QueueCommitted inserts those that have no
// row), and the hourly counts of all its entries with a fingerprint.
type ErrorGroups struct {
	ProjectIDs     []int64
	Fingerprints   []int64
	ExceptionTypes []string
	Titles         []string
	Culprits       []string
	FirstSeen      []time.Time
	Hours          ErrorHours
}

// ErrorHours counts entries per (project, fingerprint, hour, level,
// service): the rows one transaction adds to logs.error_group_hours.
type ErrorHours struct {
	at   map[errorHourKey]int
	rows []errorHour
}

type errorHourKey struct {
	project, fp, hour int64 // hour: hours since the Unix epoch
	level             Level
	service           string
}

type errorHour struct {
	key         errorHourKey
	count       int64
	first, last int64 // microseconds since the Unix epoch
}

const microsPerHour = int64(time.Hour / time.Microsecond)

// Add counts an entry of the project's group fp, at ts (microseconds since
// the Unix epoch).
func (h *ErrorHours) Add(project, fp int64, level Level, service string, ts int64) {
	hour := ts / microsPerHour
	if ts%microsPerHour < 0 {
		hour--
	}
	k := errorHourKey{project, fp, hour, level, service}
	if i, ok := h.at[k]; ok {
		r := &h.rows[i]
		r.count++
		r.first, r.last = min(r.first, ts), max(r.last, ts)
		return
	}
	if h.at == nil {
		h.at = make(map[errorHourKey]int)
	}
	h.at[k] = len(h.rows)
	h.rows = append(h.rows, errorHour{key: k, count: 1, first: ts, last: ts})
}

// Len is the number of rows.
func (h *ErrorHours) Len() int { return len(h.rows) }

// Reset empties h, keeping its memory.
func (h *ErrorHours) Reset() {
	clear(h.at)
	clear(h.rows) // drop the service names they referenced
	h.rows = h.rows[:0]
}

// args are the rows as the statement's arrays (errorGroupsCTE orders them).
func (h *ErrorHours) args() []any {
	n := len(h.rows)
	ps, fps, levels := make([]int64, n), make([]int64, n), make([]int16, n)
	hours, firsts, lasts := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	svcs, counts := make([]string, n), make([]int64, n)
	for i, r := range h.rows {
		ps[i], fps[i], levels[i], svcs[i], counts[i] = r.key.project, r.key.fp, int16(r.key.level), r.key.service, r.count
		hours[i] = time.UnixMicro(r.key.hour * microsPerHour).UTC()
		firsts[i], lasts[i] = time.UnixMicro(r.first).UTC(), time.UnixMicro(r.last).UTC()
	}
	return []any{ps, fps, hours, levels, svcs, counts, firsts, lasts}
}

// Add appends a pair.
func (g *ErrorGroups) Add(project, fingerprint int64, exceptionType, title, culprit string, firstSeen time.Time) {
	g.ProjectIDs = append(g.ProjectIDs, project)
	g.Fingerprints = append(g.Fingerprints, fingerprint)
	g.ExceptionTypes = append(g.ExceptionTypes, exceptionType)
	g.Titles = append(g.Titles, title)
	g.Culprits = append(g.Culprits, culprit)
	g.FirstSeen = append(g.FirstSeen, firstSeen)
}

// Len is the number of pairs.
func (g *ErrorGroups) Len() int { return len(g.Fingerprints) }

// Reset empties g, keeping its arrays.
func (g *ErrorGroups) Reset() {
	g.ProjectIDs, g.Fingerprints, g.FirstSeen = g.ProjectIDs[:0], g.Fingerprints[:0], g.FirstSeen[:0]
	clear(g.ExceptionTypes)
	clear(g.Titles)
	clear(g.Culprits)
	g.ExceptionTypes, g.Titles, g.Culprits = g.ExceptionTypes[:0], g.Titles[:0], g.Culprits[:0]
	g.Hours.Reset()
}

// errorGroupsCTE inserts the rows of the pairs $15..$20 that have none, in
// key order (so concurrent writers lock them in one order); an existing row
// takes an earlier first_seen. Then it adds the hourly counts $21..$28, in
// key order too, per service to logs.error_group_hours and summed over the
// services to logs.error_group_level_hours (migration 0013). A part of
// committedSQL.
const errorGroupsCTE = `eg AS (
	INSERT INTO logs.error_groups (project_id, fingerprint, exception_type, title, culprit, first_seen)
	SELECT * FROM unnest($15::bigint[], $16::bigint[], $17::text[], $18::text[], $19::text[], $20::timestamptz[]) AS u(p, f, t, ti, c, s)
	ORDER BY p, f
	ON CONFLICT (project_id, fingerprint) DO UPDATE SET first_seen = EXCLUDED.first_seen
	WHERE logs.error_groups.first_seen > EXCLUDED.first_seen
), eh AS (
	INSERT INTO logs.error_group_hours AS h (project_id, error_fp, hour, level, service_name, count, first_ts, last_ts)
	SELECT * FROM unnest($21::bigint[], $22::bigint[], $23::timestamptz[], $24::smallint[], $25::text[], $26::bigint[], $27::timestamptz[], $28::timestamptz[])
		AS u(p, f, h, l, s, c, lo, hi)
	ORDER BY p, f, h, l, s
	ON CONFLICT (project_id, error_fp, hour, level, service_name) DO UPDATE
	SET count = h.count + EXCLUDED.count, first_ts = least(h.first_ts, EXCLUDED.first_ts), last_ts = greatest(h.last_ts, EXCLUDED.last_ts)
), ehl AS (
	INSERT INTO logs.error_group_level_hours AS h (project_id, hour, error_fp, level, count, first_ts, last_ts)
	SELECT p, h, f, l, sum(c), min(lo), max(hi)
	FROM unnest($21::bigint[], $22::bigint[], $23::timestamptz[], $24::smallint[], $26::bigint[], $27::timestamptz[], $28::timestamptz[])
		AS u(p, f, h, l, c, lo, hi)
	GROUP BY p, h, f, l
	ORDER BY p, h, f, l
	ON CONFLICT (project_id, hour, error_fp, level) DO UPDATE
	SET count = h.count + EXCLUDED.count, first_ts = least(h.first_ts, EXCLUDED.first_ts), last_ts = greatest(h.last_ts, EXCLUDED.last_ts)
)`

func errorGroupsArgs(e *ErrorGroups) []any {
	if e == nil {
		e = &ErrorGroups{}
	}
	return append([]any{e.ProjectIDs, e.Fingerprints, e.ExceptionTypes, e.Titles, e.Culprits, e.FirstSeen}, e.Hours.args()...)
}

// DeleteErrorHoursExpired deletes the hourly counts of hours before their
// project's cut-off (the first day its retention keeps, with
// defaultRetention for projects without their own: an hour is never split
// by it) and returns how many rows.
func DeleteErrorHoursExpired(ctx context.Context, db Querier, now time.Time, defaultRetention time.Duration) (int64, error) {
	var n int64
	for _, table := range []string{"logs.error_group_hours", "logs.error_group_level_hours"} {
		m, err := deleteExpired(ctx, db, table, "hour", now, defaultRetention)
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}
