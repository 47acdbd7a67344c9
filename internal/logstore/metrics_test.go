package logstore_test

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore"
)

// TestReadMetricRollupsDecodesTheRows: ReadMetricRollups, which decodes
// the rows' bytes itself, hands over each selected row as written: minutes
// on both sides of PostgreSQL's epoch (2000-01-01) and with sub-second
// parts, one-minute and coarse rows, services and dimension values of any
// bytes, a dimension missing (HasKeys false, its value ""), large counts,
// the sketch's encoding; and only the rows of the projects, services and
// range asked.
func TestReadMetricRollupsDecodesTheRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := cluster.NewPool(t)
	type row struct {
		project int64
		minute  time.Time
		coarse  bool
		service string
		dims    map[string]string
		errors  int64
		nonNum  int64
		values  []float64
	}
	y2k := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []row{
		{1, y2k.Add(-time.Minute), false, "api", map[string]string{"route": "/a", "status": "200"}, 1, 2, []float64{1.5, -3, 0}},
		{1, y2k.Add(-90*time.Second - 123456*time.Microsecond), false, "api", map[string]string{"route": "/a", "status": "200"}, 0, 0, []float64{7}},
		{1, y2k, false, "wéb \"x\"", map[string]string{"route": "/ü/\x01\\", "status": ""}, 1 << 40, 3, []float64{math.Pi}},
		{1, day.Add(10 * time.Minute), true, "api", map[string]string{"route": "/b"}, 5, 0, []float64{2, 2, 2}},
		{1, day.Add(20 * time.Minute), false, "", map[string]string{"route": "/c", "status": "500", "method": "GET"}, 0, 9, nil},
		{2, day.Add(30*time.Minute + 999999*time.Microsecond), false, "api", map[string]string{"status": "404", "route": "/d"}, 0, 0, bigValues()},
		// Not selected: another project, service or field, or out of range.
		{3, day, false, "api", map[string]string{"route": "/x", "status": "200"}, 0, 0, []float64{1}},
		{1, day, false, "worker", map[string]string{"route": "/x", "status": "200"}, 0, 0, []float64{1}},
		{1, day.Add(48 * time.Hour), false, "api", map[string]string{"route": "/x", "status": "200"}, 0, 0, []float64{1}},
	}
	var minute, coarse, other logstore.MetricRollups
	want := map[string]logstore.MetricRead{}
	for i, r := range rows {
		m := logstore.MetricRow{ProjectID: r.project, Minute: r.minute, Field: "duration_ms", Service: r.service,
			Dims: dimsJSON(t, r.dims), Errors: r.errors, NonNumeric: r.nonNum}
		for _, v := range r.values {
			m.Sketch.Add(v)
		}
		enc, err := m.Sketch.MarshalBinary()
		require.NoError(t, err)
		route, hasRoute := r.dims["route"]
		status, hasStatus := r.dims["status"]
		if i < 6 {
			want[string(enc)+"|"+r.minute.String()] = logstore.MetricRead{
				Minute: r.minute, Minutes: map[bool]int16{false: 1, true: 10}[r.coarse], Service: []byte(r.service),
				Values: [][]byte{[]byte(route), []byte(status)}, HasKeys: hasRoute && hasStatus,
				Count: m.Sketch.Count(), Errors: r.errors, NonNumeric: r.nonNum, Sketch: enc,
			}
		}
		switch {
		case r.coarse:
			coarse.Add(&m)
		default:
			minute.Add(&m)
		}
	}
	m := logstore.MetricRow{ProjectID: 1, Minute: day, Field: "other", Service: "api", Dims: `{"route":"/a","status":"1"}`}
	m.Sketch.Add(1)
	other.Add(&m)
	require.NoError(t, logstore.InsertMetricRollups(ctx, pool, &minute, false))
	require.NoError(t, logstore.InsertMetricRollups(ctx, pool, &other, true))
	require.NoError(t, logstore.InsertCoarseMetricRollups(ctx, pool, &coarse))

	q := logstore.MetricQuery{Projects: []int64{1, 2}, Services: []string{"api", "wéb \"x\"", ""}, Field: "duration_ms",
		Since: y2k.Add(-time.Hour), Until: day.Add(24 * time.Hour), Keys: []string{"route", "status"}}
	got := map[string]logstore.MetricRead{}
	require.NoError(t, logstore.ReadMetricRollups(ctx, pool, q, func(r *logstore.MetricRead) error {
		// The bytes are only valid during the call: keep copies.
		c := *r
		c.Service = slices.Clone(r.Service)
		c.Sketch = slices.Clone(r.Sketch)
		c.Values = nil
		for _, v := range r.Values {
			c.Values = append(c.Values, slices.Clone(v))
		}
		require.Equal(t, time.UTC, r.Minute.Location())
		got[string(c.Sketch)+"|"+c.Minute.String()] = c
		return nil
	}))
	require.Equal(t, want, got)

	// Without keys, a row has no values (and HasKeys: none is missing).
	q.Keys, q.Services = nil, nil
	n := 0
	require.NoError(t, logstore.ReadMetricRollups(ctx, pool, q, func(r *logstore.MetricRead) error {
		n++
		require.Empty(t, r.Values)
		require.True(t, r.HasKeys)
		return nil
	}))
	require.Equal(t, 7, n)
}

func bigValues() []float64 {
	var v []float64
	for i := range 3000 {
		v = append(v, float64(i%101)*0.25-5)
	}
	return v
}

func dimsJSON(t *testing.T, dims map[string]string) string {
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := logstore.DimsJSON(keys, func(i int) string { return dims[keys[i]] })
	require.True(t, json.Valid([]byte(s)), s)
	return s
}
