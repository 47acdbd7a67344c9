package query

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
)

var day = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

// filterData is the data set of the filter tests: entry i is at day+12h+i s.
var filterData = []row{
	1:  {alpha, time.Time{}, "api", 3, "User logged in", `{"user_id": 123}`},
	2:  {alpha, time.Time{}, "api", 5, "Payment failed: 100% declined", `{"user_id": "123", "code": "E1"}`},
	3:  {alpha, time.Time{}, "worker", 2, "job_42 done", `{"user_id": 124}`},
	4:  {alpha, time.Time{}, "worker", 4, "disk at 90%", ``},
	5:  {beta, time.Time{}, "api", 3, "user LOGGED out", `{"user_id": 123, "flag": true}`},
	6:  {beta, time.Time{}, "web", 6, `path C:\temp\x`, `{"nested": {"a": 1}}`},
	7:  {beta, time.Time{}, "web", 1, "trace span", `{"user_id": null}`},
	8:  {gamma, time.Time{}, "api", 5, "User logged in", `{"user_id": 123}`},
	9:  {alpha, time.Time{}, "api", 3, "jobX42 done", ``},
	10: {alpha, time.Time{}, "api", 5, "100 percent", ``},
}

func at(i int) time.Time { return day.Add(12*time.Hour + time.Duration(i)*time.Second) }

// loadFilterData inserts filterData and returns the id of each entry.
func loadFilterData(t *testing.T, s *Service) map[int]int64 {
	ids := map[int]int64{}
	for i := 1; i < len(filterData); i++ {
		r := filterData[i]
		r.ts = at(i)
		ids[i] = insert(t, s.pool, r)[0]
	}
	return ids
}

