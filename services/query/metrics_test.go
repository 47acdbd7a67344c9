package query

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/sketch"
)

// request is one entry of the metric tests: a request log as the sample
// middlewares send it.
type request struct {
	project int64
	service string
	ts      time.Time
	route   string
	status  int
	level   int16
	value   any // duration_ms: a number, or anything else
}

// addRequests stores the entries and the rollup rows a writer would have
// appended for them (dimensions route, method, status; one row per key and
// minute, in chunks of chunk entries as separate commits would).
func addRequests(t *testing.T, pool *pgxpool.Pool, chunk int, reqs []request) {
	t.Helper()
	ctx := context.Background()
	for start := 0; start < len(reqs); start += chunk {
		part := reqs[start:min(start+chunk, len(reqs))]
		rows := map[string]*logstore.MetricRow{}
		var order []string
		for _, r := range part {
			c, err := json.Marshal(map[string]any{"route": r.route, "method": "GET", "status": r.status, "duration_ms": r.value, "bytes": 100})
			require.NoError(t, err)
			lvl := r.level
			if lvl == 0 {
				lvl = int16(logstore.LevelInfo)
			}
			insert(t, pool, row{project: r.project, ts: r.ts, service: r.service, level: lvl, message: "GET " + r.route, context: string(c)})
			minute := r.ts.Truncate(time.Minute)
			dims := logstore.DimsJSON([]string{"route", "method", "status"}, func(i int) string {
				return []string{r.route, "GET", fmt.Sprint(r.status)}[i]
			})
			k := fmt.Sprint(r.project, minute, r.service, dims)
			m := rows[k]
			if m == nil {
				m = &logstore.MetricRow{ProjectID: r.project, Minute: minute, Field: "duration_ms", Service: r.service, Dims: dims}
				rows[k] = m
				order = append(order, k)
			}
			v, ok := r.value.(float64)
			if !ok {
				if iv, isInt := r.value.(int); isInt {
					v, ok = float64(iv), true
				}
			}
			if !ok {
				m.NonNumeric++
				continue
			}
			m.Sketch.Add(v)
			if r.status >= 500 || lvl >= int16(logstore.LevelError) {
				m.Errors++
			}
		}
		var ins logstore.MetricRollups
		for _, k := range order {
			ins.Add(rows[k])
		}
		require.NoError(t, logstore.InsertMetricRollups(ctx, pool, &ins, false))
	}
}

var metricsBase = time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)

func newMetricsService(t *testing.T) (logsv1.QueryServiceClient, *pgxpool.Pool) {
	t.Helper()
	s, pool := newService(t, Config{}, metricsBase)
	s.now = func() time.Time { return metricsBase.Add(90 * time.Minute) }
	return serve(t, s, member()), pool
}

func metricsReq(mod func(*logsv1.GetMetricsRequest)) *logsv1.GetMetricsRequest {
	req := &logsv1.GetMetricsRequest{Since: timestamppb.New(metricsBase), Until: timestamppb.New(metricsBase.Add(time.Hour))}
	if mod != nil {
		mod(req)
	}
	return req
}

// percentileDisc is the value of rank ⌈q·n⌉.
func percentileDisc(vals []float64, q float64) float64 {
	s := slices.Clone(vals)
	slices.Sort(s)
	return s[max(int(math.Ceil(q*float64(len(s)))), 1)-1]
}

