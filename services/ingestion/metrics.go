package ingestion

import (
	"strconv"
	"strings"
	"time"

	"github.com/devsmith/logs/internal/jsontext"
	"github.com/devsmith/logs/internal/logstore"
)

// Metric rollups (docs/metrics.md). As it normalizes an entry, the
// service reads the top-level members of its context named by the
// summarised fields (Config.MetricFields), the dimensions
// (Config.MetricDimensions) and status; each writer then adds its
// transaction's values into one sketch per (project, minute, field,
// service, dimensions) and appends those rows in the transaction's last
// round trip (logstore.QueueMetricRollups), so a committed entry is counted
// in exactly one row.
//
// A context is walked for them only when one field's name followed by a
// quote occurs in its text (a substring search), so entries without a
// summarised field cost a few nanoseconds; a field whose key the client
// wrote with escapes (\u0064uration_ms) is therefore not summarised.

const (
	// maxDimensionBytes bounds a dimension value kept in a rollup key (a
	// longer value is cut, on a rune boundary).
	maxDimensionBytes = 200
	// maxMetricKeys is the keys one transaction writes per (project,
	// minute, field, service); the values of the others count under
	// logstore.OtherDimension (the compactor bounds the minute as a whole).
	maxMetricKeys   = logstore.MaxMetricKeys
	microsPerMinute = 60_000_000
)

// metricSpec is what is summarised.
type metricSpec struct {
	fields []string
	dims   []string
	// needles are each field with its closing quote, for the substring
	// test (without the opening quote: a JSON text has many of those, and
	// the search looks for its needle's first byte).
	needles []string
}

func newMetricSpec(fields, dims []string) *metricSpec {
	if len(fields) == 0 {
		return nil
	}
	sp := &metricSpec{fields: fields, dims: dims}
	for _, f := range fields {
		q := jsontext.AppendString(nil, f)
		sp.needles = append(sp.needles, string(q[1:]))
	}
	return sp
}

// sample is an entry's value of one summarised field. Its dimension values
// are batch.metricDims[dims : dims+len(spec.dims)].
type sample struct {
	ts      int64 // the entry's, in microseconds (it may be sampled out: no row)
	dims    int32
	field   uint8
	numeric bool
	isError bool
	value   float64
}

// extract appends to b the samples of the entry at ts with context ctx and
// level: nothing when ctx has none of the fields at its top level.
func (sp *metricSpec) extract(b *batch, ts int64, ctx string, level logstore.Level) {
	found := false
	for _, q := range sp.needles {
		if strings.Contains(ctx, q) {
			found = true
			break
		}
	}
	if !found {
		return
	}
	var fieldVals [maxMetricFields]jsontext.Value
	var fieldSeen [maxMetricFields]bool
	dimStart := len(b.metricDims)
	for range sp.dims {
		b.metricDims = append(b.metricDims, "")
	}
	dims := b.metricDims[dimStart:]
	var status jsontext.Value
	hasStatus := false

	m := members{s: ctx}
	for m.next() {
		name := m.key
		if m.keyEscaped {
			name = jsontext.Unquote(ctx, jsontext.Value{Start: m.keyStart, End: m.keyEnd, Flags: jsontext.String | jsontext.Escaped})
		}
		// Duplicate keys: the last one wins, as in jsonb.
		for i, f := range sp.fields {
			if name == f {
				fieldVals[i], fieldSeen[i] = m.val, true
			}
		}
		for i, d := range sp.dims {
			if name == d {
				dims[i] = dimensionValue(ctx, m.val)
			}
		}
		if name == "status" {
			status, hasStatus = m.val, true
		}
	}
	if m.bad {
		// Not reached for a context that was accepted; keep nothing.
		b.metricDims = b.metricDims[:dimStart]
		return
	}
	isError := level >= logstore.LevelError || (hasStatus && statusIsError(ctx, status))
	kept := false
	for i := range sp.fields {
		if !fieldSeen[i] {
			continue
		}
		kept = true
		v, numeric := numberValue(ctx, fieldVals[i])
		b.metrics = append(b.metrics, sample{ts: ts, dims: int32(dimStart), field: uint8(i),
			numeric: numeric, isError: isError, value: v})
	}
	if !kept {
		b.metricDims = b.metricDims[:dimStart]
	}
}

