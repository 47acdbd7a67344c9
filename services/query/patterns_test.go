package query

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/signature"
)

// sigRow is an entry with its message's signature as the ingestion
// service stores it (0: an entry stored before signatures existed), and
// the id it is written with.
type sigRow struct {
	row
	id  int64
	sig int64
}

func sigOf(msg string) int64 {
	var h signature.Hasher
	return h.Of(msg)
}

// copyEntries writes rows with COPY, and the signature rows of their
// (project, signature) pairs that have none (the first message and its ts),
// in one transaction, as the ingestion service does.
func copyEntries(t testing.TB, pool *pgxpool.Pool, rows []sigRow) {
	t.Helper()
	ctx := context.Background()
	var sigs logstore.Signatures
	seen := map[sigKey]bool{}
	src := make([][]any, len(rows))
	for i, r := range rows {
		c := r.context
		if c == "" {
			c = "{}"
		}
		src[i] = []any{r.project, r.ts, r.id, r.service, r.level, r.message, c, r.sig}
		if k := (sigKey{r.project, r.sig}); r.sig != 0 && !seen[k] {
			seen[k] = true
			sigs.Add(r.project, r.sig, r.message, r.ts)
		}
	}
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"logs", "entries"},
			[]string{"project_id", "ts", "id", "service_name", "level", "message", "context", "signature"}, pgx.CopyFromRows(src)); err != nil {
			return err
		}
		return logstore.RecordCommitted(ctx, tx, &logstore.Rollups{}, &logstore.Spans{}, &sigs, nil)
	}))
}

// The miner's writes, as package logstore's contract describes them.

// mapSignature points a signature's row at its pattern.
func mapSignature(t testing.TB, db logstore.Querier, project, sig, pattern int64) {
	t.Helper()
	tag, err := db.Exec(context.Background(), `UPDATE logs.pattern_signatures SET pattern_id = $3,
		mined_seq = (SELECT coalesce(max(mined_seq), 0) + 1 FROM logs.pattern_signatures WHERE project_id = $1)
		WHERE project_id = $1 AND signature = $2`, project, sig, pattern)
	require.NoError(t, err)
	require.Equal(t, int64(1), tag.RowsAffected(), "signature %x of project %d has a row", sig, project)
}

// addPattern writes a pattern's row; mergedInto 0 is none.
func addPattern(t testing.TB, db logstore.Querier, project, id int64, template string, firstSeen time.Time, mergedInto int64) {
	t.Helper()
	var into *int64
	if mergedInto != 0 {
		into = &mergedInto
	}
	_, err := db.Exec(context.Background(), `INSERT INTO logs.patterns (project_id, id, template, merged_into, first_seen) VALUES ($1, $2, $3, $4, $5)`,
		project, id, template, into, firstSeen)
	require.NoError(t, err)
}

// The pattern data set: messages of several kinds in three projects, each
// with the pattern it ends up in once the miner has run as set up by
// loadPatternData.
var (
	sigUser   = sigOf("user 1 logged in")    // founds pattern A
	sigBob    = sigOf("user bob logged in")  // mapped to A
	sigLogin  = sigOf("login ok for 5")      // founded B, merged into A
	sigDisk   = sigOf("disk full on /dev/x") // unmined in alpha; founds a pattern in beta
	sigWeird  = sigOf("weird thing 1")       // mapped to the overflow pattern
	sigCache  = sigOf("cache miss key=abc")  // founds pattern C
	sigNew    = sigOf("session 77 opened")   // in no data set: the tail test maps it while tailing
	patternA  = sigUser
	patternB  = sigLogin
	patternC  = sigCache
	patternU  = sigDisk
	templateA = "user <*> logged in"
)

type kind struct {
	project int64
	message func(i int) string
	sig     int64
	pattern int64 // the pattern its entries are in
}

