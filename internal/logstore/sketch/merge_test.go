package sketch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// refMerge is Merge as it was before MergeBinary and the bucketer: every
// value bucketed one by one with addBucket. The merges below must give its
// sketch bit for bit.
func refMerge(s, o *Sketch) {
	if o.count == 0 {
		return
	}
	s.addStats(o.sum, o.count, o.min, o.max)
	if !s.bucketed && !o.bucketed && len(s.values)+len(o.values) <= ExactLimit {
		s.values = append(s.values, o.values...)
		s.sorted = false
		return
	}
	if !s.bucketed {
		s.bucketed = true
		for _, v := range s.values {
			s.addBucket(v, 1)
		}
		s.values, s.sorted = nil, false
	}
	if !o.bucketed {
		for _, v := range o.values {
			s.addBucket(v, 1)
		}
		return
	}
	s.zero += o.zero
	s.pos.merge(&o.pos)
	s.neg.merge(&o.neg)
}

// randomSketch is a sketch of n values of one of several shapes: small
// integers (many equal values), milliseconds, raw binary fractions,
// negatives and zeros (and -0), values below MinMagnitude, and a span wide
// enough to fold the buckets.
func randomSketch(r *rand.Rand, n int) *Sketch {
	var s Sketch
	shape := r.IntN(6)
	for range n {
		var v float64
		switch shape {
		case 0:
			v = float64(r.IntN(50))
		case 1:
			v = math.Round(math.Exp(r.NormFloat64()*0.8+3)*1000) / 1000
		case 2:
			v = math.Exp(r.NormFloat64()*2) * math.Pi
		case 3:
			switch r.IntN(4) {
			case 0:
				v = 0
			case 1:
				v = math.Copysign(0, -1)
			default:
				v = math.Round(r.NormFloat64()*1e4) / 100
			}
		case 4:
			v = (r.Float64() - 0.5) * 4e-9
		case 5:
			v = math.Pow(10, r.Float64()*120-60) * float64(1-2*r.IntN(2))
		}
		s.Add(v)
	}
	return &s
}

// requireSame requires a and b to be the same sketch, bit for bit.
func requireSame(t *testing.T, want, got *Sketch, msg string) {
	t.Helper()
	bits := math.Float64bits
	require.Equal(t, want.count, got.count, msg)
	require.Equal(t, bits(want.sum), bits(got.sum), msg)
	require.Equal(t, bits(want.min), bits(got.min), msg)
	require.Equal(t, bits(want.max), bits(got.max), msg)
	require.Equal(t, want.bucketed, got.bucketed, msg)
	require.Equal(t, want.sorted, got.sorted, msg)
	require.Equal(t, want.zero, got.zero, msg)
	wv, gv := make([]uint64, len(want.values)), make([]uint64, len(got.values))
	for i, v := range want.values {
		wv[i] = bits(v)
	}
	for i, v := range got.values {
		gv[i] = bits(v)
	}
	require.Equal(t, wv, gv, msg)
	for _, p := range [][2]*store{{&want.pos, &got.pos}, {&want.neg, &got.neg}} {
		require.Equal(t, p[0].offset, p[1].offset, msg)
		require.Equal(t, p[0].total, p[1].total, msg)
		require.Equal(t, p[0].counts, p[1].counts, msg)
	}
}

// TestMergeBinaryEqualsUnmarshalMerge: merging encodings with MergeBinary,
// or decoding them and merging with Merge, gives bit for bit the sketch
// the old one-value-at-a-time Merge gives, over random sketches exact and
// bucketed, of negatives, zeros and spans that fold, merged in random
// orders.
func TestMergeBinaryEqualsUnmarshalMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	sizes := []int{0, 1, 2, 7, 100, 500, 1000, 1024, 1025, 3000}
	for round := range 30 {
		var ref, viaMerge, viaBinary Sketch
		for step := range 20 {
			part := randomSketch(r, sizes[r.IntN(len(sizes))])
			enc, err := part.MarshalBinary()
			require.NoError(t, err)
			var back Sketch
			require.NoError(t, back.UnmarshalBinary(enc))
			refMerge(&ref, &back)
			viaMerge.Merge(&back)
			require.NoError(t, viaBinary.MergeBinary(enc))
			msg := fmt.Sprintf("round %d step %d", round, step)
			requireSame(t, &ref, &viaMerge, "Merge, "+msg)
			requireSame(t, &ref, &viaBinary, "MergeBinary, "+msg)
		}
		for _, q := range quantiles {
			require.Equal(t, math.Float64bits(ref.Quantile(q)), math.Float64bits(viaBinary.Quantile(q)))
		}
		want, err := ref.MarshalBinary()
		require.NoError(t, err)
		got, err := viaBinary.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

// TestMergeBinaryRefusesWhatUnmarshalRefuses: every truncation and byte
// flip of valid encodings is refused by MergeBinary exactly when
// UnmarshalBinary refuses it, and a refused one leaves the sketch as it
// was.
func TestMergeBinaryRefusesWhatUnmarshalRefuses(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 3, 40, 1024, 2000} {
		part := randomSketch(r, n)
		enc, err := part.MarshalBinary()
		require.NoError(t, err)
		var bad [][]byte
		bad = append(bad, enc[:len(enc)-1], append(slices.Clone(enc), 0))
		for range 100 {
			bad = append(bad, enc[:r.IntN(len(enc))])
		}
		for range 100 {
			b := slices.Clone(enc)
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
			bad = append(bad, b)
		}
		for _, b := range bad {
			for _, into := range []*Sketch{randomSketch(r, 10), randomSketch(r, 1020), randomSketch(r, 2000)} {
				var back Sketch
				wantErr := back.UnmarshalBinary(b)
				got := *into
				got.values = slices.Clone(into.values)
				got.pos.counts, got.neg.counts = slices.Clone(into.pos.counts), slices.Clone(into.neg.counts)
				err := got.MergeBinary(b)
				if wantErr != nil {
					require.Error(t, err, "%x", b)
					requireSame(t, into, &got, "refused")
					continue
				}
				require.NoError(t, err, "%x", b)
				ref := *into
				ref.values = slices.Clone(into.values)
				ref.pos.counts, ref.neg.counts = slices.Clone(into.pos.counts), slices.Clone(into.neg.counts)
				refMerge(&ref, &back)
				requireSame(t, &ref, &got, "accepted")
			}
		}
	}
}

