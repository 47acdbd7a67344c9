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

// errRow is an entry with its fingerprint (0: none), as the ingestion
// service stores it.
type errRow struct {
	row
	fp int64
}

// errorWriter is a pool or a transaction.
type errorWriter interface {
	rowQuerier
	logstore.Querier
}

// insertErrors writes rows with plain SQL, and their hourly counts as the
// writers do (logstore.RecordCommitted), and returns their ids.
func insertErrors(t testing.TB, db errorWriter, rows ...errRow) []int64 {
	t.Helper()
	ids := make([]int64, len(rows))
	var hours logstore.ErrorGroups
	for i, r := range rows {
		if r.fp != 0 {
			hours.Hours.Add(r.project, r.fp, logstore.Level(r.level), r.service, r.ts.UnixMicro())
		}
		c := r.context
		if c == "" {
			c = "{}"
		}
		require.NoError(t, db.QueryRow(context.Background(), `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context, error_fp)
			VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING id`, r.project, r.ts, r.service, r.level, r.message, c, r.fp).Scan(&ids[i]))
	}
	require.NoError(t, logstore.RecordCommitted(context.Background(), db, &logstore.Rollups{}, &logstore.Spans{}, nil, &hours))
	return ids
}

// addGroup writes a group's row, as the writer of its first entry does,
// and returns its id.
func addGroup(t testing.TB, db rowQuerier, project, fp int64, exType, title, culprit string, firstSeen time.Time) int64 {
	t.Helper()
	var id int64
	require.NoError(t, db.QueryRow(context.Background(), `INSERT INTO logs.error_groups (project_id, fingerprint, exception_type, title, culprit, first_seen)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, project, fp, exType, title, culprit, firstSeen).Scan(&id))
	return id
}

// groupData is the error groups' data set: the ids of its groups and of
// some entries.
type groupData struct {
	a, b, c, d, e int64 // groups
	newestA       int64 // entry id of A's newest entry
	aEntries      []int64
}

const stackA = "TypeError: Cannot read properties of undefined (reading 'id')\n    at pay (/app/orders.js:10:5)\n    at next (/app/node_modules/express/lib/router/layer.js:95:5)"

// loadGroups writes: in alpha, group A (fingerprint 101: 3 ERROR from api,
// a WARN from worker, a FATAL from web, the newest), B (102: 5 ERROR from
// worker, resolved) and E (103: WARN only); in beta, C (the same
// fingerprint as A: one ERROR, the newest of all); in gamma, D (101 too),
// which the member may not read; and INFO entries without a group.
func loadGroups(t *testing.T, s *Service) groupData {
	t.Helper()
	h := func(m int) time.Time { return day.Add(time.Duration(m) * time.Minute) }
	var g groupData
	g.a = addGroup(t, s.pool, alpha, 101, "TypeError", "TypeError: Cannot read properties of undefined", "pay (orders.js)", h(-600))
	g.b = addGroup(t, s.pool, alpha, 102, "KeyError", "KeyError: 'user'", "get_user (users.py)", h(30))
	g.e = addGroup(t, s.pool, alpha, 103, "", "disk almost full", "worker", h(100))
	g.c = addGroup(t, s.pool, beta, 101, "TypeError", "TypeError: Cannot read properties of undefined", "pay (orders.js)", h(360))
	g.d = addGroup(t, s.pool, gamma, 101, "TypeError", "TypeError: Cannot read properties of undefined", "pay (orders.js)", h(10))
	_, err := s.pool.Exec(context.Background(), `UPDATE logs.error_groups SET status = 'resolved', resolved_at = $2 WHERE id = $1`, g.b, day)
	require.NoError(t, err)

	g.aEntries = insertErrors(t, s.pool,
		errRow{row{alpha, h(60), "api", 5, "Cannot read properties of undefined (reading 'id') order 1", `{"release": "1.2.0"}`}, 101},
		errRow{row{alpha, h(120), "api", 5, "Cannot read properties of undefined (reading 'id') order 2", `{"release": "1.2.0", "stack": "old"}`}, 101},
		errRow{row{alpha, h(180), "api", 5, "Cannot read properties of undefined (reading 'id') order 3", `{"version": "1.1"}`}, 101},
		errRow{row{alpha, h(240), "worker", 4, "Cannot read properties of undefined (reading 'id') order 4", ``}, 101},
		errRow{row{alpha, h(300), "web", 6, "Cannot read properties of undefined (reading 'id') order 5", `{"error": {"stack": ` + quote(stackA) + `}}`}, 101},
	)
	g.newestA = g.aEntries[4]
	for i := range 5 {
		insertErrors(t, s.pool, errRow{row{alpha, h(30 + 5*i), "worker", 5, fmt.Sprintf("KeyError: 'user' in request %d", i), ""}, 102})
	}
	insertErrors(t, s.pool,
		errRow{row{alpha, h(100), "worker", 4, "disk almost full", ""}, 103},
		errRow{row{beta, h(360), "api", 5, "Cannot read properties of undefined (reading 'id') order 9", ""}, 101},
		errRow{row{gamma, h(10), "api", 5, "Cannot read properties of undefined (reading 'id') order 7", ""}, 101},
		errRow{row{alpha, h(200), "api", 3, "request handled", ""}, 0},
		// Outside the range.
		errRow{row{alpha, day.Add(-time.Hour), "api", 5, "Cannot read properties of undefined (reading 'id') order 0", ""}, 101},
	)
	return g
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

func dayRange() (*timestamppb.Timestamp, *timestamppb.Timestamp) {
	return timestamppb.New(day), timestamppb.New(day.Add(24 * time.Hour))
}

func groupIDs(gs []*logsv1.ErrorGroup) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.GetId()
	}
	return out
}

func gid(id int64) string { return logstore.FormatErrorGroupID(id) }

func TestListErrorGroups(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day.Add(-24*time.Hour), day)
	g := loadGroups(t, s)
	since, until := dayRange()
	list := func(p func() context.Context, req *logsv1.ListErrorGroupsRequest) *logsv1.ListErrorGroupsResponse {
		t.Helper()
		req.Since, req.Until = since, until
		res, err := s.ListErrorGroups(p(), req)
		require.NoError(t, err)
		return res
	}
	asMember := func() context.Context { return as(member()) }

	// Defaults: ERROR and FATAL, newest first, every readable project.
	res := list(asMember, &logsv1.ListErrorGroupsRequest{})
	require.Equal(t, []string{gid(g.c), gid(g.a), gid(g.b)}, groupIDs(res.GetGroups()))
	require.Equal(t, int64(3600), res.GetBucketSeconds())
	require.Empty(t, res.GetNextPageToken())

	a := res.GetGroups()[1]
	require.Equal(t, "alpha", a.GetProjectSlug())
	require.Equal(t, "TypeError: Cannot read properties of undefined", a.GetTitle())
	require.Equal(t, "pay (orders.js)", a.GetCulprit())
	require.Equal(t, "TypeError", a.GetExceptionType())
	require.Equal(t, int64(4), a.GetCount(), "3 ERROR and a FATAL; the WARN and the entry before the range are not counted")
	require.Equal(t, "FATAL", a.GetLevel())
	require.Equal(t, []string{"api", "web"}, a.GetServices())
	require.True(t, day.Add(time.Hour).Equal(a.GetFirstSeen().AsTime()))
	require.True(t, day.Add(5*time.Hour).Equal(a.GetLastSeen().AsTime()))
	require.Equal(t, "open", a.GetStatus())
	require.False(t, a.GetRegression())
	require.Nil(t, a.GetResolveTime())
	require.True(t, day.Add(-10*time.Hour).Equal(a.GetCreateTime().AsTime()), "create_time is the group's first entry, any range")
	require.Equal(t, []string{"beta"}, a.GetAlsoIn(), "gamma is not the member's")
	require.Len(t, a.GetTrend(), 24)
	var sum int64
	for i, b := range a.GetTrend() {
		require.True(t, day.Add(time.Duration(i)*time.Hour).Equal(b.GetStart().AsTime()))
		sum += b.GetCount()
	}
	require.Equal(t, a.GetCount(), sum)
	require.Equal(t, int64(1), a.GetTrend()[1].GetCount())
	require.Equal(t, int64(1), a.GetTrend()[5].GetCount())
	ex := a.GetExample()
	require.Equal(t, g.newestA, ex.GetId())
	require.Equal(t, "FATAL", ex.GetLevel())
	require.Equal(t, gid(g.a), ex.GetErrorGroupId())
	require.Equal(t, logstore.FormatPatternID(0), ex.GetPatternId(), "these entries have no signature")
	require.Empty(t, a.GetStack(), "ListErrorGroups has no stacks")

	b := res.GetGroups()[2]
	require.Equal(t, "resolved", b.GetStatus())
	require.True(t, day.Equal(b.GetResolveTime().AsTime()))
	require.Equal(t, int64(5), b.GetCount())
	require.Empty(t, b.GetAlsoIn())

	// The admin reads gamma too.
	res = list(func() context.Context { return as(admin()) }, &logsv1.ListErrorGroupsRequest{})
	require.Equal(t, []string{gid(g.c), gid(g.a), gid(g.b), gid(g.d)}, groupIDs(res.GetGroups()))
	require.Equal(t, []string{"beta", "gamma"}, res.GetGroups()[1].GetAlsoIn())

	for _, tc := range []struct {
		name  string
		req   *logsv1.ListErrorGroupsRequest
		want  []int64
		count []int64
	}{
		{"sort by count", &logsv1.ListErrorGroupsRequest{Sort: "count"}, []int64{g.b, g.a, g.c}, []int64{5, 4, 1}},
		{"sort by first seen", &logsv1.ListErrorGroupsRequest{Sort: "first_seen"}, []int64{g.c, g.a, g.b}, nil},
		{"warn", &logsv1.ListErrorGroupsRequest{Level: []string{"warn"}}, []int64{g.a, g.e}, []int64{1, 1}},
		{"every level", &logsv1.ListErrorGroupsRequest{Level: []string{"WARN", "error", "Fatal"}}, []int64{g.c, g.a, g.e, g.b}, []int64{1, 5, 1, 5}},
		{"status", &logsv1.ListErrorGroupsRequest{Status: []string{"resolved"}}, []int64{g.b}, nil},
		{"statuses", &logsv1.ListErrorGroupsRequest{Status: []string{"open", "ignored"}}, []int64{g.c, g.a}, nil},
		{"q in the culprit", &logsv1.ListErrorGroupsRequest{Q: "USERS.py"}, []int64{g.b}, nil},
		{"q in the title", &logsv1.ListErrorGroupsRequest{Q: "typeerror"}, []int64{g.c, g.a}, nil},
		{"q is literal", &logsv1.ListErrorGroupsRequest{Q: "%"}, []int64{}, nil},
		{"service", &logsv1.ListErrorGroupsRequest{Service: []string{"web"}}, []int64{g.a}, []int64{1}},
		{"project", &logsv1.ListErrorGroupsRequest{Project: []string{"alpha"}}, []int64{g.a, g.b}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := list(asMember, tc.req)
			want := make([]string, len(tc.want))
			for i, id := range tc.want {
				want[i] = gid(id)
			}
			require.Equal(t, want, groupIDs(res.GetGroups()))
			for i, c := range tc.count {
				require.Equal(t, c, res.GetGroups()[i].GetCount(), "group %d", i)
			}
		})
	}

	// A range with nothing, and a caller with no project.
	require.Empty(t, list(asMember, &logsv1.ListErrorGroupsRequest{Project: []string{"beta"}, Service: []string{"nope"}}).GetGroups())
	require.Empty(t, list(func() context.Context { return as(loner()) }, &logsv1.ListErrorGroupsRequest{}).GetGroups())

	// Pages: the same order, each group once.
	var paged []string
	tok := ""
	for {
		res := list(asMember, &logsv1.ListErrorGroupsRequest{Sort: "count", PageSize: 1, PageToken: tok})
		paged = append(paged, groupIDs(res.GetGroups())...)
		if tok = res.GetNextPageToken(); tok == "" {
			break
		}
		require.Len(t, res.GetGroups(), 1)
	}
	require.Equal(t, []string{gid(g.b), gid(g.a), gid(g.c)}, paged)
	first := list(asMember, &logsv1.ListErrorGroupsRequest{PageSize: 1})
	_, err := s.ListErrorGroups(asMember(), &logsv1.ListErrorGroupsRequest{PageSize: 1, PageToken: first.GetNextPageToken(), Sort: "count", Since: since, Until: until})
	requireCode(t, err, codes.InvalidArgument, "invalid page_token")
	_, err = s.ListPatterns(asMember(), &logsv1.ListPatternsRequest{PageToken: first.GetNextPageToken(), Since: since, Until: until})
	requireCode(t, err, codes.InvalidArgument, "invalid page_token")
}

func TestListErrorGroupsRefusals(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day)
	for _, tc := range []struct {
		req  *logsv1.ListErrorGroupsRequest
		code codes.Code
		msg  string
	}{
		{&logsv1.ListErrorGroupsRequest{Level: []string{"error", "info"}}, codes.InvalidArgument, `level "INFO": error groups have WARN, ERROR and FATAL entries only`},
		{&logsv1.ListErrorGroupsRequest{Level: []string{"loud"}}, codes.InvalidArgument, `level "loud" is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL`},
		{&logsv1.ListErrorGroupsRequest{Status: []string{"closed"}}, codes.InvalidArgument, `status "closed" is not one of open, resolved, ignored`},
		{&logsv1.ListErrorGroupsRequest{Sort: "newest"}, codes.InvalidArgument, `sort "newest" is not one of last_seen, count, first_seen`},
		{&logsv1.ListErrorGroupsRequest{PageSize: -1}, codes.InvalidArgument, "page_size must not be negative"},
		{&logsv1.ListErrorGroupsRequest{PageToken: "garbage"}, codes.InvalidArgument, "invalid page_token"},
		{&logsv1.ListErrorGroupsRequest{Since: timestamppb.New(day), Until: timestamppb.New(day)}, codes.InvalidArgument, "since must be before until"},
		{&logsv1.ListErrorGroupsRequest{Project: []string{"gamma"}}, codes.PermissionDenied, `project "gamma" is not yours`},
		{&logsv1.ListErrorGroupsRequest{Q: "a\x00"}, codes.InvalidArgument, "q must not contain NUL characters"},
	} {
		_, err := s.ListErrorGroups(as(member()), tc.req)
		requireCode(t, err, tc.code, tc.msg)
	}
	_, err := s.ListErrorGroups(context.Background(), &logsv1.ListErrorGroupsRequest{})
	requireCode(t, err, codes.Unauthenticated, "")
}

func TestGetErrorGroup(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day.Add(-24*time.Hour), day)
	g := loadGroups(t, s)
	since, until := dayRange()

	res, err := s.GetErrorGroup(as(member()), &logsv1.GetErrorGroupRequest{Id: gid(g.a), Since: since, Until: until})
	require.NoError(t, err)
	a := res.GetGroup()
	require.Equal(t, gid(g.a), a.GetId())
	require.Equal(t, int64(5), a.GetCount(), "every level")
	require.Equal(t, "FATAL", a.GetLevel())
	require.Equal(t, map[string]int64{"api": 3, "worker": 1, "web": 1}, a.GetCountsByService())
	require.Equal(t, map[string]int64{"1.2.0": 2, "1.1": 1}, a.GetCountsByRelease())
	require.Equal(t, stackA, a.GetStack(), "the newest entry's stack, nested under error")
	require.Equal(t, g.newestA, a.GetExample().GetId())
	require.Equal(t, []string{"api", "web", "worker"}, a.GetServices())
	require.Equal(t, []string{"beta"}, a.GetAlsoIn())
	require.Len(t, a.GetTrend(), 24)

	// A range without its entries: the group, with nothing counted.
	res, err = s.GetErrorGroup(as(member()), &logsv1.GetErrorGroupRequest{Id: gid(g.a), Since: timestamppb.New(day.Add(20 * time.Hour)), Until: until})
	require.NoError(t, err)
	require.Zero(t, res.GetGroup().GetCount())
	require.Nil(t, res.GetGroup().GetExample())
	require.Nil(t, res.GetGroup().GetLastSeen())
	require.Empty(t, res.GetGroup().GetCountsByService())
	require.Equal(t, "open", res.GetGroup().GetStatus())

	for _, tc := range []struct {
		id   string
		code codes.Code
		msg  string
	}{
		{gid(g.d), codes.NotFound, fmt.Sprintf("error group %q not found", gid(g.d))}, // gamma's: not revealed
		{"999999", codes.NotFound, `error group "999999" not found`},
		{"abc", codes.InvalidArgument, `id "abc" is not an error group id (decimal digits)`},
		{"-1", codes.InvalidArgument, `id "-1" is not an error group id (decimal digits)`},
		{"", codes.InvalidArgument, "id must be given"},
	} {
		_, err := s.GetErrorGroup(as(member()), &logsv1.GetErrorGroupRequest{Id: tc.id})
		requireCode(t, err, tc.code, tc.msg)
	}
	res, err = s.GetErrorGroup(as(admin()), &logsv1.GetErrorGroupRequest{Id: gid(g.d), Since: since, Until: until})
	require.NoError(t, err)
	require.Equal(t, []string{"alpha", "beta"}, res.GetGroup().GetAlsoIn())
}

func TestUpdateErrorGroup(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day.Add(-24*time.Hour), day)
	g := loadGroups(t, s)
	type state struct {
		status     string
		regression bool
		resolved   bool
		updatedBy  *int64
	}
	stateOf := func(id int64) state {
		var st state
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT status, regression, resolved_at IS NOT NULL, updated_by FROM logs.error_groups WHERE id = $1`, id).
			Scan(&st.status, &st.regression, &st.resolved, &st.updatedBy))
		return st
	}
	by := func(id int64) *int64 { return &id }

	res, err := s.UpdateErrorGroup(as(member()), &logsv1.UpdateErrorGroupRequest{Id: gid(g.a), Status: "resolved"})
	require.NoError(t, err)
	require.Equal(t, "resolved", res.GetGroup().GetStatus())
	require.NotNil(t, res.GetGroup().GetResolveTime())
	require.WithinDuration(t, time.Now(), res.GetGroup().GetResolveTime().AsTime(), time.Minute)
	require.Equal(t, state{"resolved", false, true, by(10)}, stateOf(g.a))

	// A regression reopened by the analysis service, then resolved again
	// by hand: no longer a regression.
	_, err = pool.Exec(context.Background(), `UPDATE logs.error_groups SET status = 'open', regression = true WHERE id = $1`, g.a)
	require.NoError(t, err)
	res, err = s.UpdateErrorGroup(as(member()), &logsv1.UpdateErrorGroupRequest{Id: gid(g.a), Status: "Resolved"})
	require.NoError(t, err)
	require.False(t, res.GetGroup().GetRegression())

	_, err = s.UpdateErrorGroup(as(member()), &logsv1.UpdateErrorGroupRequest{Id: gid(g.a), Status: "ignored"})
	require.NoError(t, err)
	require.Equal(t, state{"ignored", false, true, by(10)}, stateOf(g.a), "ignoring keeps when it was resolved")
	res, err = s.UpdateErrorGroup(as(admin()), &logsv1.UpdateErrorGroupRequest{Id: gid(g.a), Status: "open"})
	require.NoError(t, err)
	require.Nil(t, res.GetGroup().GetResolveTime())
	require.Equal(t, state{"open", false, false, by(1)}, stateOf(g.a), "opening clears resolved_at")

	for _, tc := range []struct {
		id, status string
		code       codes.Code
		msg        string
	}{
		{gid(g.c), "resolved", codes.PermissionDenied, `only maintainers and admins of project "beta" may change its error groups`}, // a viewer
		{gid(g.d), "resolved", codes.NotFound, fmt.Sprintf("error group %q not found", gid(g.d))},
		{gid(g.a), "closed", codes.InvalidArgument, `status "closed" is not one of open, resolved, ignored`},
		{gid(g.a), "", codes.InvalidArgument, `status "" is not one of open, resolved, ignored`},
		{"x", "open", codes.InvalidArgument, `id "x" is not an error group id (decimal digits)`},
	} {
		_, err := s.UpdateErrorGroup(as(member()), &logsv1.UpdateErrorGroupRequest{Id: tc.id, Status: tc.status})
		requireCode(t, err, tc.code, tc.msg)
	}
	require.Equal(t, "open", stateOf(g.c).status)
	require.Equal(t, "open", stateOf(g.d).status)
}

