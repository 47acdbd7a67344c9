package ingestion

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/logstore"
)

// benchLogs is a typical batch from a sample logger: ISO timestamps, known
// levels, a sentence, a small context; every tenth entry has an unknown
// level (a spliced _level).
func benchLogs(n int) []*logsv1.LogInput {
	now := time.Now()
	levels := []string{"info", "INFO", "debug", "warn", "error", "info", "Info", "trace", "warning", "fatal"}
	logs := make([]*logsv1.LogInput, n)
	for i := range logs {
		lvl := levels[i%len(levels)]
		if i%10 == 9 {
			lvl = "notalevel"
		}
		logs[i] = &logsv1.LogInput{
			Timestamp:   now.Add(-time.Duration(i) * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z07:00"),
			Level:       lvl,
			Message:     fmt.Sprintf("GET /api/v1/orders/%d completed with status 200 in 12.5ms for user 4711", i),
			ContextJson: fmt.Sprintf(`{"request_id":"8f14e45f-ceea-467f-a0e6-%012d","method":"GET","status":200,"duration_ms":12.5,"user":{"id":4711,"plan":"pro"}}`, i),
		}
	}
	return logs
}

var benchLimits = limits{retention: 30 * 24 * time.Hour, maxMessage: 32 << 10, maxContext: 64 << 10}

func BenchmarkNormalize100(b *testing.B) {
	logs := benchLogs(100)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		bt := normalize(1, "api", "", logs, now, benchLimits)
		if len(bt.rows) != 100 {
			b.Fatal(len(bt.rows))
		}
	}
}

// BenchmarkNormalizeMetrics is BenchmarkNormalize100 with and without the
// default metric fields and dimensions (every benchLogs entry has
// duration_ms): the difference is the extraction's cost per entry.
func BenchmarkNormalizeMetrics(b *testing.B) {
	logs := benchLogs(100)
	now := time.Now()
	for _, on := range []bool{false, true, false, true} {
		lim := benchLimits
		if on {
			lim.metrics = newMetricSpec(defaultMetricFields(), defaultMetricDimensions())
		}
		b.Run(fmt.Sprintf("metrics=%v", on), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bt := normalize(1, "api", "", logs, now, lim)
				if len(bt.rows) != 100 || (on && len(bt.metrics) != 100) {
					b.Fatal(len(bt.rows), len(bt.metrics))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/entry")
		})
	}
}

