package query

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
)

// benchRows entries over one day, spread over three projects and five
// services. Run with: go test -run '^$' -bench . ./services/query/
const benchRows = 300_000

func benchService(b testing.TB) *Service {
	b.Helper()
	s, pool := newService(b, Config{}, day)
	ctx := context.Background()
	start := time.Now()
	_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context)
		SELECT 1 + i % 3, $1::timestamptz + (i * 86400000000::bigint / $2) * interval '1 microsecond',
		       (ARRAY['api', 'worker', 'web', 'billing', 'auth'])[1 + i % 5], 1 + (i * 7) % 6,
		       CASE WHEN i % 97 = 0 THEN 'Payment timeout for order ' || i ELSE 'request handled in ' || (i % 500) || ' ms' END,
		       jsonb_build_object('user_id', i % 1000, 'path', '/api/v1/items')
		FROM generate_series(0, $2 - 1) i`, day, benchRows)
	require.NoError(b, err)
	_, err = pool.Exec(ctx, "VACUUM ANALYZE logs.entries")
	require.NoError(b, err)
	b.Logf("generated %d rows in %s", benchRows, time.Since(start))
	return s
}

func BenchmarkPageQueryBuild(b *testing.B) {
	f := &filters{projects: []int64{1, 2, 3}, services: []string{"api", "web"}, levels: []int16{4, 5}, q: "timeout",
		context: []contextFilter{{"user_id", "42"}}}
	c := &cursor{ts: day, id: 12345}
	for b.Loop() {
		_, _ = pageQuery(f, c, 101)
	}
}

func BenchmarkListEntries(b *testing.B) {
	s := benchService(b)
	ctx := as(admin())
	for _, bc := range []struct {
		name string
		req  *logsv1.ListEntriesRequest
	}{
		{"newest page, one project", &logsv1.ListEntriesRequest{Project: []string{"alpha"}}},
		{"newest page, all projects", &logsv1.ListEntriesRequest{}},
		{"service and level", &logsv1.ListEntriesRequest{Project: []string{"beta"}, Service: []string{"api"}, Level: []string{"error", "fatal"}}},
		{"q", &logsv1.ListEntriesRequest{Q: "timeout"}},
		{"context", &logsv1.ListEntriesRequest{Context: ctxf("user_id", "42")}},
		{"last hour", &logsv1.ListEntriesRequest{Since: timestamppb.New(day.Add(23 * time.Hour)), Until: timestamppb.New(day.Add(24 * time.Hour))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				res, err := s.ListEntries(ctx, bc.req)
				if err != nil || len(res.GetEntries()) == 0 {
					b.Fatalf("%v, %d entries", err, len(res.GetEntries()))
				}
			}
		})
	}
	// The page query alone, without the total count.
	b.Run("page query only, all projects", func(b *testing.B) {
		f := &filters{projects: []int64{1, 2, 3}}
		for b.Loop() {
			sql, args := pageQuery(f, nil, 101)
			rows, err := s.pool.Query(context.Background(), sql, args...)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := pgx.CollectRows(rows, logstore.ScanEntry); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGetStats(b *testing.B) {
	s := benchService(b)
	ctx := as(admin())
	for _, bc := range []struct {
		name string
		req  *logsv1.GetStatsRequest
	}{
		{"24h all projects", &logsv1.GetStatsRequest{Since: timestamppb.New(day), Until: timestamppb.New(day.Add(24 * time.Hour))}},
		{"24h one project", &logsv1.GetStatsRequest{Project: []string{"beta"}, Since: timestamppb.New(day), Until: timestamppb.New(day.Add(24 * time.Hour))}},
		{"1h", &logsv1.GetStatsRequest{Since: timestamppb.New(day.Add(6 * time.Hour)), Until: timestamppb.New(day.Add(7 * time.Hour))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				res, err := s.GetStats(ctx, bc.req)
				if err != nil || res.GetTotal() == 0 {
					b.Fatalf("%v, total %d", err, res.GetTotal())
				}
			}
		})
	}
}

// patternBenchRows entries over one day in one project, with
// patternBenchSignatures distinct signatures: nine in ten of them mined
// into a third as many patterns, the rest not mined yet.
// Run with: go test -run '^$' -bench ListPatterns ./services/query/
const (
	patternBenchRows       = 200_000
	patternBenchSignatures = 500
)

func patternBenchService(b *testing.B) *Service {
	b.Helper()
	s, pool := newService(b, Config{}, day)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(b, err)
	}
	exec(`INSERT INTO logs.entries (project_id, ts, service_name, level, message, signature)
		SELECT 1, $1::timestamptz + (i * 86400000000::bigint / $2) * interval '1 microsecond',
		       (ARRAY['api', 'worker', 'web', 'billing', 'auth'])[1 + i % 5], 1 + (i * 7) % 6,
		       'event ' || (i % $3) || ' handled in ' || (i % 500) || ' ms', 1 + i % $3
		FROM generate_series(0, $2 - 1) i`, day, patternBenchRows, patternBenchSignatures)
	exec(`INSERT INTO logs.pattern_signatures (project_id, signature, message, first_seen, pattern_id, mined_seq)
		SELECT 1, g, 'event ' || g || ' handled in 5 ms', $1,
		       CASE WHEN g % 10 <> 0 THEN 1 + g % ($2 / 3) END, CASE WHEN g % 10 <> 0 THEN g END
		FROM generate_series(1, $2::int) g`, day, patternBenchSignatures)
	exec(`INSERT INTO logs.patterns (project_id, id, template, first_seen)
		SELECT 1, p, 'event <num> handled in <num> ms', $1 FROM generate_series(1, $2::int / 3) p`, day, patternBenchSignatures)
	exec(`VACUUM ANALYZE logs.entries`)
	return s
}

func BenchmarkListPatterns(b *testing.B) {
	s := patternBenchService(b)
	ctx := as(admin())
	since, until := timestamppb.New(day), timestamppb.New(day.Add(24*time.Hour))
	for _, bc := range []struct {
		name string
		req  *logsv1.ListPatternsRequest
	}{
		{"24h first page", &logsv1.ListPatternsRequest{Since: since, Until: until}},
		{"24h 1000 patterns", &logsv1.ListPatternsRequest{Since: since, Until: until, PageSize: 1000}},
		{"24h errors", &logsv1.ListPatternsRequest{Since: since, Until: until, Level: []string{"error", "fatal"}}},
		{"1h", &logsv1.ListPatternsRequest{Since: timestamppb.New(day.Add(6 * time.Hour)), Until: timestamppb.New(day.Add(7 * time.Hour))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				res, err := s.ListPatterns(ctx, bc.req)
				if err != nil || len(res.GetPatterns()) == 0 || len(res.GetPatterns()[0].GetExamples()) == 0 {
					b.Fatalf("%v, %d patterns", err, len(res.GetPatterns()))
				}
			}
		})
	}
}

func BenchmarkPatternFilter(b *testing.B) {
	s := patternBenchService(b)
	ctx := as(admin())
	one := []string{logstore.FormatPatternID(7)}
	b.Run("entries page", func(b *testing.B) {
		for b.Loop() {
			res, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{Pattern: one})
			if err != nil || len(res.GetEntries()) == 0 {
				b.Fatalf("%v, %d entries", err, len(res.GetEntries()))
			}
		}
	})
	b.Run("stats 24h", func(b *testing.B) {
		for b.Loop() {
			res, err := s.GetStats(ctx, &logsv1.GetStatsRequest{Pattern: one, Since: timestamppb.New(day), Until: timestamppb.New(day.Add(24 * time.Hour))})
			if err != nil || res.GetTotal() == 0 {
				b.Fatalf("%v, total %d", err, res.GetTotal())
			}
		}
	})
}

// groupBenchRows entries over one day in three projects, as loadgen's mix
// of levels gives them: 15% WARN, ERROR or FATAL, each with one of
// groupBenchFingerprints fingerprints per project (a few frequent, many
// rare), every fingerprint with its group.
// Run with: go test -run '^$' -bench ErrorGroups -benchtime 20x ./services/query/
const (
	groupBenchRows         = 1_000_000
	groupBenchFingerprints = 300
)

func groupBenchService(b testing.TB) *Service {
	b.Helper()
	s, pool := newService(b, Config{}, day)
	ctx := context.Background()
	start := time.Now()
	exec := func(sql string, args ...any) {
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(b, err)
	}
	exec(`INSERT INTO logs.entries (project_id, ts, service_name, level, message, context, error_fp)
		SELECT 1 + i % 3, $1::timestamptz + (i * 86400000000::bigint / $2) * interval '1 microsecond',
		       (ARRAY['api', 'worker', 'web', 'billing', 'auth'])[1 + (i / 3) % 5], l,
		       'request ' || i || ' handled in ' || (i % 500) || ' ms',
		       jsonb_build_object('request_id', md5(i::text), 'release', '1.' || (i % 4)),
		       CASE WHEN l >= 4 THEN 1 + floor($3 * power(((hashint4(i) & 65535) / 65536.0), 3))::int ELSE 0 END
		FROM (SELECT i, CASE WHEN i % 1000 < 150 THEN 2 WHEN i % 1000 < 850 THEN 3 WHEN i % 1000 < 940 THEN 4
		                     WHEN i % 1000 < 998 THEN 5 ELSE 6 END AS l
		      FROM generate_series(0, $2 - 1) i) s`, day, groupBenchRows, groupBenchFingerprints)
	exec(`INSERT INTO logs.error_groups (project_id, fingerprint, exception_type, title, culprit, first_seen)
		SELECT p, f, 'TypeError', 'TypeError: failure number ' || f, 'handler' || f || ' (app.js)', $1
		FROM generate_series(1, 3) p, generate_series(1, $2::int) f`, day, groupBenchFingerprints)
	exec(`VACUUM ANALYZE logs.entries`)
	exec(`ANALYZE logs.error_groups`)
	b.Logf("generated %d rows in %s", groupBenchRows, time.Since(start))
	return s
}

func BenchmarkErrorGroups(b *testing.B) {
	s := groupBenchService(b)
	ctx := as(admin())
	since, until := timestamppb.New(day), timestamppb.New(day.Add(24*time.Hour))
	for _, bc := range []struct {
		name string
		req  *logsv1.ListErrorGroupsRequest
	}{
		{"24h first page", &logsv1.ListErrorGroupsRequest{Since: since, Until: until}},
		{"24h first page by count", &logsv1.ListErrorGroupsRequest{Since: since, Until: until, Sort: "count"}},
		{"24h one project", &logsv1.ListErrorGroupsRequest{Project: []string{"alpha"}, Since: since, Until: until}},
		{"24h every level", &logsv1.ListErrorGroupsRequest{Level: []string{"warn", "error", "fatal"}, Since: since, Until: until}},
		{"24h service", &logsv1.ListErrorGroupsRequest{Service: []string{"api"}, Since: since, Until: until}},
		{"24h resolved", &logsv1.ListErrorGroupsRequest{Status: []string{"resolved"}, Since: since, Until: until}},
		{"1h", &logsv1.ListErrorGroupsRequest{Since: timestamppb.New(day.Add(6 * time.Hour)), Until: timestamppb.New(day.Add(7 * time.Hour))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				res, err := s.ListErrorGroups(ctx, bc.req)
				if err != nil || (len(bc.req.GetStatus()) == 0 && (len(res.GetGroups()) == 0 || res.GetGroups()[0].GetExample() == nil)) {
					b.Fatalf("%v, %d groups", err, len(res.GetGroups()))
				}
			}
		})
	}
	b.Run("get the largest group 24h", func(b *testing.B) {
		for b.Loop() {
			res, err := s.GetErrorGroup(ctx, &logsv1.GetErrorGroupRequest{Id: "1", Since: since, Until: until})
			if err != nil || res.GetGroup().GetCount() == 0 {
				b.Fatalf("%v", err)
			}
		}
	})
	b.Run("entries of a rare group", func(b *testing.B) {
		for b.Loop() {
			res, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{ErrorGroup: []string{"250"}})
			if err != nil || len(res.GetEntries()) == 0 {
				b.Fatalf("%v, %d entries", err, len(res.GetEntries()))
			}
		}
	})
	b.Run("regression check, 300 resolved", func(b *testing.B) {
		_, err := s.pool.Exec(context.Background(), `UPDATE logs.error_groups SET status = 'resolved', resolved_at = $1 WHERE project_id = 2`, day.Add(48*time.Hour))
		require.NoError(b, err)
		for b.Loop() {
			if _, err := logstore.ReopenRegressions(context.Background(), s.pool); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetStatsSampling is GetStats over a day of 1M entries of one
// project, first none sampled (the common case: what the estimates add
// there is their cost), then with the INFO and DEBUG half kept at 0.1.
// Run with: go test -run '^$' -bench GetStatsSampling ./services/query/
func BenchmarkGetStatsSampling(b *testing.B) {
	const rows = 1_000_000
	s, pool := newService(b, Config{}, day)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message)
		SELECT 1, $1::timestamptz + (i * 86400000000::bigint / $2) * interval '1 microsecond',
		       (ARRAY['api', 'worker', 'web', 'billing', 'auth'])[1 + i % 5], 1 + (i * 7) % 6, 'request handled'
		FROM generate_series(0, $2 - 1) i`, day, rows)
	require.NoError(b, err)
	_, err = pool.Exec(ctx, "VACUUM ANALYZE logs.entries")
	require.NoError(b, err)
	req := &logsv1.GetStatsRequest{Project: []string{"alpha"}, Since: timestamppb.New(day), Until: timestamppb.New(day.Add(24 * time.Hour))}
	run := func(b *testing.B, sampled bool) {
		for b.Loop() {
			res, err := s.GetStats(as(admin()), req)
			if err != nil || res.GetTotal() != rows || res.GetSampled() != sampled {
				b.Fatalf("%v, total %d, sampled %v", err, res.GetTotal(), res.GetSampled())
			}
		}
	}
	b.Run("unsampled", func(b *testing.B) { run(b, false) })
	_, err = pool.Exec(ctx, `UPDATE logs.entries SET sample_rate = 0.1 WHERE level <= 3`)
	require.NoError(b, err)
	_, err = pool.Exec(ctx, "VACUUM ANALYZE logs.entries")
	require.NoError(b, err)
	b.Run("sampled", func(b *testing.B) { run(b, true) })
}
