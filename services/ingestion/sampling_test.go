package ingestion

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
)

// sameLogs is n entries of one message and level: sampling must keep each
// with the rate's probability although their content is identical.
func sameLogs(n int, level string) []*logsv1.LogInput {
	logs := make([]*logsv1.LogInput, n)
	for i := range logs {
		logs[i] = &logsv1.LogInput{Level: level, Message: "cache miss for key user:42"}
	}
	return logs
}

func sampledLimits(debug, info float32) limits {
	lim := benchLimits
	lim.sampling, lim.sampled = samplingRule{debug: debug, info: info}, true
	return lim
}

// TestSamplingRates normalises 10,000 entries at each rate: the kept count
// lies within 4.5 standard deviations of the binomial mean n·p (a false
// failure about once in 150,000 runs of a fair hash), every kept entry
// records the rate, and the answer counts the rest as sampled out.
func TestSamplingRates(t *testing.T) {
	const n = 10_000
	now := time.Now()
	for _, tc := range []struct {
		level string
		rate  float32
		lim   limits
	}{
		{"info", 0.1, sampledLimits(1, 0.1)},
		{"info", 0.5, sampledLimits(1, 0.5)},
		{"info", 1, sampledLimits(0.1, 1)},
		{"debug", 0.1, sampledLimits(0.1, 1)},
		{"trace", 0.5, sampledLimits(0.5, 1)},
		{"debug", 1, sampledLimits(1, 0.1)},
	} {
		t.Run(fmt.Sprintf("%s at %v", tc.level, tc.rate), func(t *testing.T) {
			for _, batchID := range []string{"", "batch-7"} {
				b := normalize(1, "api", batchID, sameLogs(n, tc.level), now, tc.lim)
				kept := len(b.rows)
				p := float64(tc.rate)
				bound := 4.5 * math.Sqrt(n*p*(1-p))
				require.InDelta(t, n*p, float64(kept), bound+0.5, "kept %d of %d", kept, n)
				require.EqualValues(t, kept, b.out.Count)
				require.EqualValues(t, n-kept, b.out.SampledOut)
				want := tc.rate
				if tc.rate == 1 {
					want = 0 // not sampled: NULL
				}
				for _, r := range b.rows {
					require.Equal(t, want, r.rate)
				}
				if tc.rate < 1 {
					require.Contains(t, b.out.Message, fmt.Sprintf("(%d sampled out)", n-kept))
				} else {
					require.Equal(t, successMessage(n), b.out.Message)
				}
			}
		})
	}
}

// TestSamplingOneEntryBatches: a service sending one identical entry per
// batch without a batch_id (the same seed and index every time) still has
// each kept with the rate's probability: the entries' times differ.
func TestSamplingOneEntryBatches(t *testing.T) {
	const n = 10_000
	lim := sampledLimits(1, 0.1)
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	kept := 0
	for i := range n {
		logs := sameLogs(1, "info")
		logs[0].Timestamp = t0.Add(time.Duration(i) * 37 * time.Millisecond).Format(time.RFC3339Nano)
		kept += len(normalize(1, "api", "", logs, t0.Add(time.Hour), lim).rows)
	}
	require.InDelta(t, n*0.1, float64(kept), 4.5*math.Sqrt(n*0.1*0.9)+0.5, "kept %d of %d", kept, n)
}

// TestSamplingNeverDropsWarnAndAbove: WARN, ERROR and FATAL are kept at
// any rule, with no rate; unknown levels count as INFO.
func TestSamplingNeverDropsWarnAndAbove(t *testing.T) {
	lim := sampledLimits(0.01, 0.01)
	for _, level := range []string{"warn", "error", "fatal"} {
		b := normalize(1, "api", "", sameLogs(1000, level), time.Now(), lim)
		require.Len(t, b.rows, 1000, level)
		require.Zero(t, b.out.SampledOut, level)
		for _, r := range b.rows {
			require.Zero(t, r.rate)
		}
	}
	unknown := normalize(1, "api", "", sameLogs(1000, "notalevel"), time.Now(), lim)
	require.Positive(t, unknown.out.SampledOut, "an unknown level is stored as INFO, and sampled as INFO")
	require.Equal(t, float32(0.01), samplingRule{debug: 0.5, info: 0.01}.rate(logstore.LevelInfo))
	require.Equal(t, float32(0.5), samplingRule{debug: 0.5, info: 0.01}.rate(logstore.LevelTrace))
	require.Equal(t, float32(1), samplingRule{debug: 0.5, info: 0.01}.rate(logstore.LevelWarn))
}

