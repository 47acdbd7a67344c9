package logstore

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/devsmith/logs/internal/logstore/sketch"
)

// Metric rollups (migration 0007, docs/metrics.md).
//
// A writer appends, in the transaction that writes the entries, one row of
// logs.metric_rollups per (project, minute, field, service, dimensions) of
// the entries with a summarised field (QueueMetricRollups, a statement of
// its own after QueueCommitted's). The analysis service merges each key's
// rows of a minute into one compacted row (CompactMetricMinutes), and past
// MetricCoarseAfter each key's rows of a MetricCoarseWidth slot into one
// (CompactMetricSlots), bounding the keys of a (project, minute or slot,
// field, service) at MaxMetricKeys, and deletes the rows older than the
// first day their project's retention keeps (DeleteMetricRollupsExpired).
// The query service reads them with ReadMetricRollups.

// Past MetricCoarseAfter, the compactor merges a key's minute rows into
// rows of MetricCoarseWidth (aligned to the Unix epoch): a reader whose
// range reaches back that far reads it in whole MetricCoarseWidth slots.
const (
	MetricCoarseAfter = 2 * time.Hour
	MetricCoarseWidth = 10 * time.Minute
)

// MaxMetricKeys bounds the dimension combinations of one (project, minute,
// field, service): past it a key's values count under OtherDimension in
// every dimension.
const MaxMetricKeys = 1000

// OtherDimension is the value of every dimension of the key that collects
// a minute's combinations past MaxMetricKeys.
const OtherDimension = "<other>"

// MetricRollups are rows of logs.metric_rollups, as parallel arrays (the
// insert's arguments). Dims are JSON objects of strings.
type MetricRollups struct {
	ProjectIDs []int64
	Minutes    []time.Time
	Fields     []string
	Services   []string
	Dims       []string
	Counts     []int64
	Errors     []int64
	NonNumeric []int64
	Sums       []float64
	Mins       []float64
	Maxs       []float64
	Sketches   [][]byte
}

// MetricRow is one row of logs.metric_rollups.
type MetricRow struct {
	ProjectID  int64
	Minute     time.Time
	Field      string
	Service    string
	Dims       string // a JSON object of strings
	Errors     int64
	NonNumeric int64
	Sketch     sketch.Sketch // count, sum, min and max are its own
}

// Len is the number of rows.
func (m *MetricRollups) Len() int { return len(m.ProjectIDs) }

// Reset empties m, keeping its memory.
func (m *MetricRollups) Reset() {
	clear(m.Sketches) // drop the encodings they referenced
	*m = MetricRollups{
		ProjectIDs: m.ProjectIDs[:0], Minutes: m.Minutes[:0], Fields: m.Fields[:0], Services: m.Services[:0],
		Dims: m.Dims[:0], Counts: m.Counts[:0], Errors: m.Errors[:0], NonNumeric: m.NonNumeric[:0],
		Sums: m.Sums[:0], Mins: m.Mins[:0], Maxs: m.Maxs[:0], Sketches: m.Sketches[:0],
	}
}

// Add appends r, with its sketch encoded.
func (m *MetricRollups) Add(r *MetricRow) {
	enc, _ := r.Sketch.MarshalBinary() // cannot fail
	m.ProjectIDs = append(m.ProjectIDs, r.ProjectID)
	m.Minutes = append(m.Minutes, r.Minute)
	m.Fields = append(m.Fields, r.Field)
	m.Services = append(m.Services, r.Service)
	m.Dims = append(m.Dims, r.Dims)
	m.Counts = append(m.Counts, r.Sketch.Count())
	m.Errors = append(m.Errors, r.Errors)
	m.NonNumeric = append(m.NonNumeric, r.NonNumeric)
	m.Sums = append(m.Sums, r.Sketch.Sum())
	m.Mins = append(m.Mins, r.Sketch.Min())
	m.Maxs = append(m.Maxs, r.Sketch.Max())
	m.Sketches = append(m.Sketches, enc)
}