func TestMetricsOneToThousand(t *testing.T) {
	t.Parallel()
	c, pool := newMetricsService(t)
	var reqs []request
	for v := 1; v <= 1000; v++ {
		// Spread over ten minutes, in commits of 37 entries.
		reqs = append(reqs, request{project: alpha, service: "api", ts: metricsBase.Add(time.Duration(v%10)*time.Minute + time.Duration(v)*time.Millisecond),
			route: "/orders/:id", status: 200, value: v})
	}
	addRequests(t, pool, 37, reqs)

	for _, field := range []string{"duration_ms", "context.duration_ms", ""} {
		res, err := c.GetMetrics(as(member()), metricsReq(func(r *logsv1.GetMetricsRequest) {
			r.Field = field
			r.GroupBy = []string{"context.route"}
		}))
		require.NoError(t, err)
		require.Equal(t, "duration_ms", res.GetField())
		require.Len(t, res.GetSeries(), 1)
		se := res.GetSeries()[0]
		require.Equal(t, map[string]string{"route": "/orders/:id"}, se.GetGroup())
		require.EqualValues(t, 1000, se.GetCount())
		require.True(t, se.GetExact())
		require.Equal(t, 500.0, se.GetP50())
		require.Equal(t, 900.0, se.GetP90())
		require.Equal(t, 950.0, se.GetP95())
		require.Equal(t, 990.0, se.GetP99())
		require.Equal(t, 1000.0, se.GetMax())
		require.Equal(t, 500.5, se.GetMean())
		require.Zero(t, se.GetErrorRate())
		require.EqualValues(t, 1, res.GetTotalSeries())
		require.Empty(t, res.GetNextPageToken())
	}

	// Twice more: 3000 values, past the exact limit: within 1%.
	for range 2 {
		addRequests(t, pool, 500, reqs)
	}
	res, err := c.GetMetrics(as(member()), metricsReq(func(r *logsv1.GetMetricsRequest) { r.GroupBy = []string{"route"} }))
	require.NoError(t, err)
	se := res.GetSeries()[0]
	require.EqualValues(t, 3000, se.GetCount())
	require.False(t, se.GetExact())
	require.InEpsilon(t, 500.0, se.GetP50(), sketch.Alpha)
	require.InEpsilon(t, 990.0, se.GetP99(), sketch.Alpha)
	require.Equal(t, 1000.0, se.GetMax())
}

