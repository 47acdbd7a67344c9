package sketch

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
)

// The binary form (the sketch column of logs.metric_rollups):
//
//	exact:    0x01 | scale (1 byte) | n (uvarint) | values
//	bucketed: 0x02 | sum, min, max (float64, big-endian) | zero (uvarint) | neg store | pos store
//
// An exact sketch's values are sorted; with scale d < 0xff each value is
// k/10^d for an integer k (the first k as a zigzag varint, then each
// difference from the previous k as a uvarint), else each value is its 8
// bytes. k/10^d is the float64 closest to the decimal k·10^-d, the value a
// parser gives for that decimal, so a duration sent as 12.345 costs one or
// two bytes and comes back bit for bit. Count, sum, min and max are
// recomputed from the values.
//
// A store is its non-empty buckets: their number (uvarint), then each
// bucket's index (the first as a zigzag varint, the next ones as the
// uvarint difference from the previous) and count (uvarint).

const (
	formatExact    = 1
	formatBucketed = 2
	// rawScale marks exact values stored as their 8 bytes.
	rawScale = 0xff
	// maxScale is the most decimals tried for exact values.
	maxScale = 6
)

var errFormat = errors.New("sketch: malformed encoding")

var pow10 = [maxScale + 1]float64{1, 10, 100, 1000, 10000, 100000, 1000000}

// MarshalBinary encodes s.
func (s *Sketch) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// AppendBinary appends s's encoding to b.
func (s *Sketch) AppendBinary(b []byte) ([]byte, error) {
	if !s.bucketed {
		if !s.sorted {
			slices.Sort(s.values)
			s.sorted = true
		}
		b = append(b, formatExact)
		scale := scaleOf(s.values)
		b = append(b, byte(scale))
		b = binary.AppendUvarint(b, uint64(len(s.values)))
		if scale == rawScale {
			for _, v := range s.values {
				b = binary.BigEndian.AppendUint64(b, math.Float64bits(v))
			}
			return b, nil
		}
		var prev int64
		for i, v := range s.values {
			k := int64(math.Round(v * pow10[scale]))
			if i == 0 {
				b = binary.AppendVarint(b, k)
			} else {
				b = binary.AppendUvarint(b, uint64(k-prev))
			}
			prev = k
		}
		return b, nil
	}
	b = append(b, formatBucketed)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.sum))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.min))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.max))
	b = binary.AppendUvarint(b, uint64(s.zero))
	b = s.neg.appendBinary(b)
	return s.pos.appendBinary(b), nil
}

// scaleOf is the fewest decimals d such that every value is k/10^d exactly
// for an integer k below 2^53 (rawScale when none up to maxScale is).
func scaleOf(vs []float64) int {
	d := 0
	for _, v := range vs {
		for ; d <= maxScale; d++ {
			k := math.Round(v * pow10[d])
			if math.Abs(k) < 1<<53 && k/pow10[d] == v && !(v == 0 && math.Signbit(v)) {
				break
			}
		}
		if d > maxScale {
			return rawScale
		}
	}
	return d
}