var patternKinds = []kind{
	{alpha, func(i int) string { return "user " + strconv.Itoa(i) + " logged in" }, sigUser, patternA},
	{alpha, func(int) string { return "user bob logged in" }, sigBob, patternA},
	{alpha, func(i int) string { return "login ok for " + strconv.Itoa(i) }, sigLogin, patternA},
	{alpha, func(i int) string { return "disk full on /dev/sd" + strconv.Itoa(i%7) }, sigDisk, patternU},
	{alpha, func(i int) string { return "weird thing " + strconv.Itoa(i) }, sigWeird, logstore.OverflowPattern},
	{alpha, func(i int) string { return "legacy message " + strconv.Itoa(i) }, 0, logstore.OverflowPattern},
	{alpha, func(i int) string { return "cache miss key=k" + strconv.Itoa(i) }, sigCache, patternC},
	{beta, func(i int) string { return "user " + strconv.Itoa(i) + " logged in" }, sigUser, patternA},
	{beta, func(i int) string { return "disk full on /mnt/" + strconv.Itoa(i) }, sigDisk, patternU},
	{beta, func(i int) string { return "user " + strconv.Itoa(i) + " logged in" }, sigUser, patternA},
	{gamma, func(i int) string { return "user " + strconv.Itoa(i) + " logged in" }, sigUser, patternA},
}

// patternBase is where the data set starts; its entries are 23 s apart.
var patternBase = day.Add(6 * time.Hour)

const patternRows = 990

// created are the patterns' first_seen as the miner wrote them.
var created = map[patternKey]time.Time{
	{alpha, patternA}: day.Add(-48 * time.Hour),
	{alpha, patternC}: day.Add(-47 * time.Hour),
	{beta, patternA}:  day.Add(-46 * time.Hour),
	{beta, patternU}:  day.Add(-45 * time.Hour),
	{gamma, patternA}: day.Add(-44 * time.Hour),
}

// loadPatternData writes the data set and the miner's rows, and returns
// its entries with the pattern of each.
func loadPatternData(t testing.TB, pool *pgxpool.Pool) (rows []sigRow, patternOf map[int64]patternKey) {
	t.Helper()
	patternOf = map[int64]patternKey{}
	for i := 0; i < patternRows; i++ {
		k := patternKinds[i%len(patternKinds)]
		r := sigRow{
			row: row{k.project, patternBase.Add(time.Duration(i) * 23 * time.Second), []string{"api", "worker", "web"}[(i/3)%3],
				int16(1 + (i*5)%6), k.message(i), `{"n": ` + strconv.Itoa(i%3) + `}`},
			id:  1_000_000 + int64(i),
			sig: k.sig,
		}
		rows = append(rows, r)
		patternOf[r.id] = patternKey{k.project, k.pattern}
	}
	copyEntries(t, pool, rows)
	for _, pj := range []int64{beta, gamma} {
		addPattern(t, pool, pj, patternA, templateA, created[patternKey{pj, patternA}], 0)
		mapSignature(t, pool, pj, sigUser, patternA)
	}
	addPattern(t, pool, alpha, patternA, templateA, created[patternKey{alpha, patternA}], 0)
	addPattern(t, pool, alpha, patternB, "login ok for <num>", day.Add(-40*time.Hour), patternA)
	addPattern(t, pool, alpha, patternC, "cache miss key=<*>", created[patternKey{alpha, patternC}], 0)
	addPattern(t, pool, beta, patternU, "disk full on <path>", created[patternKey{beta, patternU}], 0)
	for _, m := range []struct{ project, sig, pattern int64 }{
		{alpha, sigUser, patternA}, {alpha, sigBob, patternA}, {alpha, sigLogin, patternA},
		{alpha, sigWeird, logstore.OverflowPattern}, {alpha, sigCache, patternC}, {beta, sigDisk, patternU},
	} {
		mapSignature(t, pool, m.project, m.sig, m.pattern)
	}
	_, err := pool.Exec(context.Background(), "ANALYZE logs.entries")
	require.NoError(t, err)
	return rows, patternOf
}

// firstSeenOf is the ts of the first entry of a signature (its row's
// first_seen).
func firstSeenOf(rows []sigRow, project, sig int64) time.Time {
	for _, r := range rows {
		if r.project == project && r.sig == sig {
			return r.ts
		}
	}
	return time.Time{}
}

// wantPattern is what ListPatterns should say of one pattern.
type wantPattern struct {
	key      patternKey
	count    int64
	levels   map[string]int64
	services map[string]bool
	lo, hi   time.Time
	trend    map[time.Time]int64
	newest   int64 // id of its newest entry
	template string
	created  *time.Time
}