// insertMetricRollupsSQL appends the rows $1..$12, compacted $13, each
// covering $14 minutes.
const insertMetricRollupsSQL = `INSERT INTO logs.metric_rollups
	(project_id, minute, field, service_name, dims, count, errors, non_numeric, sum, min, max, sketch, compacted, minutes)
SELECT p, m, f, s, d::jsonb, c, e, n, su, mi, ma, sk, $13, $14 FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
	$6::bigint[], $7::bigint[], $8::bigint[], $9::float8[], $10::float8[], $11::float8[], $12::bytea[])
	AS u(p, m, f, s, d, c, e, n, su, mi, ma, sk)`

func (m *MetricRollups) args(compacted bool, minutes int16) []any {
	return []any{m.ProjectIDs, m.Minutes, m.Fields, m.Services, m.Dims, m.Counts, m.Errors, m.NonNumeric,
		m.Sums, m.Mins, m.Maxs, m.Sketches, compacted, minutes}
}

// QueueMetricRollups queues on b, for the transaction that wrote the
// entries m summarises (before its COMMIT, in the same round trip), the
// statement that appends m's rows. Its result is read with Exec.
func QueueMetricRollups(b *pgx.Batch, m *MetricRollups) {
	b.Queue(insertMetricRollupsSQL, m.args(false, 1)...)
}

// InsertMetricRollups appends m's rows (of one minute each), marked
// compacted or not.
func InsertMetricRollups(ctx context.Context, db Querier, m *MetricRollups, compacted bool) error {
	return insertMetricRollups(ctx, db, m, compacted, 1)
}

// InsertCoarseMetricRollups appends m's rows, compacted, each covering
// MetricCoarseWidth from its (aligned) minute.
func InsertCoarseMetricRollups(ctx context.Context, db Querier, m *MetricRollups) error {
	return insertMetricRollups(ctx, db, m, true, int16(MetricCoarseWidth/time.Minute))
}

func insertMetricRollups(ctx context.Context, db Querier, m *MetricRollups, compacted bool, minutes int16) error {
	if m.Len() == 0 {
		return nil
	}
	if _, err := db.Exec(ctx, insertMetricRollupsSQL, m.args(compacted, minutes)...); err != nil {
		return fmt.Errorf("inserting %d metric rollups: %w", m.Len(), err)
	}
	return nil
}

// MetricQuery selects rollup rows: a field's, of some projects (and
// services, when any), with a minute in [Since, Until).
type MetricQuery struct {
	Projects     []int64
	Services     []string
	Field        string
	Since, Until time.Time
	// Keys are the dimension keys read from each row, in this order.
	Keys []string
}

// MetricRead is one row as ReadMetricRollups hands it over; it covers
// [Minute, Minute + Minutes). Values are the row's values of the query's
// Keys (HasKeys false when the row lacks one of them: it was written with
// other dimensions). Service, Values and Sketch are the row's bytes as
// received, only valid during the callback (copy what is kept).
type MetricRead struct {
	Minute     time.Time
	Minutes    int16
	Service    []byte
	Values     [][]byte
	HasKeys    bool
	Count      int64
	Errors     int64
	NonNumeric int64
	Sketch     []byte
}

// metricReadColumns are ReadMetricRollups' columns (then one text column
// per key): their type and their width in bytes (0: any). They are read in
// the binary format, but for text, whose two formats are the same bytes
// (pgx asks for text in the text format).
var metricReadColumns = [...]struct {
	oid   uint32
	width int
}{{pgtype.TimestamptzOID, 8}, {pgtype.Int2OID, 2}, {pgtype.TextOID, 0}, {pgtype.BoolOID, 1},
	{pgtype.Int8OID, 8}, {pgtype.Int8OID, 8}, {pgtype.Int8OID, 8}, {pgtype.ByteaOID, 0}}

