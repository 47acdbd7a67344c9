package insights

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/logstore"
)

// The bounds are tested with an analysis held up by a lock: another
// transaction holds a table the analysis reads (pattern_signatures for the
// counts, patterns for the templates) until the test releases it, so the
// analysis's statement waits in the server, visibly (pg_stat_activity).

// seedSmall writes a few entries in and before the window.
func seedSmall(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	s := newSeeder(t, pool)
	var es []entry
	for i, ts := range every(t0.Add(-2*time.Hour), 3*time.Hour, 300) {
		es = append(es, entry{alpha, ts, "api", logstore.LevelInfo, "request handled"})
		if i%10 == 0 {
			es = append(es, entry{beta, ts, "web", logstore.LevelWarn, "slow page"})
		}
	}
	s.write(es)
	s.rollups()
}

// lock holds table in ACCESS EXCLUSIVE mode until the returned func is
// called (or the test ends).
func lock(t *testing.T, pool *pgxpool.Pool, table string) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{"logs", table}.Sanitize()+" IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	var once sync.Once
	release = func() { once.Do(func() { require.NoError(t, tx.Rollback(ctx)) }) }
	t.Cleanup(release)
	return release
}

// statements counts the statements of other backends of the test's
// database that read logs.entries or the pattern tables: running, or
// waiting for a lock when waiting is true.
func statements(t *testing.T, pool *pgxpool.Pool, waiting bool) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
		AND (query LIKE '%logs.entries%' OR query LIKE '%logs.pattern%')
		AND (NOT $1 OR wait_event_type = 'Lock')`, waiting).Scan(&n))
	return n
}

// eventually polls cond every 10 ms until it holds, failing after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func statusOf(t *testing.T, err error) *status.Status {
	t.Helper()
	st, ok := status.FromError(apierr.ToStatus(context.Background(), zaptest.NewLogger(t), "/test", err))
	require.True(t, ok)
	return st
}

type result struct {
	res *logsv1.AnalyzeLogsResponse
	err error
}

func analyzeAsync(ctx context.Context, a *Analyzer, req Request) <-chan result {
	ch := make(chan result, 1)
	go func() {
		res, err := a.Analyze(ctx, req)
		ch <- result{res, err}
	}()
	return ch
}

// TestCancelStopsSQL: a caller that goes away cancels the analysis's
// statement in the server, not only its connection (the statement waits for
// a lock that is still held, so only a cancel request ends it).
func TestCancelStopsSQL(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedSmall(t, pool)
	a := newAnalyzer(t, pool, Config{}, nil)
	release := lock(t, pool, "pattern_signatures")
	ctx, cancel := context.WithCancel(context.Background())
	done := analyzeAsync(ctx, a, request(alpha))
	eventually(t, "the analysis to wait for the lock", func() bool { return statements(t, pool, true) == 1 })
	cancel()
	select {
	case r := <-done:
		require.ErrorIs(t, r.err, context.Canceled)
		require.Equal(t, codes.Canceled, statusOf(t, r.err).Code())
	case <-time.After(5 * time.Second):
		t.Fatal("Analyze did not return when its caller went away")
	}
	// The lock is still held: only a cancel request ends the statement.
	eventually(t, "the statement to be cancelled", func() bool { return statements(t, pool, false) == 0 })
	eventually(t, "the computation to end", func() bool { return a.Stats().Running == 0 })
	release()
}

// TestDeadline: an analysis that cannot read its counts within the timeout
// answers DeadlineExceeded, on time, and leaves no statement running.
func TestDeadline(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedSmall(t, pool)
	a := newAnalyzer(t, pool, Config{Timeout: 400 * time.Millisecond}, nil)
	lock(t, pool, "pattern_signatures")
	start := time.Now()
	_, err := a.Analyze(context.Background(), request(alpha))
	elapsed := time.Since(start)
	require.ErrorIs(t, err, apierr.ErrDeadline)
	st := statusOf(t, err)
	require.Equal(t, codes.DeadlineExceeded, st.Code())
	code, _ := apierr.HTTPStatus(st)
	require.Equal(t, http.StatusGatewayTimeout, code)
	require.Less(t, elapsed, 2*time.Second)
	eventually(t, "the statement to be cancelled", func() bool { return statements(t, pool, false) == 0 })
}

// TestPartial: when the counts were read but the templates and examples
// were not within the timeout, the report is answered with the counts,
// partial.
func TestPartial(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedSmall(t, pool)
	a := newAnalyzer(t, pool, Config{Timeout: time.Second, CacheTTL: time.Minute}, nil)
	release := lock(t, pool, "patterns")
	start := time.Now()
	res, err := a.Analyze(context.Background(), request(alpha, beta))
	require.NoError(t, err)
	require.Less(t, time.Since(start), 3*time.Second)
	require.True(t, res.GetPartial())
	top := res.GetReport().GetTopPatterns()
	require.Len(t, top, 2)
	require.EqualValues(t, 100, top[0].GetCount())
	require.Empty(t, top[0].GetExamples())
	require.Contains(t, res.GetSummary(), "ran out of time")
	eventually(t, "the statement to be cancelled", func() bool { return statements(t, pool, false) == 0 })
	// A partial report is not cached: once the templates can be read, the
	// same request gets them.
	release()
	res, err = a.Analyze(context.Background(), request(alpha, beta))
	require.NoError(t, err)
	require.False(t, res.GetPartial())
	require.Equal(t, "request handled", res.GetReport().GetTopPatterns()[0].GetTemplate())
	require.EqualValues(t, 2, a.Stats().Computations)
}

// TestSingleFlight: identical concurrent requests share one computation; a
// caller may leave without stopping it for the others.
func TestSingleFlight(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedSmall(t, pool)
	a := newAnalyzer(t, pool, Config{MaxConcurrent: 1}, nil)
	release := lock(t, pool, "pattern_signatures")
	const n = 8
	var dones []<-chan result
	for i := range n {
		req := request(alpha, beta)
		if i%2 == 1 {
			req = request(beta, alpha) // the same projects in another order
		}
		dones = append(dones, analyzeAsync(context.Background(), a, req))
	}
	leaving, leave := context.WithCancel(context.Background())
	left := analyzeAsync(leaving, a, request(alpha, beta))
	eventually(t, "every caller to wait", func() bool { return a.Stats().Shared == n })
	eventually(t, "the computation to wait for the lock", func() bool { return statements(t, pool, true) == 1 })
	leave()
	require.ErrorIs(t, (<-left).err, context.Canceled)
	require.Equal(t, 1, statements(t, pool, true), "the others still wait")
	release()
	var first *logsv1.AnalyzeLogsResponse
	for _, done := range dones {
		r := <-done
		require.NoError(t, r.err)
		if first == nil {
			first = r.res
			continue
		}
		require.True(t, proto.Equal(first, r.res))
		require.NotSame(t, first, r.res, "each caller gets its own copy")
	}
	require.EqualValues(t, 100, first.GetReport().GetTopPatterns()[0].GetCount())
	st := a.Stats()
	require.EqualValues(t, 1, st.Computations)
	require.EqualValues(t, 0, st.Rejected)
}

// TestConcurrencyLimit: beyond MaxConcurrent computations a request is
// refused with ResourceExhausted and a retry delay (429 with Retry-After).
func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedSmall(t, pool)
	a := newAnalyzer(t, pool, Config{MaxConcurrent: 1}, nil)
	release := lock(t, pool, "pattern_signatures")
	done := analyzeAsync(context.Background(), a, request(alpha))
	eventually(t, "the analysis to wait for the lock", func() bool { return statements(t, pool, true) == 1 })

	other := request(alpha)
	other.Since = other.Since.Add(-time.Hour)
	_, err := a.Analyze(context.Background(), other)
	require.ErrorIs(t, err, apierr.ErrExhausted)
	st := statusOf(t, err)
	require.Equal(t, codes.ResourceExhausted, st.Code())
	code, retry := apierr.HTTPStatus(st)
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Equal(t, retryAfter, retry)
	require.EqualValues(t, 1, a.Stats().Rejected)

	release()
	require.NoError(t, (<-done).err)
	eventually(t, "the slot to be free", func() bool { return a.Stats().Running == 0 })
	_, err = a.Analyze(context.Background(), other)
	require.NoError(t, err)
	require.EqualValues(t, 2, a.Stats().Computations)
}

// TestCache: a report answers identical requests for CacheTTL, keeping its
// generated_at; another window is computed.
func TestCache(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		ttl          time.Duration
		computations int64
	}{
		{"cached", time.Minute, 2},
		{"no cache", 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := cluster.NewPool(t)
			seedSmall(t, pool)
			a := newAnalyzer(t, pool, Config{CacheTTL: tc.ttl}, nil)
			first, err := a.Analyze(context.Background(), request(alpha))
			require.NoError(t, err)
			again, err := a.Analyze(context.Background(), request(alpha))
			require.NoError(t, err)
			other := request(alpha)
			other.Until = other.Until.Add(time.Minute)
			_, err = a.Analyze(context.Background(), other)
			require.NoError(t, err)
			require.Equal(t, tc.computations, a.Stats().Computations)
			require.Equal(t, tc.ttl > 0, first.GetGeneratedAt().AsTime().Equal(again.GetGeneratedAt().AsTime()))
			if tc.ttl > 0 {
				require.True(t, proto.Equal(first, again))
				require.EqualValues(t, 1, a.Stats().CacheHits)
			}
		})
	}
}

// TestStatusOfErrors: the errors of this package map as documented.
func TestStatusOfErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code codes.Code
	}{
		{errBusy, codes.ResourceExhausted},
		{errTimedOut, codes.DeadlineExceeded},
		{apierr.WithCause(errTimedOut, errors.New("x")), codes.DeadlineExceeded},
	} {
		require.Equal(t, tc.code, statusOf(t, tc.err).Code())
	}
}

// TestClose: Close cancels a running computation, its caller gets
// Canceled, and later requests are refused.
func TestClose(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedSmall(t, pool)
	a := newAnalyzer(t, pool, Config{}, nil)
	release := lock(t, pool, "pattern_signatures")
	done := analyzeAsync(context.Background(), a, request(alpha))
	eventually(t, "the analysis to wait for the lock", func() bool { return statements(t, pool, true) == 1 })
	a.Close()
	r := <-done
	require.Equal(t, codes.Canceled, statusOf(t, r.err).Code(), "%v", r.err)
	require.Equal(t, 0, a.Stats().Running)
	_, err := a.Analyze(context.Background(), request(alpha))
	require.Equal(t, codes.Unavailable, statusOf(t, err).Code())
	eventually(t, "the statement to be cancelled", func() bool { return statements(t, pool, false) == 0 })
	release()
}

// TestTooManySeries: an analysis that would hold more series than its
// bound is refused (413), not grown.
func TestTooManySeries(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedSmall(t, pool)
	a := newAnalyzer(t, pool, Config{}, nil)
	a.maxSeries = 1
	_, err := a.Analyze(context.Background(), request(alpha, beta))
	st := statusOf(t, err)
	require.Equal(t, codes.ResourceExhausted, st.Code())
	code, _ := apierr.HTTPStatus(st)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
	a.maxSeries = 2
	_, err = a.Analyze(context.Background(), request(alpha, beta))
	require.NoError(t, err)
}
