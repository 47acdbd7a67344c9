// Package sketch is a mergeable quantile sketch with a relative error
// bound: the values of a metric rollup (docs/metrics.md).
//
// A Sketch keeps its values exactly while it holds at most ExactLimit of
// them; Quantile is then percentile_disc's answer (the smallest value whose
// rank is at least q·n). Past ExactLimit it keeps only counts in
// logarithmic buckets (DDSketch, Masson et al., VLDB 2019): bucket i of the
// positive values holds (γ^(i-1), γ^i] with γ = (1+Alpha)/(1-Alpha), and a
// quantile is estimated as 2γ^i/(γ+1), the point of the bucket whose
// relative distance to both ends is Alpha. So the estimate of the value of
// rank ⌈q·n⌉ is within Alpha of the true value, relative, whatever the
// distribution, the order of the values or how sketches were merged.
// Negative values are kept mirrored in a bucket store of their own, and
// values whose magnitude is below MinMagnitude in one zero bucket (their
// estimate is 0). Count, Sum, Min and Max are always exact.
//
// Merging is exact: the buckets of a merge are the sums of the buckets, so
// a merge of sketches equals the sketch of all their values (an exact
// result stays exact while the total is within ExactLimit).
package sketch

import (
	"math"
	"slices"
)

const (
	// Alpha is the relative error bound of an estimated quantile.
	Alpha = 0.01
	// ExactLimit is the most values a Sketch keeps exactly; past it, only
	// buckets. The rollup rows of a key's minute are exact up to this many
	// values, and so is a query's group over its range (docs/metrics.md
	// has the bytes it costs).
	ExactLimit = 1024
	// MinMagnitude is the smallest magnitude kept in a bucket of its own;
	// values closer to 0 count in the zero bucket.
	MinMagnitude = 1e-9
	// maxBuckets bounds each bucket store: past a span of γ^maxBuckets
	// (about 1e35) the lowest buckets are folded into the lowest kept
	// one, so only the quantiles among those lowest values lose the bound.
	maxBuckets = 4096
)

var (
	gamma       = (1 + Alpha) / (1 - Alpha)
	invLogGamma = 1 / math.Log(gamma)
	// estimateFactor turns a bucket's upper bound γ^i into its estimate.
	estimateFactor = 2 / (gamma + 1)
)

// Sketch summarises float64 values. The zero value is an empty sketch,
// ready to use. A Sketch is not safe for concurrent use.
type Sketch struct {
	count    int64
	sum      float64
	min, max float64
	// values are the values while the sketch is exact (bucketed false);
	// sorted reports they are in ascending order.
	values   []float64
	sorted   bool
	bucketed bool
	zero     int64
	pos, neg store
}

// Add adds v. NaN and infinities are not values: the caller keeps them out.
func (s *Sketch) Add(v float64) {
	s.addStats(v, 1, v, v)
	if !s.bucketed {
		s.values = append(s.values, v)
		s.sorted = false
		if len(s.values) > ExactLimit {
			s.toBuckets()
		}
		return
	}
	s.addBucket(v, 1)
}

func (s *Sketch) addStats(sum float64, n int64, lo, hi float64) {
	if s.count == 0 {
		s.min, s.max = lo, hi
	} else {
		s.min, s.max = min(s.min, lo), max(s.max, hi)
	}
	s.count += n
	s.sum += sum
}

func (s *Sketch) addBucket(v float64, n int64) {
	switch {
	case v >= MinMagnitude:
		s.pos.add(index(v), n)
	case v <= -MinMagnitude:
		s.neg.add(index(-v), n)
	default:
		s.zero += n
	}
}

// addBuckets adds vs to the buckets, in their order.
func (s *Sketch) addBuckets(vs []float64) {
	var b bucketer
	for _, v := range vs {
		b.add(s, v)
	}
	b.flush()
}

// bucketer adds values to a sketch's buckets as addBucket does, one value
// after the other, but as runs: a run of values of one bucket is added at
// once (the store's state after add(i, a) then add(i, b) is that after
// add(i, a+b)), and a value equal to the previous one costs no Log.
type bucketer struct {
	st   *store // the run's store, nil when none
	idx  int32  // the run's bucket
	n    int64  // the run's values
	last float64
}