// TestMetricsFastAndExactPathsAgree: grouped by route, by service, by
// both and by nothing, the rollups give what percentile_disc over the
// entries gives (the exact path, forced by grouping by a key that is not a
// dimension), while the values are exact.
func TestMetricsFastAndExactPathsAgree(t *testing.T) {
	t.Parallel()
	c, pool := newMetricsService(t)
	var reqs []request
	vals := map[string][]float64{}
	errs := map[string]int{}
	for i := range 900 {
		route := []string{"/a", "/b", "/c"}[i%3]
		service := []string{"api", "worker"}[i%2]
		st := 200
		if i%10 == 0 {
			st = 503
		}
		v := float64((i*7919)%1000) / 4
		reqs = append(reqs, request{project: alpha, service: service, ts: metricsBase.Add(time.Duration(i) * 3 * time.Second), route: route, status: st, value: v})
		for _, k := range []string{"route=" + route, "service=" + service, "both=" + route + service, "all="} {
			vals[k] = append(vals[k], v)
			if st >= 500 {
				errs[k]++
			}
		}
	}
	// Not numbers: counted as non_numeric, never as values.
	reqs = append(reqs, request{project: alpha, service: "api", ts: metricsBase.Add(time.Minute), route: "/a", status: 200, value: "slow"},
		request{project: alpha, service: "api", ts: metricsBase.Add(time.Minute), route: "/a", status: 200, value: nil})
	// Another project the caller cannot read, and one outside the range.
	reqs = append(reqs, request{project: gamma, service: "api", ts: metricsBase.Add(time.Minute), route: "/a", status: 200, value: 1e6},
		request{project: alpha, service: "api", ts: metricsBase.Add(-time.Minute), route: "/a", status: 200, value: 1e6})
	addRequests(t, pool, 100, reqs)

	for _, tc := range []struct {
		groupBy []string
		prefix  string
		key     func(map[string]string) string
		series  int
	}{
		{[]string{"route"}, "route=", func(g map[string]string) string { return g["route"] }, 3},
		{[]string{"service_name"}, "service=", func(g map[string]string) string { return g["service_name"] }, 2},
		{[]string{"route", "service_name"}, "both=", func(g map[string]string) string { return g["route"] + g["service_name"] }, 6},
		{nil, "all=", func(map[string]string) string { return "" }, 1},
	} {
		t.Run(fmt.Sprint(tc.groupBy), func(t *testing.T) {
			fast, err := c.GetMetrics(as(member()), metricsReq(func(r *logsv1.GetMetricsRequest) {
				r.GroupBy = tc.groupBy
				r.Step = durationpb.New(10 * time.Minute)
			}))
			require.NoError(t, err)
			require.Len(t, fast.GetSeries(), tc.series)
			require.EqualValues(t, 2, fast.GetNonNumeric()) // "slow" and null
			require.EqualValues(t, 600, fast.GetStepSeconds())
			for i, se := range fast.GetSeries() {
				k := tc.prefix + tc.key(se.GetGroup())
				want := vals[k]
				require.NotNil(t, want, k)
				require.EqualValues(t, len(want), se.GetCount(), k)
				require.True(t, se.GetExact())
				require.Equal(t, percentileDisc(want, 0.5), se.GetP50(), k)
				require.Equal(t, percentileDisc(want, 0.99), se.GetP99(), k)
				require.Equal(t, float64(errs[k])/float64(len(want)), se.GetErrorRate(), k)
				require.Len(t, se.GetBuckets(), 6)
				var sum int64
				for _, b := range se.GetBuckets() {
					sum += b.GetCount()
				}
				require.EqualValues(t, len(want), sum)
				if i > 0 {
					require.LessOrEqual(t, se.GetCount(), fast.GetSeries()[i-1].GetCount(), "by count, most first")
				}
			}
			// The exact path: a group_by key the rollups do not have
			// ("bytes", the same value everywhere) alongside.
			exact, err := c.GetMetrics(as(member()), metricsReq(func(r *logsv1.GetMetricsRequest) {
				r.GroupBy = append(slices.Clone(tc.groupBy), "bytes")
				r.Step = durationpb.New(10 * time.Minute)
			}))
			require.NoError(t, err)
			require.Equal(t, fast.GetNonNumeric(), exact.GetNonNumeric())
			require.Len(t, exact.GetSeries(), len(fast.GetSeries()))
			for i, se := range exact.GetSeries() {
				f := fast.GetSeries()[i]
				require.Equal(t, "100", se.GetGroup()["bytes"])
				delete(se.Group, "bytes")
				require.Equal(t, fmt.Sprint(f.GetGroup()), fmt.Sprint(se.GetGroup()))
				for _, p := range [][2]float64{{f.GetP50(), se.GetP50()}, {f.GetP90(), se.GetP90()}, {f.GetP95(), se.GetP95()},
					{f.GetP99(), se.GetP99()}, {f.GetMax(), se.GetMax()}, {f.GetErrorRate(), se.GetErrorRate()}} {
					require.Equal(t, p[0], p[1])
				}
				require.InDelta(t, f.GetMean(), se.GetMean(), 1e-9)
				require.True(t, se.GetExact())
				for j, b := range se.GetBuckets() {
					fb := f.GetBuckets()[j]
					require.Equal(t, fb.GetStart().AsTime(), b.GetStart().AsTime())
					require.Equal(t, []any{fb.GetCount(), fb.GetP50(), fb.GetP95(), fb.GetP99(), fb.GetErrorRate()},
						[]any{b.GetCount(), b.GetP50(), b.GetP95(), b.GetP99(), b.GetErrorRate()})
				}
			}
		})
	}
}