func ctxf(kv ...string) []*logsv1.ContextFilter {
	var out []*logsv1.ContextFilter
	for i := 0; i < len(kv); i += 2 {
		out = append(out, &logsv1.ContextFilter{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

func TestListEntriesFilters(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day)
	ids := loadFilterData(t, s)
	all := []int{1, 2, 3, 4, 5, 6, 7, 9, 10}

	cases := []struct {
		name string
		req  *logsv1.ListEntriesRequest
		want []int // indexes of filterData, any order
	}{
		{"no filter reads every readable project", &logsv1.ListEntriesRequest{}, all},
		{"project", &logsv1.ListEntriesRequest{Project: []string{"alpha"}}, []int{1, 2, 3, 4, 9, 10}},
		{"deleted project stays readable", &logsv1.ListEntriesRequest{Project: []string{"beta"}}, []int{5, 6, 7}},
		{"projects any of", &logsv1.ListEntriesRequest{Project: []string{"beta", "alpha", "beta"}}, all},
		{"empty project value is no filter", &logsv1.ListEntriesRequest{Project: []string{""}}, all},
		{"service", &logsv1.ListEntriesRequest{Service: []string{"worker"}}, []int{3, 4}},
		{"services any of", &logsv1.ListEntriesRequest{Service: []string{"api", "worker"}}, []int{1, 2, 3, 4, 5, 9, 10}},
		{"unknown service", &logsv1.ListEntriesRequest{Service: []string{"nope"}}, nil},
		{"level", &logsv1.ListEntriesRequest{Level: []string{"ERROR"}}, []int{2, 10}},
		{"levels any case", &logsv1.ListEntriesRequest{Level: []string{"eRRor", "fatal"}}, []int{2, 6, 10}},
		{"level trace", &logsv1.ListEntriesRequest{Level: []string{"trace"}}, []int{7}},
		{"since inclusive", &logsv1.ListEntriesRequest{Since: timestamppb.New(at(3))}, []int{3, 4, 5, 6, 7, 9, 10}},
		{"until exclusive", &logsv1.ListEntriesRequest{Until: timestamppb.New(at(3))}, []int{1, 2}},
		{"since and until", &logsv1.ListEntriesRequest{Since: timestamppb.New(at(2)), Until: timestamppb.New(at(5))}, []int{2, 3, 4}},
		{"nanosecond since rounds up", &logsv1.ListEntriesRequest{Since: timestamppb.New(at(3).Add(time.Nanosecond))}, []int{4, 5, 6, 7, 9, 10}},
		{"nanosecond until keeps the microsecond before", &logsv1.ListEntriesRequest{Until: timestamppb.New(at(3).Add(time.Nanosecond))}, []int{1, 2, 3}},
		{"q case-insensitive", &logsv1.ListEntriesRequest{Q: "logged"}, []int{1, 5}},
		{"q upper case", &logsv1.ListEntriesRequest{Q: "LOGGED IN"}, []int{1}},
		{"q percent is literal", &logsv1.ListEntriesRequest{Q: "100%"}, []int{2}},
		{"q lone percent", &logsv1.ListEntriesRequest{Q: "%"}, []int{2, 4}},
		{"q underscore is literal", &logsv1.ListEntriesRequest{Q: "job_42"}, []int{3}},
		{"q lone underscore", &logsv1.ListEntriesRequest{Q: "_"}, []int{3}},
		{"q backslash is literal", &logsv1.ListEntriesRequest{Q: `C:\temp\`}, []int{6}},
		{"q no match", &logsv1.ListEntriesRequest{Q: "zzz"}, nil},
		{"context number matches number and string", &logsv1.ListEntriesRequest{Context: ctxf("user_id", "123")}, []int{1, 2, 5}},
		{"context other number", &logsv1.ListEntriesRequest{Context: ctxf("user_id", "124")}, []int{3}},
		{"context boolean", &logsv1.ListEntriesRequest{Context: ctxf("flag", "true")}, []int{5}},
		{"context all must match", &logsv1.ListEntriesRequest{Context: ctxf("user_id", "123", "code", "E1")}, []int{2}},
		{"context null is no value", &logsv1.ListEntriesRequest{Context: ctxf("user_id", "null")}, nil},
		{"context missing key", &logsv1.ListEntriesRequest{Context: ctxf("nope", "1")}, nil},
		{"combined", &logsv1.ListEntriesRequest{
			Project: []string{"alpha"}, Service: []string{"api"}, Level: []string{"info", "ERROR"},
			Q: "in", Context: ctxf("user_id", "123"),
		}, []int{1, 2}},
		{"combined with time", &logsv1.ListEntriesRequest{
			Project: []string{"alpha"}, Level: []string{"error"}, Since: timestamppb.New(at(2)), Until: timestamppb.New(at(10)),
		}, []int{2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.PageSize = 1000
			res, err := s.ListEntries(as(member()), tc.req)
			require.NoError(t, err)
			// Newest first: the higher the index, the newer.
			var want []int64
			for i := len(filterData) - 1; i >= 1; i-- {
				for _, w := range tc.want {
					if w == i {
						want = append(want, ids[i])
					}
				}
			}
			var got []int64
			for _, e := range res.GetEntries() {
				got = append(got, e.GetId())
			}
			require.Equal(t, want, got)
			require.Equal(t, int64(len(want)), res.GetTotalSize())
			require.True(t, res.GetTotalSizeExact())
			require.Empty(t, res.GetNextPageToken())
		})
	}
}

func TestListEntriesEntryShape(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day)
	ids := loadFilterData(t, s)
	res, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Q: "Payment"})
	require.NoError(t, err)
	require.Len(t, res.GetEntries(), 1)
	e := res.GetEntries()[0]
	require.Equal(t, ids[2], e.GetId())
	require.Equal(t, "alpha", e.GetProjectSlug())
	require.Equal(t, "api", e.GetServiceName())
	require.Equal(t, "ERROR", e.GetLevel())
	require.Equal(t, "Payment failed: 100% declined", e.GetMessage())
	require.True(t, at(2).Equal(e.GetTimestamp().AsTime()))
	require.Equal(t, `{"code": "E1", "user_id": "123"}`, e.GetContextJson(), "jsonb's text, keys in its order")

	res, err = s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Q: "disk"})
	require.NoError(t, err)
	require.Equal(t, "{}", res.GetEntries()[0].GetContextJson(), "an empty context is an empty object")

	res, err = s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Q: "C:"})
	require.NoError(t, err)
	require.Equal(t, "beta", res.GetEntries()[0].GetProjectSlug())
	require.Equal(t, "FATAL", res.GetEntries()[0].GetLevel())
	require.Equal(t, `{"nested": {"a": 1}}`, res.GetEntries()[0].GetContextJson())
}

// Context numbers are read back as PostgreSQL stored them, digit for digit:
// none goes through a float64.
func TestListEntriesKeepsContextNumbers(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day)
	const stored = `{"a": 9007199254740993, "b": 9223372036854775807, "c": -9223372036854775808, "d": 0.1000000000000000055511151231257827, "s": "x"}`
	insert(t, s.pool, row{alpha, at(1), "api", 3, "big numbers", stored})
	res, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{})
	require.NoError(t, err)
	require.Len(t, res.GetEntries(), 1)
	require.Equal(t, stored, res.GetEntries()[0].GetContextJson())
}

func TestContextJSONIsAlwaysAnObject(t *testing.T) {
	for stored, want := range map[string]string{
		`{"a": 1}`: `{"a": 1}`,
		``:         `{}`,
		`null`:     `{}`,
		`[1, 2]`:   `{"_value": [1, 2]}`,
		`7`:        `{"_value": 7}`,
		`"text"`:   `{"_value": "text"}`,
	} {
		require.Equal(t, want, logstore.ContextJSON([]byte(stored)), "stored %q", stored)
	}
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day)
	ctx := as(member())
	t0 := timestamppb.New(at(1))
	cases := []struct {
		name string
		call func() error
		msg  string
	}{
		{"unknown level", func() error {
			_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{Level: []string{"INFO", "verbose"}})
			return err
		}, `level "verbose" is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL`},
		{"negative page size", func() error {
			_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{PageSize: -1})
			return err
		}, "page_size must not be negative"},
		{"since equals until", func() error {
			_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{Since: t0, Until: t0})
			return err
		}, "since must be before until"},
		{"since after until", func() error {
			_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{Since: timestamppb.New(at(2)), Until: t0})
			return err
		}, "since must be before until"},
		{"invalid timestamp", func() error {
			_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{Since: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}})
			return err
		}, "since is not a valid timestamp"},
		{"empty context key", func() error {
			_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{Context: ctxf("a", "1", "", "2")})
			return err
		}, "context[1].key must not be empty"},
		{"garbled page token", func() error {
			_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{PageToken: "not a token!"})
			return err
		}, "invalid page_token"},
		{"base64 page token of the wrong size", func() error {
			_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{PageToken: "AAAA"})
			return err
		}, "invalid page_token"},
		{"stats unknown level", func() error {
			_, err := s.GetStats(ctx, &logsv1.GetStatsRequest{Level: []string{"loud"}})
			return err
		}, `level "loud" is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL`},
		{"stats since after until", func() error {
			_, err := s.GetStats(ctx, &logsv1.GetStatsRequest{Since: timestamppb.New(at(2)), Until: t0})
			return err
		}, "since must be before until"},
		{"stats since in the future without until", func() error {
			_, err := s.GetStats(ctx, &logsv1.GetStatsRequest{Since: timestamppb.New(time.Now().Add(time.Hour))})
			return err
		}, "since must be before until (default now)"},
		{"stats range too long", func() error {
			_, err := s.GetStats(ctx, &logsv1.GetStatsRequest{Since: timestamppb.New(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)), Until: t0})
			return err
		}, ""},
		{"q with NUL", func() error {
			_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{Q: "a\x00b"})
			return err
		}, "q must not contain NUL characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireCode(t, tc.call(), codes.InvalidArgument, tc.msg)
		})
	}
}

func TestTenancy(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day)
	loadFilterData(t, s)
	since, until := timestamppb.New(day), timestamppb.New(day.Add(24*time.Hour))

	t.Run("member sees only readable projects", func(t *testing.T) {
		res, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Q: "User logged in"})
		require.NoError(t, err)
		require.Len(t, res.GetEntries(), 1, "gamma's entry is not readable")
		require.Equal(t, "alpha", res.GetEntries()[0].GetProjectSlug())

		st, err := s.GetStats(as(member()), &logsv1.GetStatsRequest{Since: since, Until: until})
		require.NoError(t, err)
		require.Equal(t, int64(9), st.GetTotal())
	})
	t.Run("admin sees every project", func(t *testing.T) {
		res, err := s.ListEntries(as(admin()), &logsv1.ListEntriesRequest{Q: "User logged in"})
		require.NoError(t, err)
		require.Len(t, res.GetEntries(), 2)
		require.Equal(t, "gamma", res.GetEntries()[0].GetProjectSlug())
	})
	t.Run("member naming another's project", func(t *testing.T) {
		_, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Project: []string{"alpha", "gamma"}})
		requireCode(t, err, codes.PermissionDenied, `project "gamma" is not yours`)
		_, err = s.GetStats(as(member()), &logsv1.GetStatsRequest{Project: []string{"gamma"}})
		requireCode(t, err, codes.PermissionDenied, `project "gamma" is not yours`)
		_, err = s.ListServices(as(member()), &logsv1.ListServicesRequest{Project: []string{"gamma"}})
		requireCode(t, err, codes.PermissionDenied, `project "gamma" is not yours`)
	})
	t.Run("member naming an unknown project", func(t *testing.T) {
		_, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Project: []string{"nope"}})
		requireCode(t, err, codes.PermissionDenied, `project "nope" is not yours`)
	})
	t.Run("admin naming an unknown project", func(t *testing.T) {
		_, err := s.ListEntries(as(admin()), &logsv1.ListEntriesRequest{Project: []string{"nope"}})
		requireCode(t, err, codes.NotFound, `project "nope" not found`)
	})
	t.Run("a user without projects gets empty results", func(t *testing.T) {
		res, err := s.ListEntries(as(loner()), &logsv1.ListEntriesRequest{})
		require.NoError(t, err)
		require.Empty(t, res.GetEntries())
		require.Zero(t, res.GetTotalSize())
		require.True(t, res.GetTotalSizeExact())

		st, err := s.GetStats(as(loner()), &logsv1.GetStatsRequest{Since: since, Until: until})
		require.NoError(t, err)
		require.Zero(t, st.GetTotal())
		require.Len(t, st.GetByLevel(), 6)
		require.Len(t, st.GetHistogram(), 48)

		sv, err := s.ListServices(as(loner()), &logsv1.ListServicesRequest{})
		require.NoError(t, err)
		require.Empty(t, sv.GetServices())
	})
	t.Run("no principal", func(t *testing.T) {
		_, err := s.ListEntries(context.Background(), &logsv1.ListEntriesRequest{})
		requireCode(t, err, codes.Unauthenticated, "")
	})
}

// TestPaginationWhileInserting pages through entries sharing one timestamp
// (ties broken by id) while another goroutine inserts entries between the
// pages: every original entry comes exactly once.
func TestPaginationWhileInserting(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	ctx := context.Background()
	ts := day.Add(12 * time.Hour)
	_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message)
		SELECT $1, $2, 'api', 1 + i % 6, 'tie ' || i FROM generate_series(1, 500) i`, alpha, ts)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message)
		SELECT $1, $2, 'api', 3, 'older ' || i FROM generate_series(1, 50) i`, beta, ts.Add(-time.Second))
	require.NoError(t, err)
	original := map[int64]bool{}
	rows, err := pool.Query(ctx, "SELECT id FROM logs.entries")
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		original[id] = true
	}
	require.NoError(t, rows.Err())
	require.Len(t, original, 550)

	// The inserter writes a few entries whenever asked: at the tied
	// timestamp (newer ids), newer, and older than every original.
	insertNow := make(chan int)
	inserted := make(chan error)
	go func() {
		for round := range insertNow {
			_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message)
				VALUES ($1, $2, 'api', 3, 'new tie'), ($1, $3, 'api', 3, 'new newer'), ($4, $5, 'api', 3, 'new older')`,
				alpha, ts, ts.Add(time.Duration(round)*time.Millisecond), beta, ts.Add(-time.Hour))
			inserted <- err
		}
	}()
	defer close(insertNow)

	seen := map[int64]int{}
	token := ""
	pages := 0
	for {
		res, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{PageSize: 37, PageToken: token})
		require.NoError(t, err)
		pages++
		var count int64
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM logs.entries").Scan(&count))
		require.Equal(t, count, res.GetTotalSize(), "total_size equals a SQL count")
		require.True(t, res.GetTotalSizeExact())
		var prev *logsv1.LogEntry
		for _, e := range res.GetEntries() {
			seen[e.GetId()]++
			if prev != nil {
				pt, et := prev.GetTimestamp().AsTime(), e.GetTimestamp().AsTime()
				require.True(t, pt.After(et) || (pt.Equal(et) && prev.GetId() > e.GetId()), "sorted by (ts, id) newest first")
			}
			prev = e
		}
		if res.GetNextPageToken() == "" {
			require.LessOrEqual(t, len(res.GetEntries()), 37)
			break
		}
		require.Len(t, res.GetEntries(), 37)
		token = res.GetNextPageToken()
		insertNow <- pages
		require.NoError(t, <-inserted)
	}
	require.Greater(t, pages, 550/37)
	for id := range original {
		require.Equal(t, 1, seen[id], "original entry %d", id)
	}
	for id, n := range seen {
		require.Equal(t, 1, n, "entry %d seen %d times", id, n)
	}
}