func (b *bucketer) add(s *Sketch, v float64) {
	if b.n > 0 && v == b.last {
		b.n++
		return
	}
	var st *store
	var i int32
	switch {
	case v >= MinMagnitude:
		st, i = &s.pos, index(v)
	case v <= -MinMagnitude:
		st, i = &s.neg, index(-v)
	default:
		s.zero++
		return
	}
	if st == b.st && i == b.idx {
		b.n++
	} else {
		b.flush()
		b.st, b.idx, b.n = st, i, 1
	}
	b.last = v
}

func (b *bucketer) flush() {
	if b.n > 0 {
		b.st.add(b.idx, b.n)
	}
	b.st, b.n = nil, 0
}

// logIndex is the bucket of a magnitude at least MinMagnitude: the
// definition of the mapping.
func logIndex(v float64) int32 { return int32(math.Ceil(math.Log(v) * invLogGamma)) }

// index is logIndex(v), computed without math.Log unless v is near a
// bucket's bound. x = ln(v)/ln(γ) is computed from v's exponent, a table of
// ln(1+j/256) and four terms of ln(1+r)'s series for the rest (|r| <
// 1/256), within 1e-10 of the true x (the series' remainder is below
// 2e-13, the table's and the roundings' errors about 1e-13, times 1/ln(γ)
// ≈ 50); math.Log's x is within 1e-11 of it (1 ulp). So when x ± indexMargin
// have the same ceiling, so has math.Log's x, and that is the bucket; else
// (about 2 values in a million) logIndex decides. TestIndexIsLogIndex
// compares them at every bound and over millions of values.
func index(v float64) int32 {
	b := math.Float64bits(v)
	e := int(b>>52&0x7ff) - 1023
	j := b >> (52 - logTableBits) & (1<<logTableBits - 1)
	m := math.Float64frombits(b&(1<<52-1) | 1023<<52) // v's mantissa, in [1, 2)
	t := &logTable[j]
	r := (m - t.c) * t.inv // m-c is exact: ln(m) = ln(c) + ln(1+r)
	x := (float64(e)*math.Ln2 + t.ln + r*(1-r*(0.5-r*(1.0/3-r*0.25)))) * invLogGamma
	if lo := math.Ceil(x - indexMargin); lo == math.Ceil(x+indexMargin) {
		return int32(lo)
	}
	return logIndex(v)
}

const (
	logTableBits = 8
	// indexMargin is far above the two computations' errors (1e-10).
	indexMargin = 1e-6
)

// logTable[j] is c = 1+j/256, ln(c) and 1/c (read only).
var logTable = func() (t [1 << logTableBits]struct{ c, ln, inv float64 }) {
	for j := range t {
		c := 1 + float64(j)/(1<<logTableBits)
		t[j].c, t[j].ln, t[j].inv = c, math.Log(c), 1/c
	}
	return t
}()

// toBuckets moves the exact values into buckets.
func (s *Sketch) toBuckets() {
	s.bucketed = true
	s.addBuckets(s.values)
	s.values, s.sorted = nil, false
}

// Merge adds every value of o to s; o is unchanged, and s keeps no
// reference to o's memory.
func (s *Sketch) Merge(o *Sketch) {
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
		s.toBuckets()
	}
	if !o.bucketed {
		s.addBuckets(o.values)
		return
	}
	s.zero += o.zero
	s.pos.merge(&o.pos)
	s.neg.merge(&o.neg)
}

// Count is how many values were added.
func (s *Sketch) Count() int64 { return s.count }

// Sum is the sum of the values.
func (s *Sketch) Sum() float64 { return s.sum }

// Min is the smallest value (0 when empty).
func (s *Sketch) Min() float64 { return s.min }

// Max is the largest value (0 when empty).
func (s *Sketch) Max() float64 { return s.max }

// Exact reports whether the sketch holds its values, so that Quantile is
// exact.
func (s *Sketch) Exact() bool { return !s.bucketed }

// Reset empties s, keeping its memory.
func (s *Sketch) Reset() {
	s.count, s.sum, s.min, s.max = 0, 0, 0, 0
	s.values, s.sorted, s.bucketed, s.zero = s.values[:0], false, false, 0
	s.pos.reset()
	s.neg.reset()
}