// expectPatterns computes, from the data set alone, the patterns of the
// entries in [since, until) the member reads that match, in their order.
func expectPatterns(rows []sigRow, patternOf map[int64]patternKey, since, until time.Time, width time.Duration, match func(sigRow) bool) []*wantPattern {
	by := map[patternKey]*wantPattern{}
	for _, r := range rows {
		if r.project == gamma || r.ts.Before(since) || !r.ts.Before(until) || !match(r) {
			continue
		}
		k := patternOf[r.id]
		w := by[k]
		if w == nil {
			w = &wantPattern{key: k, levels: zeroLevels(), services: map[string]bool{}, trend: map[time.Time]int64{}, lo: r.ts}
			switch {
			case k.id == logstore.OverflowPattern:
				w.template = logstore.OverflowTemplate
			case k == patternKey{alpha, patternU}:
				w.template = signature.Template(rowsMessage(rows, alpha, sigDisk))
				c := firstSeenOf(rows, alpha, sigDisk)
				w.created = &c
			case k.id == patternA:
				w.template = templateA
			case k.id == patternC:
				w.template = "cache miss key=<*>"
			case k.id == patternU:
				w.template = "disk full on <path>"
			}
			if c, ok := created[k]; ok {
				w.created = &c
			}
			by[k] = w
		}
		w.count++
		w.levels[logstore.Level(r.level).String()]++
		w.services[r.service] = true
		if r.ts.Before(w.lo) {
			w.lo = r.ts
		}
		if r.ts.After(w.hi) {
			w.hi, w.newest = r.ts, r.id
		}
		w.trend[r.ts.Truncate(width)]++ // widths divide a day: epoch-aligned
	}
	var out []*wantPattern
	for _, w := range by {
		out = append(out, w)
	}
	slug := map[int64]string{alpha: "alpha", beta: "beta"}
	slices.SortFunc(out, func(a, b *wantPattern) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		if c := cmp.Compare(slug[a.key.project], slug[b.key.project]); c != 0 {
			return c
		}
		return cmp.Compare(uint64(a.key.id), uint64(b.key.id))
	})
	return out
}

func rowsMessage(rows []sigRow, project, sig int64) string {
	for _, r := range rows {
		if r.project == project && r.sig == sig {
			return r.message
		}
	}
	return ""
}

// requirePatterns compares a listing with the expected patterns.
func requirePatterns(t *testing.T, want []*wantPattern, got []*logsv1.Pattern, since, until time.Time, width time.Duration) {
	t.Helper()
	require.Len(t, got, len(want))
	first, last := since.Truncate(width), until.Add(-time.Microsecond).Truncate(width)
	for i, w := range want {
		g := got[i]
		name := logstore.FormatPatternID(w.key.id) + "/" + g.GetProjectSlug()
		require.Equal(t, logstore.FormatPatternID(w.key.id), g.GetId(), "pattern %d", i)
		require.Equal(t, map[int64]string{alpha: "alpha", beta: "beta"}[w.key.project], g.GetProjectSlug(), name)
		require.Equal(t, w.template, g.GetTemplate(), name)
		require.Equal(t, w.count, g.GetCount(), name)
		require.Equal(t, w.levels, g.GetCountsByLevel(), name)
		var services []string
		for sv := range w.services {
			services = append(services, sv)
		}
		slices.Sort(services)
		require.Equal(t, services, g.GetServices(), name)
		require.True(t, w.lo.Equal(g.GetFirstSeen().AsTime()), name)
		require.True(t, w.hi.Equal(g.GetLastSeen().AsTime()), name)
		if w.created == nil {
			require.Nil(t, g.GetCreateTime(), name)
		} else {
			require.True(t, w.created.Equal(g.GetCreateTime().AsTime()), "%s: create_time %s, want %s", name, g.GetCreateTime().AsTime(), w.created)
		}
		// The trend: every bucket from the one holding since to the one
		// holding the last instant, empty ones included.
		require.Len(t, g.GetTrend(), int(last.Sub(first)/width)+1, name)
		var sum int64
		for j, b := range g.GetTrend() {
			start := first.Add(time.Duration(j) * width)
			require.True(t, start.Equal(b.GetStart().AsTime()), name)
			require.Equal(t, w.trend[start], b.GetCount(), "%s: bucket %s", name, start)
			sum += b.GetCount()
		}
		require.Equal(t, w.count, sum, name)
		// Examples: up to three matching entries of the pattern, newest
		// first, the first its newest.
		ex := g.GetExamples()
		require.NotEmpty(t, ex, name)
		require.LessOrEqual(t, len(ex), patternExamples, name)
		require.Equal(t, w.newest, ex[0].GetId(), name)
		for j, e := range ex {
			require.Equal(t, g.GetId(), e.GetPatternId(), name)
			require.Equal(t, g.GetProjectSlug(), e.GetProjectSlug(), name)
			ts := e.GetTimestamp().AsTime()
			require.False(t, ts.Before(since) || !ts.Before(until), name)
			if j > 0 {
				require.True(t, ts.Before(ex[j-1].GetTimestamp().AsTime()), "%s: newest first", name)
			}
		}
		// Every pattern here has entries at distinct instants: one with
		// entries in three buckets has three examples, any with two
		// entries at least two (its oldest and newest of a bucket).
		if len(w.trend) >= patternExamples {
			require.Len(t, ex, patternExamples, name)
		}
		require.GreaterOrEqual(t, int64(len(ex)), min(w.count, 2), name)
	}
}