// Entries carry their group's id, and error_group selects a group's
// entries, in ListEntries and GetStats alike.
func TestErrorGroupFilter(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day.Add(-24*time.Hour), day)
	g := loadGroups(t, s)
	since, until := dayRange()

	res, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{ErrorGroup: []string{gid(g.a)}, Since: since, Until: until})
	require.NoError(t, err)
	require.Len(t, res.GetEntries(), 5)
	for i, e := range res.GetEntries() {
		require.Equal(t, g.aEntries[4-i], e.GetId(), "newest first")
		require.Equal(t, gid(g.a), e.GetErrorGroupId())
	}
	require.Equal(t, int64(5), res.GetTotalSize())

	// Every entry of a page has its group, or none.
	res, err = s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Project: []string{"alpha"}, Since: since, Until: until})
	require.NoError(t, err)
	byGroup := map[string]int{}
	for _, e := range res.GetEntries() {
		byGroup[e.GetErrorGroupId()]++
		if e.GetLevel() == "INFO" {
			require.Empty(t, e.GetErrorGroupId())
		}
	}
	require.Equal(t, map[string]int{gid(g.a): 5, gid(g.b): 5, gid(g.e): 1, "": 1}, byGroup)

	// Two groups, one page at a time.
	var ids []int64
	tok := ""
	for {
		res, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{ErrorGroup: []string{gid(g.b), gid(g.c)}, PageSize: 4, PageToken: tok})
		require.NoError(t, err)
		for _, e := range res.GetEntries() {
			ids = append(ids, e.GetId())
			require.Contains(t, []string{gid(g.b), gid(g.c)}, e.GetErrorGroupId())
		}
		require.Equal(t, int64(6), res.GetTotalSize())
		if tok = res.GetNextPageToken(); tok == "" {
			break
		}
	}
	require.Len(t, ids, 6)

	stats, err := s.GetStats(as(member()), &logsv1.GetStatsRequest{ErrorGroup: []string{gid(g.a)}, Since: since, Until: until})
	require.NoError(t, err)
	require.Equal(t, int64(5), stats.GetTotal())
	require.Equal(t, map[string]int64{"api": 3, "worker": 1, "web": 1}, stats.GetByService())
	stats, err = s.GetStats(as(member()), &logsv1.GetStatsRequest{ErrorGroup: []string{gid(g.a)}, Level: []string{"error"}, Since: since, Until: until})
	require.NoError(t, err)
	require.Equal(t, int64(3), stats.GetTotal())

	// A readable group outside the requested projects matches nothing.
	res, err = s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Project: []string{"beta"}, ErrorGroup: []string{gid(g.a)}})
	require.NoError(t, err)
	require.Empty(t, res.GetEntries())

	for _, ids := range [][]string{{gid(g.d)}, {gid(g.a), gid(g.d)}, {"424242"}} {
		_, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{ErrorGroup: ids})
		requireCode(t, err, codes.NotFound, fmt.Sprintf("error group %q not found", ids[len(ids)-1]))
		_, err = s.GetStats(as(member()), &logsv1.GetStatsRequest{ErrorGroup: ids})
		requireCode(t, err, codes.NotFound, fmt.Sprintf("error group %q not found", ids[len(ids)-1]))
	}
	_, err = s.ListEntries(as(member()), &logsv1.ListEntriesRequest{ErrorGroup: []string{"0x1"}})
	requireCode(t, err, codes.InvalidArgument, `error_group "0x1" is not an error group id (decimal digits)`)

	// A page token is for its filters.
	first, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{ErrorGroup: []string{gid(g.b)}, PageSize: 1})
	require.NoError(t, err)
	_, err = s.ListEntries(as(member()), &logsv1.ListEntriesRequest{PageSize: 1, PageToken: first.GetNextPageToken()})
	requireCode(t, err, codes.InvalidArgument, "invalid page_token")
}

