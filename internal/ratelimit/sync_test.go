package ratelimit

import (
	"context"
	"flag"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// measureWindow is how long TestReplicasShareTheLimit floods: short in
// make test, longer for the figures of docs/rate-limits.md
// (go test ./internal/ratelimit/ -run Replicas -v -args -measure-window=30s).
var measureWindow = flag.Duration("measure-window", 6*time.Second, "how long the replicas' flood lasts")

// Two limiters on one database, as two replicas: each floods the same
// project through its own limiter (a client per replica behind a load
// balancer). Over a window after the first syncs, what both admitted
// together is held to the project's limit: the error of the shared
// counters (docs/rate-limits.md quotes this test's figures).
func TestReplicasShareTheLimit(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	ctx, cancel := context.WithCancel(context.Background())
	const lps = 1000
	cfg := Config{LogsPerSecond: lps} // the default sync interval: 1 s
	a := New(zaptest.NewLogger(t), pool, cfg)
	b := New(zaptest.NewLogger(t), pool, cfg)
	var loops sync.WaitGroup
	loops.Go(func() { _ = a.Run(ctx) })
	loops.Go(func() { _ = b.Run(ctx) })
	defer loops.Wait()
	defer cancel()

	window := *measureWindow
	p := key(1, "dsk_shared")
	var mu sync.Mutex
	var admitted [2]int
	perSecond := make([][2]int, int(window/time.Second)+2)
	start := time.Now()
	var flood sync.WaitGroup
	for i, l := range []*Limiter{a, b} {
		flood.Go(func() {
			// A client sending batches of 10 entries as fast as it is let.
			for time.Since(start) < window {
				if l.Check(p, 10).Err == nil {
					mu.Lock()
					admitted[i] += 10
					perSecond[int(time.Since(start)/time.Second)][i] += 10
					mu.Unlock()
				}
				time.Sleep(200 * time.Microsecond) // pacing of the load, not synchronisation
			}
		})
	}
	flood.Wait()
	total := admitted[0] + admitted[1]
	// One bucket would admit its size at once, then the rate.
	want := lps + lps*int(window/time.Second)
	t.Logf("admitted per second by each replica: %v", perSecond)
	t.Logf("two replicas admitted %d + %d = %d entries in %s at %d/s (one bucket: %d): %+.1f%%",
		admitted[0], admitted[1], total, window, lps, want, 100*float64(total-want)/float64(want))
	// The bound of docs/rate-limits.md: the other replica's burst, and what
	// it admits in two sync intervals before each sees the other.
	bound := lps + 2*lps*int(cfg.withDefaults().SyncInterval/time.Second)
	require.LessOrEqual(t, total, want+bound, "within the documented error")
	require.GreaterOrEqual(t, total, want*8/10, "the limit is not starved either")
	require.Positive(t, admitted[0])
	require.Positive(t, admitted[1])
}

// A project's own limit is read from logs.projects at the first refresh
// after the project is seen, and again when it changes.
func TestProjectLimitsAreReadInTheBackground(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	ctx, cancel := context.WithCancel(context.Background())
	var id int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO logs.projects (name, slug, rate_limit_logs_per_second)
		VALUES ('p', 'p', 5) RETURNING id`).Scan(&id))
	l := New(zap.NewNop(), pool, Config{RequestsPerMinute: 100, LogsPerSecond: 1000, RefreshInterval: 100 * time.Millisecond})
	done := make(chan struct{})
	go func() { defer close(done); _ = l.Run(ctx) }()
	defer func() { cancel(); <-done }()

	eventually(t, func() bool { _, lps := l.Limits(id); return lps == 5 }, "the project's own logs limit")
	rpm, _ := l.Limits(id)
	require.Equal(t, 100, rpm, "the limit it does not set is the default")
	require.NoError(t, l.Check(key(id, "dsk_x"), 5).Err)
	require.Error(t, l.Check(key(id, "dsk_x"), 1).Err, "a sixth entry in the second is over 5 a second")

	_, err := pool.Exec(ctx, `UPDATE logs.projects SET rate_limit_logs_per_second = NULL, rate_limit_requests_per_minute = 7 WHERE id = $1`, id)
	require.NoError(t, err)
	eventually(t, func() bool { rpm, lps := l.Limits(id); return rpm == 7 && lps == 1000 }, "the changed limits")
}

func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
