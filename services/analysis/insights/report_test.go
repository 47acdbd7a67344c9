package insights

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
)

// t0 starts the analysed window of the crafted data: [t0, t0+1h).
var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

const (
	alpha = int64(1)
	beta  = int64(2)
	gamma = int64(3)
)

// hourly is one pattern of the crafted data: per hour of the 8 days before
// the window and of the window itself, perHour(hour start) entries with
// the messages format(i).
type hourly struct {
	project int64
	service string
	level   logstore.Level
	format  string // one %d
	perHour func(h time.Time) int
}

func steady(n int) func(time.Time) int { return func(time.Time) int { return n } }

// crafted is the data of TestReport (documented per list there).
func crafted() []hourly {
	window := func(in, out int) func(time.Time) int {
		return func(h time.Time) int {
			if h.Equal(t0) {
				return in
			}
			return out
		}
	}
	return []hourly{
		{alpha, "api", logstore.LevelInfo, "request handled in %d ms", steady(60)},
		// Every day at 10:00 the cache warms up: 80 entries in that hour, 1
		// in the others. Today's 80 is no spike.
		{alpha, "api", logstore.LevelInfo, "cache warmup step %d", func(h time.Time) int {
			if h.Hour() == 10 {
				return 80
			}
			return 1
		}},
		// Once a week at 10:00, 80 entries; 1 an hour otherwise. The same
		// window a week ago had them: no spike.
		{alpha, "api", logstore.LevelInfo, "weekly digest %d built", func(h time.Time) int {
			if h.Equal(t0) || h.Equal(t0.Add(-7*day)) {
				return 80
			}
			return 1
		}},
		// 2 an hour, then 80 in the window: a spike (yesterday at this time it
		// was 2), and the worker's errors are up 40x.
		{alpha, "worker", logstore.LevelError, "Payment timeout for order %d", window(80, 2)},
		{alpha, "worker", logstore.LevelInfo, "job %d done", steady(60)},
		// 10 an hour, 40 in the window: growing.
		{alpha, "api", logstore.LevelWarn, "slow query took %d ms", window(40, 10)},
		// 3 in the previous window, 6 in this one: too few to be growing.
		{alpha, "api", logstore.LevelInfo, "retrying connection %d", func(h time.Time) int {
			switch {
			case h.Equal(t0):
				return 6
			case h.Equal(t0.Add(-time.Hour)):
				return 3
			}
			return 0
		}},
		// The mailer stopped half an hour before the window: silent.
		{alpha, "mailer", logstore.LevelInfo, "mail %d sent", func(h time.Time) int {
			if h.Before(t0) {
				return 30
			}
			return 0
		}},
		// First seen in the window: a new error pattern, its signature not
		// mined yet; and a new pattern without errors.
		{alpha, "billing", logstore.LevelError, "Invoice %d rejected by gateway", window(15, 0)},
		{alpha, "api", logstore.LevelInfo, "feature flag %d enabled", window(5, 0)},
		{beta, "api", logstore.LevelInfo, "request handled in %d ms", steady(10)},
		// Not analysed.
		{gamma, "api", logstore.LevelFatal, "disk %d full", window(500, 0)},
	}
}

// seedCrafted writes the crafted data and mines every pattern but the
// invoice one; alice's and bob's logins are one pattern founded by alice.
func seedCrafted(t testing.TB, s *seeder) (loginPattern int64) {
	t.Helper()
	var es []entry
	for h := t0.Add(-8 * day); !h.After(t0); h = h.Add(time.Hour) {
		for _, p := range crafted() {
			for i, ts := range every(h, time.Hour, p.perHour(h)) {
				es = append(es, entry{p.project, ts, p.service, p.level, fmt.Sprintf(p.format, i)})
			}
		}
		for _, ts := range every(h, time.Hour, 20) {
			es = append(es, entry{alpha, ts, "auth", logstore.LevelInfo, "user alice logged in"})
			es = append(es, entry{alpha, ts.Add(time.Second), "auth", logstore.LevelInfo, "user bob logged in"})
		}
	}
	s.write(es)
	s.rollups()
	for _, p := range crafted() {
		if !strings.HasPrefix(p.format, "Invoice") {
			s.mine(p.project, fmt.Sprintf(p.format, 0), strings.Replace(p.format, "%d", "<num>", 1))
		}
	}
	return s.mine(alpha, "user alice logged in", "user <*> logged in", "user bob logged in")
}

