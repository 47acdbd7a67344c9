package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// QueryBenchConfig times the dashboard's queries over a seeded data set,
// through the REST API (gateway, session check, query service, database).
type QueryBenchConfig struct {
	Projects   []SeedProject
	Services   []string
	End        time.Time // newest seeded timestamp: "24 h" is [End-24h, End)
	Iterations int
	Warmup     int
	DeepPages  int
	// Cases, when not nil, selects the cases run by name (deep pagination
	// is named "deep pagination: ...").
	Cases *regexp.Regexp
	Out   io.Writer
}

// QueryCase is one timed query.
type QueryCase struct {
	Name    string
	Target  time.Duration // 0: informational
	Samples []time.Duration
}

// Percentile of the samples (sorted by QueryBench).
func (c *QueryCase) Percentile(p float64) time.Duration { return percentile(c.Samples, p) }

type entriesPage struct {
	Entries []struct {
		ID        json.Number `json:"id"`
		Timestamp string      `json:"timestamp"`
	} `json:"entries"`
	NextPageToken  string      `json:"next_page_token"`
	TotalSize      json.Number `json:"total_size"`
	TotalSizeExact bool        `json:"total_size_exact"`
}

type statsAnswer struct {
	Total     json.Number `json:"total"`
	Histogram []struct {
		Start string `json:"start"`
	} `json:"histogram"`
}

