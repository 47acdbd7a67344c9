package sketch

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

var quantiles = []float64{0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}

// trueQuantile is percentile_disc's answer over sorted values.
func trueQuantile(sorted []float64, q float64) float64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// requireWithin checks every quantile of s against the sorted values:
// equal when exact, else within Alpha relative (values below MinMagnitude
// may read as 0).
func requireWithin(t *testing.T, s *Sketch, sorted []float64) {
	t.Helper()
	for _, q := range quantiles {
		want, got := trueQuantile(sorted, q), s.Quantile(q)
		if s.Exact() {
			require.Equal(t, want, got, "q=%v", q)
			continue
		}
		if math.Abs(want) < MinMagnitude {
			require.LessOrEqual(t, math.Abs(got), MinMagnitude*(1+Alpha), "q=%v", q)
			continue
		}
		require.LessOrEqual(t, math.Abs(got-want), Alpha*math.Abs(want)*(1+1e-12), "q=%v want %v got %v", q, want, got)
	}
	require.Equal(t, int64(len(sorted)), s.Count())
	require.Equal(t, sorted[0], s.Min())
	require.Equal(t, sorted[len(sorted)-1], s.Max())
}

type distribution struct {
	name string
	gen  func(r *rand.Rand) float64
}

var distributions = []distribution{
	{"uniform", func(r *rand.Rand) float64 { return r.Float64() * 1000 }},
	{"lognormal", func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64()*1.5 + 3) }},
	{"bimodal", func(r *rand.Rand) float64 {
		if r.IntN(10) < 8 {
			return 5 + r.NormFloat64()*0.5
		}
		return 800 + r.NormFloat64()*100
	}},
	{"signed", func(r *rand.Rand) float64 { return r.NormFloat64() * 50 }},
	{"integers with zeros", func(r *rand.Rand) float64 { return float64(r.IntN(20)) }},
	{"milliseconds to 3 decimals", func(r *rand.Rand) float64 { return math.Round(r.ExpFloat64()*40000) / 1000 }},
}

func TestQuantilesAgainstSorting(t *testing.T) {
	for _, d := range distributions {
		for _, n := range []int{1, 7, 100, ExactLimit, ExactLimit + 1, 20_000, 200_000} {
			r := rand.New(rand.NewPCG(uint64(n), 42))
			var s Sketch
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = d.gen(r)
				s.Add(vals[i])
			}
			slices.Sort(vals)
			require.Equal(t, n <= ExactLimit, s.Exact(), "%s n=%d", d.name, n)
			t.Run(d.name, func(t *testing.T) { requireWithin(t, &s, vals) })
		}
	}
}

func TestOneToThousand(t *testing.T) {
	var s Sketch
	for v := 1; v <= 1000; v++ {
		s.Add(float64(v))
	}
	require.True(t, s.Exact())
	require.Equal(t, 500.0, s.Quantile(0.5))
	require.Equal(t, 990.0, s.Quantile(0.99))
	require.Equal(t, 950.0, s.Quantile(0.95))
	require.Equal(t, 500500.0, s.Sum())

	// Ten times over: past ExactLimit, within the bound.
	for range 9 {
		for v := 1; v <= 1000; v++ {
			s.Add(float64(v))
		}
	}
	require.False(t, s.Exact())
	require.InEpsilon(t, 500.0, s.Quantile(0.5), Alpha)
	require.InEpsilon(t, 990.0, s.Quantile(0.99), Alpha)
	require.Equal(t, 1.0, s.Quantile(0))
	require.Equal(t, 1000.0, s.Quantile(1))
}