// TestSamplingDeterministic: the same batch normalised twice (a retry,
// another replica, another receive time) keeps the same entries; another
// batch_id keeps others.
func TestSamplingDeterministic(t *testing.T) {
	logs := benchLogs(2000)
	lim := sampledLimits(0.3, 0.3)
	kept := func(batchID string, now time.Time) []int64 {
		b := normalize(1, "api", batchID, logs, now, lim)
		out := make([]int64, len(b.rows))
		for i, r := range b.rows {
			out[i] = r.ts
		}
		return out
	}
	now := time.Now()
	first := kept("b-1", now)
	require.Equal(t, first, kept("b-1", now.Add(time.Second)))
	require.NotEqual(t, first, kept("b-2", now))
	require.Equal(t, kept("", now), kept("", now.Add(time.Minute)))
}

// TestSampledOutKeepsMetricsAndRollups: an entry left out still gives its
// metric samples, and counts in its day's sampled_out.
func TestSampledOutKeepsMetricsAndRollups(t *testing.T) {
	lim := sampledLimits(0.2, 0.2)
	lim.metrics = newMetricSpec(defaultMetricFields(), defaultMetricDimensions())
	logs := benchLogs(1000)
	b := normalize(1, "api", "", logs, time.Now(), lim)
	require.Len(t, b.metrics, 1000, "every entry has duration_ms, kept or not")
	require.Positive(t, b.out.SampledOut)
	b.write = true
	r, _ := summarize([]*batch{b})
	var stored, out int64
	for i := range r.Counts {
		stored += r.Counts[i]
		out += r.SampledOut[i]
	}
	require.EqualValues(t, len(b.rows), stored)
	require.EqualValues(t, b.out.SampledOut, out)
}

