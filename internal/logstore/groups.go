package logstore

import "time"

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

// ErrorGroups are the (project, fingerprint) pairs one transaction writes
// entries of, as parallel arrays, each pair once, with its group's
// description and the oldest ts of its entries: QueueCommitted inserts the
// pairs that have no row yet.
type ErrorGroups struct {
	ProjectIDs     []int64
	Fingerprints   []int64
	ExceptionTypes []string
	Titles         []string
	Culprits       []string
	FirstSeen      []time.Time
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
}

// errorGroupsCTE inserts the rows of the pairs $15..$20 that have none, in
// key order (so concurrent writers lock them in one order); an existing row
// takes an earlier first_seen. A part of committedSQL.
const errorGroupsCTE = `eg AS (
	INSERT INTO logs.error_groups (project_id, fingerprint, exception_type, title, culprit, first_seen)
	SELECT * FROM unnest($15::bigint[], $16::bigint[], $17::text[], $18::text[], $19::text[], $20::timestamptz[]) AS u(p, f, t, ti, c, s)
	ORDER BY p, f
	ON CONFLICT (project_id, fingerprint) DO UPDATE SET first_seen = EXCLUDED.first_seen
	WHERE logs.error_groups.first_seen > EXCLUDED.first_seen
)`

func errorGroupsArgs(e *ErrorGroups) []any {
	if e == nil {
		e = &ErrorGroups{}
	}
	return []any{e.ProjectIDs, e.Fingerprints, e.ExceptionTypes, e.Titles, e.Culprits, e.FirstSeen}
}