func TestListPatternsExact(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	rows, patternOf := loadPatternData(t, pool)
	since := patternBase.Add(time.Hour + 90*time.Second) // not on a bucket's edge
	until := since.Add(4 * time.Hour)
	const width = 10 * time.Minute // the round width of about 30 buckets over 4 hours

	for _, tc := range []struct {
		name  string
		mod   func(*logsv1.ListPatternsRequest)
		match func(sigRow) bool
	}{
		{"no filter", func(*logsv1.ListPatternsRequest) {}, func(sigRow) bool { return true }},
		{"project", func(r *logsv1.ListPatternsRequest) { r.Project = []string{"beta"} }, func(r sigRow) bool { return r.project == beta }},
		{"levels", func(r *logsv1.ListPatternsRequest) { r.Level = []string{"error", "FATAL"} }, func(r sigRow) bool { return r.level >= 5 }},
		{"service", func(r *logsv1.ListPatternsRequest) { r.Service = []string{"worker"} }, func(r sigRow) bool { return r.service == "worker" }},
		{"q", func(r *logsv1.ListPatternsRequest) { r.Q = "LOGGED" }, func(r sigRow) bool { return strings.Contains(r.message, "logged") }},
		{"context", func(r *logsv1.ListPatternsRequest) { r.Context = ctxf("n", "1") }, func(r sigRow) bool { return strings.HasSuffix(r.context, " 1}") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &logsv1.ListPatternsRequest{Since: timestamppb.New(since), Until: timestamppb.New(until), PageSize: 1000}
			tc.mod(req)
			res, err := s.ListPatterns(as(member()), req)
			require.NoError(t, err)
			require.Equal(t, int64(width/time.Second), res.GetBucketSeconds())
			require.Empty(t, res.GetNextPageToken())
			want := expectPatterns(rows, patternOf, since, until, width, tc.match)
			require.NotEmpty(t, want)
			requirePatterns(t, want, res.GetPatterns(), since, until, width)

			// The patterns partition the entries GetStats counts.
			st, err := s.GetStats(as(member()), &logsv1.GetStatsRequest{Project: req.Project, Service: req.Service, Level: req.Level,
				Since: req.Since, Until: req.Until, Q: req.Q, Context: req.Context})
			require.NoError(t, err)
			var sum int64
			for _, p := range res.GetPatterns() {
				sum += p.GetCount()
			}
			require.Equal(t, st.GetTotal(), sum)
		})
	}

	t.Run("every kind of pattern", func(t *testing.T) {
		res, err := s.ListPatterns(as(member()), &logsv1.ListPatternsRequest{Since: timestamppb.New(since), Until: timestamppb.New(until)})
		require.NoError(t, err)
		got := map[string]string{}
		for _, p := range res.GetPatterns() {
			got[p.GetProjectSlug()+"/"+p.GetId()] = p.GetTemplate()
		}
		require.Equal(t, map[string]string{
			"alpha/" + logstore.FormatPatternID(patternA):                 templateA,             // three signatures, one merged pattern
			"alpha/" + logstore.FormatPatternID(patternU):                 "disk full on <path>", // unmined: its message's template
			"alpha/" + logstore.FormatPatternID(logstore.OverflowPattern): "<overflow>",          // signature 0 and a signature mapped to it
			"alpha/" + logstore.FormatPatternID(patternC):                 "cache miss key=<*>",
			"beta/" + logstore.FormatPatternID(patternA):                  templateA,
			"beta/" + logstore.FormatPatternID(patternU):                  "disk full on <path>",
		}, got)
	})

	t.Run("default range", func(t *testing.T) {
		now := patternBase.Add(3 * time.Hour)
		s2 := New(zap.NewNop(), pool, nil, Config{})
		s2.now = func() time.Time { return now }
		res, err := s2.ListPatterns(as(member()), &logsv1.ListPatternsRequest{PageSize: 1000})
		require.NoError(t, err)
		require.Equal(t, int64(3600), res.GetBucketSeconds(), "24 hours in hours")
		requirePatterns(t, expectPatterns(rows, patternOf, now.Add(-24*time.Hour), now, time.Hour, func(sigRow) bool { return true }),
			res.GetPatterns(), now.Add(-24*time.Hour), now, time.Hour)
	})

	t.Run("nothing readable", func(t *testing.T) {
		res, err := s.ListPatterns(as(loner()), &logsv1.ListPatternsRequest{})
		require.NoError(t, err)
		require.Empty(t, res.GetPatterns())
		require.Equal(t, int64(3600), res.GetBucketSeconds())
	})
}