// QueryBench runs every case Iterations times (after Warmup untimed runs)
// and prints p50/p95/max.
func QueryBench(ctx context.Context, api *API, cfg QueryBenchConfig) ([]*QueryCase, error) {
	if cfg.Iterations <= 0 {
		cfg.Iterations = 30
	}
	since := cfg.End.Add(-24 * time.Hour).UTC().Format(time.RFC3339Nano)
	until := cfg.End.Add(time.Microsecond).UTC().Format(time.RFC3339Nano)
	proj := func(i int) string { return cfg.Projects[i%len(cfg.Projects)].Slug }
	svc := func(i int) string { return cfg.Services[(i/len(cfg.Projects))%len(cfg.Services)] }
	allProjects := func() url.Values {
		v := url.Values{}
		for _, p := range cfg.Projects {
			v.Add("project", p.Slug)
		}
		return v
	}

	type qcase struct {
		name   string
		target time.Duration
		path   string
		query  func(i int) url.Values
		check  func(raw []byte) error
	}
	nonEmpty := func(raw []byte) error {
		var p entriesPage
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		if len(p.Entries) == 0 {
			return fmt.Errorf("no entries")
		}
		return nil
	}
	anyPage := func(raw []byte) error {
		var p entriesPage
		return json.Unmarshal(raw, &p)
	}
	statsOK := func(raw []byte) error {
		var s statsAnswer
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if n, _ := s.Total.Int64(); n == 0 || len(s.Histogram) == 0 {
			return fmt.Errorf("empty stats")
		}
		return nil
	}
	metricsOK := func(raw []byte) error {
		var m struct {
			Series []struct {
				Count json.Number `json:"count"`
			} `json:"series"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		if len(m.Series) == 0 {
			return fmt.Errorf("no series (seeded without request entries?)")
		}
		return nil
	}
	groupsOK := func(raw []byte) error {
		var g struct {
			Groups []json.RawMessage `json:"groups"`
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			return err
		}
		if len(g.Groups) == 0 {
			return fmt.Errorf("no error groups (seeded without error entries?)")
		}
		return nil
	}
	cases := []qcase{
		{"newest page: 1 project, 1 service, levels WARN+ERROR, 24 h", 30 * time.Millisecond, "/api/logs/entries", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "service": {svc(i)}, "level": {"WARN", "ERROR"}, "since": {since}, "until": {until}, "page_size": {"100"}}
		}, nonEmpty},
		{"newest page: 1 project, 24 h", 30 * time.Millisecond, "/api/logs/entries", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "since": {since}, "until": {until}, "page_size": {"100"}}
		}, nonEmpty},
		{fmt.Sprintf("newest page: all %d projects, 24 h", len(cfg.Projects)), 0, "/api/logs/entries", func(i int) url.Values {
			v := allProjects()
			v.Set("since", since)
			v.Set("until", until)
			v.Set("page_size", "100")
			return v
		}, nonEmpty},
		{"newest page: 1 project, all time", 0, "/api/logs/entries", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "page_size": {"100"}}
		}, nonEmpty},
		{"stats + histogram: 1 project, 24 h", 100 * time.Millisecond, "/api/logs/stats", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "since": {since}, "until": {until}}
		}, statsOK},
		{"stats + histogram: 1 project, 1 service, 24 h", 100 * time.Millisecond, "/api/logs/stats", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "service": {svc(i)}, "since": {since}, "until": {until}}
		}, statsOK},
		{fmt.Sprintf("stats + histogram: all %d projects, 24 h", len(cfg.Projects)), 0, "/api/logs/stats", func(i int) url.Values {
			v := allProjects()
			v.Set("since", since)
			v.Set("until", until)
			return v
		}, statsOK},
		{"search q=timeout: 1 project, 24 h", time.Second, "/api/logs/entries", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "q": {"timeout"}, "since": {since}, "until": {until}, "page_size": {"100"}}
		}, nonEmpty},
		{"search with no match: 1 project, 24 h", time.Second, "/api/logs/entries", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "q": {fmt.Sprintf("no-such-text-%d", i)}, "since": {since}, "until": {until}, "page_size": {"100"}}
		}, anyPage},
		{"search q=timeout: 1 project, all time", 0, "/api/logs/entries", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "q": {"timeout"}, "page_size": {"100"}}
		}, nonEmpty},
		{fmt.Sprintf("metrics duration_ms by route: all %d projects, 24 h", len(cfg.Projects)), 500 * time.Millisecond, "/api/logs/metrics", func(i int) url.Values {
			v := allProjects()
			v.Set("since", since)
			v.Set("until", until)
			v.Set("group_by", "route")
			return v
		}, metricsOK},
		{"metrics duration_ms by route: 1 project, 24 h", 500 * time.Millisecond, "/api/logs/metrics", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "since": {since}, "until": {until}, "group_by": {"route"}}
		}, metricsOK},
		{fmt.Sprintf("errors, first page: all %d projects, 24 h", len(cfg.Projects)), 100 * time.Millisecond, "/api/logs/errors", func(i int) url.Values {
			v := allProjects()
			v.Set("since", since)
			v.Set("until", until)
			return v
		}, groupsOK},
		{"errors, first page: 1 project, 24 h", 100 * time.Millisecond, "/api/logs/errors", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "since": {since}, "until": {until}}
		}, groupsOK},
		{"metrics by route, method, service_name: 1 project, 1 h", 0, "/api/logs/metrics", func(i int) url.Values {
			return url.Values{"project": {proj(i)}, "since": {cfg.End.Add(-time.Hour).UTC().Format(time.RFC3339Nano)}, "until": {until},
				"group_by": {"route", "method", "service_name"}}
		}, metricsOK},
	}

	out := cfg.Out
	var results []*QueryCase
	fmt.Fprintf(out, "%-58s %9s %9s %9s  %s\n", "query (through REST, as the dashboard asks)", "p50", "p95", "max", "target")
	for _, c := range cases {
		if cfg.Cases != nil && !cfg.Cases.MatchString(c.name) {
			continue
		}
		qc := &QueryCase{Name: c.name, Target: c.target}
		for i := range cfg.Warmup + cfg.Iterations {
			var raw json.RawMessage
			t0 := time.Now()
			if err := api.Get(ctx, c.path, c.query(i), &raw); err != nil {
				return results, fmt.Errorf("%s: %w", c.name, err)
			}
			el := time.Since(t0)
			if err := c.check(raw); err != nil {
				return results, fmt.Errorf("%s: %w", c.name, err)
			}
			if i >= cfg.Warmup {
				qc.Samples = append(qc.Samples, el)
			}
		}
		slices.Sort(qc.Samples)
		printCase(out, qc)
		results = append(results, qc)
	}

	// Deep pagination: follow next_page_token from the newest page on.
	if deep := fmt.Sprintf("deep pagination: pages 2-%d of 1 project, 24 h", cfg.DeepPages); cfg.DeepPages > 0 && (cfg.Cases == nil || cfg.Cases.MatchString(deep)) {
		qc := &QueryCase{Name: deep, Target: 30 * time.Millisecond}
		var last time.Duration
		for walk := range max(cfg.Iterations/10, 1) {
			q := url.Values{"project": {proj(walk)}, "since": {since}, "until": {until}, "page_size": {"100"}}
			for page := 1; page <= cfg.DeepPages; page++ {
				var p entriesPage
				t0 := time.Now()
				if err := api.Get(ctx, "/api/logs/entries", q, &p); err != nil {
					return results, fmt.Errorf("deep pagination, page %d: %w", page, err)
				}
				el := time.Since(t0)
				if page > 1 {
					qc.Samples = append(qc.Samples, el)
				}
				last = el
				if p.NextPageToken == "" {
					break
				}
				q.Set("page_token", p.NextPageToken)
			}
		}
		slices.Sort(qc.Samples)
		printCase(out, qc)
		fmt.Fprintf(out, "%-58s %9s\n", fmt.Sprintf("  (page %d alone, last walk)", cfg.DeepPages), ms(last))
		results = append(results, qc)
	}
	return results, nil
}

func printCase(out io.Writer, c *QueryCase) {
	target := ""
	if c.Target > 0 {
		verdict := "met"
		if c.Percentile(95) >= c.Target {
			verdict = "NOT met"
		}
		target = fmt.Sprintf("p95 < %s: %s", strings.TrimSuffix(ms(c.Target), ".0 ms")+" ms", verdict)
	}
	fmt.Fprintf(out, "%-58s %9s %9s %9s  %s\n", c.Name, ms(c.Percentile(50)), ms(c.Percentile(95)), ms(c.Percentile(100)), target)
}

// CheckExactCounts compares the API's counts with SQL count(*) for one
// project: total_size of a filtered page and the 24 h stats total.
func CheckExactCounts(ctx context.Context, api *API, pool *pgxpool.Pool, p SeedProject, service string, end time.Time) error {
	since, until := end.Add(-24*time.Hour), end.Add(time.Microsecond)
	var page entriesPage
	q := url.Values{"project": {p.Slug}, "service": {service}, "level": {"WARN", "ERROR"},
		"since": {since.UTC().Format(time.RFC3339Nano)}, "until": {until.UTC().Format(time.RFC3339Nano)}, "page_size": {"1"}}
	if err := api.Get(ctx, "/api/logs/entries", q, &page); err != nil {
		return err
	}
	var want int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM logs.entries WHERE project_id = $1 AND service_name = $2 AND level IN (4, 5) AND ts >= $3 AND ts < $4`,
		p.ID, service, since, until).Scan(&want); err != nil {
		return err
	}
	if got, _ := page.TotalSize.Int64(); got != want || !page.TotalSizeExact {
		return fmt.Errorf("total_size %d (exact %v), SQL count(*) %d", got, page.TotalSizeExact, want)
	}
	var st statsAnswer
	q = url.Values{"project": {p.Slug}, "since": {since.UTC().Format(time.RFC3339Nano)}, "until": {until.UTC().Format(time.RFC3339Nano)}}
	if err := api.Get(ctx, "/api/logs/stats", q, &st); err != nil {
		return err
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM logs.entries WHERE project_id = $1 AND ts >= $2 AND ts < $3`, p.ID, since, until).Scan(&want); err != nil {
		return err
	}
	if got, _ := st.Total.Int64(); got != want {
		return fmt.Errorf("stats total %d, SQL count(*) %d", got, want)
	}
	return nil
}