func TestPageTokenBoundToFilters(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	_, err := pool.Exec(context.Background(), `INSERT INTO logs.entries (project_id, ts, service_name, level, message)
		SELECT $1, $2, 'api', 3, 'hello ' || i FROM generate_series(1, 10) i`, alpha, day.Add(time.Hour))
	require.NoError(t, err)
	base := func() *logsv1.ListEntriesRequest {
		return &logsv1.ListEntriesRequest{Project: []string{"alpha"}, Level: []string{"INFO"}, Q: "hello", PageSize: 3}
	}
	res, err := s.ListEntries(as(member()), base())
	require.NoError(t, err)
	tok := res.GetNextPageToken()
	require.NotEmpty(t, tok)

	same := base()
	same.PageToken, same.PageSize, same.Level = tok, 5, []string{"info", "INFO"} // same filters, other page size
	res2, err := s.ListEntries(as(member()), same)
	require.NoError(t, err)
	require.Len(t, res2.GetEntries(), 5)
	require.Less(t, res2.GetEntries()[0].GetId(), res.GetEntries()[2].GetId())

	changes := map[string]func(r *logsv1.ListEntriesRequest){
		"level":   func(r *logsv1.ListEntriesRequest) { r.Level = []string{"ERROR"} },
		"q":       func(r *logsv1.ListEntriesRequest) { r.Q = "hell" },
		"project": func(r *logsv1.ListEntriesRequest) { r.Project = nil },
		"service": func(r *logsv1.ListEntriesRequest) { r.Service = []string{"api"} },
		"since":   func(r *logsv1.ListEntriesRequest) { r.Since = timestamppb.New(day) },
		"until":   func(r *logsv1.ListEntriesRequest) { r.Until = timestamppb.New(day.Add(48 * time.Hour)) },
		"context": func(r *logsv1.ListEntriesRequest) { r.Context = ctxf("a", "b") },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			r := base()
			r.PageToken = tok
			change(r)
			_, err := s.ListEntries(as(member()), r)
			requireCode(t, err, codes.InvalidArgument, "invalid page_token")
		})
	}
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{MaxPageSize: 20, DefaultPageSize: 7}, day)
	_, err := pool.Exec(context.Background(), `INSERT INTO logs.entries (project_id, ts, service_name, level, message)
		SELECT $1, $2::timestamptz + i * interval '1 ms', 'api', 3, 'm' FROM generate_series(1, 30) i`, alpha, day.Add(time.Hour))
	require.NoError(t, err)
	for _, tc := range []struct{ ask, want int32 }{{0, 7}, {5, 5}, {20, 20}, {21, 20}, {1000000, 20}} {
		res, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{PageSize: tc.ask})
		require.NoError(t, err)
		require.Len(t, res.GetEntries(), int(tc.want), "page_size %d", tc.ask)
		require.Equal(t, int64(30), res.GetTotalSize())
	}
}

func TestSearchCountCap(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{SearchCountCap: 5}, day)
	_, err := pool.Exec(context.Background(), `INSERT INTO logs.entries (project_id, ts, service_name, level, message)
		SELECT $1, $2::timestamptz + i * interval '1 s', 'api', 3, CASE WHEN i <= 8 THEN 'Boom ' ELSE 'bang ' END || i
		FROM generate_series(1, 12) i`, alpha, day.Add(time.Hour))
	require.NoError(t, err)
	for _, tc := range []struct {
		q     string
		total int64
		exact bool
	}{
		{"boom", 5, false},  // 8 match: capped
		{"bang", 4, true},   // 4 match: under the cap
		{"boom 1", 1, true}, // one
		{"", 12, true},      // no q: exact
		{"nothing", 0, true},
	} {
		t.Run(fmt.Sprintf("q=%q", tc.q), func(t *testing.T) {
			res, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Q: tc.q, PageSize: 2})
			require.NoError(t, err)
			require.Equal(t, tc.total, res.GetTotalSize())
			require.Equal(t, tc.exact, res.GetTotalSizeExact())
		})
	}
}