// TestListPatternsPages walks every page at several page sizes: the pages
// are the full listing cut in order, every pattern once, also when the
// range ends at now, which moves between the pages.
func TestListPatternsPages(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	loadPatternData(t, pool)
	since := timestamppb.New(day)
	full, err := s.ListPatterns(as(admin()), &logsv1.ListPatternsRequest{Since: since, Until: timestamppb.New(day.Add(24 * time.Hour))})
	require.NoError(t, err)
	require.Len(t, full.GetPatterns(), 7, "alpha's A, U, C and overflow, beta's A and U, gamma's A")
	var ids []string
	for _, p := range full.GetPatterns() {
		ids = append(ids, p.GetProjectSlug()+"/"+p.GetId())
	}

	// now moves forward with every call: later pages must keep the first
	// page's range (until is in the token), or they would count entries the
	// first one did not.
	calls := 0
	moving := New(zap.NewNop(), pool, nil, Config{})
	moving.now = func() time.Time {
		calls++
		return patternBase.Add(time.Duration(calls) * time.Hour)
	}
	for _, size := range []int32{1, 2, 3, 7} {
		t.Run(strconv.Itoa(int(size)), func(t *testing.T) {
			for _, svc := range []*Service{s, moving} {
				calls = 0
				var got []string
				req := &logsv1.ListPatternsRequest{PageSize: size, Since: since, Until: timestamppb.New(day.Add(24 * time.Hour))}
				if svc == moving {
					req.Until = nil
				}
				var counts []int64
				for pages := 0; ; pages++ {
					require.Less(t, pages, 20)
					res, err := svc.ListPatterns(as(admin()), req)
					require.NoError(t, err)
					require.LessOrEqual(t, len(res.GetPatterns()), int(size))
					for _, p := range res.GetPatterns() {
						got = append(got, p.GetProjectSlug()+"/"+p.GetId())
						counts = append(counts, p.GetCount())
					}
					if res.GetNextPageToken() == "" {
						break
					}
					require.Len(t, res.GetPatterns(), int(size))
					req.PageToken = res.GetNextPageToken()
				}
				want := ids
				if svc == moving {
					// The first page's range, to the first call's now.
					first, err := s.ListPatterns(as(admin()), &logsv1.ListPatternsRequest{Since: since, Until: timestamppb.New(patternBase.Add(time.Hour))})
					require.NoError(t, err)
					want = nil
					var n, all int64
					for _, p := range first.GetPatterns() {
						want = append(want, p.GetProjectSlug()+"/"+p.GetId())
						n += p.GetCount()
					}
					for _, p := range full.GetPatterns() {
						all += p.GetCount()
					}
					require.Less(t, n, all, "the range to now counts fewer entries than the day")
				}
				require.Equal(t, want, got)
				require.True(t, slices.IsSortedFunc(counts, func(a, b int64) int { return cmp.Compare(b, a) }), "most frequent first: %v", counts)
			}
		})
	}

	t.Run("token bound to the filters", func(t *testing.T) {
		res, err := s.ListPatterns(as(admin()), &logsv1.ListPatternsRequest{PageSize: 2, Since: since})
		require.NoError(t, err)
		tok := res.GetNextPageToken()
		require.NotEmpty(t, tok)
		for _, req := range []*logsv1.ListPatternsRequest{
			{PageToken: tok, Since: since, Level: []string{"INFO"}},
			{PageToken: tok},
			{PageToken: tok, Since: since, Project: []string{"alpha"}},
			{PageToken: "!!", Since: since},
			{PageToken: encodeToken(cursor{ts: day, id: 1}, (&filters{}).hash()), Since: since},
		} {
			_, err := s.ListPatterns(as(admin()), req)
			requireCode(t, err, codes.InvalidArgument, "invalid page_token")
		}
		_, err = s.ListPatterns(as(admin()), &logsv1.ListPatternsRequest{PageSize: -1})
		requireCode(t, err, codes.InvalidArgument, "page_size must not be negative")
	})
}

