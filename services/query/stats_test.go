package query

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
)

func TestBucketWidth(t *testing.T) {
	for _, tc := range []struct {
		rng, want time.Duration
	}{
		{time.Millisecond, time.Second},
		{time.Second, time.Second},
		{time.Minute, time.Second},
		{61 * time.Second, 2 * time.Second},
		{15 * time.Minute, 15 * time.Second},
		{time.Hour, time.Minute},
		{time.Hour + time.Microsecond, 2 * time.Minute},
		{6 * time.Hour, 10 * time.Minute},
		{24 * time.Hour, 30 * time.Minute},
		{7 * 24 * time.Hour, 3 * time.Hour},
		{30 * 24 * time.Hour, 12 * time.Hour},
		{60 * 24 * time.Hour, 24 * time.Hour},
		{365 * 24 * time.Hour, 7 * 24 * time.Hour},
		{10 * 365 * 24 * time.Hour, 30 * 24 * time.Hour},
	} {
		require.Equal(t, tc.want, bucketWidth(tc.rng), "range %s", tc.rng)
	}
}

func TestFloorTo(t *testing.T) {
	require.Equal(t, time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC), floorTo(time.Date(2026, 3, 10, 10, 0, 59, 999999000, time.UTC), time.Minute))
	require.Equal(t, time.Date(2026, 3, 10, 10, 1, 0, 0, time.UTC), floorTo(time.Date(2026, 3, 10, 10, 1, 0, 0, time.UTC), time.Minute))
	// 7-day buckets are aligned to the epoch (a Thursday), not to weeks.
	require.Equal(t, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), floorTo(time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC), 7*24*time.Hour))
	// Before the epoch, floor rounds down.
	require.Equal(t, time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC), floorTo(time.Date(1969, 12, 31, 23, 59, 30, 0, time.UTC), time.Minute))
}

// sqlStats counts independently of the service: a plain count(*) per level,
// per service, and per bucket (each bucket's span clipped to the range).
func sqlStats(t *testing.T, s *Service, since, until time.Time, width time.Duration, first time.Time, n int, where string, args ...any) (total int64, byLevel, byService map[string]int64, hist []map[string]int64) {
	ctx := context.Background()
	args = append([]any{since, until}, args...)
	cond := "project_id IN (1, 2) AND ts >= $1 AND ts < $2"
	if where != "" {
		cond += " AND " + where
	}
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT count(*) FROM logs.entries WHERE "+cond, args...).Scan(&total))
	byLevel = zeroLevels()
	byService = map[string]int64{}
	rows, err := s.pool.Query(ctx, "SELECT level, count(*) FROM logs.entries WHERE "+cond+" GROUP BY level", args...)
	require.NoError(t, err)
	for rows.Next() {
		var l logstore.Level
		var c int64
		require.NoError(t, rows.Scan(&l, &c))
		byLevel[l.String()] = c
	}
	require.NoError(t, rows.Err())
	rows, err = s.pool.Query(ctx, "SELECT service_name, count(*) FROM logs.entries WHERE "+cond+" GROUP BY service_name", args...)
	require.NoError(t, err)
	for rows.Next() {
		var sv string
		var c int64
		require.NoError(t, rows.Scan(&sv, &c))
		byService[sv] = c
	}
	require.NoError(t, rows.Err())
	for i := 0; i < n; i++ {
		lo, hi := first.Add(time.Duration(i)*width), first.Add(time.Duration(i+1)*width)
		if lo.Before(since) {
			lo = since
		}
		if hi.After(until) {
			hi = until
		}
		counts := zeroLevels()
		bargs := append([]any{lo, hi}, args[2:]...)
		rows, err := s.pool.Query(ctx, "SELECT level, count(*) FROM logs.entries WHERE "+cond+" GROUP BY level", bargs...)
		require.NoError(t, err)
		for rows.Next() {
			var l logstore.Level
			var c int64
			require.NoError(t, rows.Scan(&l, &c))
			counts[l.String()] = c
		}
		require.NoError(t, rows.Err())
		hist = append(hist, counts)
	}
	return
}