// Quantile is the value of rank ⌈q·n⌉ among the n values (at least rank
// 1; q is clamped to [0, 1]): exactly while Exact, else within Alpha of it,
// relative, and always within [Min, Max]. 0 when empty.
func (s *Sketch) Quantile(q float64) float64 {
	if s.count == 0 {
		return 0
	}
	rank := int64(math.Ceil(min(max(q, 0), 1) * float64(s.count)))
	rank = min(max(rank, 1), s.count)
	if !s.bucketed {
		if !s.sorted {
			slices.Sort(s.values)
			s.sorted = true
		}
		return s.values[rank-1]
	}
	var v float64
	switch {
	case rank <= s.neg.total:
		// Negative values, most negative first: the highest buckets.
		i := s.neg.indexOfRank(s.neg.total - rank + 1)
		v = -estimate(i)
	case rank <= s.neg.total+s.zero:
		v = 0
	default:
		v = estimate(s.pos.indexOfRank(rank - s.neg.total - s.zero))
	}
	return min(max(v, s.min), s.max)
}

func estimate(i int32) float64 { return math.Pow(gamma, float64(i)) * estimateFactor }

// store is the counts of consecutive buckets: counts[k] is bucket
// offset+k. total is their sum.
type store struct {
	counts []int64
	offset int32
	total  int64
}

func (st *store) reset() {
	clear(st.counts)
	st.counts, st.offset, st.total = st.counts[:0], 0, 0
}

// add adds n to bucket i, growing the store (and folding its lowest buckets
// past maxBuckets).
func (st *store) add(i int32, n int64) {
	st.total += n
	if len(st.counts) == 0 {
		st.counts = append(st.counts, n)
		st.offset = i
		return
	}
	if i < st.offset {
		hi := st.offset + int32(len(st.counts)) - 1
		if hi-i+1 > maxBuckets {
			i = hi - maxBuckets + 1
			if i >= st.offset {
				st.counts[i-st.offset] += n
				return
			}
		}
		grow := int(st.offset - i)
		st.counts = append(st.counts, make([]int64, grow)...)
		copy(st.counts[grow:], st.counts[:len(st.counts)-grow])
		clear(st.counts[:grow])
		st.offset = i
		st.counts[0] += n
		return
	}
	k := int(i - st.offset)
	if k >= len(st.counts) {
		n := len(st.counts)
		st.counts = slices.Grow(st.counts, k+1-n)[:k+1]
		clear(st.counts[n:])
		if len(st.counts) > maxBuckets {
			st.fold()
		}
		k = int(i - st.offset)
	}
	st.counts[k] += n
}

// fold merges the lowest buckets into the lowest kept one so that the store
// spans maxBuckets.
func (st *store) fold() {
	extra := len(st.counts) - maxBuckets
	var folded int64
	for _, c := range st.counts[:extra] {
		folded += c
	}
	copy(st.counts, st.counts[extra:])
	st.counts = st.counts[:maxBuckets]
	st.counts[0] += folded
	st.offset += int32(extra)
}

func (st *store) merge(o *store) {
	if o.total == 0 {
		return
	}
	if st.total == 0 && len(st.counts) == 0 {
		st.counts = append(st.counts[:0], o.counts...)
		st.offset, st.total = o.offset, o.total
		return
	}
	// Extend to cover o's span first, so the loop below adds in place.
	lo := o.offset
	hi := o.offset + int32(len(o.counts)) - 1
	st.add(hi, 0)
	st.add(lo, 0)
	if st.offset <= lo {
		// Nothing was folded: o's buckets are all in the store.
		dst := st.counts[lo-st.offset:]
		for k, c := range o.counts {
			dst[k] += c
		}
		st.total += o.total
		return
	}
	for k, c := range o.counts {
		if c != 0 {
			st.add(o.offset+int32(k), c)
		}
	}
}

// indexOfRank is the bucket holding the value of rank r (1-based, in
// ascending order of magnitude).
func (st *store) indexOfRank(r int64) int32 {
	var seen int64
	for k, c := range st.counts {
		seen += c
		if seen >= r {
			return st.offset + int32(k)
		}
	}
	return st.offset + int32(len(st.counts)) - 1
}
