package logstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore"
)

// TestPatternMembers: the pairs of a pattern follow merges, take in unmined
// signatures equal to the id, and an id read as an unmined signature's
// provisional pattern_id still finds its entries once that signature was
// mined into another pattern.
func TestPatternMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	now := time.Now()
	// Project 1: pattern 100 founded by signature 100, joined by 101;
	// pattern 200 merged into 100; signature 300 unmined; signature 400
	// mined into 100 (it was read as pattern 400 while unmined).
	_, err := pool.Exec(ctx, `INSERT INTO logs.patterns (project_id, id, template, merged_into, first_seen) VALUES
		(1, 100, 'a <*>', NULL, $1), (1, 200, 'a b', 100, $1)`, now)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO logs.pattern_signatures (project_id, signature, message, first_seen, pattern_id, mined_seq) VALUES
		(1, 100, 'a x', $1, 100, 1), (1, 101, 'a y', $1, 100, 2), (1, 200, 'a b', $1, 100, 3),
		(1, 300, 'c', $1, NULL, NULL), (1, 400, 'a z', $1, 100, 4), (2, 100, 'a x', $1, NULL, NULL)`, now)
	require.NoError(t, err)

	pairs := func(projects, ids []int64) [][2]int64 {
		ps, gs, err := logstore.PatternMembers(ctx, pool, projects, ids)
		require.NoError(t, err)
		var out [][2]int64
		for i := range ps {
			out = append(out, [2]int64{ps[i], gs[i]})
		}
		slices.SortFunc(out, func(a, b [2]int64) int {
			if a[0] != b[0] {
				return int(a[0] - b[0])
			}
			return int(a[1] - b[1])
		})
		return out
	}
	pattern100 := [][2]int64{{1, 100}, {1, 101}, {1, 200}, {1, 400}}
	cases := []struct {
		name     string
		projects []int64
		ids      []int64
		want     [][2]int64
	}{
		{"a live pattern", []int64{1}, []int64{100}, pattern100},
		{"a merged-away id", []int64{1}, []int64{200}, pattern100},
		{"a mined signature's provisional id", []int64{1}, []int64{400}, pattern100},
		{"an unmined signature", []int64{1}, []int64{300}, [][2]int64{{1, 300}}},
		{"across projects", []int64{1, 2}, []int64{100}, append(slices.Clone(pattern100), [2]int64{2, 100})},
		{"overflow", []int64{1}, []int64{logstore.OverflowPattern}, [][2]int64{{1, 0}}},
		{"unknown", []int64{1}, []int64{999}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, pairs(c.projects, c.ids))
		})
	}
}

// TestSignatureRowKeepsTheOldestEntry: a signature's row keeps its first
// message, and its first_seen moves back when an older entry of it is
// written later (a backfill, another replica), never forward.
func TestSignatureRowKeepsTheOldestEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	t2 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, w := range []struct {
		msg string
		ts  time.Time
	}{{"first", t2}, {"older", t2.Add(-time.Hour)}, {"newer", t2.Add(time.Hour)}} {
		var g logstore.Signatures
		g.Add(1, 42, w.msg, w.ts)
		require.NoError(t, logstore.RecordCommitted(ctx, pool, &logstore.Rollups{}, &logstore.Spans{}, &g, nil))
	}
	var msg string
	var first time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT message, first_seen FROM logs.pattern_signatures WHERE project_id = 1 AND signature = 42`).Scan(&msg, &first))
	require.Equal(t, "first", msg)
	require.True(t, first.Equal(t2.Add(-time.Hour)), "first_seen %s", first)
}