func TestPatternFilter(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	rows, patternOf := loadPatternData(t, pool)
	// newest first, as ListEntries orders them
	slices.SortFunc(rows, func(a, b sigRow) int { return b.ts.Compare(a.ts) })
	id := logstore.FormatPatternID

	t.Run("pattern_id on every entry", func(t *testing.T) {
		res, err := s.ListEntries(as(admin()), &logsv1.ListEntriesRequest{PageSize: 1000})
		require.NoError(t, err)
		require.Len(t, res.GetEntries(), patternRows)
		for _, e := range res.GetEntries() {
			require.Equal(t, id(patternOf[e.GetId()].id), e.GetPatternId(), e.GetMessage())
		}
	})

	for _, tc := range []struct {
		name     string
		projects []string
		patterns []string
		want     func(patternKey) bool
	}{
		{"a pattern of three signatures, across two projects", nil, []string{id(patternA)},
			func(k patternKey) bool { return k.id == patternA }},
		{"a merged-away id reads as its live pattern", nil, []string{id(patternB)},
			func(k patternKey) bool { return k.id == patternA && k.project == alpha }},
		{"an unmined signature, and the pattern it founded elsewhere", nil, []string{id(patternU)},
			func(k patternKey) bool { return k.id == patternU }},
		{"the overflow pattern: signature 0 and those mapped to it", nil, []string{"0"},
			func(k patternKey) bool { return k.id == logstore.OverflowPattern }},
		{"several patterns, any of", nil, []string{id(patternC), strings.ToUpper(id(patternU)), id(patternC)},
			func(k patternKey) bool { return k.id == patternC || k.id == patternU }},
		{"a project", []string{"beta"}, []string{id(patternA)},
			func(k patternKey) bool { return k.id == patternA && k.project == beta }},
		// An entry read before its signature was mined carried the
		// signature as its pattern_id: that id still finds the pattern
		// the signature joined, in the signature's project.
		{"a mined signature's provisional id", nil, []string{id(sigBob)},
			func(k patternKey) bool { return k.id == patternA && k.project == alpha }},
		{"an unknown id", nil, []string{id(sigNew)},
			func(patternKey) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []int64
			for _, r := range rows {
				if r.project != gamma && tc.want(patternOf[r.id]) {
					want = append(want, r.id)
				}
			}
			req := &logsv1.ListEntriesRequest{Project: tc.projects, Pattern: tc.patterns, PageSize: 7}
			var got []int64
			for pages := 0; ; pages++ {
				require.Less(t, pages, 200)
				res, err := s.ListEntries(as(member()), req)
				require.NoError(t, err)
				require.EqualValues(t, len(want), res.GetTotalSize())
				for _, e := range res.GetEntries() {
					got = append(got, e.GetId())
					require.Equal(t, id(patternOf[e.GetId()].id), e.GetPatternId())
				}
				if res.GetNextPageToken() == "" {
					break
				}
				req.PageToken = res.GetNextPageToken()
			}
			require.Equal(t, want, got)

			st, err := s.GetStats(as(member()), &logsv1.GetStatsRequest{Project: tc.projects, Pattern: tc.patterns,
				Since: timestamppb.New(day), Until: timestamppb.New(day.Add(24 * time.Hour))})
			require.NoError(t, err)
			require.EqualValues(t, len(want), st.GetTotal())
		})
	}

	t.Run("the page token is bound to the patterns", func(t *testing.T) {
		res, err := s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Pattern: []string{id(patternA)}, PageSize: 2})
		require.NoError(t, err)
		_, err = s.ListEntries(as(member()), &logsv1.ListEntriesRequest{Pattern: []string{id(patternU)}, PageSize: 2, PageToken: res.GetNextPageToken()})
		requireCode(t, err, codes.InvalidArgument, "invalid page_token")
		_, err = s.ListEntries(as(member()), &logsv1.ListEntriesRequest{PageSize: 2, PageToken: res.GetNextPageToken()})
		requireCode(t, err, codes.InvalidArgument, "invalid page_token")
	})
}