// A tail's entries carry their error group's id.
func TestTailCarriesErrorGroup(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	client := serve(t, s, member())
	run(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := client.TailEntries(ctx, &logsv1.TailEntriesRequest{Project: []string{"alpha"}})
	require.NoError(t, err)
	_, err = stream.Header()
	require.NoError(t, err)
	r := receive(stream)

	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	id := addGroup(t, tx, alpha, 77, "ValueError", "ValueError: bad", "parse (app.py)", day)
	rows := []row{{alpha, day.Add(time.Hour), "api", 5, "bad value", ""}, {alpha, day.Add(time.Hour), "api", 3, "fine", ""}}
	ids := insertErrors(t, tx, errRow{rows[0], 77}, errRow{rows[1], 0})
	announce(t, tx, rows, ids, nil)
	require.NoError(t, tx.Commit(ctx))

	got := map[string]string{}
	for range 2 {
		select {
		case m := <-r.ch:
			got[m.GetEntry().GetMessage()] = m.GetEntry().GetErrorGroupId()
		case <-time.After(10 * time.Second):
			t.Fatal("no entry")
		}
	}
	require.Equal(t, map[string]string{"bad value": gid(id), "fine": ""}, got)
}

// The counts of a range are its whole hours' from logs.error_group_hours
// and its partial hours' from the entries (or from the hour's counts but
// for the groups with entries in the rest of the hour): for ranges that
// start and end
// mid-hour, on the hour, within one hour, and across the day, every
// group's count, first and last seen, services and trend equal those
// counted from the entries themselves.
func TestErrorGroupCountsAcrossHours(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day)
	fps := []int64{201, 202, 203}
	ids := map[int64]int64{}
	for _, fp := range fps {
		ids[fp] = addGroup(t, s.pool, alpha, fp, "Error", fmt.Sprintf("error %d", fp), "here", day)
	}
	// 400 entries over the day, at minutes that are not round, in two
	// services and three levels (WARN is not counted by default).
	type ent struct {
		fp      int64
		ts      time.Time
		service string
		level   int16
	}
	var ents []ent
	var rows []errRow
	for i := range 400 {
		e := ent{fps[i%3], day.Add(time.Duration(i*3593) * time.Second / 17).Truncate(time.Microsecond), []string{"api", "worker"}[i%2], []int16{4, 5, 6}[i%5%3]}
		ents = append(ents, e)
		rows = append(rows, errRow{row{alpha, e.ts, e.service, e.level, fmt.Sprintf("failure %d", i), ""}, e.fp})
	}
	insertErrors(t, s.pool, rows...)

	for _, c := range []struct{ name, since, until string }{
		{"whole day", "00:00", "24:00"},
		{"mid-hour to mid-hour", "01:17", "22:41"}, // each edge's rest of its hour is shorter: the hour's counts and the touched groups
		{"short edges", "00:50", "23:10"},          // each edge shorter than its rest: read in time order
		{"on the hour to mid-hour", "03:00", "17:59"},
		{"mid-hour to on the hour", "03:01", "18:00"},
		{"within an hour", "05:10", "05:50"},
		{"two partial hours", "05:10", "06:50"},
	} {
		t.Run(c.name, func(t *testing.T) {
			at := func(hm string) time.Time {
				var h, m int
				_, err := fmt.Sscanf(hm, "%d:%d", &h, &m)
				require.NoError(t, err)
				return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
			}
			since, until := at(c.since), at(c.until)
			res, err := s.ListErrorGroups(as(member()), &logsv1.ListErrorGroupsRequest{
				Project: []string{"alpha"}, Since: timestamppb.New(since), Until: timestamppb.New(until), Sort: "count",
			})
			require.NoError(t, err)
			width := time.Duration(res.GetBucketSeconds()) * time.Second
			type want struct {
				count    int64
				lo, hi   time.Time
				services map[string]bool
				trend    map[time.Time]int64
			}
			wants := map[int64]*want{}
			for _, e := range ents {
				if e.level < 5 || e.ts.Before(since) || !e.ts.Before(until) {
					continue
				}
				w := wants[e.fp]
				if w == nil {
					w = &want{lo: e.ts, hi: e.ts, services: map[string]bool{}, trend: map[time.Time]int64{}}
					wants[e.fp] = w
				}
				w.count++
				w.lo, w.hi = earliest(w.lo, e.ts), maxTime(w.hi, e.ts)
				w.services[e.service] = true
				w.trend[floorTo(e.ts, width)]++
			}
			require.Len(t, res.GetGroups(), len(wants))
			for fp, w := range wants {
				var g *logsv1.ErrorGroup
				for _, x := range res.GetGroups() {
					if x.GetId() == gid(ids[fp]) {
						g = x
					}
				}
				require.NotNil(t, g, "group %d", fp)
				require.Equal(t, w.count, g.GetCount(), "count of %d", fp)
				require.Equal(t, w.lo, g.GetFirstSeen().AsTime(), "first seen of %d", fp)
				require.Equal(t, w.hi, g.GetLastSeen().AsTime(), "last seen of %d", fp)
				require.Len(t, g.GetServices(), len(w.services))
				got := map[time.Time]int64{}
				for _, b := range g.GetTrend() {
					if b.GetCount() > 0 {
						got[b.GetStart().AsTime()] = b.GetCount()
					}
				}
				require.Equal(t, w.trend, got, "trend of %d (buckets of %s)", fp, width)
			}

			// The ranking's own counts (the aggregate over every group, from
			// the hourly counts without services) are exact too.
			f, err := parseFilters(as(member()), rawFilters{project: []string{"alpha"}, since: timestamppb.New(since), until: timestamppb.New(until)})
			require.NoError(t, err)
			f.levels = defaultGroupLevels
			aggs, err := aggregateGroups(context.Background(), s.pool, f, groupRequest{sort: sortCount})
			require.NoError(t, err)
			require.Len(t, aggs, len(wants))
			for _, a := range aggs {
				w := wants[a.fp]
				require.NotNil(t, w, "group %d", a.fp)
				require.Equal(t, w.count, a.count, "ranking count of %d", a.fp)
				require.True(t, w.lo.Equal(a.lo) && w.hi.Equal(a.hi), "ranking first and last seen of %d: %s %s, want %s %s", a.fp, a.lo, a.hi, w.lo, w.hi)
			}
		})
	}
}