func request(projects ...int64) Request {
	req := Request{Since: t0, Until: t0.Add(time.Hour)}
	for _, p := range projects {
		req.Projects = append(req.Projects, Project{ID: p, Slug: map[int64]string{alpha: "alpha", beta: "beta", gamma: "gamma"}[p]})
	}
	return req
}

func templates(ps []*logsv1.PatternInsight) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.GetProjectSlug()+": "+p.GetTemplate())
	}
	return out
}

func find(t *testing.T, ps []*logsv1.PatternInsight, project, template string) *logsv1.PatternInsight {
	t.Helper()
	for _, p := range ps {
		if p.GetProjectSlug() == project && strings.Contains(p.GetTemplate(), template) {
			return p
		}
	}
	t.Fatalf("no %s pattern %q in %v", project, template, templates(ps))
	return nil
}

// TestReport checks every list of the report on the crafted data.
func TestReport(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	s := newSeeder(t, pool)
	login := seedCrafted(t, s)
	a := newAnalyzer(t, pool, Config{}, nil)
	res, err := a.Analyze(context.Background(), request(alpha, beta))
	require.NoError(t, err)
	r := res.GetReport()
	require.False(t, res.GetSampled())
	require.False(t, res.GetPartial())
	require.Equal(t, "report", res.GetSummarySource())
	require.True(t, res.GetSince().AsTime().Equal(t0))

	t.Run("top patterns", func(t *testing.T) {
		require.Len(t, r.GetTopPatterns(), listLen)
		for i, p := range r.GetTopPatterns()[1:] {
			require.LessOrEqual(t, p.GetCount(), r.GetTopPatterns()[i].GetCount(), "most frequent first")
		}
		require.EqualValues(t, 80, r.GetTopPatterns()[0].GetCount())
		p := find(t, r.GetTopPatterns(), "alpha", "request handled in <num> ms")
		require.EqualValues(t, 60, p.GetCount())
		require.EqualValues(t, 60, p.GetPreviousCount())
		require.Equal(t, map[string]int64{"INFO": 60}, p.GetCountsByLevel())
		require.Equal(t, []string{"api"}, p.GetServices())
		require.True(t, p.GetFirstSeen().AsTime().Equal(t0.Add(-8*day)), "%s", p.GetFirstSeen().AsTime())
		// Both logins are one pattern: its entries of both signatures.
		l := find(t, r.GetTopPatterns(), "alpha", "user <*> logged in")
		require.Equal(t, logstore.FormatPatternID(login), l.GetPatternId())
		require.EqualValues(t, 40, l.GetCount())
		require.Len(t, l.GetExamples(), examplesPerItem)
		for i, e := range l.GetExamples() {
			require.Equal(t, l.GetPatternId(), e.GetPatternId())
			require.Equal(t, "alpha", e.GetProjectSlug())
			if i > 0 {
				require.False(t, e.GetTimestamp().AsTime().After(l.GetExamples()[i-1].GetTimestamp().AsTime()), "newest first")
			}
		}
		require.Contains(t, l.GetExamples()[0].GetMessage(), "bob", "the newest login is bob's")
		b := find(t, r.GetTopPatterns(), "beta", "request handled")
		require.EqualValues(t, 10, b.GetCount())
		for _, p := range r.GetTopPatterns() {
			require.NotEqual(t, "gamma", p.GetProjectSlug())
		}
	})
	t.Run("growing patterns", func(t *testing.T) {
		p := find(t, r.GetGrowingPatterns(), "alpha", "slow query")
		require.EqualValues(t, 40, p.GetCount())
		require.EqualValues(t, 10, p.GetPreviousCount())
		for _, p := range r.GetGrowingPatterns() {
			require.NotContains(t, p.GetTemplate(), "retrying", "3 to 6 is not growing")
			require.NotContains(t, p.GetTemplate(), "request handled", "steady")
		}
	})
	t.Run("new patterns", func(t *testing.T) {
		require.ElementsMatch(t, []string{"alpha: feature flag <num> enabled", "alpha: Invoice <num> rejected by gateway"}, templates(r.GetNewPatterns()))
		inv := find(t, r.GetNewErrorPatterns(), "alpha", "rejected by gateway")
		require.Len(t, r.GetNewErrorPatterns(), 1)
		// Unmined: the pattern is the signature, its template the first
		// message's masked tokens.
		require.Equal(t, logstore.FormatPatternID(s.sig("Invoice 0 rejected by gateway")), inv.GetPatternId())
		require.EqualValues(t, 15, inv.GetCount())
		require.Equal(t, map[string]int64{"ERROR": 15}, inv.GetCountsByLevel())
		require.True(t, inv.GetFirstSeen().AsTime().Equal(t0), "%s", inv.GetFirstSeen().AsTime())
		require.Len(t, inv.GetExamples(), examplesPerItem)
		require.Equal(t, "Invoice 14 rejected by gateway", inv.GetExamples()[0].GetMessage())
		require.Equal(t, inv.GetPatternId(), inv.GetExamples()[0].GetPatternId())
	})
	t.Run("spikes", func(t *testing.T) {
		var names []string
		var pay *logsv1.Spike
		for _, sp := range r.GetSpikes() {
			names = append(names, sp.GetServiceName()+": "+sp.GetTemplate())
			if strings.Contains(sp.GetTemplate(), "Payment") {
				pay = sp
			}
			require.NotContains(t, sp.GetTemplate(), "cache warmup", "a daily rise is no spike")
			require.NotContains(t, sp.GetTemplate(), "weekly digest", "a weekly rise is no spike")
			require.NotContains(t, sp.GetTemplate(), "request handled", "steady")
		}
		require.NotNil(t, pay, "%v", names)
		require.Equal(t, "worker", pay.GetServiceName())
		require.EqualValues(t, 80, pay.GetCount())
		require.InDelta(t, 2, pay.GetBaseline(), 0.01)
		require.Greater(t, pay.GetScore(), spikeScore)
		require.Len(t, pay.GetExamples(), examplesPerItem)
		require.Equal(t, "Payment timeout for order 79", pay.GetExamples()[0].GetMessage())
		require.Equal(t, pay.GetPatternId(), pay.GetExamples()[0].GetPatternId())
	})
	t.Run("silent services", func(t *testing.T) {
		require.Len(t, r.GetSilentServices(), 1)
		m := r.GetSilentServices()[0]
		require.Equal(t, "mailer", m.GetServiceName())
		require.Equal(t, "went silent", m.GetReason())
		require.EqualValues(t, 0, m.GetCount())
		require.EqualValues(t, 30, m.GetPreviousCount())
		require.True(t, m.GetLastLogAt().AsTime().Before(t0) && m.GetLastLogAt().AsTime().After(t0.Add(-time.Minute*3)), "%s", m.GetLastLogAt().AsTime())
	})
	t.Run("affected services", func(t *testing.T) {
		reasons := map[string]string{}
		for _, sv := range r.GetAffectedServices() {
			reasons[sv.GetProjectSlug()+"/"+sv.GetServiceName()] = sv.GetReason()
		}
		require.Equal(t, "errors up 40x", reasons["alpha/worker"], "%v", reasons)
		require.Equal(t, "errors up from 0 to 15", reasons["alpha/billing"], "%v", reasons)
		require.NotContains(t, reasons, "alpha/auth")
		require.NotContains(t, reasons, "beta/api")
	})
	t.Run("summary", func(t *testing.T) {
		for _, want := range []string{"2026-11-20 10:00:00 to 2026-11-20 11:00:00 UTC", "Payment timeout", "mailer (went silent)", "rejected by gateway"} {
			require.Contains(t, res.GetSummary(), want)
		}
	})
}

// TestLongWindow: a window longer than a day has one baseline window (the
// previous one) and no seasonal references; its counts are exact.
func TestLongWindow(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedCrafted(t, newSeeder(t, pool))
	req := request(alpha)
	req.Since = t0.Add(-3 * day)
	res, err := newAnalyzer(t, pool, Config{}, nil).Analyze(context.Background(), req)
	require.NoError(t, err)
	p := find(t, res.GetReport().GetTopPatterns(), "alpha", "request handled")
	require.EqualValues(t, 60*(3*24+1), p.GetCount())
	require.EqualValues(t, 60*(3*24+1), p.GetPreviousCount())
	require.Empty(t, res.GetReport().GetSilentServices(), "the mailer sent entries in the window")
	for _, sp := range res.GetReport().GetSpikes() {
		require.NotContains(t, sp.GetTemplate(), "request handled")
	}
}