// mergeBenchParts are a bucketed sketch of 5000 lognormal values and an
// exact one of 50 milliseconds (three decimals): a rollup row of a busy key
// and of a quiet one.
func mergeBenchParts() (bucketed, exact []byte) {
	r := rand.New(rand.NewPCG(1, 2))
	var b, e Sketch
	for range 5000 {
		b.Add(math.Exp(r.NormFloat64()*1.5 + 3))
	}
	for range 50 {
		e.Add(math.Round(math.Exp(r.NormFloat64()*0.7+3)*1000) / 1000)
	}
	be, _ := b.MarshalBinary()
	ee, _ := e.MarshalBinary()
	return be, ee
}

// BenchmarkRowMerge: merging a row's encoding into a bucketed sketch, by
// UnmarshalBinary and Merge or by MergeBinary.
func BenchmarkRowMerge(b *testing.B) {
	bucketed, exact := mergeBenchParts()
	for _, row := range []struct {
		name string
		enc  []byte
	}{{"bucketed", bucketed}, {"exact50", exact}} {
		b.Run("UnmarshalMerge/"+row.name, func(b *testing.B) {
			var s, tmp Sketch
			require.NoError(b, s.UnmarshalBinary(bucketed))
			for b.Loop() {
				if err := tmp.UnmarshalBinary(row.enc); err != nil {
					b.Fatal(err)
				}
				s.Merge(&tmp)
			}
		})
		b.Run("MergeBinary/"+row.name, func(b *testing.B) {
			var s Sketch
			require.NoError(b, s.UnmarshalBinary(bucketed))
			for b.Loop() {
				if err := s.MergeBinary(row.enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestIndexIsLogIndex: index, which only calls math.Log near a bucket's
// bound, is logIndex (the mapping's definition) at and around every bound
// from MinMagnitude to the largest float64, for the milliseconds 0.001 to
// 1000 s, and for millions of values of every magnitude.
func TestIndexIsLogIndex(t *testing.T) {
	check := func(v float64) {
		if !(v >= MinMagnitude) || math.IsInf(v, 0) { // not NaN either
			return
		}
		if got, want := index(v), logIndex(v); got != want {
			t.Fatalf("index(%v = %#x) = %d, logIndex %d", v, math.Float64bits(v), got, want)
		}
	}
	for i := logIndex(MinMagnitude) - 1; i <= logIndex(math.MaxFloat64)+1; i++ {
		b := math.Pow(gamma, float64(i))
		down, up := b, b
		for range 4 {
			check(down)
			check(up)
			down, up = math.Nextafter(down, 0), math.Nextafter(up, math.Inf(1))
		}
		// The first value whose logIndex is above the bucket of b/γ's.
		lo, hi := b/gamma, b*gamma
		for range 200 {
			mid := lo + (hi-lo)/2
			if mid == lo || mid == hi {
				break
			}
			if logIndex(mid) <= i {
				lo = mid
			} else {
				hi = mid
			}
		}
		check(lo)
		check(hi)
	}
	for k := 1; k <= 1_000_000; k++ {
		check(float64(k) / 1000)
	}
	r := rand.New(rand.NewPCG(9, 10))
	for range 3_000_000 {
		check(math.Exp(r.Float64()*(math.Log(math.MaxFloat64)-math.Log(MinMagnitude)) + math.Log(MinMagnitude)))
		check(math.Float64frombits(r.Uint64() &^ (1 << 63)))
	}
	check(math.MaxFloat64)
	check(MinMagnitude)
}

func BenchmarkIndex(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = math.Round(math.Exp(r.NormFloat64()*0.7+3)*1000) / 1000
	}
	for _, f := range []struct {
		name string
		fn   func(float64) int32
	}{{"index", index}, {"logIndex", logIndex}} {
		b.Run(f.name, func(b *testing.B) {
			var sum int32
			for i := 0; b.Loop(); i++ {
				sum += f.fn(vals[i&4095])
			}
			_ = sum
		})
	}
}
