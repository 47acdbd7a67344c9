package logstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Patterns (migration 0004, docs/analysis.md).
//
// Every entry carries the signature of its message (package signature):
// the hash of its masked tokens, computed by the writer. The writer also
// inserts, in the transaction that writes them, one logs.pattern_signatures
// row per (project, signature) it has not seen before, with the first
// message and its ts (Signatures, QueueCommitted): a committed entry's
// signature always has its row.
//
// The analysis service's miner reads the rows it has not mined (pattern_id
// NULL), mines their messages in order, and sets each row's pattern_id and
// mined_seq; it writes logs.patterns (id, template, merged_into). A pattern's
// id is the signature of the message that founded it. When the miner merges
// pattern B into A, it sets B's merged_into to A and re-points every
// signature row of B at A in the same transaction, so:
//
//   - an entry's pattern is pattern_id of its signature's row, or, while
//     that row is not mined yet (a few seconds), the signature itself (the
//     id it takes if it founds a pattern): ResolvePatterns;
//   - the entries of pattern P are those whose signature's row points at P,
//     or P's live pattern when P was merged away, plus, while unmined, the
//     entries whose signature is P: PatternMembers;
//   - pattern 0 (OverflowPattern) holds the messages the miner could not
//     keep apart (a project over its pattern bound), and every entry stored
//     before signatures existed (signature 0, which has no row).
//
// Pattern ids cross the API as 16 lower-case hex digits (FormatPatternID).

// OverflowPattern is the id of the overflow pattern.
const OverflowPattern int64 = 0

// OverflowTemplate is the overflow pattern's template.
const OverflowTemplate = "<overflow>"

// FormatPatternID is a pattern id (or signature) as the API writes it: 16
// lower-case hex digits of its 64 bits.
func FormatPatternID(id int64) string {
	return fmt.Sprintf("%016x", uint64(id))
}

// ParsePatternID reads an id written by FormatPatternID (1 to 16 hex
// digits, either case).
func ParsePatternID(s string) (int64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, false
	}
	return int64(v), true
}

// Signatures are the (project, signature) pairs one transaction writes
// entries of, as parallel arrays, each pair once, with the first message
// and ts of each: QueueCommitted inserts the pairs that have no row yet.
type Signatures struct {
	ProjectIDs []int64
	Signatures []int64
	Messages   []string
	FirstSeen  []time.Time
}

// Add appends one pair.
func (s *Signatures) Add(project, sig int64, msg string, ts time.Time) {
	s.ProjectIDs = append(s.ProjectIDs, project)
	s.Signatures = append(s.Signatures, sig)
	s.Messages = append(s.Messages, msg)
	s.FirstSeen = append(s.FirstSeen, ts)
}

// Len is the number of pairs.
func (s *Signatures) Len() int { return len(s.Signatures) }

// Reset empties s, keeping its arrays.
func (s *Signatures) Reset() {
	s.ProjectIDs, s.Signatures, s.Messages, s.FirstSeen = s.ProjectIDs[:0], s.Signatures[:0], s.Messages[:0], s.FirstSeen[:0]
}

// resolveSQL maps (project, signature) pairs to their rows' pattern ids.
const resolveSQL = `SELECT s.project_id, s.signature, s.pattern_id
FROM logs.pattern_signatures s JOIN unnest($1::bigint[], $2::bigint[]) AS u(p, g) ON s.project_id = u.p AND s.signature = u.g
WHERE s.pattern_id IS NOT NULL`

// SignatureKey names a signature: signatures are per project.
type SignatureKey struct{ Project, Signature int64 }

// PatternsOf returns the pattern of each key (one query for all of them):
// the pattern its signature's row points at, or, while the row is not
// mined, the signature itself; signature 0 is the overflow pattern.
func PatternsOf(ctx context.Context, q Querier, keys []SignatureKey) (map[SignatureKey]int64, error) {
	out := make(map[SignatureKey]int64, len(keys))
	var ps, gs []int64
	for _, k := range keys {
		if _, ok := out[k]; ok {
			continue
		}
		out[k] = k.Signature
		if k.Signature != OverflowPattern {
			ps, gs = append(ps, k.Project), append(gs, k.Signature)
		}
	}
	if len(ps) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, resolveSQL, ps, gs)
	if err != nil {
		return nil, fmt.Errorf("resolving patterns: %w", err)
	}
	var k SignatureKey
	var pid int64
	_, err = pgx.ForEachRow(rows, []any{&k.Project, &k.Signature, &pid}, func() error {
		out[k] = pid
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("resolving patterns: %w", err)
	}
	return out, nil
}

// ResolvePatterns sets each entry's Pattern (PatternsOf its signature).
func ResolvePatterns(ctx context.Context, q Querier, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	keys := make([]SignatureKey, len(entries))
	for i := range entries {
		keys[i] = SignatureKey{entries[i].ProjectID, entries[i].Signature}
	}
	patterns, err := PatternsOf(ctx, q, keys)
	if err != nil {
		return err
	}
	for i := range entries {
		entries[i].Pattern = patterns[keys[i]]
	}
	return nil
}

// membersSQL lists the (project, signature) pairs of patterns $2 in
// projects $1: the signatures whose row points at the pattern (at its live
// pattern when it was merged away), and unmined signatures equal to it. An
// id that is no pattern but a mined signature (an entry's provisional
// pattern_id, read before its signature was mined into another pattern)
// stands for its signature's pattern.
const membersSQL = `WITH ids AS (SELECT DISTINCT unnest($2::bigint[]) AS id),
live AS (
	SELECT pj.id AS project_id, coalesce(p.merged_into, p.id, g.pattern_id, ids.id) AS id
	FROM unnest($1::bigint[]) AS pj(id) CROSS JOIN ids
	LEFT JOIN logs.patterns p ON p.project_id = pj.id AND p.id = ids.id
	LEFT JOIN logs.pattern_signatures g ON g.project_id = pj.id AND g.signature = ids.id
)
SELECT s.project_id, s.signature FROM logs.pattern_signatures s JOIN live ON s.project_id = live.project_id AND s.pattern_id = live.id
UNION
SELECT s.project_id, s.signature FROM logs.pattern_signatures s JOIN ids ON s.signature = ids.id
WHERE s.project_id = ANY($1::bigint[]) AND s.pattern_id IS NULL`

// PatternMembers returns the (project, signature) pairs, as parallel
// arrays, whose entries are the entries of the patterns ids within
// projects: a filter `(project_id, signature) IN (pairs)` on logs.entries
// selects exactly the patterns' entries. The overflow pattern also holds
// signature 0 of every project.
func PatternMembers(ctx context.Context, q Querier, projects, ids []int64) (ps, sigs []int64, err error) {
	if len(projects) == 0 || len(ids) == 0 {
		return nil, nil, nil
	}
	rows, err := q.Query(ctx, membersSQL, projects, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the signatures of patterns: %w", err)
	}
	var p, g int64
	_, err = pgx.ForEachRow(rows, []any{&p, &g}, func() error {
		ps, sigs = append(ps, p), append(sigs, g)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing the signatures of patterns: %w", err)
	}
	for _, id := range ids {
		if id == OverflowPattern {
			for _, pj := range projects {
				ps, sigs = append(ps, pj), append(sigs, OverflowPattern)
			}
			break
		}
	}
	return ps, sigs, nil
}
