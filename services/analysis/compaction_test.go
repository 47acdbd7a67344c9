package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/logstore/sketch"
)

// appendRollups appends one uncompacted row per route for minute, each
// route's values v0..v0+n-1, as one writer's commit does.
func appendRollups(t testing.TB, pool *pgxpool.Pool, minute time.Time, routes []string, v0, n int) {
	t.Helper()
	var ins logstore.MetricRollups
	for _, r := range routes {
		row := logstore.MetricRow{ProjectID: 1, Minute: minute, Field: "duration_ms", Service: "api",
			Dims: logstore.DimsJSON([]string{"route"}, func(int) string { return r }), Errors: 1, NonNumeric: 2}
		for v := v0; v < v0+n; v++ {
			row.Sketch.Add(float64(v))
		}
		ins.Add(&row)
	}
	if err := logstore.InsertMetricRollups(context.Background(), pool, &ins, false); err != nil {
		t.Error(err)
	}
}

type compactedKey struct {
	minute time.Time
	route  string
}

type compactedRow struct {
	rows, compacted int
	errors, nonNum  int64
	sk              sketch.Sketch
}

func readCompacted(t *testing.T, pool *pgxpool.Pool) map[compactedKey]*compactedRow {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT minute, dims::text, compacted, errors, non_numeric, sketch, count FROM logs.metric_rollups`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[compactedKey]*compactedRow{}
	for rows.Next() {
		var minute time.Time
		var dims string
		var compacted bool
		var errs, non, n int64
		var enc []byte
		require.NoError(t, rows.Scan(&minute, &dims, &compacted, &errs, &non, &enc, &n))
		var d map[string]string
		require.NoError(t, json.Unmarshal([]byte(dims), &d))
		k := compactedKey{minute.UTC(), d["route"]}
		r := out[k]
		if r == nil {
			r = &compactedRow{}
			out[k] = r
		}
		var sk sketch.Sketch
		require.NoError(t, sk.UnmarshalBinary(enc))
		require.Equal(t, n, sk.Count())
		r.sk.Merge(&sk)
		r.rows++
		if compacted {
			r.compacted++
		}
		r.errors += errs
		r.nonNum += non
	}
	require.NoError(t, rows.Err())
	return out
}

func TestCompactMetricRollups(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	withYesterday(t, pool)
	s := newService(t, pool, testConfig())
	now := time.Now().UTC().Truncate(time.Minute)
	s.now = func() time.Time { return now.Add(30 * time.Second) }
	routes := []string{"/a", "/b", "/c"}
	old := []time.Time{now.Add(-5 * time.Minute), now.Add(-3 * time.Minute), now.Add(-2 * time.Minute)}
	for _, m := range append(old, now.Add(-time.Minute), now) {
		for c := range 4 { // four commits of 300 values
			appendRollups(t, pool, m, routes, c*300+1, 300)
		}
	}
	in, out, err := s.compactMetrics(context.Background())
	require.NoError(t, err)
	require.Equal(t, 3*3*4, in)
	require.Equal(t, 3*3, out)
	got := readCompacted(t, pool)
	require.Len(t, got, 5*3)
	for k, r := range got {
		open := !k.minute.Before(now.Add(-time.Minute)) // the previous and current minutes wait
		if open {
			require.Equal(t, 4, r.rows)
			require.Zero(t, r.compacted)
		} else {
			require.Equal(t, 1, r.rows, "%v", k)
			require.Equal(t, 1, r.compacted)
		}
		require.EqualValues(t, 1200, r.sk.Count())
		require.EqualValues(t, 4, r.errors)
		require.EqualValues(t, 8, r.nonNum)
		require.False(t, r.sk.Exact())
		require.InEpsilon(t, 600.0, r.sk.Quantile(0.5), sketch.Alpha)
		require.Equal(t, 1200.0, r.sk.Max())
	}

	// A late commit for a compacted minute is merged into its row at the
	// next pass.
	appendRollups(t, pool, old[0], routes[:1], 1201, 10)
	in, out, err = s.compactMetrics(context.Background())
	require.NoError(t, err)
	require.Equal(t, []int{3 + 1, 3}, []int{in, out}, "the minute's three rows and the new one")
	r := readCompacted(t, pool)[compactedKey{old[0], "/a"}]
	require.Equal(t, 1, r.rows)
	require.EqualValues(t, 1210, r.sk.Count())

	// Nothing pending: nothing rewritten.
	in, out, err = s.compactMetrics(context.Background())
	require.NoError(t, err)
	require.Equal(t, []int{0, 0}, []int{in, out})
}

// TestCompactionLosesNoConcurrentInsert: commits appended while passes run
// are all counted once.
func TestCompactionLosesNoConcurrentInsert(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	withYesterday(t, pool)
	s := newService(t, pool, testConfig())
	now := time.Now().UTC().Truncate(time.Minute)
	s.now = func() time.Time { return now.Add(time.Hour) }
	minutes := []time.Time{now.Add(-3 * time.Minute), now.Add(-2 * time.Minute)}
	const commits = 60
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := range commits {
			appendRollups(t, pool, minutes[i%2], []string{"/a", "/b"}, i*10, 10)
		}
		close(stop)
	})
	passes := 0
	for done := false; !done; passes++ {
		select {
		case <-stop:
			done = true
		default:
		}
		_, _, err := s.compactMetrics(context.Background())
		require.NoError(t, err)
	}
	wg.Wait()
	_, _, err := s.compactMetrics(context.Background())
	require.NoError(t, err)
	got := readCompacted(t, pool)
	require.Len(t, got, 4)
	for k, r := range got {
		require.Equal(t, 1, r.rows, "%v", k)
		require.EqualValues(t, commits/2*10, r.sk.Count(), "%v", k)
		require.EqualValues(t, commits/2, r.errors)
	}
	t.Logf("%d passes", passes)
}

// TestCompactionBoundsKeys: a minute's keys past MaxMetricKeys are merged
// into <other>, the ones with the fewest values first.
func TestCompactionBoundsKeys(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	withYesterday(t, pool)
	s := newService(t, pool, testConfig())
	m := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	var routes []string
	for i := range logstore.MaxMetricKeys + 100 {
		routes = append(routes, fmt.Sprintf("/r%04d", i))
	}
	appendRollups(t, pool, m, routes[:1000], 1, 2) // 2 values each
	appendRollups(t, pool, m, routes[1000:], 1, 1) // 1 value each: merged away
	appendRollups(t, pool, m, routes[:1], 1, 5)    // /r0000 has 7
	_, out, err := s.compactMetrics(context.Background())
	require.NoError(t, err)
	require.Equal(t, logstore.MaxMetricKeys, out)
	got := readCompacted(t, pool)
	require.Len(t, got, logstore.MaxMetricKeys)
	other := got[compactedKey{m, logstore.OtherDimension}]
	require.NotNil(t, other)
	require.EqualValues(t, 100+2, other.sk.Count(), "the 100 single values and one pair")
	require.EqualValues(t, 7, got[compactedKey{m, "/r0000"}].sk.Count())
	var total int64
	for _, r := range got {
		total += r.sk.Count()
	}
	require.EqualValues(t, 1000*2+100+5, total)
}

// TestCompactionExpiresRollups: rows before their project's cut-off (the
// first UTC day its retention keeps, the configured default for projects
// without their own) are deleted, metric rollups and the error groups'
// hourly counts alike.
func TestCompactionExpiresRollups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	cfg := testConfig()
	cfg.Retention = 5 * 24 * time.Hour
	s := newService(t, pool, cfg)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	_, err := pool.Exec(ctx, `INSERT INTO logs.projects (id, name, slug, retention_days) VALUES
		(1, 'two', 'two', 2), (2, 'default', 'default', NULL), (3, 'ten', 'ten', 10)`)
	require.NoError(t, err)
	cutoffs := map[int64]time.Time{
		1: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC),
		2: time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC),
		3: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC),
	}
	var metrics logstore.MetricRollups
	var hours logstore.ErrorGroups
	for p, cut := range cutoffs {
		for _, m := range []time.Time{cut.Add(-time.Minute), cut.Add(time.Minute)} {
			row := logstore.MetricRow{ProjectID: p, Minute: m, Field: "duration_ms", Service: "api", Dims: logstore.DimsJSON(nil, nil)}
			row.Sketch.Add(1)
			metrics.Add(&row)
			hours.Hours.Add(p, 77, logstore.LevelError, "api", m.UnixMicro())
		}
	}
	require.NoError(t, logstore.InsertMetricRollups(ctx, pool, &metrics, false))
	require.NoError(t, logstore.RecordCommitted(ctx, pool, &logstore.Rollups{}, &logstore.Spans{}, nil, &hours))

	_, _, err = s.compactMetrics(ctx)
	require.NoError(t, err)
	for table, column := range map[string]string{"logs.metric_rollups": "minute", "logs.error_group_hours": "hour", "logs.error_group_level_hours": "hour"} {
		for p, cut := range cutoffs {
			var n int64
			var oldest time.Time
			require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), min(`+column+`) FROM `+table+` WHERE project_id = $1`, p).Scan(&n, &oldest))
			require.NotZero(t, n, "%s: project %d keeps its rows after the cut-off", table, p)
			require.False(t, oldest.Before(cut), "%s: project %d's oldest row %s is before its cut-off %s", table, p, oldest.UTC(), cut)
			require.True(t, oldest.Before(cut.Add(time.Hour)), "%s: project %d's row after the cut-off is kept", table, p)
		}
	}
}