// members walks the top-level members of a JSON object text known to be
// valid (a context as stored: jsontext.RepairObject's output), without
// validating it again: strings are skipped with a byte search for their
// closing quote and nested values by counting brackets outside strings.
// Anything unexpected stops the walk with bad set.
type members struct {
	s                string
	i                int
	started          bool
	bad              bool
	key              string // the key's raw content (escapes undecoded)
	keyStart, keyEnd int    // the key with its quotes
	keyEscaped       bool
	val              jsontext.Value
}

func (m *members) ws() {
	for m.i < len(m.s) && jsontext.IsSpace(m.s[m.i]) {
		m.i++
	}
}

// str skips the string starting at m.i and reports whether it had escapes
// (a byte loop: context strings are short, and a search call per string
// costs more than the loop).
func (m *members) str() (escaped, ok bool) {
	for j := m.i + 1; j < len(m.s); j++ {
		switch m.s[j] {
		case '"':
			m.i = j + 1
			return escaped, true
		case '\\':
			escaped = true
			j++
		}
	}
	return false, false
}

// next moves to the next member; false at the end of the object (or when
// bad).
func (m *members) next() bool {
	m.ws()
	if !m.started {
		m.started = true
		if m.i >= len(m.s) || m.s[m.i] != '{' {
			m.bad = true
			return false
		}
		m.i++
		m.ws()
		if m.i < len(m.s) && m.s[m.i] == '}' {
			return false
		}
	} else {
		if m.i >= len(m.s) {
			m.bad = true
			return false
		}
		switch m.s[m.i] {
		case '}':
			return false
		case ',':
			m.i++
			m.ws()
		default:
			m.bad = true
			return false
		}
	}
	if m.i >= len(m.s) || m.s[m.i] != '"' {
		m.bad = true
		return false
	}
	m.keyStart = m.i
	esc, ok := m.str()
	if !ok {
		m.bad = true
		return false
	}
	m.keyEnd, m.keyEscaped = m.i, esc
	m.key = m.s[m.keyStart+1 : m.keyEnd-1]
	m.ws()
	if m.i >= len(m.s) || m.s[m.i] != ':' {
		m.bad = true
		return false
	}
	m.i++
	m.ws()
	if m.i >= len(m.s) {
		m.bad = true
		return false
	}
	start := m.i
	var flags jsontext.Flags
	switch c := m.s[m.i]; c {
	case '"':
		esc, ok := m.str()
		if !ok {
			m.bad = true
			return false
		}
		flags = jsontext.String
		if esc {
			flags |= jsontext.Escaped
		}
		for p := start; p < m.i; p++ {
			if m.s[p] >= 0x80 {
				flags |= jsontext.NonASCII
				break
			}
		}
	case '{', '[':
		depth := 0
		for m.i < len(m.s) {
			switch m.s[m.i] {
			case '"':
				if _, ok := m.str(); !ok {
					m.bad = true
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			m.i++
			if depth == 0 {
				break
			}
		}
		if depth != 0 {
			m.bad = true
			return false
		}
	default:
		for m.i < len(m.s) && m.s[m.i] != ',' && m.s[m.i] != '}' && !jsontext.IsSpace(m.s[m.i]) {
			m.i++
		}
	}
	m.val = jsontext.Value{Start: start, End: m.i, Flags: flags}
	return true
}

// numberValue is v as a float64 when it is a JSON number float64 can hold.
func numberValue(ctx string, v jsontext.Value) (float64, bool) {
	t := ctx[v.Start:v.End]
	if t == "" || !(t[0] == '-' || ('0' <= t[0] && t[0] <= '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, false // beyond float64: not counted
	}
	return f, true
}

// dimensionValue is a dimension as ->> reads it: a string's content, null
// as "", another value as its JSON text; cut to maxDimensionBytes.
func dimensionValue(ctx string, v jsontext.Value) string {
	var s string
	switch t := ctx[v.Start:v.End]; {
	case v.Flags&jsontext.String != 0:
		s = jsontext.Unquote(ctx, v)
	case t == "null":
		s = ""
	default:
		s = t
	}
	return cutRunes(s, maxDimensionBytes)
}

// statusIsError: status is a number, or a string of digits (with an
// optional fraction), of at least 500.
func statusIsError(ctx string, v jsontext.Value) bool {
	t := ctx[v.Start:v.End]
	if v.Flags&jsontext.String != 0 {
		t = t[1 : len(t)-1]
		if !isPlainDecimal(t) {
			return false
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	return err == nil && f >= 500
}

// isPlainDecimal matches ^[0-9]+(\.[0-9]+)?$, the exact path's test of a
// string status.
func isPlainDecimal(s string) bool {
	whole, frac, hasFrac := strings.Cut(s, ".")
	digits := func(p string) bool {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
		return true
	}
	return digits(whole) && (!hasFrac || digits(frac))
}

// metricAcc is one key's running rollup in a transaction.
type metricAcc struct {
	row  logstore.MetricRow
	dims []string
}

type seriesKey struct {
	project, minute int64
	field           uint8
	service         string
}

// metricRollups aggregates one writer's transactions; its memory is reused.
type metricRollups struct {
	spec   *metricSpec
	index  map[string]int32
	accs   []metricAcc
	n      int
	keys   map[seriesKey]int
	keyBuf []byte
	out    logstore.MetricRollups
}

// collect returns the rows the group's written samples add (empty when
// none).
func (m *metricRollups) collect(group []*batch) *logstore.MetricRollups {
	m.out.Reset()
	if m.spec == nil {
		return &m.out
	}
	if m.index == nil {
		m.index = make(map[string]int32)
		m.keys = make(map[seriesKey]int)
	}
	clear(m.index)
	clear(m.keys)
	m.n = 0
	nd := len(m.spec.dims)
	for _, b := range group {
		if !b.write || len(b.metrics) == 0 {
			continue
		}
		for si := range b.metrics {
			s := &b.metrics[si]
			minute := floorDiv(s.ts, microsPerMinute)
			dims := b.metricDims[s.dims : int(s.dims)+nd]
			acc := m.lookup(b, minute, s.field, dims)
			if !s.numeric {
				acc.row.NonNumeric++
				continue
			}
			acc.row.Sketch.Add(s.value)
			if s.isError {
				acc.row.Errors++
			}
		}
	}
	for i := range m.accs[:m.n] {
		a := &m.accs[i]
		a.row.Dims = logstore.DimsJSON(m.spec.dims, func(k int) string { return a.dims[k] })
		m.out.Add(&a.row)
	}
	return &m.out
}

// lookup is the accumulator of the key, created when new (past
// maxMetricKeys of its series, the OtherDimension key's).
func (m *metricRollups) lookup(b *batch, minute int64, field uint8, dims []string) *metricAcc {
	k := m.keyBuf[:0]
	k = strconv.AppendInt(k, b.projectID, 36)
	k = append(k, 0)
	k = strconv.AppendInt(k, minute, 36)
	k = append(k, 0, field)
	k = append(k, b.service...)
	for _, d := range dims {
		k = append(k, 0)
		k = append(k, d...)
	}
	m.keyBuf = k
	if i, ok := m.index[string(k)]; ok {
		return &m.accs[i]
	}
	sk := seriesKey{b.projectID, minute, field, b.service}
	if m.keys[sk] >= maxMetricKeys-1 {
		other := make([]string, len(dims))
		for i := range other {
			other[i] = logstore.OtherDimension
		}
		if len(dims) == 0 || isOther(dims) {
			return m.create(string(k), b, minute, field, dims)
		}
		return m.lookup(b, minute, field, other)
	}
	m.keys[sk]++
	return m.create(string(k), b, minute, field, dims)
}

func isOther(dims []string) bool {
	for _, d := range dims {
		if d != logstore.OtherDimension {
			return false
		}
	}
	return true
}

func (m *metricRollups) create(key string, b *batch, minute int64, field uint8, dims []string) *metricAcc {
	if m.n == len(m.accs) {
		m.accs = append(m.accs, metricAcc{})
	}
	a := &m.accs[m.n]
	m.index[key] = int32(m.n)
	m.n++
	a.row.Sketch.Reset()
	a.row.ProjectID, a.row.Minute = b.projectID, time.UnixMicro(minute*microsPerMinute).UTC()
	a.row.Field, a.row.Service = m.spec.fields[field], b.service
	a.row.Errors, a.row.NonNumeric = 0, 0
	a.dims = append(a.dims[:0], dims...)
	return a
}

// done drops the references the last collect kept to the group's text.
func (m *metricRollups) done() {
	for i := range m.accs[:m.n] {
		clear(m.accs[i].dims)
		m.accs[i].row.Service, m.accs[i].row.Dims = "", ""
	}
	m.out.Reset()
}