// TestMetricsExactPathForAnotherField: a field that is not summarised is
// computed from the entries.
func TestMetricsExactPathForAnotherField(t *testing.T) {
	t.Parallel()
	c, pool := newMetricsService(t)
	insert(t, pool,
		row{project: alpha, ts: metricsBase.Add(time.Minute), service: "api", level: 3, message: "q", context: `{"rows": 10, "table": "orders"}`},
		row{project: alpha, ts: metricsBase.Add(2 * time.Minute), service: "api", level: 5, message: "q", context: `{"rows": 30, "table": "orders"}`},
		row{project: alpha, ts: metricsBase.Add(3 * time.Minute), service: "api", level: 3, message: "q", context: `{"rows": 20, "table": "users"}`},
		row{project: alpha, ts: metricsBase.Add(3 * time.Minute), service: "api", level: 3, message: "q", context: `{"rows": "many", "table": "users"}`},
		row{project: alpha, ts: metricsBase.Add(3 * time.Minute), service: "api", level: 3, message: "q", context: `{"rows": 1e400}`},
		row{project: alpha, ts: metricsBase.Add(4 * time.Minute), service: "api", level: 3, message: "q", context: `{"other": 1}`},
	)
	res, err := c.GetMetrics(as(member()), metricsReq(func(r *logsv1.GetMetricsRequest) {
		r.Field = "rows"
		r.GroupBy = []string{"table"}
	}))
	require.NoError(t, err)
	require.EqualValues(t, 2, res.GetNonNumeric())
	require.Len(t, res.GetSeries(), 2)
	o, u := res.GetSeries()[0], res.GetSeries()[1]
	require.Equal(t, map[string]string{"table": "orders"}, o.GetGroup())
	require.EqualValues(t, 2, o.GetCount())
	require.Equal(t, []float64{10, 30, 30, 30, 20, 0.5}, []float64{o.GetP50(), o.GetP99(), o.GetMax(), o.GetP95(), o.GetMean(), o.GetErrorRate()})
	require.True(t, o.GetExact())
	require.Equal(t, map[string]string{"table": "users"}, u.GetGroup())
	require.EqualValues(t, 1, u.GetCount())
	require.Equal(t, 20.0, u.GetP50())
	require.EqualValues(t, 60, res.GetStepSeconds()) // one hour: 60 one-minute buckets
	require.Len(t, o.GetBuckets(), 60)
	require.EqualValues(t, 1, o.GetBuckets()[1].GetCount())
	require.Equal(t, 1.0, o.GetBuckets()[2].GetErrorRate())
}

func TestMetricsPages(t *testing.T) {
	t.Parallel()
	c, pool := newMetricsService(t)
	var reqs []request
	for r := range 5 {
		for i := 0; i <= r; i++ {
			reqs = append(reqs, request{project: alpha, service: "api", ts: metricsBase.Add(time.Duration(i) * time.Second), route: fmt.Sprintf("/r%d", r), status: 200, value: i})
		}
	}
	addRequests(t, pool, 1000, reqs)
	var got []string
	tok := ""
	for range 3 {
		res, err := c.GetMetrics(as(member()), metricsReq(func(r *logsv1.GetMetricsRequest) {
			r.GroupBy = []string{"route"}
			r.PageSize = 2
			r.PageToken = tok
		}))
		require.NoError(t, err)
		require.EqualValues(t, 5, res.GetTotalSeries())
		for _, se := range res.GetSeries() {
			got = append(got, se.GetGroup()["route"])
		}
		tok = res.GetNextPageToken()
	}
	require.Empty(t, tok)
	require.Equal(t, []string{"/r4", "/r3", "/r2", "/r1", "/r0"}, got)

	// A token is bound to its request.
	res, err := c.GetMetrics(as(member()), metricsReq(func(r *logsv1.GetMetricsRequest) { r.GroupBy = []string{"route"}; r.PageSize = 2 }))
	require.NoError(t, err)
	_, err = c.GetMetrics(as(member()), metricsReq(func(r *logsv1.GetMetricsRequest) {
		r.GroupBy = []string{"method"}
		r.PageToken = res.GetNextPageToken()
	}))
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestMetricsInvalid(t *testing.T) {
	t.Parallel()
	c, _ := newMetricsService(t)
	for _, tc := range []struct {
		name string
		mod  func(*logsv1.GetMetricsRequest)
		msg  string
	}{
		{"empty field", func(r *logsv1.GetMetricsRequest) { r.Field = "context." }, "field must name a context key"},
		{"NUL field", func(r *logsv1.GetMetricsRequest) { r.Field = "a\x00" }, "field must not contain NUL characters"},
		{"four keys", func(r *logsv1.GetMetricsRequest) { r.GroupBy = []string{"a", "b", "c", "d"} }, "group_by: at most 3 keys"},
		{"twice", func(r *logsv1.GetMetricsRequest) { r.GroupBy = []string{"route", "context.route"} }, `group_by: "route" given twice`},
		{"empty key", func(r *logsv1.GetMetricsRequest) { r.GroupBy = []string{""} }, "group_by must name a context key"},
		{"negative step", func(r *logsv1.GetMetricsRequest) { r.Step = durationpb.New(-time.Minute) }, "step must be a positive duration"},
		{"too many buckets", func(r *logsv1.GetMetricsRequest) {
			r.Since = timestamppb.New(metricsBase.Add(-30 * 24 * time.Hour))
			r.Step = durationpb.New(time.Second)
		}, "step: 10m0s splits the range into 4326 buckets; at most 1000"},
		{"since after until", func(r *logsv1.GetMetricsRequest) { r.Since = r.Until }, "since must be before until"},
		{"range too long", func(r *logsv1.GetMetricsRequest) { r.Since = timestamppb.New(metricsBase.Add(-40 * 24 * time.Hour)) }, "since: the range is 961h0m0s; at most 31 days"},
		{"negative page size", func(r *logsv1.GetMetricsRequest) { r.PageSize = -1 }, "page_size must not be negative"},
		{"garbled token", func(r *logsv1.GetMetricsRequest) { r.PageToken = "x" }, "invalid page_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.GetMetrics(as(member()), metricsReq(tc.mod))
			st, _ := status.FromError(err)
			require.Equal(t, codes.InvalidArgument, st.Code(), st.Message())
			require.Equal(t, tc.msg, st.Message())
		})
	}
	_, err := c.GetMetrics(as(member()), metricsReq(func(r *logsv1.GetMetricsRequest) { r.Project = []string{"gamma"} }))
	require.Equal(t, codes.PermissionDenied, status.Code(err))
}