// BenchmarkCollectMetrics is a writer's aggregation of a group's samples
// into rollup rows (sketches encoded), per entry.
func BenchmarkCollectMetrics(b *testing.B) {
	lim := benchLimits
	lim.metrics = newMetricSpec(defaultMetricFields(), defaultMetricDimensions())
	bt := normalize(1, "api", "", benchLogs(1000), time.Now(), lim)
	bt.write = true
	group := []*batch{bt}
	m := metricRollups{spec: lim.metrics}
	b.ReportAllocs()
	for b.Loop() {
		if m.collect(group).Len() == 0 {
			b.Fatal("no rows")
		}
		m.done()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/entry")
}

func BenchmarkScanObject(b *testing.B) {
	c := benchLogs(1)[0].ContextJson
	b.SetBytes(int64(len(c)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := scanContext(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTimestamp(b *testing.B) {
	for _, ts := range []string{"2025-11-11T20:45:00.123Z", "2025-11-11 20:45:00,123", "1762893900123"} {
		b.Run(ts, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := parseTimestamp(ts); !ok {
					b.Fatal(ts)
				}
			}
		})
	}
}

func benchGroup(n int) []*batch {
	bt := normalize(1, "api", "", benchLogs(n), time.Now(), benchLimits)
	for i := range bt.rows {
		bt.rows[i].id = int64(i + 1)
	}
	bt.write = true
	bt.keyDigest = authn.Digest(testProjects[0].key)
	return []*batch{bt}
}

func BenchmarkEncodeCopy(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			group := benchGroup(n)
			var cr copyReader
			cr.reset(group)
			size, _ := io.Copy(io.Discard, &cr)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				cr.reset(group)
				if _, err := io.Copy(io.Discard, &cr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchService is a service on a fresh database holding testProjects and
// the partitions, its writers left to the benchmark.
func benchService(b *testing.B) *Service {
	pool := cluster.NewPool(b)
	seedProjects(b, pool)
	s := New(zap.NewNop(), pool, nil, Config{})
	if err := s.ensure(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkCommit is one group-commit transaction of n rows against the
// real database: ids, binary COPY, rollups, notification, commit.
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := benchService(b)
			ctx := context.Background()
			group := benchGroup(n)
			w := newWriter(s)
			b.ReportAllocs()
			for b.Loop() {
				if err := w.commit(ctx, group); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkPgxCopyFrom is the same rows through pgx's generic CopyFrom (one
// transaction, COPY only), for comparison with the hand-encoded stream.
func BenchmarkPgxCopyFrom(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			pool := benchService(b).pool
			ctx := context.Background()
			bt := benchGroup(n)[0]
			cols := []string{"project_id", "ts", "id", "service_name", "level", "message", "context", "received_at"}
			next := int64(1)
			b.ReportAllocs()
			for b.Loop() {
				rows := make([][]any, len(bt.rows))
				for i := range bt.rows {
					r := &bt.rows[i]
					rows[i] = []any{bt.projectID, time.UnixMicro(r.ts), next, bt.service, int16(r.level), r.msg,
						r.appendContext(nil, bt.arena), time.UnixMicro(bt.receivedAt)}
					next++
				}
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					_, err := tx.CopyFrom(ctx, pgx.Identifier{"logs", "entries"}, cols, pgx.CopyFromRows(rows))
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkIngestBatchParallel is many concurrent callers of 100-entry
// batches through the handler, queue and group commit (Run's writers).
func BenchmarkIngestBatchParallel(b *testing.B) {
	for _, writers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { benchIngestParallel(b, writers) })
	}
}

func benchIngestParallel(b *testing.B, writers int) {
	benchIngestParallelConfig(b, Config{Writers: writers})
}

// BenchmarkIngestMetrics is BenchmarkIngestBatchParallel's 2 writers with
// the metric rollups off and on, alternated.
func BenchmarkIngestMetrics(b *testing.B) {
	for _, on := range []bool{false, true, false, true} {
		cfg := Config{Writers: 2, MetricFields: []string{}}
		if on {
			cfg.MetricFields = nil // the default, duration_ms
		}
		b.Run(fmt.Sprintf("metrics=%v", on), func(b *testing.B) { benchIngestParallelConfig(b, cfg) })
	}
}

func benchIngestParallelConfig(b *testing.B, cfg Config) {
	pool := cluster.NewPool(b)
	seedProjects(b, pool)
	s := New(zap.NewNop(), pool, nil, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	for !s.Ready() {
		time.Sleep(10 * time.Millisecond) // a benchmark, not a test: no require.Eventually
	}
	pctx := authn.WithPrincipal(context.Background(), &authn.Principal{Kind: authn.KindProject, ProjectID: 1, ProjectSlug: "alpha", KeyDigest: authn.Digest("dsk_alpha")})
	req := &logsv1.IngestBatchRequest{ServiceName: "api", Logs: benchLogs(100)}
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.IngestBatch(pctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(100*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.N)/float64(max(s.commits.Load(), 1)), "batches/tx")
}

// BenchmarkNormalizeErrors is normalize of 100 entries as the Express
// sample logs failed requests (a Node stack in the context), at INFO (no
// fingerprint) and at ERROR: the difference, over 100, is what grouping
// costs per ERROR entry at ingest.
func BenchmarkNormalizeErrors(b *testing.B) {
	for _, level := range []string{"info", "error"} {
		b.Run(level, func(b *testing.B) {
			now := time.Now()
			logs := make([]*logsv1.LogInput, 100)
			for i := range logs {
				logs[i] = nodeError(i, 20+i%3, now.Add(-time.Duration(i)*time.Millisecond))
				logs[i].Level = level
			}
			b.ReportAllocs()
			for b.Loop() {
				bt := normalize(1, "api", "", logs, now, benchLimits)
				if len(bt.rows) != 100 {
					b.Fatal(len(bt.rows))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/entry")
		})
	}
}

// BenchmarkExtractMetrics is the walk of one benchLogs context for the
// default fields and dimensions.
func BenchmarkExtractMetrics(b *testing.B) {
	sp := newMetricSpec(defaultMetricFields(), defaultMetricDimensions())
	c := benchLogs(1)[0].ContextJson
	bt := &batch{metrics: make([]sample, 0, 1), metricDims: make([]string, 0, 3)}
	b.ReportAllocs()
	for b.Loop() {
		bt.metrics, bt.metricDims = bt.metrics[:0], bt.metricDims[:0]
		sp.extract(bt, 0, c, logstore.LevelInfo)
	}
}

// BenchmarkNormalizeSampling is BenchmarkNormalize100 without a sampling
// rule and with one keeping 1 in 10 TRACE/DEBUG/INFO entries (six in ten
// benchLogs entries, with the unknown levels read as INFO): the decision's
// cost per entry, and what the entries left out save.
// Run with: go test -run '^$' -bench NormalizeSampling ./services/ingestion/
func BenchmarkNormalizeSampling(b *testing.B) {
	logs := benchLogs(100)
	now := time.Now()
	for _, rule := range []bool{false, true, false, true} {
		lim := benchLimits
		if rule {
			lim.sampling, lim.sampled = samplingRule{debug: 0.1, info: 0.1}, true
		}
		b.Run(fmt.Sprintf("rule=%v", rule), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bt := normalize(1, "api", "batch-1", logs, now, lim)
				if int(bt.out.Count+bt.out.SampledOut) != 100 || (rule && bt.out.SampledOut == 0) {
					b.Fatal(bt.out.Count, bt.out.SampledOut)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/entry")
		})
	}
}

// BenchmarkSampleDecision is one keep decision.
func BenchmarkSampleDecision(b *testing.B) {
	s := newSampler("api", "batch-1")
	kept := 0
	i := 0
	for b.Loop() {
		if s.keep(i, int64(i)*7919, int64(i)*1000, 0.1) {
			kept++
		}
		i++
	}
	if kept == 0 {
		b.Fatal("nothing kept")
	}
}