// TestCompactionIntoSlots: past MetricCoarseAfter each key's rows of a
// ten-minute slot become one row covering the slot; a late commit for an
// old minute joins its slot's row at the next pass.
func TestCompactionIntoSlots(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	withYesterday(t, pool)
	s := newService(t, pool, testConfig())
	now := time.Now().UTC().Truncate(logstore.MetricCoarseWidth)
	s.now = func() time.Time { return now }
	old := now.Add(-logstore.MetricCoarseAfter - 30*time.Minute)                         // three slots, all past the boundary
	require.NoError(t, partition.Create(context.Background(), pool, partition.Day(old))) // not expired
	for m := range 30 {
		appendRollups(t, pool, old.Add(time.Duration(m)*time.Minute), []string{"/a", "/b"}, m*10, 10)
	}
	recent := now.Add(-30 * time.Minute)
	appendRollups(t, pool, recent, []string{"/a"}, 1, 5)
	_, _, err := s.compactMetrics(context.Background())
	require.NoError(t, err)
	type slot struct {
		minute  time.Time
		minutes int
		count   int64
	}
	read := func() map[string][]slot {
		rows, err := pool.Query(context.Background(), `SELECT dims->>'route', minute, minutes, count FROM logs.metric_rollups ORDER BY 1, 2`)
		require.NoError(t, err)
		out := map[string][]slot{}
		for rows.Next() {
			var route string
			var sl slot
			require.NoError(t, rows.Scan(&route, &sl.minute, &sl.minutes, &sl.count))
			sl.minute = sl.minute.UTC()
			out[route] = append(out[route], sl)
		}
		require.NoError(t, rows.Err())
		return out
	}
	got := read()
	for _, route := range []string{"/a", "/b"} {
		want := []slot{{old, 10, 100}, {old.Add(10 * time.Minute), 10, 100}, {old.Add(20 * time.Minute), 10, 100}}
		if route == "/a" {
			want = append(want, slot{recent, 1, 5})
		}
		require.Equal(t, want, got[route], route)
	}

	appendRollups(t, pool, old.Add(13*time.Minute), []string{"/b"}, 1000, 7)
	_, _, err = s.compactMetrics(context.Background())
	require.NoError(t, err)
	require.Equal(t, slot{old.Add(10 * time.Minute), 10, 107}, read()["/b"][1])
	require.Len(t, read()["/b"], 3)
}

// withYesterday adds yesterday's partition, so that rows of the last hours
// are not expired whatever the time of day.
func withYesterday(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	require.NoError(t, partition.Create(context.Background(), pool, partition.Day(time.Now().Add(-24*time.Hour))))
}