// TestMetricsDefaults: an hour until now, about 60 buckets, whole minutes.
func TestMetricsDefaults(t *testing.T) {
	t.Parallel()
	c, _ := newMetricsService(t)
	res, err := c.GetMetrics(as(member()), &logsv1.GetMetricsRequest{})
	require.NoError(t, err)
	now := metricsBase.Add(90 * time.Minute)
	require.Equal(t, now.Add(-time.Hour), res.GetSince().AsTime())
	require.Equal(t, now, res.GetUntil().AsTime())
	require.EqualValues(t, 60, res.GetStepSeconds())
	require.Equal(t, "duration_ms", res.GetField())
	require.Empty(t, res.GetSeries())

	res, err = c.GetMetrics(as(member()), metricsReq(func(r *logsv1.GetMetricsRequest) {
		r.Since = timestamppb.New(metricsBase.Add(30 * time.Second))
		r.Until = timestamppb.New(metricsBase.Add(90*time.Minute + time.Second))
		r.Step = durationpb.New(61 * time.Second)
	}))
	require.NoError(t, err)
	require.Equal(t, metricsBase, res.GetSince().AsTime())
	require.Equal(t, metricsBase.Add(91*time.Minute), res.GetUntil().AsTime())
	require.EqualValues(t, 120, res.GetStepSeconds())
}