// ReadMetricRollups calls fn with every row q selects, in no order.
func ReadMetricRollups(ctx context.Context, db Querier, q MetricQuery, fn func(*MetricRead) error) error {
	var sb strings.Builder
	keys := q.Keys
	if keys == nil {
		keys = []string{} // ?& of NULL is NULL
	}
	args := []any{q.Projects, q.Field, q.Since, q.Until, keys}
	sb.WriteString(`SELECT minute, minutes, service_name, dims ?& $5::text[], count, errors, non_numeric, sketch`)
	for i := range q.Keys {
		fmt.Fprintf(&sb, ", coalesce(dims ->> ($5::text[])[%d], '')", i+1)
	}
	sb.WriteString(` FROM logs.metric_rollups WHERE project_id = ANY($1::bigint[]) AND field = $2 AND minute >= $3 AND minute < $4`)
	if len(q.Services) > 0 {
		args = append(args, q.Services)
		sb.WriteString(` AND service_name = ANY($6::text[])`)
	}
	// One-shot, planned for these values (like the query service's reads),
	// and described first, so that the rows come in the binary format: a
	// 24 h read of 20 projects is 450,000 rows, and parsing their sketches
	// from hex and their minutes from text took 40% of its CPU. The rows
	// are decoded from their bytes (Scan's reflection over 9 columns took a
	// third of the CPU of such a read).
	rows, err := db.Query(ctx, sb.String(), append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
	if err != nil {
		return fmt.Errorf("reading metric rollups: %w", err)
	}
	defer rows.Close()
	if err := checkMetricColumns(rows.FieldDescriptions(), len(q.Keys)); err != nil {
		return err
	}
	r := MetricRead{Values: make([][]byte, len(q.Keys))}
	for rows.Next() {
		if err := decodeMetricRead(rows.RawValues(), &r); err != nil {
			return fmt.Errorf("reading metric rollups: %w", err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading metric rollups: %w", err)
	}
	return nil
}

// checkMetricColumns checks that the columns are the binary ones
// decodeMetricRead reads.
func checkMetricColumns(fds []pgconn.FieldDescription, keys int) error {
	if len(fds) != len(metricReadColumns)+keys {
		return fmt.Errorf("reading metric rollups: %d columns, want %d", len(fds), len(metricReadColumns)+keys)
	}
	for i, fd := range fds {
		want := uint32(pgtype.TextOID)
		if i < len(metricReadColumns) {
			want = metricReadColumns[i].oid
		}
		if fd.DataTypeOID != want || (fd.Format != pgtype.BinaryFormatCode && want != pgtype.TextOID) {
			return fmt.Errorf("reading metric rollups: column %d (%s) has type OID %d in format %d, want OID %d in binary",
				i+1, fd.Name, fd.DataTypeOID, fd.Format, want)
		}
	}
	return nil
}

// pgEpochMicros is PostgreSQL's epoch, 2000-01-01 UTC, in Unix microseconds.
const pgEpochMicros = 946_684_800 * 1_000_000

// decodeMetricRead decodes into r a row of the columns checkMetricColumns
// checked (r keeps references to vals' bytes).
func decodeMetricRead(vals [][]byte, r *MetricRead) error {
	if len(vals) != len(metricReadColumns)+len(r.Values) {
		return fmt.Errorf("a row of %d values, want %d", len(vals), len(metricReadColumns)+len(r.Values))
	}
	for i, v := range vals {
		switch {
		case v == nil:
			return fmt.Errorf("column %d is NULL", i+1)
		case i < len(metricReadColumns) && metricReadColumns[i].width != 0 && len(v) != metricReadColumns[i].width:
			return fmt.Errorf("column %d has %d bytes, want %d", i+1, len(v), metricReadColumns[i].width)
		}
	}
	us := int64(binary.BigEndian.Uint64(vals[0]))
	if us > math.MaxInt64-pgEpochMicros || us == math.MinInt64 {
		return fmt.Errorf("minute: %d µs from 2000-01-01 is not a time", us) // ±infinity
	}
	r.Minute = time.UnixMicro(us + pgEpochMicros).UTC()
	r.Minutes = int16(binary.BigEndian.Uint16(vals[1]))
	r.Service = vals[2]
	r.HasKeys = vals[3][0] != 0
	r.Count = int64(binary.BigEndian.Uint64(vals[4]))
	r.Errors = int64(binary.BigEndian.Uint64(vals[5]))
	r.NonNumeric = int64(binary.BigEndian.Uint64(vals[6]))
	r.Sketch = vals[7]
	copy(r.Values, vals[len(metricReadColumns):])
	return nil
}

// compactTakeSQL deletes and returns every row of up to $2 (project,
// slot) pairs, a slot being $3 minutes from the Unix epoch, that have rows
// matching the condition, before $1 (and from $4 when not null). A row
// committed after the statement's snapshot is not seen, so it stays for the
// next pass.
const compactTakeSQL = `WITH k AS (
	SELECT DISTINCT project_id, date_bin($3::bigint * interval '1 minute', minute, timestamptz '1970-01-01 00:00:00+00') AS slot
	FROM logs.metric_rollups WHERE %s AND minute < $1 AND ($4::timestamptz IS NULL OR minute >= $4) LIMIT $2
)
DELETE FROM logs.metric_rollups r USING k
WHERE r.project_id = k.project_id AND r.minute >= k.slot AND r.minute < k.slot + $3::bigint * interval '1 minute'
RETURNING r.project_id, k.slot, r.field, r.service_name, r.dims::text, r.errors, r.non_numeric, r.sketch`

// CompactMetricMinutes merges, in tx, the rows of up to limit (project,
// minute) pairs in [from, before) that have rows not compacted yet: each
// (field, service, dims) key's rows become one compacted row, and a
// (project, minute, field, service)'s keys past MaxMetricKeys (the fewest
// values first) are merged into its OtherDimension key. It returns the rows
// taken and written (0, 0 when nothing was pending).
func CompactMetricMinutes(ctx context.Context, tx pgx.Tx, from, before time.Time, limit int) (in, out int, err error) {
	return compactMetrics(ctx, tx, "NOT compacted", from, before, time.Minute, limit)
}

// CompactMetricSlots merges, in tx, the rows of up to limit (project,
// MetricCoarseWidth slot) pairs before `before` (a slot boundary) that have
// minute rows: each key's rows of the slot become one row covering the
// slot, its keys bounded as CompactMetricMinutes bounds a minute's.
func CompactMetricSlots(ctx context.Context, tx pgx.Tx, before time.Time, limit int) (in, out int, err error) {
	return compactMetrics(ctx, tx, "minutes = 1", time.Time{}, before, MetricCoarseWidth, limit)
}

func compactMetrics(ctx context.Context, tx pgx.Tx, cond string, from, before time.Time, width time.Duration, limit int) (in, out int, err error) {
	var fromArg *time.Time
	if !from.IsZero() {
		fromArg = &from
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(compactTakeSQL, cond), before, limit, int64(width/time.Minute), fromArg)
	if err != nil {
		return 0, 0, fmt.Errorf("taking metric rollups: %w", err)
	}
	type key struct {
		project int64
		minute  int64
		field   string
		service string
		dims    string
	}
	merged := make(map[key]*MetricRow)
	for rows.Next() {
		var k key
		var minute time.Time
		var errs, nonNum int64
		var enc []byte
		if err := rows.Scan(&k.project, &minute, &k.field, &k.service, &k.dims, &errs, &nonNum, &enc); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("taking metric rollups: %w", err)
		}
		in++
		k.minute = minute.UnixMicro()
		m := merged[k]
		if m == nil {
			m = &MetricRow{ProjectID: k.project, Minute: minute.UTC(), Field: k.field, Service: k.service, Dims: k.dims}
			merged[k] = m
		}
		if err := m.Sketch.MergeBinary(enc); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("taking metric rollups: project %d minute %s: %w", k.project, minute, err)
		}
		m.Errors += errs
		m.NonNumeric += nonNum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("taking metric rollups: %w", err)
	}
	if in == 0 {
		return 0, 0, nil
	}
	list := make([]*MetricRow, 0, len(merged))
	for _, m := range merged {
		list = append(list, m)
	}
	list, err = boundKeys(list)
	if err != nil {
		return 0, 0, err
	}
	var ins MetricRollups
	for _, m := range list {
		ins.Add(m)
	}
	if err := insertMetricRollups(ctx, tx, &ins, true, int16(width/time.Minute)); err != nil {
		return 0, 0, err
	}
	return in, ins.Len(), nil
}

// boundKeys keeps, of each (project, minute, field, service), the
// MaxMetricKeys-1 keys with the most values (and the OtherDimension key)
// and merges the others into OtherDimension.
func boundKeys(list []*MetricRow) ([]*MetricRow, error) {
	slices.SortFunc(list, func(a, b *MetricRow) int {
		return cmp.Or(cmp.Compare(a.ProjectID, b.ProjectID), a.Minute.Compare(b.Minute), strings.Compare(a.Field, b.Field),
			strings.Compare(a.Service, b.Service), cmp.Compare(b.Sketch.Count()+b.NonNumeric, a.Sketch.Count()+a.NonNumeric),
			strings.Compare(a.Dims, b.Dims))
	})
	out := list[:0]
	for start := 0; start < len(list); {
		end := start + 1
		for end < len(list) && sameSeries(list[start], list[end]) {
			end++
		}
		group := list[start:end]
		start = end
		if len(group) <= MaxMetricKeys {
			out = append(out, group...)
			continue
		}
		other, err := otherDims(group[0].Dims)
		if err != nil {
			return nil, err
		}
		var sink *MetricRow
		kept := make([]*MetricRow, 0, MaxMetricKeys)
		for _, m := range group {
			if isOtherDims(m.Dims) {
				sink = m
			}
		}
		if sink == nil {
			sink = &MetricRow{ProjectID: group[0].ProjectID, Minute: group[0].Minute, Field: group[0].Field,
				Service: group[0].Service, Dims: other}
		}
		for _, m := range group {
			if m == sink {
				continue
			}
			if len(kept) < MaxMetricKeys-1 {
				kept = append(kept, m)
				continue
			}
			sink.Errors += m.Errors
			sink.NonNumeric += m.NonNumeric
			sink.Sketch.Merge(&m.Sketch)
		}
		out = append(out, kept...)
		out = append(out, sink)
	}
	return out, nil
}

func sameSeries(a, b *MetricRow) bool {
	return a.ProjectID == b.ProjectID && a.Minute.Equal(b.Minute) && a.Field == b.Field && a.Service == b.Service
}

// isOtherDims reports whether every value of dims is OtherDimension.
func isOtherDims(dims string) bool {
	var m map[string]string
	if json.Unmarshal([]byte(dims), &m) != nil || len(m) == 0 {
		return false
	}
	for _, v := range m {
		if v != OtherDimension {
			return false
		}
	}
	return true
}

// otherDims is the dims object with the keys of dims, each OtherDimension.
func otherDims(dims string) (string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(dims), &m); err != nil {
		return "", fmt.Errorf("reading metric dims %q: %w", dims, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return DimsJSON(keys, func(int) string { return OtherDimension }), nil
}

// DimsJSON is the dims object of keys (in their order, no duplicates) with
// value(i) for keys[i].
func DimsJSON(keys []string, value func(i int) string) string {
	b := make([]byte, 0, 64)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		kj, _ := json.Marshal(k)
		b = append(b, kj...)
		b = append(b, ':')
		vj, _ := json.Marshal(value(i))
		b = append(b, vj...)
	}
	return string(append(b, '}'))
}

// DeleteMetricRollupsExpired deletes the rows of minutes before their
// project's cut-off (the first day its retention keeps, with
// defaultRetention for projects without their own) and returns how many.
func DeleteMetricRollupsExpired(ctx context.Context, db Querier, now time.Time, defaultRetention time.Duration) (int64, error) {
	return deleteExpired(ctx, db, "logs.metric_rollups", "minute", now, defaultRetention)
}
