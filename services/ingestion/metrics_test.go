package ingestion

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/sketch"
)

func TestExtractMetrics(t *testing.T) {
	sp := newMetricSpec([]string{"duration_ms", "bytes"}, []string{"route", "method", "status"})
	type want struct {
		field   uint8
		numeric bool
		value   float64
		isError bool
	}
	for _, tc := range []struct {
		name  string
		ctx   string
		level logstore.Level
		want  []want
		dims  []string
	}{
		{"express", `{"method":"GET","path":"/users/42","route":"/users/:id","status":200,"duration_ms":12.345}`, logstore.LevelInfo,
			[]want{{0, true, 12.345, false}}, []string{"/users/:id", "GET", "200"}},
		{"no field", `{"method":"GET","status":200}`, logstore.LevelInfo, nil, nil},
		{"nested only", `{"req":{"duration_ms":5},"x":"duration_ms"}`, logstore.LevelInfo, nil, nil},
		{"as a string", `{"duration_ms":"12"}`, logstore.LevelInfo, []want{{0, false, 0, false}}, []string{"", "", ""}},
		{"null", `{"duration_ms":null,"route":null}`, logstore.LevelInfo, []want{{0, false, 0, false}}, []string{"", "", ""}},
		{"status 503", `{"duration_ms":1,"status":503}`, logstore.LevelInfo, []want{{0, true, 1, true}}, []string{"", "", "503"}},
		{"status string 500", `{"duration_ms":1,"status":"500"}`, logstore.LevelInfo, []want{{0, true, 1, true}}, []string{"", "", "500"}},
		{"status text", `{"duration_ms":1,"status":"5xx"}`, logstore.LevelInfo, []want{{0, true, 1, false}}, []string{"", "", "5xx"}},
		{"error level", `{"duration_ms":-2.5e1,"status":200}`, logstore.LevelError, []want{{0, true, -25, true}}, []string{"", "", "200"}},
		{"two fields, duplicate key", `{"bytes":10,"duration_ms":1,"duration_ms":2}`, logstore.LevelInfo,
			[]want{{0, true, 2, false}, {1, true, 10, false}}, []string{"", "", ""}},
		{"escaped key and value", `{"dur\u0061tion_ms":3,"route":"/a\"b","duration_ms":4}`, logstore.LevelInfo,
			[]want{{0, true, 4, false}}, []string{`/a"b`, "", ""}},
		{"object dimension", `{"duration_ms":3,"route":{"a":1}}`, logstore.LevelInfo, []want{{0, true, 3, false}}, []string{`{"a":1}`, "", ""}},
		{"tricky strings and nesting", ` { "a" : "x\\\"}\\" , "b":[{"c":"]}"},[]],"route":"/é","n":{"duration_ms":9} , "duration_ms" : 7 } `, logstore.LevelInfo,
			[]want{{0, true, 7, false}}, []string{"/é", "", ""}},
		{"empty object", `{}`, logstore.LevelInfo, nil, nil},
		{"beyond float64", `{"duration_ms":1e400}`, logstore.LevelInfo, []want{{0, false, 0, false}}, []string{"", "", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &batch{}
			sp.extract(b, 42, tc.ctx, tc.level)
			require.Len(t, b.metrics, len(tc.want))
			for i, w := range tc.want {
				s := b.metrics[i]
				require.Equal(t, int64(42), s.ts)
				require.Equal(t, w.field, s.field)
				require.Equal(t, w.numeric, s.numeric)
				require.Equal(t, w.value, s.value)
				require.Equal(t, w.isError, s.isError)
			}
			if tc.dims == nil {
				require.Empty(t, b.metricDims)
			} else {
				require.Equal(t, tc.dims, b.metricDims)
			}
		})
	}
}

// rollupRow is a logs.metric_rollups row read back.
type rollupRow struct {
	minute           time.Time
	field, service   string
	dims             map[string]string
	count, errs, non int64
	sketch           sketch.Sketch
	compacted        bool
}