// BenchmarkGetMetrics24h: a day of compacted rollups of 3 projects (the
// member reads 2), 2 services, 8 routes and 4 statuses, each key seen every
// minute with a lognormal latency (rows exact or bucketed by its traffic),
// read over 24 h grouped by route. Run with:
// go test -run '^$' -bench GetMetrics ./services/query/
func BenchmarkGetMetrics24h(b *testing.B) {
	for _, perMinute := range []int{5, 2000}[:benchVariants()] {
		b.Run(fmt.Sprintf("values per key-minute=%d", perMinute), func(b *testing.B) {
			s, pool := newService(b, Config{}, metricsBase)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(1, 2))
			routes := []string{"/a/:id", "/b", "/c/:id", "/d", "/e", "/f/:id", "/g", "/healthz"}
			statuses := []string{"200", "201", "404", "500"}
			var rows int64
			for m := range 1440 {
				var ins logstore.MetricRollups
				minute := metricsBase.Add(time.Duration(m) * time.Minute)
				for p := int64(1); p <= 3; p++ {
					for _, svc := range []string{"api", "web"} {
						for ri, rt := range routes {
							for _, st := range statuses {
								row := logstore.MetricRow{ProjectID: p, Minute: minute, Field: "duration_ms", Service: svc,
									Dims: logstore.DimsJSON([]string{"route", "method", "status"}, func(i int) string { return []string{rt, "GET", st}[i] })}
								for range perMinute {
									row.Sketch.Add(math.Round(float64(ri+1)*10*math.Exp(r.NormFloat64()*0.7)*1000) / 1000)
								}
								ins.Add(&row)
							}
						}
					}
				}
				require.NoError(b, logstore.InsertMetricRollups(ctx, pool, &ins, true))
			}
			// As the compactor leaves them: ten-minute rows past two hours.
			for {
				tx, err := pool.Begin(ctx)
				require.NoError(b, err)
				in, _, err := logstore.CompactMetricSlots(ctx, tx, metricsBase.Add(24*time.Hour), 1000)
				require.NoError(b, err)
				require.NoError(b, tx.Commit(ctx))
				if in == 0 {
					break
				}
			}
			require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM logs.metric_rollups`).Scan(&rows))
			_, err := pool.Exec(ctx, "VACUUM ANALYZE logs.metric_rollups")
			require.NoError(b, err)
			var size int64
			require.NoError(b, pool.QueryRow(ctx, `SELECT sum(octet_length(sketch)) FROM logs.metric_rollups`).Scan(&size))
			b.Logf("%d rollup rows, %.1f MB of sketches", rows, float64(size)/1e6)
			if os.Getenv("EXPLAIN") != "" {
				for _, q := range []string{
					`SELECT minute, service_name, dims ?& $5::text[], count, errors, non_numeric, sketch, coalesce(dims ->> ($5::text[])[1], '') FROM logs.metric_rollups WHERE project_id = ANY($1::bigint[]) AND field = $2 AND minute >= $3 AND minute < $4`,
					`SELECT minute, service_name, count, errors, non_numeric, sketch FROM logs.metric_rollups WHERE project_id = ANY($1::bigint[]) AND field = $2 AND minute >= $3 AND minute < $4`,
					`SELECT minute, service_name, count, errors, non_numeric FROM logs.metric_rollups WHERE project_id = ANY($1::bigint[]) AND field = $2 AND minute >= $3 AND minute < $4`,
				} {
					for range 2 {
						t0 := time.Now()
						args := []any{pgx.QueryExecModeExec, []int64{1, 2}, "duration_ms", metricsBase, metricsBase.Add(24 * time.Hour), []string{"route"}}
						if !strings.Contains(q, "$5") {
							args = args[:5]
						}
						rs, err := pool.Query(ctx, q, args...)
						require.NoError(b, err)
						n := 0
						for rs.Next() {
							n++
						}
						require.NoError(b, rs.Err())
						b.Logf("%d rows in %s: %.60s", n, time.Since(t0), q)
					}
					_ = q
				}
			}
			req := &logsv1.GetMetricsRequest{GroupBy: []string{"route"}, Since: timestamppb.New(metricsBase), Until: timestamppb.New(metricsBase.Add(24 * time.Hour))}
			b.ResetTimer()
			cpu := processCPU(b)
			for b.Loop() {
				res, err := s.GetMetrics(as(member()), req)
				if err != nil || len(res.GetSeries()) != len(routes) {
					b.Fatal(err, len(res.GetSeries()))
				}
			}
			// The CPU of this process (not of the database's): the service's
			// side of a call.
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N)/float64(time.Millisecond), "go-cpu-ms/op")
			b.ReportMetric(float64(rows)*2/3, "rows/op")
		})
	}
}

// processCPU is the user and system CPU this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchVariants() int {
	if os.Getenv("EXPLAIN") != "" {
		return 1
	}
	return 2
}

// TestMetricsFromSlots: past logstore.MetricCoarseAfter the compactor
// keeps ten-minute rows; a range reaching back there is read in whole
// slots with a step of whole slots, and gives what the entries give.
func TestMetricsFromSlots(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, metricsBase)
	s.now = func() time.Time { return metricsBase.Add(5 * time.Hour) }
	c := serve(t, s, member())
	var reqs []request
	for i := range 600 {
		reqs = append(reqs, request{project: alpha, service: "api", ts: metricsBase.Add(time.Duration(i) * 5 * time.Second),
			route: []string{"/a", "/b"}[i%2], status: 200, value: float64(i % 97)})
	}
	addRequests(t, pool, 50, reqs)
	ctx := context.Background()
	for {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		in, _, err := logstore.CompactMetricSlots(ctx, tx, metricsBase.Add(3*time.Hour), 1000)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		if in == 0 {
			break
		}
	}
	var minuteRows int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM logs.metric_rollups WHERE minutes = 1`).Scan(&minuteRows))
	require.Zero(t, minuteRows)

	mod := func(groupBy ...string) func(*logsv1.GetMetricsRequest) {
		return func(r *logsv1.GetMetricsRequest) {
			r.Since = timestamppb.New(metricsBase.Add(3 * time.Minute))
			r.Until = timestamppb.New(metricsBase.Add(47 * time.Minute))
			r.Step = durationpb.New(15 * time.Minute)
			r.GroupBy = groupBy
		}
	}
	fast, err := c.GetMetrics(as(member()), metricsReq(mod("route")))
	require.NoError(t, err)
	require.Equal(t, metricsBase, fast.GetSince().AsTime())
	require.Equal(t, metricsBase.Add(50*time.Minute), fast.GetUntil().AsTime())
	require.EqualValues(t, 1200, fast.GetStepSeconds())
	exact, err := c.GetMetrics(as(member()), metricsReq(mod("route", "bytes")))
	require.NoError(t, err)
	require.Len(t, fast.GetSeries(), 2)
	require.Len(t, exact.GetSeries(), 2)
	for i, f := range fast.GetSeries() {
		e := exact.GetSeries()[i]
		require.EqualValues(t, 300, f.GetCount())
		require.Equal(t, []any{f.GetCount(), f.GetP50(), f.GetP99(), f.GetMax()}, []any{e.GetCount(), e.GetP50(), e.GetP99(), e.GetMax()})
		require.Len(t, f.GetBuckets(), 3)
		for j, b := range f.GetBuckets() {
			require.Equal(t, e.GetBuckets()[j].GetCount(), b.GetCount())
			require.Equal(t, e.GetBuckets()[j].GetP95(), b.GetP95())
		}
	}
}

// TestMetricsPagesKeepTheDefaultUntil: the pages of a listing whose until
// defaulted to now rank the first page's range.
func TestMetricsPagesKeepTheDefaultUntil(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, metricsBase)
	var calls atomic.Int64
	s.now = func() time.Time { return metricsBase.Add(90*time.Minute + time.Duration(calls.Add(1)-1)*time.Hour) }
	c := serve(t, s, member())
	var reqs []request
	for r := range 3 {
		reqs = append(reqs, request{project: alpha, service: "api", ts: metricsBase.Add(time.Hour), route: fmt.Sprintf("/r%d", r), status: 200, value: r})
	}
	addRequests(t, pool, 100, reqs)
	req := &logsv1.GetMetricsRequest{GroupBy: []string{"route"}, PageSize: 2}
	first, err := c.GetMetrics(as(member()), req)
	require.NoError(t, err)
	require.Len(t, first.GetSeries(), 2)
	req.PageToken = first.GetNextPageToken()
	second, err := c.GetMetrics(as(member()), req)
	require.NoError(t, err)
	require.Equal(t, first.GetUntil().AsTime(), second.GetUntil().AsTime())
	require.Len(t, second.GetSeries(), 1)
	require.EqualValues(t, 3, second.GetTotalSeries())
}
