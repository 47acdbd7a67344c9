package insights

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/logstore/signature"
)

// benchEntries is the size of the benchmark's data. Run with:
//
//	go test -run '^$' -bench Analyze1M -benchtime 5x ./services/analysis/insights/
//
// The data is seeded only by the benchmark (plain `go test` runs none).
const benchEntries = 1_000_000

// seedBench writes benchEntries entries of one project over the 48 h
// before t0 and the hour after it (so that a 24 h window has a previous
// window and a baseline), on the server (generate_series: the
// test process holds none of them, so its peak RSS is the analysis's):
// 8 services, 300 message templates drawn with a skew (the most frequent
// about 6% of the entries, the rarest a few hundred), 5% of them errors;
// every signature mined into its own pattern but for the last 20, left
// unmined; and in the window a spike of one rare template and a new error
// pattern.
func seedBench(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	for d := t0.Add(-49 * time.Hour); !d.After(t0.Add(2 * time.Hour)); d = d.Add(day) {
		require.NoError(b, partition.Create(ctx, pool, d))
	}
	verbs := strings.Fields("opened closed read wrote sent received parsed queued dropped retried cached evicted signed checked loaded saved locked freed scheduled finished")
	nouns := strings.Fields("session order invoice cart payment user token file report batch image email job socket query")
	var h signature.Hasher
	var tmpls []string
	var sigs []int64
	for _, v := range verbs {
		for _, n := range nouns {
			t := v + " " + n + " for request"
			tmpls, sigs = append(tmpls, t), append(sigs, h.Of(t+" 0"))
		}
	}
	services := []string{"api", "web", "worker", "billing", "auth", "search", "mailer", "cron"}
	_, err := pool.Exec(ctx, `SELECT setseed(0.42)`)
	require.NoError(b, err)
	span := int64(49 * time.Hour / time.Microsecond)
	_, err = pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, signature)
		SELECT 1, $1::timestamptz + (i * $2::bigint / $3) * interval '1 microsecond',
			($4::text[])[1 + (k * 7 + i % 3) % 8], CASE WHEN k % 20 = 0 THEN 5 ELSE 3 END,
			($5::text[])[1 + k] || ' ' || i, ($6::bigint[])[1 + k]
		FROM (SELECT i, floor(300 * power(random(), 2))::int AS k FROM generate_series(0, $3 - 1) i) g`,
		t0.Add(-48*time.Hour), span, benchEntries-3000, services, tmpls, sigs)
	require.NoError(b, err)
	// The spike and the new error pattern, in the window.
	spikeSig, newSig := sigs[299], h.Of("gateway rejected charge 0")
	_, err = pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, signature)
		SELECT 1, $1::timestamptz + (i * 3600000000::bigint / 3000) * interval '1 microsecond', 'worker',
			CASE WHEN i % 3 = 0 THEN 5 ELSE 3 END,
			CASE WHEN i % 3 = 0 THEN 'gateway rejected charge ' || i ELSE $2 || ' ' || i END,
			CASE WHEN i % 3 = 0 THEN $3::bigint ELSE $4::bigint END
		FROM generate_series(0, 2999) i`, t0, tmpls[299], newSig, spikeSig)
	require.NoError(b, err)
	unmined := append(sigs[280:], newSig)
	for _, stmt := range []string{
		`INSERT INTO logs.pattern_signatures (project_id, signature, message, first_seen)
		SELECT 1, signature, min(message), min(ts) FROM logs.entries GROUP BY signature`,
		`INSERT INTO logs.patterns (project_id, id, template, first_seen)
		SELECT 1, signature, regexp_replace(message, '[0-9]+$', '<num>'), first_seen FROM logs.pattern_signatures
		WHERE signature <> ALL($1::bigint[])`,
		`UPDATE logs.pattern_signatures SET pattern_id = signature, mined_seq = 1 WHERE signature <> ALL($1::bigint[])`,
		`INSERT INTO logs.entry_rollups (project_id, service_name, day, count, last_log_at)
		SELECT project_id, service_name, (ts AT TIME ZONE 'UTC')::date, count(*), max(ts) FROM logs.entries GROUP BY 1, 2, 3`,
	} {
		var args []any
		if strings.Contains(stmt, "$1") {
			args = append(args, unmined)
		}
		_, err = pool.Exec(ctx, stmt, args...)
		require.NoError(b, err)
	}
	_, err = pool.Exec(ctx, `VACUUM ANALYZE logs.entries`)
	require.NoError(b, err)
	b.Logf("seeded %d entries in %s", benchEntries, time.Since(start).Round(time.Millisecond))
}

// peakRSS is the process's peak resident set (VmHWM), in MiB.
func peakRSS(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	require.NoError(b, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			require.NoError(b, err)
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// BenchmarkAnalyze1M times one analysis of 1M entries (no cache), over the
// last hour and the last 24 h, and reports the process's peak RSS.
func BenchmarkAnalyze1M(b *testing.B) {
	pool := cluster.NewPool(b)
	seedBench(b, pool)
	for _, bc := range []struct {
		name       string
		width      time.Duration
		maxEntries int64
	}{
		{"1h", time.Hour, 0},
		{"24h", day, 0},
		{"24h sampled 200k", day, 200_000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := newAnalyzer(b, pool, Config{MaxEntries: bc.maxEntries}, nil)
			req := Request{Projects: []Project{{ID: 1, Slug: "bench"}}, Since: t0.Add(time.Hour - bc.width), Until: t0.Add(time.Hour)}
			var res interface{ GetSampleSize() int64 }
			for b.Loop() {
				r, err := a.Analyze(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				if len(r.GetReport().GetSpikes()) == 0 || len(r.GetReport().GetNewErrorPatterns()) == 0 || r.GetPartial() {
					b.Fatalf("the report misses the seeded spike or new error pattern: %v", r.GetSummary())
				}
				res = r
			}
			b.ReportMetric(float64(res.GetSampleSize()), "entries-read")
			b.ReportMetric(peakRSS(b), "peak-RSS-MiB")
			if testing.Verbose() {
				r, _ := a.Analyze(context.Background(), req)
				fmt.Println(r.GetSummary())
			}
		})
	}
}