func TestGetStatsExact(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	ctx := context.Background()
	since := day.Add(10*time.Hour + 30*time.Second) // not aligned to the 1-minute buckets
	until := since.Add(time.Hour)
	us := time.Microsecond
	// Entries on every edge, in service "edge".
	edge := func(ts time.Time, level int16) row {
		return row{beta, ts, "edge", level, "edge", ""}
	}
	insert(t, pool,
		edge(since.Add(-us), 3),                       // before the range: not counted
		edge(day.Add(10*time.Hour+10*time.Second), 3), // in the first bucket's span but before since: not counted
		edge(since, 3),                                // counted, bucket 0 (10:00)
		edge(day.Add(10*time.Hour+time.Minute-us), 4), // bucket 0
		edge(day.Add(10*time.Hour+time.Minute), 5),    // bucket 1, exactly on its edge
		edge(day.Add(10*time.Hour+30*time.Minute), 5), // three at one instant: bucket 30
		edge(day.Add(10*time.Hour+30*time.Minute), 5),
		edge(day.Add(10*time.Hour+30*time.Minute), 6),
		edge(until.Add(-us), 1), // last instant counted: bucket 60 (11:00)
		edge(until, 1),          // not counted
		row{gamma, since, "edge", 3, "not readable", ""},
	)
	// A few thousand more over and around the range.
	_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context)
		SELECT 1 + i % 3, $1::timestamptz + i * interval '1237 ms', (ARRAY['api', 'worker', 'web'])[1 + i % 7 % 3], 1 + i % 6,
		       CASE WHEN i % 5 = 0 THEN 'Timeout after ' || i ELSE 'ok ' || i END, jsonb_build_object('n', i % 4)
		FROM generate_series(0, 3400) i`, since.Add(-5*time.Minute))
	require.NoError(t, err)

	req := func() *logsv1.GetStatsRequest {
		return &logsv1.GetStatsRequest{Since: timestamppb.New(since), Until: timestamppb.New(until)}
	}
	first := day.Add(10 * time.Hour)

	t.Run("edges", func(t *testing.T) {
		r := req()
		r.Service = []string{"edge"}
		res, err := s.GetStats(as(member()), r)
		require.NoError(t, err)
		require.Equal(t, int64(60), res.GetBucketSeconds())
		require.Len(t, res.GetHistogram(), 61)
		require.True(t, first.Equal(res.GetHistogram()[0].GetStart().AsTime()))
		require.True(t, first.Add(60*time.Minute).Equal(res.GetHistogram()[60].GetStart().AsTime()))
		require.True(t, since.Equal(res.GetSince().AsTime()))
		require.True(t, until.Equal(res.GetUntil().AsTime()))
		require.Equal(t, int64(7), res.GetTotal())
		require.Equal(t, map[string]int64{"TRACE": 1, "DEBUG": 0, "INFO": 1, "WARN": 1, "ERROR": 3, "FATAL": 1}, res.GetByLevel())
		require.Equal(t, map[string]int64{"edge": 7}, res.GetByService())
		want := map[int]map[string]int64{
			0:  {"INFO": 1, "WARN": 1},
			1:  {"ERROR": 1},
			30: {"ERROR": 2, "FATAL": 1},
			60: {"TRACE": 1},
		}
		for i, b := range res.GetHistogram() {
			require.True(t, first.Add(time.Duration(i)*time.Minute).Equal(b.GetStart().AsTime()))
			counts := zeroLevels()
			for l, c := range want[i] {
				counts[l] = c
			}
			require.Equal(t, counts, b.GetCounts(), "bucket %d", i)
		}
	})

	for _, tc := range []struct {
		name  string
		mod   func(*logsv1.GetStatsRequest)
		where string
		args  []any
	}{
		{"no filter", func(*logsv1.GetStatsRequest) {}, "", nil},
		{"project", func(r *logsv1.GetStatsRequest) { r.Project = []string{"alpha"} }, "project_id = $3", []any{alpha}},
		{"service", func(r *logsv1.GetStatsRequest) { r.Service = []string{"api", "web"} }, "service_name IN ('api', 'web')", nil},
		{"level", func(r *logsv1.GetStatsRequest) { r.Level = []string{"warn", "ERROR"} }, "level IN (4, 5)", nil},
		{"q", func(r *logsv1.GetStatsRequest) { r.Q = "timeout" }, "strpos(lower(message), 'timeout') > 0", nil},
		{"context", func(r *logsv1.GetStatsRequest) { r.Context = ctxf("n", "2") }, "context->>'n' = '2'", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req()
			tc.mod(r)
			res, err := s.GetStats(as(member()), r)
			require.NoError(t, err)
			total, byLevel, byService, hist := sqlStats(t, s, since, until, time.Minute, first, 61, tc.where, tc.args...)
			require.Positive(t, total)
			require.Equal(t, total, res.GetTotal())
			require.Equal(t, byLevel, res.GetByLevel())
			require.Equal(t, byService, res.GetByService())
			require.Len(t, res.GetHistogram(), len(hist))
			var sum int64
			for i, b := range res.GetHistogram() {
				require.Equal(t, hist[i], b.GetCounts(), "bucket %d", i)
				for _, c := range b.GetCounts() {
					sum += c
				}
			}
			require.Equal(t, total, sum, "the histogram adds up to the total")
		})
	}
}

func TestGetStatsDefaultRange(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day.Add(-24*time.Hour), day)
	now := day.Add(12*time.Hour + 500*time.Millisecond)
	s.now = func() time.Time { return now }
	us := time.Microsecond
	insert(t, pool,
		row{alpha, now.Add(-24*time.Hour - us), "api", 3, "too old", ""},
		row{alpha, now.Add(-24 * time.Hour), "api", 3, "first", ""},
		row{alpha, now.Add(-us), "api", 5, "last", ""},
		row{alpha, now, "api", 3, "now: not counted", ""},
	)
	res, err := s.GetStats(as(member()), &logsv1.GetStatsRequest{})
	require.NoError(t, err)
	require.True(t, now.Equal(res.GetUntil().AsTime()))
	require.True(t, now.Add(-24*time.Hour).Equal(res.GetSince().AsTime()))
	require.Equal(t, int64(1800), res.GetBucketSeconds())
	require.Len(t, res.GetHistogram(), 49)
	require.Equal(t, int64(2), res.GetTotal())
	require.Equal(t, int64(1), res.GetHistogram()[0].GetCounts()["INFO"])
	require.Equal(t, int64(1), res.GetHistogram()[48].GetCounts()["ERROR"])

	// Only until: the 24 hours before it.
	res, err = s.GetStats(as(member()), &logsv1.GetStatsRequest{Until: timestamppb.New(now.Add(-us))})
	require.NoError(t, err)
	require.True(t, now.Add(-24*time.Hour-us).Equal(res.GetSince().AsTime()))
	require.Equal(t, int64(2), res.GetTotal()) // "too old" and "first"
}

// TestGetStatsEstimates: sampled entries count 1/sample_rate each in the
// estimated fields, rounded once per figure; the counts stay exact; a
// range with no sampled entry has estimates equal to its counts and
// sampled false.
func TestGetStatsEstimates(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	ctx := context.Background()
	base := day.Add(10 * time.Hour)
	// In alpha: 30 INFO of "api" kept at 0.1 (standing for 300) in the
	// first minute, 7 DEBUG of "worker" at 0.25 (28) in the second, 5
	// ERROR of "api" unsampled; 3 INFO of "api" at 1/3 (9).
	_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, sample_rate)
		SELECT 1, $1::timestamptz + i * interval '1 second', 'api', 3, 'kept', 0.1 FROM generate_series(0, 29) i
		UNION ALL SELECT 1, $1::timestamptz + interval '1 minute' + i * interval '1 second', 'worker', 2, 'kept', 0.25 FROM generate_series(0, 6) i
		UNION ALL SELECT 1, $1::timestamptz + interval '2 minutes', 'api', 5, 'failed', NULL FROM generate_series(0, 4) i
		UNION ALL SELECT 1, $1::timestamptz + interval '3 minutes', 'api', 3, 'third', 1.0 / 3 FROM generate_series(0, 2) i`, base)
	require.NoError(t, err)
	insert(t, pool, row{beta, base, "web", 3, "plain", ""}, row{beta, base.Add(time.Minute), "web", 4, "plain", ""})

	req := &logsv1.GetStatsRequest{Project: []string{"alpha"}, Since: timestamppb.New(base), Until: timestamppb.New(base.Add(time.Hour))}
	res, err := s.GetStats(as(member()), req)
	require.NoError(t, err)
	require.True(t, res.GetSampled())
	require.EqualValues(t, 45, res.GetTotal())
	require.EqualValues(t, 300+28+5+9, res.GetEstimatedTotal())
	require.Equal(t, map[string]int64{"TRACE": 0, "DEBUG": 28, "INFO": 309, "WARN": 0, "ERROR": 5, "FATAL": 0}, res.GetEstimatedByLevel())
	require.Equal(t, map[string]int64{"TRACE": 0, "DEBUG": 7, "INFO": 33, "WARN": 0, "ERROR": 5, "FATAL": 0}, res.GetByLevel())
	require.Equal(t, map[string]int64{"api": 314, "worker": 28}, res.GetEstimatedByService())
	require.Equal(t, map[string]int64{"api": 38, "worker": 7}, res.GetByService())
	h := res.GetHistogram()
	require.EqualValues(t, 300, h[0].GetEstimatedCounts()["INFO"])
	require.EqualValues(t, 30, h[0].GetCounts()["INFO"])
	require.EqualValues(t, 28, h[1].GetEstimatedCounts()["DEBUG"])
	require.EqualValues(t, 5, h[2].GetEstimatedCounts()["ERROR"])
	require.EqualValues(t, 9, h[3].GetEstimatedCounts()["INFO"])
	require.EqualValues(t, 0, h[4].GetEstimatedCounts()["INFO"])

	// Entries carry their rate: the shortest decimal of the stored real.
	list, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Project: []string{"alpha"}, Since: req.Since, Until: req.Until, PageSize: 100})
	require.NoError(t, err)
	rates := map[string]int{}
	for _, e := range list.GetEntries() {
		if e.SampleRate == nil {
			rates[e.GetLevel()+" unsampled"]++
		} else {
			rates[fmt.Sprintf("%s %v", e.GetLevel(), e.GetSampleRate())]++
		}
	}
	require.Equal(t, map[string]int{"INFO 0.1": 30, "DEBUG 0.25": 7, "ERROR unsampled": 5, "INFO 0.33333334": 3}, rates)

	// Only the unsampled ERRORs: exact, not sampled.
	req.Level = []string{"error"}
	res, err = s.GetStats(as(member()), req)
	require.NoError(t, err)
	require.False(t, res.GetSampled())
	require.EqualValues(t, 5, res.GetEstimatedTotal())
	require.Equal(t, res.GetByLevel(), res.GetEstimatedByLevel())

	// beta samples nothing: the estimates are the counts.
	res, err = s.GetStats(as(member()), &logsv1.GetStatsRequest{Project: []string{"beta"}, Since: timestamppb.New(base), Until: timestamppb.New(base.Add(time.Hour))})
	require.NoError(t, err)
	require.False(t, res.GetSampled())
	require.EqualValues(t, 2, res.GetEstimatedTotal())
	require.Equal(t, res.GetByService(), res.GetEstimatedByService())
	for _, b := range res.GetHistogram() {
		require.Equal(t, b.GetCounts(), b.GetEstimatedCounts())
	}
}
