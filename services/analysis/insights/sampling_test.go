package insights

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore"
)

// TestSampling: past MaxEntries the analysis reads a sample of about
// MaxEntries entries and scales its counts to estimates of the exact ones.
func TestSampling(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	s := newSeeder(t, pool)
	// From midnight the day before to the window's end, 35 h of 2,400
	// entries an hour over five patterns of shares 40, 30, 20, 8 and 2%,
	// interleaved as a service's messages are.
	shares := []int{40, 30, 20, 8, 2}
	var es []entry
	for i, ts := range every(t0.Add(-34*time.Hour), 35*time.Hour, 35*2400) {
		k, p := i%100, 0
		for k >= shares[p] {
			k -= shares[p]
			p++
		}
		es = append(es, entry{alpha, ts, fmt.Sprintf("svc%d", p%2), logstore.LevelInfo, fmt.Sprintf("%s step %d", []string{"apple", "banana", "cherry", "damson", "elder"}[p], i)})
	}
	s.write(es)
	s.rollups()

	exact, err := newAnalyzer(t, pool, Config{}, nil).Analyze(context.Background(), request(alpha))
	require.NoError(t, err)
	require.False(t, exact.GetSampled())
	// The scan reads the 24 h before the window and the window.
	require.EqualValues(t, 25*2400, exact.GetSampleSize())

	const maxEntries = 8000
	sampled, err := newAnalyzer(t, pool, Config{MaxEntries: maxEntries}, nil).Analyze(context.Background(), request(alpha))
	require.NoError(t, err)
	require.True(t, sampled.GetSampled())
	require.InDelta(t, maxEntries, sampled.GetSampleSize(), 0.3*maxEntries)
	require.Contains(t, sampled.GetSummary(), "estimated from a sample")

	want := map[string]int64{}
	for _, p := range exact.GetReport().GetTopPatterns() {
		want[p.GetTemplate()] = p.GetCount()
	}
	require.Len(t, want, 5)
	got := sampled.GetReport().GetTopPatterns()
	require.Len(t, got, 5)
	for _, p := range got {
		w := want[p.GetTemplate()]
		t.Logf("%s: exact %d, estimated %d", p.GetTemplate(), w, p.GetCount())
		// The 2% pattern has ~50 entries in the window, ~7 in the sample.
		require.InDelta(t, w, p.GetCount(), max(0.25*float64(w), 30), p.GetTemplate())
		require.Len(t, p.GetExamples(), examplesPerItem)
	}
	require.Equal(t, templates(exact.GetReport().GetTopPatterns())[:3], templates(got)[:3], "the frequent patterns keep their order")
}