func readRollups(t *testing.T, e *env) []rollupRow {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT minute, field, service_name, dims::text, count, errors, non_numeric, sketch, compacted, sum, min, max
		FROM logs.metric_rollups ORDER BY minute, dims::text`)
	require.NoError(t, err)
	defer rows.Close()
	var out []rollupRow
	for rows.Next() {
		var r rollupRow
		var dims string
		var enc []byte
		var sum, lo, hi float64
		require.NoError(t, rows.Scan(&r.minute, &r.field, &r.service, &dims, &r.count, &r.errs, &r.non, &enc, &r.compacted, &sum, &lo, &hi))
		r.minute = r.minute.UTC()
		require.NoError(t, json.Unmarshal([]byte(dims), &r.dims))
		require.NoError(t, r.sketch.UnmarshalBinary(enc))
		require.Equal(t, r.count, r.sketch.Count())
		require.Equal(t, sum, r.sketch.Sum())
		require.Equal(t, lo, r.sketch.Min())
		require.Equal(t, hi, r.sketch.Max())
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestMetricRollupsWrittenWithTheEntries: one row per (minute, key) with
// the exact values of the committed entries, in the transaction that
// wrote them.
func TestMetricRollupsWrittenWithTheEntries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	m0 := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	var logs []*logsv1.LogInput
	for i := 1; i <= 1000; i++ {
		route := "/a"
		if i%2 == 0 {
			route = "/b"
		}
		ts := m0.Add(time.Duration(i%3) * time.Minute).Add(time.Duration(i) * time.Millisecond)
		logs = append(logs, &logsv1.LogInput{Timestamp: ts.Format(time.RFC3339Nano), Level: "info", Message: "req",
			ContextJson: fmt.Sprintf(`{"route":%q,"method":"GET","status":%d,"duration_ms":%d}`, route, 200+300*(i%5/4), i)})
	}
	logs = append(logs,
		&logsv1.LogInput{Timestamp: m0.Format(time.RFC3339Nano), Message: "odd", ContextJson: `{"route":"/a","method":"GET","status":200,"duration_ms":"slow"}`},
		&logsv1.LogInput{Timestamp: m0.Format(time.RFC3339Nano), Message: "plain", ContextJson: `{"route":"/a"}`})
	commits := e.svc.commits.Load()
	res, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: logs})
	require.NoError(t, err)
	require.EqualValues(t, 1002, res.GetCount())
	require.Equal(t, commits+1, e.svc.commits.Load(), "one transaction")

	got := readRollups(t, e)
	type key struct {
		minute time.Time
		route  string
		status string
	}
	want := map[key][]float64{}
	for i := 1; i <= 1000; i++ {
		route := "/a"
		if i%2 == 0 {
			route = "/b"
		}
		k := key{m0.Add(time.Duration(i%3) * time.Minute), route, fmt.Sprint(200 + 300*(i%5/4))}
		want[k] = append(want[k], float64(i))
	}
	var total int64
	for _, r := range got {
		require.Equal(t, "duration_ms", r.field)
		require.Equal(t, "api", r.service)
		require.False(t, r.compacted)
		require.Equal(t, "GET", r.dims["method"])
		k := key{r.minute, r.dims["route"], r.dims["status"]}
		if r.non == 1 {
			require.Equal(t, key{m0, "/a", "200"}, k)
		}
		vals := want[k]
		require.NotNil(t, vals, "unexpected key %v", k)
		require.Equal(t, int64(len(vals)), r.count, "%v", k)
		require.True(t, r.sketch.Exact())
		if k.status == "500" {
			require.Equal(t, r.count, r.errs)
		} else {
			require.Zero(t, r.errs)
		}
		require.Equal(t, vals[(len(vals)+1)/2-1], r.sketch.Quantile(0.5), "%v", k)
		total += r.count
		delete(want, k)
	}
	require.Empty(t, want)
	require.EqualValues(t, 1000, total)
}

// TestMetricRollupsDisabled: with --metric-fields empty nothing is
// summarised.
func TestMetricRollupsDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{MetricFields: []string{}}})
	_, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: []*logsv1.LogInput{
		{Message: "req", ContextJson: `{"duration_ms":5}`},
	}})
	require.NoError(t, err)
	require.Zero(t, count(t, e.pool, `SELECT count(*) FROM logs.metric_rollups`))
	require.EqualValues(t, 1, count(t, e.pool, `SELECT count(*) FROM logs.entries`))
}

// TestMetricKeysBounded: past maxMetricKeys-1 keys of a (minute, service),
// one transaction's other values count under <other>.
func TestMetricKeysBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{MetricDimensions: []string{"route"}}})
	ts := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	var logs []*logsv1.LogInput
	for i := range maxMetricKeys + 200 {
		logs = append(logs, &logsv1.LogInput{Timestamp: ts.Format(time.RFC3339Nano), Message: "req",
			ContextJson: fmt.Sprintf(`{"route":"/r%d","duration_ms":%d}`, i, i)})
	}
	_, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: logs})
	require.NoError(t, err)
	got := readRollups(t, e)
	require.Len(t, got, maxMetricKeys)
	var other *rollupRow
	for i := range got {
		if got[i].dims["route"] == logstore.OtherDimension {
			other = &got[i]
		}
	}
	require.NotNil(t, other)
	require.EqualValues(t, 201, other.count)
}

// TestMembersWalkAgreesWithEncodingJSON: the walk finds the top-level
// members encoding/json finds, with the same raw values, in random
// objects as RepairObject stores them.
func TestMembersWalkAgreesWithEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{`"a"`, `"\"}"`, `"\\"`, `"é\n"`, `1`, `-2.5e3`, `null`, `true`, `[]`, `{}`, `[1,"]",{"x":"}"}]`, `{"k":[{"q":"\\\""}]}`}
	ws := []string{"", " ", "\n\t "}
	for range 2000 {
		var sb strings.Builder
		sb.WriteString(ws[r.IntN(3)] + "{")
		n := r.IntN(6)
		for i := range n {
			if i > 0 {
				sb.WriteString(ws[r.IntN(3)] + ",")
			}
			fmt.Fprintf(&sb, "%s\"k%d%s\"%s:%s%s", ws[r.IntN(3)], i, []string{"", `\"`, `\\`}[r.IntN(3)], ws[r.IntN(3)], ws[r.IntN(3)], pieces[r.IntN(len(pieces))])
		}
		sb.WriteString(ws[r.IntN(3)] + "}" + ws[r.IntN(3)])
		text := sb.String()
		obj, err := scanContext(text)
		require.NoError(t, err, text)
		var want map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(obj.Text), &want), text)
		got := map[string]string{}
		m := members{s: obj.Text}
		for m.next() {
			var key string
			require.NoError(t, json.Unmarshal([]byte(obj.Text[m.keyStart:m.keyEnd]), &key))
			got[key] = obj.Text[m.val.Start:m.val.End]
		}
		require.False(t, m.bad, text)
		require.Len(t, got, len(want), text)
		for k, v := range want {
			require.Equal(t, string(v), got[k], "%s in %s", k, text)
		}
	}
}