// TestMergeEqualsAddAll: merging the sketches of parts gives the sketch of
// the whole, exact or not, in any grouping.
func TestMergeEqualsAddAll(t *testing.T) {
	for _, d := range distributions {
		for _, parts := range [][]int{{3, 5}, {500, 524}, {500, 525}, {10, 5000}, {5000, 10}, {3000, 4000, 1}} {
			r := rand.New(rand.NewPCG(7, uint64(len(parts))))
			var all, merged Sketch
			var vals []float64
			for _, n := range parts {
				var p Sketch
				for range n {
					v := d.gen(r)
					vals = append(vals, v)
					p.Add(v)
					all.Add(v)
				}
				enc, err := p.MarshalBinary()
				require.NoError(t, err)
				var back Sketch
				require.NoError(t, back.UnmarshalBinary(enc))
				merged.Merge(&back)
			}
			slices.Sort(vals)
			require.Equal(t, all.Exact(), merged.Exact(), "%s %v", d.name, parts)
			for _, q := range quantiles {
				require.Equal(t, all.Quantile(q), merged.Quantile(q), "%s %v q=%v", d.name, parts, q)
			}
			require.Equal(t, all.Count(), merged.Count())
			require.InDelta(t, all.Sum(), merged.Sum(), 1e-9*math.Abs(all.Sum())+1e-9)
			t.Run(d.name, func(t *testing.T) { requireWithin(t, &merged, vals) })
		}
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals []float64
	}{
		{"empty", nil},
		{"integers", []float64{3, 1, 2, 1000, -7}},
		{"milliseconds", []float64{12.345, 0.001, 99.999, 12.345}},
		{"binary fractions", []float64{math.Pi, math.E, 1e-300, -1e300}},
		{"negative zero", []float64{math.Copysign(0, -1), 1}},
		{"bucketed", func() []float64 {
			var v []float64
			for i := range 5000 {
				v = append(v, float64(i%997)*1.5-300)
			}
			return v
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Sketch
			for _, v := range tc.vals {
				s.Add(v)
			}
			enc, err := s.MarshalBinary()
			require.NoError(t, err)
			var back Sketch
			require.NoError(t, back.UnmarshalBinary(enc))
			require.Equal(t, s.Exact(), back.Exact())
			require.Equal(t, s.Count(), back.Count())
			require.Equal(t, s.Min(), back.Min())
			require.Equal(t, s.Max(), back.Max())
			if s.Exact() {
				sorted := slices.Clone(tc.vals)
				slices.Sort(sorted)
				for i, v := range back.values {
					require.Equal(t, math.Float64bits(sorted[i]), math.Float64bits(v), "value %d", i)
				}
			} else {
				require.Equal(t, s.Sum(), back.Sum())
			}
			for _, q := range quantiles {
				require.Equal(t, s.Quantile(q), back.Quantile(q))
			}
			again, err := back.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, enc, again)
		})
	}
}

// TestEncodingIsCompact: durations with three decimals cost about two
// bytes each exact, and a bucketed sketch about two bytes per bucket.
func TestEncodingIsCompact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s Sketch
	for range ExactLimit {
		s.Add(math.Round(r.ExpFloat64()*40000) / 1000)
	}
	enc, err := s.MarshalBinary()
	require.NoError(t, err)
	require.Less(t, len(enc), 3*ExactLimit)
	for range 100_000 {
		s.Add(math.Round(r.ExpFloat64()*40000) / 1000)
	}
	enc, err = s.MarshalBinary()
	require.NoError(t, err)
	require.Less(t, len(enc), 3*len(s.pos.counts)+40)
}

func TestUnmarshalRefusesGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, {0}, {3}, {formatExact}, {formatExact, 0, 5, 1}, {formatBucketed, 1, 2}, {formatExact, 0, 1, 2, 9}} {
		var s Sketch
		require.Error(t, s.UnmarshalBinary(b), "%x", b)
	}
}

func TestWideRangeFolds(t *testing.T) {
	var s Sketch
	// 1e-40 lies more than maxBuckets below 2000: it is folded into the
	// lowest kept bucket; the other quantiles keep the bound.
	vals := []float64{1e-40}
	for i := range 2000 {
		vals = append(vals, float64(i+1))
	}
	for _, v := range vals {
		s.Add(v)
	}
	require.False(t, s.Exact())
	require.LessOrEqual(t, len(s.pos.counts), maxBuckets)
	slices.Sort(vals)
	require.InEpsilon(t, trueQuantile(vals, 0.5), s.Quantile(0.5), Alpha)
	require.InEpsilon(t, trueQuantile(vals, 0.01), s.Quantile(0.01), Alpha)
	require.Equal(t, 2000.0, s.Quantile(1))
	require.Equal(t, 1e-40, s.Min())
}

func BenchmarkAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = math.Exp(r.NormFloat64()*1.5 + 3)
	}
	var s Sketch
	for i := range 2000 {
		s.Add(vals[i])
	}
	b.ResetTimer()
	for i := range b.N {
		s.Add(vals[i&4095])
	}
}

func BenchmarkAddExact(b *testing.B) {
	var s Sketch
	for i := range b.N {
		if i%ExactLimit == 0 {
			s.Reset()
		}
		s.Add(float64(i & 1023))
	}
}

func BenchmarkMerge(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var part Sketch
	for range 5000 {
		part.Add(math.Exp(r.NormFloat64()*1.5 + 3))
	}
	var s Sketch
	b.ResetTimer()
	for range b.N {
		s.Merge(&part)
	}
}

func BenchmarkUnmarshalMerge(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var part Sketch
	for range 5000 {
		part.Add(math.Exp(r.NormFloat64()*1.5 + 3))
	}
	enc, _ := part.MarshalBinary()
	var s, tmp Sketch
	b.SetBytes(int64(len(enc)))
	b.ResetTimer()
	for range b.N {
		if err := tmp.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
		s.Merge(&tmp)
	}
}
