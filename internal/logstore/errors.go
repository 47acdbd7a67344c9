package logstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Error groups (migration 0006, docs/errors.md): the read side.
//
// Every WARN, ERROR and FATAL entry carries the fingerprint its writer
// computed (error_fp, package fingerprint); other entries carry 0. In the
// transaction that writes a (project, fingerprint) pair's first entry, the
// writer inserts its logs.error_groups row, so a committed entry's nonzero
// fingerprint always has exactly one group, and a group's (project,
// fingerprint) never changes:
//
//   - an entry's group is the row of its (project_id, error_fp):
//     ResolveErrorGroups;
//   - the entries of group G are those with G's project_id and error_fp
//     (the partial index entries_error_fp_idx): ErrorGroupMembers;
//   - a resolved group with an entry whose ts is after its resolved_at is
//     reopened as a regression (status open, regression true) by the
//     analysis service: ReopenRegressions.
//
// Group ids cross the API as decimal digits (FormatErrorGroupID).

// Statuses of a group (logs.error_groups.status).
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
	StatusIgnored  = "ignored"
)

// FormatErrorGroupID is a group id as the API writes it: decimal digits;
// "" for 0 (an entry without a group).
func FormatErrorGroupID(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// ParseErrorGroupID reads an id written by FormatErrorGroupID: a positive
// decimal number.
func ParseErrorGroupID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '+' {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return v, true
}

// ErrorKey names a fingerprint: fingerprints are per project.
type ErrorKey struct{ Project, Fingerprint int64 }

// groupsOfSQL maps (project, fingerprint) pairs to their groups' ids.
const groupsOfSQL = `SELECT g.project_id, g.fingerprint, g.id
FROM logs.error_groups g JOIN unnest($1::bigint[], $2::bigint[]) AS u(p, f) ON g.project_id = u.p AND g.fingerprint = u.f`

// ErrorGroupsOf returns the group of each key with a nonzero fingerprint
// (one query for all of them, none when every fingerprint is 0).
func ErrorGroupsOf(ctx context.Context, q Querier, keys []ErrorKey) (map[ErrorKey]int64, error) {
	out := make(map[ErrorKey]int64, len(keys))
	var ps, fs []int64
	seen := make(map[ErrorKey]struct{}, len(keys))
	for _, k := range keys {
		if _, ok := seen[k]; ok || k.Fingerprint == 0 {
			continue
		}
		seen[k] = struct{}{}
		ps, fs = append(ps, k.Project), append(fs, k.Fingerprint)
	}
	if len(ps) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, groupsOfSQL, ps, fs)
	if err != nil {
		return nil, fmt.Errorf("resolving error groups: %w", err)
	}
	var k ErrorKey
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&k.Project, &k.Fingerprint, &id}, func() error {
		out[k] = id
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("resolving error groups: %w", err)
	}
	return out, nil
}

// ResolveErrorGroups sets each entry's ErrorGroup (ErrorGroupsOf its
// fingerprint; 0 for fingerprint 0).
func ResolveErrorGroups(ctx context.Context, q Querier, entries []Entry) error {
	keys := make([]ErrorKey, 0, len(entries))
	for i := range entries {
		if entries[i].ErrorFP != 0 {
			keys = append(keys, ErrorKey{entries[i].ProjectID, entries[i].ErrorFP})
		}
	}
	if len(keys) == 0 {
		return nil
	}
	groups, err := ErrorGroupsOf(ctx, q, keys)
	if err != nil {
		return err
	}
	for i := range entries {
		if entries[i].ErrorFP != 0 {
			entries[i].ErrorGroup = groups[ErrorKey{entries[i].ProjectID, entries[i].ErrorFP}]
		}
	}
	return nil
}

// ResolveEntries sets each entry's Pattern and ErrorGroup: what Proto
// needs.
func ResolveEntries(ctx context.Context, q Querier, entries []Entry) error {
	if err := ResolvePatterns(ctx, q, entries); err != nil {
		return err
	}
	return ResolveErrorGroups(ctx, q, entries)
}

// ErrorGroupRef is where a group's entries are: its project and
// fingerprint.
type ErrorGroupRef struct {
	ID          int64
	Project     int64
	Fingerprint int64
}

// groupRefsSQL reads the groups $1.
const groupRefsSQL = `SELECT id, project_id, fingerprint FROM logs.error_groups WHERE id = ANY($1::bigint[])`

// ErrorGroupMembers returns the project and fingerprint of each of the
// groups ids that exists (in no particular order): a filter
// `error_fp <> 0 AND (project_id, error_fp) IN (pairs)` on logs.entries
// selects exactly the groups' entries. The caller checks that it may read
// their projects.
func ErrorGroupMembers(ctx context.Context, q Querier, ids []int64) ([]ErrorGroupRef, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, groupRefsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("reading error groups: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ErrorGroupRef])
	if err != nil {
		return nil, fmt.Errorf("reading error groups: %w", err)
	}
	return out, nil
}

// reopenSQL reopens, as regressions, the resolved groups (the partial index
// error_groups_resolved_idx) that have an entry after their resolved_at:
// one probe of entries_error_fp_idx per resolved group, in the partitions
// after resolved_at only (run-time pruning). resolved_at is kept: it says
// when the group was resolved before it regressed. A group someone changes
// meanwhile is re-checked under its row lock (status must still be
// resolved).
const reopenSQL = `UPDATE logs.error_groups g SET status = 'open', regression = true, updated_by = NULL, updated_at = now()
WHERE g.status = 'resolved' AND EXISTS (
	SELECT 1 FROM logs.entries e
	WHERE e.project_id = g.project_id AND e.error_fp = g.fingerprint AND e.error_fp <> 0 AND e.ts > g.resolved_at
)
RETURNING g.id`

// ReopenRegressions reopens every resolved group that has an entry whose
// ts is after its resolved_at, with regression set, and returns their
// ids. Ignored and open groups are not touched.
func ReopenRegressions(ctx context.Context, q Querier) ([]int64, error) {
	rows, err := q.Query(ctx, reopenSQL)
	if err != nil {
		return nil, fmt.Errorf("reopening regressed error groups: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("reopening regressed error groups: %w", err)
	}
	return ids, nil
}
