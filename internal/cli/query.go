package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/devsmith/logs/internal/durationflag"
)

func runLogs(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(env.Stdout, "Usage: devsmith logs query|tail|send|export [flags]\n")
			return nil
		}
		return usageErr("want a subcommand: query, tail, send or export")
	}
	switch args[0] {
	case "query":
		return logsQuery(ctx, env, args[1:])
	case "tail":
		return logsTail(ctx, env, args[1:])
	case "send":
		return logsSend(ctx, env, args[1:])
	case "export":
		return logsExport(ctx, env, args[1:])
	}
	return usageErr("unknown subcommand %q: want query, tail, send or export", args[0])
}

// filters are the API's shared query filters.
type filters struct {
	project, service, level, pattern, errorGroup list
	since, until, q                              string
	context                                      pairs
}

func (f *filters) register(fs *flag.FlagSet, withErrorGroup, withRange bool) {
	fs.Var(&f.project, "project", "project slug (repeatable or comma-separated: any of)")
	fs.Var(&f.service, "service", "service name (repeatable: any of)")
	fs.Var(&f.level, "level", "TRACE, DEBUG, INFO, WARN, ERROR or FATAL (repeatable: any of)")
	fs.StringVar(&f.q, "q", "", "case-insensitive substring of the message")
	fs.Var(&f.context, "context", "key=value on the entry's context (repeatable: all must match)")
	fs.Var(&f.pattern, "pattern", "pattern id, 16 hex digits (repeatable: any of)")
	if withErrorGroup {
		fs.Var(&f.errorGroup, "error-group", "error group id (repeatable: any of)")
	}
	if withRange {
		fs.StringVar(&f.since, "since", "", "from this time on (inclusive): a duration back from now (30m, 1h, 7d) or RFC 3339")
		fs.StringVar(&f.until, "until", "", "before this time (exclusive): a duration back from now or RFC 3339")
	}
}

// values are the filters as query parameters; times are resolved against
// now.
func (f *filters) values(now time.Time) (url.Values, error) {
	v := url.Values{}
	add := func(name string, l list) {
		for _, s := range l {
			v.Add(name, s)
		}
	}
	add("project", f.project)
	add("service", f.service)
	for _, l := range f.level {
		v.Add("level", strings.ToUpper(l))
	}
	add("pattern", f.pattern)
	add("error_group", f.errorGroup)
	if f.q != "" {
		v.Set("q", f.q)
	}
	for _, kv := range f.context {
		v.Add("context."+kv[0], kv[1])
	}
	for _, t := range []struct{ name, s string }{{"since", f.since}, {"until", f.until}} {
		if t.s == "" {
			continue
		}
		at, err := parseTime(t.s, now)
		if err != nil {
			return nil, usageErr("--%s: %v", t.name, err)
		}
		v.Set(t.name, at.UTC().Format(time.RFC3339Nano))
	}
	return v, nil
}

// parseTime reads --since/--until: a duration back from now ("90s", "30m",
// "1h", "7d", "1.5d") or an RFC 3339 time (with or without fraction; a
// bare date is midnight UTC).
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, err := durationflag.Parse(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (30m, 1h, 7d) nor an RFC 3339 time (2026-03-10T08:00:00Z)", s)
}

func logsQuery(ctx context.Context, env Env, args []string) error {
	var c common
	var f filters
	usage := "logs query [--project P] [--service S] [--level L] [--since 1h] [--until T] [--q TEXT] [--context k=v] [--pattern ID] [--error-group ID] [--limit N]"
	fs := newFlags("logs query", &c)
	f.register(fs, true, true)
	limit := fs.Int("limit", 100, "at most this many entries (newest first), paging as needed; 0 for all")
	pos, err := parse(fs, usage, args, env.Stdout)
	if err != nil {
		return err
	}
	if err := noArgs("logs query", pos); err != nil {
		return err
	}
	if err := checkOutput(c.output); err != nil {
		return err
	}
	if *limit < 0 {
		return usageErr("--limit %d: want 0 (all) or more", *limit)
	}
	q, err := f.values(env.Now())
	if err != nil {
		return err
	}
	cl, err := sessionClient(env, c)
	if err != nil {
		return err
	}
	pr := newPrinter(env, c.output, len(f.project) != 1)
	pr.header()
	printed := 0
	for {
		size := 1000
		if *limit > 0 && *limit-printed < size {
			size = *limit - printed
		}
		q.Set("page_size", fmt.Sprint(size))
		var page struct {
			Entries       []json.RawMessage `json:"entries"`
			NextPageToken string            `json:"next_page_token"`
		}
		if err := cl.do(ctx, "GET", "/api/logs/entries", q, nil, &page); err != nil {
			return err
		}
		for _, e := range page.Entries {
			if err := pr.entry(e); err != nil {
				return err
			}
			printed++
		}
		if page.NextPageToken == "" || (*limit > 0 && printed >= *limit) || len(page.Entries) == 0 {
			return nil
		}
		q.Set("page_token", page.NextPageToken)
	}
}