// TestIngestSampled writes through the service to PostgreSQL: a project
// with a rule for every service and one of its own for "worker"; the
// answers count what was left out, the rollups too (a batch left out
// entirely included), kept entries store their rate, and a retried
// batch_id gets its first answer.
func TestIngestSampled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{beforeRun: func(t *testing.T, pool *pgxpool.Pool) {
		_, err := pool.Exec(context.Background(), `INSERT INTO logs.sampling_rules (project_id, service_name, debug_rate, info_rate)
			VALUES (1, '', 0.1, 0.25), (1, 'worker', 1, 1)`)
		require.NoError(t, err)
	}})
	ctx := alpha()
	logs := append(sameLogs(400, "info"), sameLogs(100, "error")...)
	r1, err := e.client.IngestBatch(ctx, &logsv1.IngestBatchRequest{ServiceName: "api", BatchId: "s-1", Logs: logs})
	require.NoError(t, err)
	require.Positive(t, r1.GetSampledOut())
	require.EqualValues(t, 500, r1.GetCount()+r1.GetSampledOut())
	require.Equal(t, fmt.Sprintf("Successfully ingested %d logs (%d sampled out)", r1.GetCount(), r1.GetSampledOut()), r1.GetMessage())

	retry, err := e.client.IngestBatch(ctx, &logsv1.IngestBatchRequest{ServiceName: "api", BatchId: "s-1", Logs: logs})
	require.NoError(t, err)
	require.Equal(t, r1.GetCount(), retry.GetCount())
	require.Equal(t, r1.GetSampledOut(), retry.GetSampledOut())

	// "worker" has its own rule keeping everything.
	r2, err := e.client.IngestBatch(ctx, &logsv1.IngestBatchRequest{ServiceName: "worker", Logs: sameLogs(50, "debug")})
	require.NoError(t, err)
	require.EqualValues(t, 50, r2.GetCount())
	require.Zero(t, r2.GetSampledOut())

	// One DEBUG entry at 0.1: find a batch_id whose only entry is left
	// out (the decision is a function of the batch, its entries' times
	// included, so this is found, not hoped for: the entry carries its
	// time, else it would take the receive time, different here and in
	// the service).
	at := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	oneDebug := func() []*logsv1.LogInput {
		l := sameLogs(1, "debug")
		l[0].Timestamp = at
		return l
	}
	var gone string
	for i := 0; gone == ""; i++ {
		id := fmt.Sprintf("gone-%d", i)
		if normalize(1, "api", id, oneDebug(), time.Now(), sampledLimits(0.1, 0.25)).out.SampledOut == 1 {
			gone = id
		}
	}
	r3, err := e.client.IngestBatch(ctx, &logsv1.IngestBatchRequest{ServiceName: "api", BatchId: gone, Logs: oneDebug()})
	require.NoError(t, err)
	require.Zero(t, r3.GetCount())
	require.EqualValues(t, 1, r3.GetSampledOut())

	// Stored: INFO at 0.25, ERROR and worker's entries unsampled.
	require.EqualValues(t, r1.GetCount()-100, count(t, e.pool, `SELECT count(*) FROM logs.entries WHERE service_name = 'api' AND level = 3 AND sample_rate = real '0.25'`))
	require.EqualValues(t, 100, count(t, e.pool, `SELECT count(*) FROM logs.entries WHERE level = 5 AND sample_rate IS NULL`))
	require.EqualValues(t, 50, count(t, e.pool, `SELECT count(*) FROM logs.entries WHERE service_name = 'worker' AND sample_rate IS NULL`))
	require.EqualValues(t, r1.GetCount(), count(t, e.pool, `SELECT sum(count) FROM logs.entry_rollups WHERE service_name = 'api'`))
	require.EqualValues(t, r1.GetSampledOut()+1, count(t, e.pool, `SELECT sum(sampled_out) FROM logs.entry_rollups WHERE service_name = 'api'`))
	require.EqualValues(t, 0, count(t, e.pool, `SELECT sum(sampled_out) FROM logs.entry_rollups WHERE service_name = 'worker'`))
}

// TestOTLPSampled: OTLP records go through the same rule; the records left
// out are accepted (no partial_success) and counted in the rollups.
func TestOTLPSampled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{beforeRun: func(t *testing.T, pool *pgxpool.Pool) {
		_, err := pool.Exec(context.Background(), `INSERT INTO logs.sampling_rules (project_id, service_name, debug_rate, info_rate)
			VALUES (1, '', 0.2, 0.2)`)
		require.NoError(t, err)
	}})
	now := uint64(time.Now().UnixNano())
	var recs []*logspb.LogRecord
	for i := 0; i < 300; i++ {
		recs = append(recs, &logspb.LogRecord{TimeUnixNano: now, SeverityNumber: 9, Body: sv(fmt.Sprintf("served %d", i))}) // INFO
	}
	recs = append(recs, &logspb.LogRecord{TimeUnixNano: now, SeverityNumber: 17, Body: sv("failed")}) // ERROR
	res, err := otlpExport(t, e, "dsk_alpha", otlpRequest("otlp-api", recs...))
	require.NoError(t, err)
	require.Nil(t, res.GetPartialSuccess())
	stored := count(t, e.pool, `SELECT count(*) FROM logs.entries WHERE service_name = 'otlp-api'`)
	require.Less(t, stored, int64(301))
	require.EqualValues(t, 1, count(t, e.pool, `SELECT count(*) FROM logs.entries WHERE service_name = 'otlp-api' AND level = 5 AND sample_rate IS NULL`))
	require.EqualValues(t, stored-1, count(t, e.pool, `SELECT count(*) FROM logs.entries WHERE service_name = 'otlp-api' AND sample_rate = real '0.2'`))
	require.EqualValues(t, 301-stored, count(t, e.pool, `SELECT sum(sampled_out) FROM logs.entry_rollups WHERE service_name = 'otlp-api'`))
}
