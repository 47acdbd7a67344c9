package insights

import (
	"flag"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestSpike(t *testing.T) {
	t.Parallel()
	flat01 := repeat(0, 24)
	for i := 0; i < 24; i += 3 {
		flat01[i] = 1
	}
	noisy := []float64{40, 55, 48, 60, 52, 45, 50, 58, 42, 49, 51, 47}
	for _, tc := range []struct {
		name  string
		base  []float64
		count float64
		refs  []float64
		want  bool
	}{
		{"a flat 0-1 baseline does not fire on 2", flat01, 2, nil, false},
		{"nor on 9, under the minimum count", flat01, 9, nil, false},
		{"but on 12", flat01, 12, nil, true},
		{"a steady 1000 does not fire on 1040 (Poisson floor)", repeat(1000, 24), 1040, nil, false},
		{"one baseline window of 700 does not fire on 821", repeat(700, 1), 821, nil, false},
		{"but 24 of them do", repeat(700, 24), 821, nil, true},
		{"but on 1200", repeat(1000, 24), 1200, nil, true},
		{"noisy 50 does not fire on 70", noisy, 70, nil, false},
		{"but on 120", noisy, 120, nil, true},
		{"2 an hour, then 80", repeat(2, 24), 80, []float64{2}, true},
		{"the same 80 yesterday: seasonal, no spike", repeat(2, 24), 80, []float64{80}, false},
		{"80 yesterday, 300 today: a spike still", repeat(2, 24), 300, []float64{80}, true},
		{"80 a week ago: no spike", repeat(2, 24), 80, []float64{3, 75}, false},
		{"no baseline windows", nil, 50, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := baselineOf(append([]float64(nil), tc.base...), 1)
			z, ok := spike(tc.count, b, tc.refs)
			require.Equal(t, tc.want, ok, "z %.2f, median %.1f, scale %.2f", z, b.median, b.scale)
		})
	}
}

func TestBaselineOf(t *testing.T) {
	t.Parallel()
	b := baselineOf([]float64{40, 10, 1000, 30, 20}, 1)
	require.Equal(t, 30.0, b.median)
	require.InDelta(t, madScale*10, b.scale, 1e-9, "MAD of 20,10,0,10,970 is 10")
	require.InDelta(t, 2.0, baselineOf([]float64{1, 3}, 1).median, 1e-9)
	require.InDelta(t, math.Sqrt(100*(1+1.57/4)), baselineOf(repeat(100, 4), 1).scale, 1e-9, "Poisson floor, the median's noise included")
	require.InDelta(t, math.Sqrt(100*2.57), baselineOf(repeat(100, 1), 1).scale, 1e-9)
	// Sampled at 10%: 1000 estimated from 100 read is ±√(10·1000).
	require.InDelta(t, math.Sqrt(10*1000*2.57), baselineOf(repeat(1000, 1), 10).scale, 1e-9)
}

func TestGrowth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		count, prev float64
		want        bool
	}{
		{6, 3, false},    // too few
		{40, 10, true},   // 4x
		{25, 0, true},    // from nothing
		{100, 60, false}, // under 2x
		{120, 60, true},
	} {
		_, ok := growth(tc.count, tc.prev)
		require.Equal(t, tc.want, ok, "%v -> %v", tc.prev, tc.count)
	}
	slow, _ := growth(1200, 600)
	fast, _ := growth(60, 5)
	require.Greater(t, slow, fast, "a large rise over a steady rate ranks higher")
}

func TestServiceChange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		count, prev, errs, prevErrs float64
		want                        string
	}{
		{100, 100, 2, 2, ""},
		{10, 2, 0, 0, ""}, // too small to judge
		{400, 100, 0, 0, "volume up 4x"},
		{30, 0, 0, 0, "volume up from 0 to 30"},
		{5, 100, 0, 0, "volume down 95%"},
		{140, 62, 80, 2, "errors up 40x"},
		{20, 0, 15, 0, "volume up from 0 to 20, errors up from 0 to 15"},
		{100, 100, 30, 12, "error rate 12% → 30%"},
		{100, 100, 12, 10, ""},
	} {
		got, _ := serviceChange(tc.count, tc.prev, tc.errs, tc.prevErrs)
		require.Equal(t, tc.want, got, "%+v", tc)
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		width    time.Duration
		baseline int
		lo       time.Duration // before since
		seasonal bool
	}{
		{time.Hour, 24, 24 * time.Hour, true},
		{7 * time.Hour, 4, 28 * time.Hour, true},
		{day, 1, day, true},
		{5 * time.Minute, maxBaselineWindows, day, true},
		{3 * day, 1, 3 * day, false},
	} {
		p := newPlan(t0, t0.Add(tc.width))
		require.Equal(t, tc.baseline, p.baseline, tc.width)
		require.Equal(t, tc.lo, t0.Sub(p.lo), tc.width)
		require.Equal(t, tc.seasonal, p.seasonal, tc.width)
		require.Equal(t, 0, p.bucket(t0))
		require.Equal(t, -3, p.bucket(t0.Add(-3*tc.width)))
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	require.NoError(t, fs.Parse(nil))
	require.Equal(t, Config{Timeout: time.Minute, MaxConcurrent: 2, MaxEntries: 2_000_000, CacheTTL: 30 * time.Second}, c)
	require.NoError(t, c.Validate())
	require.NoError(t, fs.Parse([]string{"--analysis-timeout", "2m", "--analysis-max-concurrent", "4", "--analysis-max-entries", "5000", "--analysis-cache-ttl", "0"}))
	require.Equal(t, Config{Timeout: 2 * time.Minute, MaxConcurrent: 4, MaxEntries: 5000, CacheTTL: 0}, c)
	require.NoError(t, c.Validate())
	err := Config{Timeout: time.Millisecond, MaxConcurrent: 0, MaxEntries: 10, CacheTTL: -time.Second}.Validate()
	for _, want := range []string{"--analysis-timeout 1ms", "--analysis-max-concurrent 0", "--analysis-max-entries 10", "--analysis-cache-ttl -1s"} {
		require.ErrorContains(t, err, want)
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	require.Equal(t, keyOf(request(alpha, beta)), keyOf(request(beta, alpha, alpha)))
	require.NotEqual(t, keyOf(request(alpha)), keyOf(request(alpha, beta)))
	later := request(alpha)
	later.Until = later.Until.Add(time.Nanosecond)
	require.NotEqual(t, keyOf(request(alpha)), keyOf(later))
}
