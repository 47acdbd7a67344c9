package query

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/sketch"
)

// GetMetrics (docs/metrics.md). The range is widened to whole minutes,
// the rollups' resolution. When the field has rollup rows in the range and
// every one of them carries the group_by keys (other than service_name) as
// dimensions, the answer is merged from the rollups (the fast path: about
// keys × minutes rows, whatever the number of entries). Otherwise it is
// computed from logs.entries with percentile_disc (the exact path: every
// matching entry's jsonb is read, so a long range of many entries can take
// seconds, bounded by the call's deadline).

const (
	defaultMetricField  = "duration_ms"
	defaultMetricsRange = time.Hour
	// maxMetricsRange is the longest range a call may ask for (an
	// analysis' default window).
	maxMetricsRange = 31 * 24 * time.Hour
	// maxGroupBy bounds group_by.
	maxGroupBy = 3
	// maxMetricBuckets bounds the buckets of a series (range / step).
	maxMetricBuckets = 1000
	// maxKeyBytes bounds a field or group_by key.
	maxKeyBytes = 200
	// defaultMetricSeries and maxMetricSeries are page_size's default and
	// cap.
	defaultMetricSeries = 100
	maxMetricSeries     = 1000
	serviceGroupKey     = "service_name"
	// coarseMargin: the query reads in slots from this much later than the
	// compactor's boundary (logstore.MetricCoarseAfter).
	coarseMargin = 10 * time.Minute
)

// metricsRequest is a validated GetMetrics request.
type metricsRequest struct {
	f            *filters
	field        string
	groupBy      []string // keys without "context.", in the request's order
	since, until time.Time
	step         time.Duration
	first        time.Time // start of the first bucket
	n            int       // buckets
	pageSize     int
	offset       int
	hash         [8]byte
	untilArg     time.Time // until before widening: what a page token carries
}

func (s *Service) parseMetrics(ctx context.Context, req *logsv1.GetMetricsRequest) (*metricsRequest, error) {
	f, err := parseFilters(ctx, rawFilters{project: req.GetProject(), service: req.GetService(), since: req.GetSince(), until: req.GetUntil()})
	if err != nil {
		return nil, err
	}
	r := &metricsRequest{f: f}
	r.field = strings.TrimPrefix(strings.TrimSpace(req.GetField()), "context.")
	if req.GetField() == "" {
		r.field = defaultMetricField
	}
	if err := checkKey("field", r.field); err != nil {
		return nil, err
	}
	if len(req.GetGroupBy()) > maxGroupBy {
		return nil, apierr.Invalidf("group_by: at most %d keys", maxGroupBy)
	}
	for _, g := range req.GetGroupBy() {
		k := g
		if k != serviceGroupKey {
			k = strings.TrimPrefix(strings.TrimSpace(g), "context.")
		}
		if err := checkKey("group_by", k); err != nil {
			return nil, err
		}
		if slices.Contains(r.groupBy, k) {
			return nil, apierr.Invalidf("group_by: %q given twice", k)
		}
		r.groupBy = append(r.groupBy, k)
	}

	// The page token is bound to the request as given (so a default until
	// of now does not change it from page to page).
	r.hash = metricsHash(f, r.field, r.groupBy, req.GetStep().AsDuration())

	var tokUntil time.Time
	if tok := req.GetPageToken(); tok != "" {
		if r.offset, tokUntil, err = decodeMetricsToken(tok, r.hash); err != nil {
			return nil, err
		}
	}
	now := s.now()
	until := ceilMicro(now)
	switch {
	case f.until != nil:
		until = *f.until
	case !tokUntil.IsZero():
		// The first page's default until: later pages rank the same range.
		until = tokUntil
	}
	since := until.Add(-defaultMetricsRange)
	if f.since != nil {
		since = *f.since
	}
	if !since.Before(until) {
		return nil, apierr.Invalidf("since must be before until (default now)")
	}
	r.since = floorTo(since, time.Minute)
	r.until = floorTo(until.Add(-time.Microsecond), time.Minute).Add(time.Minute)
	if rng := r.until.Sub(r.since); rng > maxMetricsRange {
		return nil, apierr.Invalidf("since: the range is %s; at most %d days", rng.Round(time.Minute), int(maxMetricsRange/(24*time.Hour)))
	}
	if st := req.GetStep(); st != nil {
		if err := st.CheckValid(); err != nil || st.AsDuration() <= 0 {
			return nil, apierr.Invalidf("step must be a positive duration")
		}
		d := st.AsDuration()
		r.step = (d + time.Minute - 1) / time.Minute * time.Minute
	} else {
		r.step = max(roundWidth(r.until.Sub(r.since), maxBuckets), time.Minute)
	}
	// A range that reaches back to where the compactor keeps ten-minute
	// slots is read in whole slots, and its step is whole slots
	// (coarseMargin covers a compactor whose clock is ahead; a row that does
	// not fit all the same sends the call to the exact path).
	if coarse := now.Add(-logstore.MetricCoarseAfter + coarseMargin); r.since.Before(coarse) {
		w := logstore.MetricCoarseWidth
		r.since = floorTo(r.since, w)
		r.step = (r.step + w - 1) / w * w
		if r.until.Before(coarse.Add(w)) {
			r.until = floorTo(r.until.Add(-time.Microsecond), w).Add(w)
		}
	}
	r.first = floorTo(r.since, r.step)
	last := floorTo(r.until.Add(-time.Microsecond), r.step)
	r.n = int(last.Sub(r.first)/r.step) + 1
	if r.n > maxMetricBuckets {
		return nil, apierr.Invalidf("step: %s splits the range into %d buckets; at most %d", r.step, r.n, maxMetricBuckets)
	}

	switch ps := req.GetPageSize(); {
	case ps < 0:
		return nil, apierr.Invalidf("page_size must not be negative")
	case ps == 0:
		r.pageSize = defaultMetricSeries
	default:
		r.pageSize = min(int(ps), maxMetricSeries)
	}
	r.untilArg = until
	return r, nil
}