func (st *store) appendBinary(b []byte) []byte {
	n := 0
	for _, c := range st.counts {
		if c != 0 {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	first, prev := true, int32(0)
	for k, c := range st.counts {
		if c == 0 {
			continue
		}
		i := st.offset + int32(k)
		if first {
			b = binary.AppendVarint(b, int64(i))
			first = false
		} else {
			b = binary.AppendUvarint(b, uint64(i-prev))
		}
		prev = i
		b = binary.AppendUvarint(b, uint64(c))
	}
	return b
}

// UnmarshalBinary replaces s with the sketch data encodes.
func (s *Sketch) UnmarshalBinary(data []byte) error {
	s.Reset()
	d := decoder{b: data}
	switch d.byte() {
	case formatExact:
		r, ok := newExactReader(data)
		if !ok {
			return errFormat
		}
		if s.values, ok = r.readAll(s.values, s); !ok {
			return errFormat
		}
		s.sorted = slices.IsSorted(s.values)
		return nil
	case formatBucketed:
		s.bucketed = true
		s.sum = math.Float64frombits(d.uint64())
		s.min = math.Float64frombits(d.uint64())
		s.max = math.Float64frombits(d.uint64())
		s.zero = int64(d.uvarint())
		if !d.readStore(&s.neg) || !d.readStore(&s.pos) || d.err {
			return errFormat
		}
		s.count = s.zero + s.neg.total + s.pos.total
	default:
		return errFormat
	}
	if d.err || len(d.b) != 0 || s.count < 0 {
		return errFormat
	}
	return nil
}

type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.err = true
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if len(d.b) > 0 && d.b[0] < 0x80 { // one byte: most counts and steps
		v := d.b[0]
		d.b = d.b[1:]
		return uint64(v)
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) readStore(st *store) bool {
	_, _, _, _, ok := d.storeSpan(st)
	return ok
}

// MergeBinary adds every value of the sketch data encodes to s: the same
// sketch, bit for bit, as UnmarshalBinary into a temporary Sketch and
// Merge, without building the temporary one (a query merges hundreds of
// thousands of rollup rows). s keeps no reference to data. On error s is
// unchanged.
func (s *Sketch) MergeBinary(data []byte) error {
	if len(data) == 0 {
		return errFormat
	}
	switch data[0] {
	case formatExact:
		return s.mergeExact(data)
	case formatBucketed:
		return s.mergeBucketed(data)
	}
	return errFormat
}

// exactReader reads the values of an exact encoding, in order (as
// UnmarshalBinary reads them).
type exactReader struct {
	d     decoder
	scale int
	n     int // values left
	first bool
	k     int64
}

// newExactReader reads an exact encoding's header.
func newExactReader(data []byte) (exactReader, bool) {
	d := decoder{b: data[1:]}
	scale := int(d.byte())
	n := d.uvarint()
	if d.err || n > ExactLimit || (scale > maxScale && scale != rawScale) {
		return exactReader{}, false
	}
	return exactReader{d: d, scale: scale, n: int(n), first: true}, true
}

// next is the next value; ok is false when the encoding is malformed.
func (r *exactReader) next() (v float64, ok bool) {
	switch {
	case r.scale == rawScale:
		v = math.Float64frombits(r.d.uint64())
	case r.first:
		r.k = r.d.varint()
		v = float64(r.k) / pow10[r.scale]
	default:
		r.k += int64(r.d.uvarint())
		v = float64(r.k) / pow10[r.scale]
	}
	r.first = false
	r.n--
	return v, !r.d.err && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// skip passes the next value, reporting whether next would have read it:
// a scaled value k/10^d is always finite, so only its varint is read.
func (r *exactReader) skip() bool {
	switch {
	case r.scale == rawScale:
		const exp = 0x7ff << 52 // NaN and the infinities have every exponent bit
		if r.d.uint64()&exp == exp {
			return false
		}
	case r.first:
		r.d.varint()
	default:
		r.d.uvarint()
	}
	r.first = false
	r.n--
	return !r.d.err
}

// valid reports whether the rest of the encoding is well formed (without
// advancing r, a copy).
func (r exactReader) valid() bool {
	for r.n > 0 {
		if !r.skip() {
			return false
		}
	}
	return len(r.d.b) == 0
}

// readAll appends r's values to vs, adding them to st's count, sum, min
// and max, and reports whether the encoding is well formed to its end.
func (r *exactReader) readAll(vs []float64, st *Sketch) ([]float64, bool) {
	for r.n > 0 {
		v, ok := r.next()
		if !ok {
			return vs, false
		}
		vs = append(vs, v)
		st.addStats(v, 1, v, v)
	}
	return vs, len(r.d.b) == 0
}

func (s *Sketch) mergeExact(data []byte) error {
	r, ok := newExactReader(data)
	if !ok {
		return errFormat
	}
	n := r.n
	// st is the sketch UnmarshalBinary would give (but for its values).
	var st Sketch
	if !s.bucketed && len(s.values)+n <= ExactLimit {
		// The values stay exact: decode them straight into s.values.
		vs, ok := r.readAll(s.values, &st)
		if !ok {
			return errFormat
		}
		s.values = vs
	} else {
		// Into buckets, in the values' order. s is unchanged on error: a
		// row's few values are decoded once into buf, more are checked
		// first.
		var buf [64]float64
		vs := buf[:0]
		if n <= len(buf) {
			if vs, ok = r.readAll(vs, &st); !ok {
				return errFormat
			}
		} else if !r.valid() {
			return errFormat
		}
		if !s.bucketed {
			s.toBuckets()
		}
		var b bucketer
		for _, v := range vs {
			b.add(s, v)
		}
		for r.n > 0 { // not read into buf
			v, _ := r.next()
			st.addStats(v, 1, v, v)
			b.add(s, v)
		}
		b.flush()
	}
	if st.count == 0 {
		return nil // as Merge of an empty sketch
	}
	s.addStats(st.sum, st.count, st.min, st.max)
	if !s.bucketed {
		s.sorted = false
	}
	return nil
}

// storeSpan reads and checks an encoded store, adding each bucket to st
// unless nil: its number of buckets, their lowest and highest index and
// their total.
func (d *decoder) storeSpan(st *store) (n uint64, lo, hi int32, total int64, ok bool) {
	n = d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		return 0, 0, 0, 0, false
	}
	var i int64
	for k := uint64(0); k < n; k++ {
		if k == 0 {
			i = d.varint()
		} else {
			step := d.uvarint()
			if step == 0 || step > maxBuckets*2 {
				return 0, 0, 0, 0, false
			}
			i += int64(step)
		}
		c := d.uvarint()
		if d.err || c == 0 || c > math.MaxInt64/2 || i < math.MinInt32/2 || i > math.MaxInt32/2 {
			return 0, 0, 0, 0, false
		}
		if k == 0 {
			lo = int32(i)
		}
		hi = int32(i)
		total += int64(c)
		if st != nil {
			st.add(hi, int64(c))
		}
	}
	return n, lo, hi, total, true
}

// addStore adds an encoded store (checked by storeSpan, its buckets lo..hi
// of the given total) to st in place: st spans them all within maxBuckets
// (fitsWith), so this is what adding each bucket gives.
func (d *decoder) addStore(st *store, lo, hi int32, total int64) {
	n := d.uvarint()
	if n == 0 {
		return
	}
	st.add(hi, 0)
	st.add(lo, 0)
	counts := st.counts[lo-st.offset : hi-st.offset+1]
	st.total += total
	var i int64
	for k := uint64(0); k < n; k++ {
		if k == 0 {
			i = d.varint()
		} else {
			i += int64(d.uvarint())
		}
		counts[int32(i)-lo] += int64(d.uvarint())
	}
}

// fitsWith reports whether st, with buckets lo..hi added, spans at most
// maxBuckets (so that no add folds, and adding the buckets one by one
// gives what merge gives).
func (st *store) fitsWith(lo, hi int32) bool {
	if len(st.counts) > 0 {
		lo = min(lo, st.offset)
		hi = max(hi, st.offset+int32(len(st.counts))-1)
	}
	return int64(hi)-int64(lo)+1 <= maxBuckets
}

func (s *Sketch) mergeBucketed(data []byte) error {
	d := decoder{b: data[1:]}
	sum := math.Float64frombits(d.uint64())
	lo := math.Float64frombits(d.uint64())
	hi := math.Float64frombits(d.uint64())
	zero := int64(d.uvarint())
	if d.err {
		return errFormat
	}
	stores := d
	nn, nlo, nhi, ntotal, ok := d.storeSpan(nil)
	if !ok {
		return errFormat
	}
	pn, plo, phi, ptotal, ok := d.storeSpan(nil)
	if !ok || d.err || len(d.b) != 0 {
		return errFormat
	}
	count := zero + ntotal + ptotal
	if count < 0 {
		return errFormat
	}
	if count == 0 {
		return nil
	}
	if !s.bucketed {
		s.toBuckets()
	}
	if (nn > 0 && !s.neg.fitsWith(nlo, nhi)) || (pn > 0 && !s.pos.fitsWith(plo, phi)) {
		// A store would fold, where the order of the adds matters: merge
		// as Merge does (data was checked as UnmarshalBinary checks it).
		var o Sketch
		if err := o.UnmarshalBinary(data); err != nil {
			return err
		}
		s.Merge(&o)
		return nil
	}
	s.addStats(sum, count, lo, hi)
	s.zero += zero
	stores.addStore(&s.neg, nlo, nhi, ntotal)
	stores.addStore(&s.pos, plo, phi, ptotal)
	return nil
}