func TestPatternFilterInvalid(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{}, day)
	ctx := as(member())
	for _, bad := range []string{"xyz", "12345678901234567", "-1", "0x12", "12 34"} {
		want := `pattern "` + bad + `" is not a pattern id (16 hex digits)`
		_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{Pattern: []string{"00000000000000aa", bad}})
		requireCode(t, err, codes.InvalidArgument, want)
		_, err = s.GetStats(ctx, &logsv1.GetStatsRequest{Pattern: []string{bad}})
		requireCode(t, err, codes.InvalidArgument, want)
	}
	// Empty values are no filter, as for the other filters.
	_, err := s.ListEntries(ctx, &logsv1.ListEntriesRequest{Pattern: []string{"", " "}})
	require.NoError(t, err)

	// ListPatterns refuses what GetStats refuses.
	_, err = s.ListPatterns(ctx, &logsv1.ListPatternsRequest{Project: []string{"gamma"}})
	requireCode(t, err, codes.PermissionDenied, `project "gamma" is not yours`)
	_, err = s.ListPatterns(ctx, &logsv1.ListPatternsRequest{Since: timestamppb.New(time.Now().Add(time.Hour))})
	requireCode(t, err, codes.InvalidArgument, "since must be before until (default now)")
	_, err = s.ListPatterns(ctx, &logsv1.ListPatternsRequest{Since: timestamppb.New(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)), Until: timestamppb.New(day)})
	requireCode(t, err, codes.InvalidArgument, "")
	_, err = s.ListPatterns(ctx, &logsv1.ListPatternsRequest{Level: []string{"loud"}})
	requireCode(t, err, codes.InvalidArgument, `level "loud" is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL`)
}