func checkKey(name, k string) error {
	switch {
	case k == "":
		return apierr.Invalidf("%s must name a context key", name)
	case len(k) > maxKeyBytes:
		return apierr.Invalidf("%s: a key of at most %d bytes", name, maxKeyBytes)
	case strings.ContainsRune(k, 0):
		return apierr.Invalidf("%s must not contain NUL characters", name)
	}
	return nil
}

func metricsHash(f *filters, field string, groupBy []string, step time.Duration) [8]byte {
	h := sha256.New()
	fh := f.hash()
	h.Write([]byte("query.metrics.v1"))
	h.Write(fh[:])
	var buf [8]byte
	for _, s := range append([]string{field}, groupBy...) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	binary.BigEndian.PutUint64(buf[:], uint64(step))
	h.Write(buf[:])
	var out [8]byte
	copy(out[:], h.Sum(nil))
	return out
}

// A metrics page token: version 1 | offset (4 bytes) | until in Unix
// microseconds (8) | the request's hash (8), base64url. until is the first
// page's, so the pages of a listing whose until defaulted to now rank the
// same range.
func encodeMetricsToken(offset int, until time.Time, hash [8]byte) string {
	var b [21]byte
	b[0] = 1
	binary.BigEndian.PutUint32(b[1:5], uint32(offset))
	binary.BigEndian.PutUint64(b[5:13], uint64(until.UnixMicro()))
	copy(b[13:], hash[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeMetricsToken(tok string, hash [8]byte) (int, time.Time, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 21 || b[0] != 1 || [8]byte(b[13:21]) != hash {
		return 0, time.Time{}, errBadPageToken
	}
	return int(binary.BigEndian.Uint32(b[1:5])), time.UnixMicro(int64(binary.BigEndian.Uint64(b[5:13]))).UTC(), nil
}

// metricAcc is a series or a bucket being merged.
type metricAcc struct {
	sk     sketch.Sketch
	errors int64
}

type metricSeries struct {
	values  []string
	total   metricAcc
	buckets []*metricAcc // nil until a value falls in it
	// exact path: the statistics as computed by the database.
	sql *entryStats
}

type entryStats struct {
	count, errors      int64
	sum, max           float64
	p50, p90, p95, p99 float64
	bucketStats        []entryStats
	bucketSeen         []bool
}

// GetMetrics computes statistics of a numeric context field, grouped and
// over time.
func (s *Service) GetMetrics(ctx context.Context, req *logsv1.GetMetricsRequest) (*logsv1.GetMetricsResponse, error) {
	r, err := s.parseMetrics(ctx, req)
	if err != nil {
		return nil, err
	}
	res := &logsv1.GetMetricsResponse{
		Field: r.field, StepSeconds: int64(r.step / time.Second),
		Since: timestamppb.New(r.since), Until: timestamppb.New(r.until),
	}
	if len(r.f.projects) == 0 {
		return res, nil
	}
	series, nonNumeric, ok, err := s.metricsFromRollups(ctx, r)
	if err != nil {
		return nil, err
	}
	if !ok {
		if series, nonNumeric, err = s.metricsFromEntries(ctx, r); err != nil {
			return nil, err
		}
	}
	res.NonNumeric = nonNumeric
	count := func(m *metricSeries) int64 {
		if m.sql != nil {
			return m.sql.count
		}
		return m.total.sk.Count()
	}
	slices.SortFunc(series, func(a, b *metricSeries) int {
		return cmp.Or(cmp.Compare(count(b), count(a)), slices.Compare(a.values, b.values))
	})
	res.TotalSeries = int64(len(series))
	if r.offset < len(series) {
		end := min(r.offset+r.pageSize, len(series))
		for _, m := range series[r.offset:end] {
			res.Series = append(res.Series, r.seriesProto(m))
		}
		if end < len(series) {
			res.NextPageToken = encodeMetricsToken(end, r.untilArg, r.hash)
		}
	}
	return res, nil
}

func (r *metricsRequest) seriesProto(m *metricSeries) *logsv1.MetricSeries {
	out := &logsv1.MetricSeries{Group: make(map[string]string, len(r.groupBy)), Buckets: make([]*logsv1.MetricBucket, r.n)}
	for i, k := range r.groupBy {
		out.Group[k] = m.values[i]
	}
	rate := func(errs, n int64) float64 {
		if n == 0 {
			return 0
		}
		return float64(errs) / float64(n)
	}
	for i := range out.Buckets {
		out.Buckets[i] = &logsv1.MetricBucket{Start: timestamppb.New(r.first.Add(time.Duration(i) * r.step))}
	}
	if st := m.sql; st != nil {
		out.Count, out.Max, out.Exact = st.count, st.max, true
		out.Mean = st.sum / float64(st.count)
		out.P50, out.P90, out.P95, out.P99 = st.p50, st.p90, st.p95, st.p99
		out.ErrorRate = rate(st.errors, st.count)
		for i, b := range st.bucketStats {
			if !st.bucketSeen[i] {
				continue
			}
			pb := out.Buckets[i]
			pb.Count, pb.P50, pb.P95, pb.P99, pb.ErrorRate = b.count, b.p50, b.p95, b.p99, rate(b.errors, b.count)
		}
		return out
	}
	sk := &m.total.sk
	out.Count, out.Max, out.Exact = sk.Count(), sk.Max(), sk.Exact()
	out.Mean = sk.Sum() / float64(sk.Count())
	out.P50, out.P90, out.P95, out.P99 = sk.Quantile(0.5), sk.Quantile(0.9), sk.Quantile(0.95), sk.Quantile(0.99)
	out.ErrorRate = rate(m.total.errors, sk.Count())
	for i, b := range m.buckets {
		if b == nil || b.sk.Count() == 0 {
			continue
		}
		pb := out.Buckets[i]
		pb.Count = b.sk.Count()
		pb.P50, pb.P95, pb.P99 = b.sk.Quantile(0.5), b.sk.Quantile(0.95), b.sk.Quantile(0.99)
		pb.ErrorRate = rate(b.errors, pb.Count)
	}
	return out
}

// metricsFromRollups merges the rollup rows of the range; ok is false when
// they cannot answer (no row, or a row without a group_by key). The range
// is read in rollupParts parts (split at a bucket boundary, each on its own
// connection and goroutine), so the database's scan and the merging run on
// every core; each row is merged into its bucket only, and a series' total
// is the merge of its buckets.
func (s *Service) metricsFromRollups(ctx context.Context, r *metricsRequest) (series []*metricSeries, nonNumeric int64, ok bool, err error) {
	parts := min(rollupParts, r.n)
	results := make([]rollupPart, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := r.n*p/parts, r.n*(p+1)/parts
		since, until := r.first.Add(time.Duration(lo)*r.step), r.first.Add(time.Duration(hi)*r.step)
		if p == 0 {
			since = r.since
		}
		if p == parts-1 {
			until = r.until
		}
		wg.Go(func() { results[p] = s.readRollupPart(ctx, r, since, until) })
	}
	wg.Wait()
	rows := 0
	index := make(map[string]*metricSeries)
	for _, pr := range results {
		if pr.err != nil {
			return nil, 0, false, pr.err
		}
		if pr.incomplete {
			return nil, 0, false, nil
		}
		rows += pr.rows
		nonNumeric += pr.nonNumeric
		for _, ms := range pr.series {
			k := strings.Join(ms.values, "\x00")
			have := index[k]
			if have == nil {
				index[k] = ms
				series = append(series, ms)
				continue
			}
			// The parts' buckets are disjoint.
			for i, b := range ms.buckets {
				if b != nil {
					have.buckets[i] = b
				}
			}
		}
	}
	if rows == 0 {
		return nil, 0, false, nil
	}
	for _, ms := range series {
		for _, b := range ms.buckets {
			if b != nil {
				ms.total.sk.Merge(&b.sk)
				ms.total.errors += b.errors
			}
		}
	}
	return series, nonNumeric, true, nil
}

// rollupParts is how many parts of its range a query reads at once: more
// than the two cores measured, so that the parts' scans and merges
// interleave and the slowest ends sooner (the last two hours' minute rows
// are three times the rows per hour of the slots before them). 24 h of 20
// projects: 462–479 ms p50 with 2 parts, 412–422 with 4 (docs/metrics.md).
const rollupParts = 4

// rollupPart is what one part of the range read.
type rollupPart struct {
	series     []*metricSeries
	nonNumeric int64
	rows       int
	incomplete bool
	err        error
}

// readRollupPart merges the rows of [since, until) per group and bucket.
func (s *Service) readRollupPart(ctx context.Context, r *metricsRequest, since, until time.Time) (out rollupPart) {
	var keys []string
	pos := make([]int, len(r.groupBy)) // group_by i is Values[pos[i]], or the service when -1
	for i, k := range r.groupBy {
		if k == serviceGroupKey {
			pos[i] = -1
			continue
		}
		pos[i] = len(keys)
		keys = append(keys, k)
	}
	q := logstore.MetricQuery{Projects: r.f.projects, Services: r.f.services, Field: r.field, Since: since, Until: until, Keys: keys}
	index := make(map[string]*metricSeries)
	var keyBuf []byte
	out.err = logstore.ReadMetricRollups(ctx, s.pool, q, func(m *logstore.MetricRead) error {
		out.rows++
		if !m.HasKeys {
			out.incomplete = true
		}
		if out.incomplete {
			return nil
		}
		out.nonNumeric += m.NonNumeric
		if m.Count == 0 {
			return nil
		}
		value := func(i int) []byte {
			if pos[i] < 0 {
				return m.Service
			}
			return m.Values[pos[i]]
		}
		keyBuf = keyBuf[:0]
		for i := range pos {
			keyBuf = append(keyBuf, value(i)...)
			keyBuf = append(keyBuf, 0)
		}
		ms := index[string(keyBuf)] // no allocation
		if ms == nil {
			// m's bytes are only valid during the call: a new series keeps
			// copies.
			values := make([]string, len(pos))
			for i := range values {
				values[i] = string(value(i))
			}
			ms = &metricSeries{values: values, buckets: make([]*metricAcc, r.n)}
			index[string(keyBuf)] = ms
			out.series = append(out.series, ms)
		}
		if w := time.Duration(m.Minutes) * time.Minute; w > time.Minute &&
			(r.step%w != 0 || m.Minute.Before(r.since) || m.Minute.Add(w).After(r.until)) {
			out.incomplete = true // a slot across a bucket or the range's end
			return nil
		}
		i := int(m.Minute.Sub(r.first) / r.step)
		if i < 0 || i >= r.n {
			return fmt.Errorf("metric rollup minute %s outside the buckets from %s", m.Minute, r.first)
		}
		b := ms.buckets[i]
		if b == nil {
			b = &metricAcc{}
			ms.buckets[i] = b
		}
		if err := b.sk.MergeBinary(m.Sketch); err != nil {
			return fmt.Errorf("reading metric rollups: minute %s: %w", m.Minute, err)
		}
		b.errors += m.Errors
		return nil
	})
	return out
}

// metricsFromEntries computes the statistics from logs.entries: per group
// and per (group, bucket), percentile_disc over the entries whose field is
// a number (float8 holds it), in one scan.
func (s *Service) metricsFromEntries(ctx context.Context, r *metricsRequest) ([]*metricSeries, int64, error) {
	b := &sqlBuilder{}
	f := *r.f
	f.since, f.until = &r.since, &r.until
	field := b.arg(r.field)
	step := b.arg(int64(r.step / time.Second))
	f.addFilters(b, filterOpts{projects: true, times: true})
	b.and("context ? " + field)
	var groups, inner []string
	for i, k := range r.groupBy {
		col := fmt.Sprintf("g%d", i)
		groups = append(groups, col)
		if k == serviceGroupKey {
			inner = append(inner, "service_name AS "+col)
		} else {
			inner = append(inner, "coalesce(context ->> "+b.arg(k)+", '') AS "+col)
		}
	}
	gcols := strings.Join(groups, ", ")
	sep := ""
	if gcols != "" {
		sep = ", "
	}
	sql := `WITH e AS (
	SELECT ` + strings.Join(append(inner, ""), ", ") + `date_bin(` + step + `::bigint * interval '1 second', ts, timestamptz '1970-01-01 00:00:00+00') AS bucket,
		CASE WHEN jsonb_typeof(context -> ` + field + `) = 'number' AND abs((context ->> ` + field + `)::numeric) < 1e308
			THEN (context ->> ` + field + `)::float8 END AS v,
		level >= ` + b.arg(int16(logstore.LevelError)) + ` OR CASE jsonb_typeof(context -> 'status')
			WHEN 'number' THEN (context ->> 'status')::numeric >= 500
			WHEN 'string' THEN (context ->> 'status') ~ '^[0-9]+(\.[0-9]+)?$' AND (context ->> 'status')::numeric >= 500
			ELSE false END AS err
	FROM logs.entries WHERE ` + b.where() + `
)
SELECT GROUPING(bucket), ` + gcols + sep + `bucket, count(v), count(*) - count(v), coalesce(sum(v), 0), coalesce(max(v), 0),
	percentile_disc(ARRAY[0.5, 0.9, 0.95, 0.99]) WITHIN GROUP (ORDER BY v), count(*) FILTER (WHERE err AND v IS NOT NULL)
FROM e GROUP BY GROUPING SETS ((` + gcols + `), (` + gcols + sep + `bucket))`
	rows, err := s.pool.Query(ctx, sql, oneShot(b.args)...)
	if err != nil {
		return nil, 0, fmt.Errorf("computing metrics from entries: %w", err)
	}
	defer rows.Close()
	index := make(map[string]*metricSeries)
	var series []*metricSeries
	var nonNumeric int64
	values := make([]string, len(r.groupBy))
	var grouping int32
	var bucket *time.Time
	var st entryStats
	var pcts []*float64
	dest := []any{&grouping}
	for i := range values {
		dest = append(dest, &values[i])
	}
	dest = append(dest, &bucket, &st.count, new(int64), &st.sum, &st.max, &pcts, &st.errors)
	nonNumericAt := len(values) + 3
	for rows.Next() {
		var nn int64
		dest[nonNumericAt] = &nn
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, fmt.Errorf("reading metrics from entries: %w", err)
		}
		if grouping == 1 {
			nonNumeric += nn
		}
		if st.count == 0 {
			continue
		}
		key := strings.Join(values, "\x00")
		ms := index[key]
		if ms == nil {
			ms = &metricSeries{values: slices.Clone(values), sql: &entryStats{bucketStats: make([]entryStats, r.n), bucketSeen: make([]bool, r.n)}}
			index[key] = ms
			series = append(series, ms)
		}
		got := st
		for i, p := range pcts {
			v := 0.0
			if p != nil {
				v = *p
			}
			switch i {
			case 0:
				got.p50 = v
			case 1:
				got.p90 = v
			case 2:
				got.p95 = v
			case 3:
				got.p99 = v
			}
		}
		if grouping == 1 {
			got.bucketStats, got.bucketSeen = ms.sql.bucketStats, ms.sql.bucketSeen
			*ms.sql = got
			continue
		}
		i := int(bucket.Sub(r.first) / r.step)
		if i < 0 || i >= r.n {
			return nil, 0, fmt.Errorf("metrics bucket %s outside the buckets from %s", bucket.UTC(), r.first)
		}
		ms.sql.bucketStats[i], ms.sql.bucketSeen[i] = got, true
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading metrics from entries: %w", err)
	}
	return series, nonNumeric, nil
}
