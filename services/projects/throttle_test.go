package projects

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoginLimiterWindow(t *testing.T) {
	l := newLoginLimiter(3, time.Minute, 100)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	for i := range 3 {
		require.Zero(t, l.attempt("a", t0.Add(time.Duration(i)*time.Second)))
	}
	require.Equal(t, 50*time.Second, l.attempt("a", t0.Add(10*time.Second)))
	require.Equal(t, 30*time.Second, l.attempt("a", t0.Add(30*time.Second)), "a refused attempt does not extend the window")
	require.Zero(t, l.attempt("b", t0.Add(10*time.Second)), "other addresses are counted apart")
	require.Zero(t, l.attempt("a", t0.Add(time.Minute)), "the window has passed")

	// A success clears the count.
	require.Zero(t, l.attempt("c", t0))
	require.Zero(t, l.attempt("c", t0))
	l.succeed("c")
	for range 3 {
		require.Zero(t, l.attempt("c", t0))
	}
	require.Positive(t, l.attempt("c", t0))

	// Ended windows are forgotten.
	require.Zero(t, l.attempt("d", t0.Add(5*time.Minute)))
	require.Equal(t, 1, l.tracked())
}

func TestLoginLimiterConcurrentAttempts(t *testing.T) {
	l := newLoginLimiter(5, time.Minute, 100)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Go(func() {
			if l.attempt("a", now) == 0 {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 5, allowed)
}

func TestLoginLimiterBounded(t *testing.T) {
	l := newLoginLimiter(1, time.Minute, 3)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		require.Zero(t, l.attempt(fmt.Sprintf("addr-%d", i), t0.Add(time.Duration(i)*time.Second)))
		require.LessOrEqual(t, l.tracked(), 3)
	}
	now := t0.Add(5 * time.Second)
	for i := 2; i < 5; i++ {
		require.Positive(t, l.attempt(fmt.Sprintf("addr-%d", i), now))
	}
	require.Zero(t, l.attempt("addr-0", now), "addr-0 was evicted")
	require.Zero(t, l.attempt("addr-2", now), "addr-0's return evicted addr-2, the oldest then")
	require.Equal(t, 3, l.tracked())
	require.Positive(t, l.attempt("addr-4", now), "addr-4 is still tracked")

	// Ended windows go first, before any live one is evicted.
	later := t0.Add(time.Minute + 4*time.Second) // addr-4's window ended; addr-0 and addr-2 live
	require.Zero(t, l.attempt("fresh", later))
	require.Equal(t, 3, l.tracked())
	require.Positive(t, l.attempt("addr-0", later))
	require.Positive(t, l.attempt("addr-2", later))
	require.Positive(t, l.attempt("fresh", later))
}