// TestTailPatterns tails by a pattern while the miner maps a new signature
// to it: entries of that signature committed after the mapping are
// streamed, those before it (unmined, their own pattern) are not; every
// tailed entry carries its pattern.
func TestTailPatterns(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	client := serve(t, s, member())
	run(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A's first signature row, as if mined before the tail started.
	copyEntries(t, pool, []sigRow{{row: row{alpha, day.Add(time.Hour), "api", 3, "user 0 logged in", ""}, id: 1, sig: sigUser}})
	addPattern(t, pool, alpha, patternA, templateA, day, 0)
	mapSignature(t, pool, alpha, sigUser, patternA)

	byPattern, err := client.TailEntries(ctx, &logsv1.TailEntriesRequest{Pattern: []string{logstore.FormatPatternID(patternA)}})
	require.NoError(t, err)
	all, err := client.TailEntries(ctx, &logsv1.TailEntriesRequest{})
	require.NoError(t, err)
	for _, st := range []logsv1.QueryService_TailEntriesClient{byPattern, all} {
		_, err := st.Header()
		require.NoError(t, err)
	}
	a, b := receive(byPattern), receive(all)

	ts := day.Add(12 * time.Hour)
	put := func(msg string) {
		t.Helper()
		sig := sigOf(msg)
		r := row{alpha, ts, "api", 3, msg, ""}
		ts = ts.Add(time.Second)
		tx, err := pool.Begin(context.Background())
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(context.Background()) }()
		var eid int64
		require.NoError(t, tx.QueryRow(context.Background(), `INSERT INTO logs.entries (project_id, ts, service_name, level, message, signature)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, r.project, r.ts, r.service, r.level, r.message, sig).Scan(&eid))
		var sigs logstore.Signatures
		sigs.Add(r.project, sig, msg, r.ts)
		announce(t, tx, []row{r}, []int64{eid}, &sigs)
		require.NoError(t, tx.Commit(context.Background()))
	}
	put("disk full on /dev/x") // another pattern
	put("user 5 logged in")    // A
	put("session 77 opened")   // a new signature, not mined yet: its own pattern
	put("user 6 logged in")    // A
	// Once the filtered tail has "user 6", it has resolved the members for
	// "session 77" (an earlier or the same journal read), and once the other
	// has sent "session 77" it has resolved its pattern: map the new
	// signature to A, as the miner does.
	filtered := a.nextResponses(t, 2)
	unfiltered := b.nextResponses(t, 4) // and the other tail has sent "session 77" with its pattern then
	mapSignature(t, pool, alpha, sigNew, patternA)
	put("session 78 opened") // the same signature, now in A
	filtered = append(filtered, a.nextResponses(t, 1)...)

	var msgs, pids []string
	for _, m := range filtered {
		msgs, pids = append(msgs, m.GetEntry().GetMessage()), append(pids, m.GetEntry().GetPatternId())
	}
	require.Equal(t, []string{"user 5 logged in", "user 6 logged in", "session 78 opened"}, msgs)
	pa := logstore.FormatPatternID(patternA)
	require.Equal(t, []string{pa, pa, pa}, pids)

	msgs, pids = nil, nil
	for _, m := range append(unfiltered, b.nextResponses(t, 1)...) {
		msgs, pids = append(msgs, m.GetEntry().GetMessage()), append(pids, m.GetEntry().GetPatternId())
	}
	require.Equal(t, []string{"disk full on /dev/x", "user 5 logged in", "session 77 opened", "user 6 logged in", "session 78 opened"}, msgs)
	require.Equal(t, []string{logstore.FormatPatternID(sigDisk), pa, logstore.FormatPatternID(sigNew), pa, pa}, pids)

	t.Run("bad id", func(t *testing.T) {
		st, err := client.TailEntries(ctx, &logsv1.TailEntriesRequest{Pattern: []string{"nope"}})
		require.NoError(t, err)
		_, err = st.Recv()
		requireCode(t, err, codes.InvalidArgument, `pattern "nope" is not a pattern id (16 hex digits)`)
	})
}

// TestListPatternsExamples: the first example is the newest entry; the
// others come from the oldest and newest entries of each combination, newest
// first, at most three, each matching the filters (another entry may share
// a candidate's instant and signature).
func TestListPatternsExamples(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	t0 := day.Add(12 * time.Hour)
	msg := func(i int) string { return "job " + strconv.Itoa(i) + " done" }
	sig := sigOf(msg(0))
	var rows []sigRow
	add := func(id int64, ts time.Time, level int16, m string) {
		rows = append(rows, sigRow{row: row{alpha, ts, "api", level, m, ""}, id: id, sig: sigOf(m)})
	}
	// A burst of five in one minute: one (level, service, bucket).
	for i := 1; i <= 5; i++ {
		add(int64(i), t0.Add(time.Duration(i)*10*time.Second), 3, msg(i))
	}
	// Two at one instant, an hour later, and an ERROR at that instant.
	add(10, t0.Add(time.Hour), 3, msg(10))
	add(11, t0.Add(time.Hour), 3, msg(11))
	add(12, t0.Add(time.Hour), 5, msg(12))
	copyEntries(t, pool, rows)
	until := day.Add(24 * time.Hour)
	req := func(levels ...string) []int64 {
		res, err := s.ListPatterns(as(member()), &logsv1.ListPatternsRequest{Level: levels,
			Since: timestamppb.New(day), Until: timestamppb.New(until)})
		require.NoError(t, err)
		require.Len(t, res.GetPatterns(), 1)
		p := res.GetPatterns()[0]
		require.Equal(t, logstore.FormatPatternID(sig), p.GetId(), "unmined: the signature is the id")
		require.Equal(t, "job <num> done", p.GetTemplate())
		var ids []int64
		for _, e := range p.GetExamples() {
			ids = append(ids, e.GetId())
		}
		return ids
	}
	// Candidates: 12:00:50 (the burst's newest), 12:00:10 (its oldest),
	// 13:00 (both combinations' only instant): the two INFO at 13:00
	// (newest id first), then the burst's newest.
	require.Equal(t, []int64{12, 11, 10}, req())
	// Without the ERROR: the same instant, only the INFO entries.
	require.Equal(t, []int64{11, 10, 5}, req("INFO"))
	require.Equal(t, []int64{12}, req("ERROR"))
	// The burst alone: its newest and its oldest.
	until = t0.Add(30 * time.Minute)
	require.Equal(t, []int64{5, 1}, req())
}
