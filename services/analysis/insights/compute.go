package insights

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/signature"
)

// day is the baseline's span and the daily season.
const day = 24 * time.Hour

// countsShare is the part of the timeout the counting scans may take; the
// rest is left to the templates and examples, so that a report whose
// counts were read is answered (partial) within the timeout.
const countsShare = 0.75

// plan is the ranges one analysis reads, derived from its window.
type plan struct {
	since, until time.Time
	width        time.Duration // until - since
	baseline     int           // baseline windows: the windows just before since
	lo           time.Time     // start of the scan: the baseline and the 24 h before since
	seasonal     bool          // the window is at most a day: compare with a day and a week earlier
}

func newPlan(since, until time.Time) plan {
	p := plan{since: since, until: until, width: until.Sub(since)}
	p.width = max(p.width, time.Microsecond)
	p.baseline = int(min(maxBaselineWindows, max(1, (day+p.width-1)/p.width)))
	p.lo = since.Add(-time.Duration(p.baseline) * p.width)
	if d := since.Add(-day); d.Before(p.lo) {
		p.lo = d
	}
	p.seasonal = p.width <= day
	return p
}

// bucket is the index of a bucket start: 0 the window, -1 the previous
// window, -k the k-th window before.
func (p plan) bucket(start time.Time) int {
	d := start.Sub(p.since)
	return int(math.Round(float64(d) / float64(p.width)))
}

type seriesKey struct {
	project int64
	service string
	pattern int64
}

// windowCount is the count of one baseline window: the k-th before since.
type windowCount struct {
	k int16
	n int64
}

// series is what the scan read of one pattern of one service. Its memory
// is that of the rows read (the baseline is sparse: windows without
// entries take nothing).
type series struct {
	window, prev int64
	levels       [logstore.MaxLevel + 1]int64 // in the window
	base         []windowCount                // the baseline windows with entries
	dayBefore    int64                        // the window 24 h earlier
	weekBefore   int64                        // the window 7 d earlier
	firstTS      time.Time                    // oldest in the window
	lastTS       time.Time                    // newest in the window
}

type serviceKey struct {
	project int64
	service string
}

// serviceAgg is what the scan read of one service.
type serviceAgg struct {
	window, prev, errs, prevErrs int64
	last24                       int64 // entries in the 24 h before since
	dayBefore, weekBefore        int64 // entries in the window a day, a week earlier
	lastAny                      time.Time
}

type patternKey struct{ project, pattern int64 }

// patternAgg is one pattern over its services.
type patternAgg struct {
	window, prev int64
	levels       [logstore.MaxLevel + 1]int64
	services     []string
	firstTS      time.Time
	lastTS       time.Time
}

// counts is the result of the counting scans.
type counts struct {
	series   map[seriesKey]*series
	services map[serviceKey]*serviceAgg
	read     int64   // entries the scan counted (the sample's size when sampled)
	scale    float64 // 1, or the inverse of the sampled share
	sampled  bool
}

// readCounts estimates the entries of the scan, chooses the sample, and
// runs the counting scans.
func (a *Analyzer) readCounts(ctx context.Context, ids []int64, p plan) (*counts, error) {
	tx, err := a.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("counting the entries: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	// The planner estimates the groups of aggregateSQL as the product of its
	// keys' distinct counts, about the number of entries, where they are
	// bounded by the patterns (22,502 groups for 960k entries in
	// BenchmarkAnalyze1M): it then plans a sort, or a hash aggregate that
	// spills to disk, and over a sample a merge join that compares every
	// group with every signature (1,028 ms for a 20% sample of a 1 h
	// analysis, 318 ms with hashing). Hashing with room for the real groups
	// is the right plan whatever the data.
	if _, err := tx.Exec(ctx, "SET LOCAL enable_sort = off; SET LOCAL work_mem = '32MB'"); err != nil {
		return nil, fmt.Errorf("counting the entries: %w", err)
	}
	db := tx
	var estimate float64
	if err := db.QueryRow(ctx, estimateSQL, pgx.QueryExecModeExec, ids, p.lo, p.until).Scan(&estimate); err != nil {
		return nil, fmt.Errorf("estimating the entries: %w", err)
	}
	c := &counts{series: map[seriesKey]*series{}, services: map[serviceKey]*serviceAgg{}, scale: 1}
	sample := ""
	if estimate > float64(a.cfg.MaxEntries) {
		pct := 100 * float64(a.cfg.MaxEntries) / estimate
		// BERNOULLI samples rows: the window's share of the sample is its
		// share of the entries. SYSTEM samples whole pages, which hold
		// entries of neighbouring times, so a window that is a small part
		// of the scan got few pages and counts off by 30% and more
		// (TestSampling). REPEATABLE makes the same data give the same
		// report.
		sample = "TABLESAMPLE BERNOULLI (" + strconv.FormatFloat(pct, 'g', 6, 64) + ") REPEATABLE (1)"
		c.scale, c.sampled = 100/pct, true
	}
	rows, err := db.Query(ctx, fmt.Sprintf(aggregateSQL, sample), pgx.QueryExecModeExec,
		ids, p.lo, p.since, p.until, p.width.Microseconds(), p.since.Add(-day), p.until.Add(-day))
	if err != nil {
		return nil, fmt.Errorf("counting the entries: %w", err)
	}
	var (
		k                       seriesKey
		level                   logstore.Level
		bucket, firstTS, lastTS time.Time
		n, dayBefore, last24    int64
	)
	_, err = pgx.ForEachRow(rows, []any{&k.project, &k.service, &k.pattern, &level, &bucket, &n, &dayBefore, &last24, &firstTS, &lastTS}, func() error {
		s := c.series[k]
		if s == nil {
			if len(c.series) >= a.maxSeries {
				return errTooMany
			}
			s = &series{}
			c.series[k] = s
		}
		sv := c.services[serviceKey{k.project, k.service}]
		if sv == nil {
			sv = &serviceAgg{}
			c.services[serviceKey{k.project, k.service}] = sv
		}
		c.read += n
		isErr := level >= logstore.LevelError
		switch b := p.bucket(bucket); {
		case b == 0:
			s.window += n
			if level.Valid() {
				s.levels[level] += n
			}
			if s.firstTS.IsZero() || firstTS.Before(s.firstTS) {
				s.firstTS = firstTS
			}
			s.lastTS = later(s.lastTS, lastTS)
			sv.window += n
			if isErr {
				sv.errs += n
			}
		case b < 0 && -b <= p.baseline:
			s.addBase(int16(-b), n)
			if b == -1 {
				s.prev += n
				sv.prev += n
				if isErr {
					sv.prevErrs += n
				}
			}
		}
		s.dayBefore += dayBefore
		sv.dayBefore += dayBefore
		sv.last24 += last24
		sv.lastAny = later(sv.lastAny, lastTS)
		return nil
	})
	if errors.Is(err, errTooMany) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("counting the entries: %w", err)
	}
	if !p.seasonal {
		return c, nil
	}
	// The window a week earlier, for the seasonal check. Optional: when it
	// does not finish in time the report goes without it (partial).
	rows, err = db.Query(ctx, fmt.Sprintf(weekSQL, sample), pgx.QueryExecModeExec, ids, p.since.Add(-7*day), p.until.Add(-7*day))
	if err != nil {
		return c, &partError{fmt.Errorf("counting the entries a week earlier: %w", err)}
	}
	_, err = pgx.ForEachRow(rows, []any{&k.project, &k.service, &k.pattern, &n}, func() error {
		if sv := c.services[serviceKey{k.project, k.service}]; sv != nil {
			sv.weekBefore += n
		}
		if s := c.series[k]; s != nil {
			s.weekBefore += n
		}
		return nil
	})
	if err != nil {
		return c, &partError{fmt.Errorf("counting the entries a week earlier: %w", err)}
	}
	return c, nil
}

// addBase adds n entries of the k-th baseline window (one row per level).
func (s *series) addBase(k int16, n int64) {
	for i := range s.base {
		if s.base[i].k == k {
			s.base[i].n += n
			return
		}
	}
	s.base = append(s.base, windowCount{k, n})
}

// partError is the failure of an optional part of the report: the report
// is answered without it, partial.
type partError struct{ err error }

func (e *partError) Error() string { return e.err.Error() }
func (e *partError) Unwrap() error { return e.err }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// patternMeta is a pattern's template and first_seen.
type patternMeta struct {
	template  string
	firstSeen time.Time // zero: unknown (the overflow pattern)
}

// readPatterns reads the template and first_seen of the patterns keys.
func readPatterns(ctx context.Context, db *pgxpool.Pool, keys []patternKey) (map[patternKey]patternMeta, error) {
	meta := make(map[patternKey]patternMeta, len(keys))
	ps, ids := make([]int64, 0, len(keys)), make([]int64, 0, len(keys))
	for _, k := range keys {
		if k.pattern == logstore.OverflowPattern {
			meta[k] = patternMeta{template: logstore.OverflowTemplate}
			continue
		}
		ps, ids = append(ps, k.project), append(ids, k.pattern)
	}
	if len(ids) == 0 {
		return meta, nil
	}
	rows, err := db.Query(ctx, patternsSQL, pgx.QueryExecModeExec, ps, ids)
	if err != nil {
		return meta, fmt.Errorf("reading the patterns: %w", err)
	}
	var (
		k         patternKey
		tmpl, msg *string
		first     *time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&k.project, &k.pattern, &tmpl, &msg, &first}, func() error {
		var m patternMeta
		switch {
		case tmpl != nil:
			m.template = *tmpl
		case msg != nil:
			// An unmined signature: the template its pattern will start with.
			m.template = signature.Template(*msg)
		}
		if first != nil {
			m.firstSeen = *first
		}
		meta[k] = m
		return nil
	})
	if err != nil {
		return meta, fmt.Errorf("reading the patterns: %w", err)
	}
	return meta, nil
}

// exampleItem is an item of the report that gets example entries: a
// pattern of a project (of one service, or of any when service is "").
type exampleItem struct {
	project int64
	pattern int64
	service string
	lo, hi  time.Time
	// into receives the examples (several report items may share one).
	into []*[]*logsv1.LogEntry
}

// readExamples fills the examples of items, newest first, with their
// pattern and error group ids (logstore.ResolveEntries).
func readExamples(ctx context.Context, db *pgxpool.Pool, items []*exampleItem, slugs map[int64]string) error {
	if len(items) == 0 {
		return nil
	}
	idx := make([]int32, len(items))
	ps, pats := make([]int64, len(items)), make([]int64, len(items))
	svcs := make([]string, len(items))
	los, his := make([]time.Time, len(items)), make([]time.Time, len(items))
	for i, it := range items {
		idx[i], ps[i], pats[i], svcs[i], los[i], his[i] = int32(i), it.project, it.pattern, it.service, it.lo, it.hi
	}
	rows, err := db.Query(ctx, examplesSQL, pgx.QueryExecModeExec, idx, ps, pats, svcs, los, his, examplesPerItem)
	if err != nil {
		return fmt.Errorf("reading examples: %w", err)
	}
	var (
		owners  []int32
		entries []logstore.Entry
		item    int32
		e       logstore.Entry
	)
	// The columns after the item are logstore.EntryColumns, in its order
	// (the order of logstore.ScanEntry).
	_, err = pgx.ForEachRow(rows, append([]any{&item}, e.Targets()...), func() error {
		owners, entries = append(owners, item), append(entries, e)
		e.Context, e.SampleRate = nil, nil
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading examples: %w", err)
	}
	if err := logstore.ResolveEntries(ctx, db, entries); err != nil {
		return err
	}
	for i := range entries {
		it := items[owners[i]]
		pe := entries[i].Proto(slugs[entries[i].ProjectID])
		for _, dst := range it.into {
			*dst = append(*dst, pe)
		}
	}
	return nil
}

// compute runs one analysis under ctx (which carries the timeout). Every
// statement runs under ctx or a shorter one: when a context ends during a
// statement, pgx closes the connection and sends the server a cancel
// request for it, so the statement stops in the server too
// (TestCancelStopsSQL).
func (a *Analyzer) compute(ctx context.Context, req Request) (*logsv1.AnalyzeLogsResponse, error) {
	a.computations.Add(1)
	started := time.Now()
	p := newPlan(req.Since, req.Until)
	ids := make([]int64, len(req.Projects))
	slugs := make(map[int64]string, len(req.Projects))
	for i, pr := range req.Projects {
		ids[i] = pr.ID
		slugs[pr.ID] = pr.Slug
	}
	res := &logsv1.AnalyzeLogsResponse{
		Report:      &logsv1.AnalysisReport{},
		GeneratedAt: timestamppb.New(started),
		Since:       timestamppb.New(req.Since),
		Until:       timestamppb.New(req.Until),
	}
	if len(ids) == 0 {
		res.Summary, res.SummarySource = deterministicSummary(res, 0), summaryReport
		return res, nil
	}

	countsCtx, cancel := context.WithDeadline(ctx, started.Add(time.Duration(float64(a.cfg.Timeout)*countsShare)))
	c, err := a.readCounts(countsCtx, ids, p)
	// The counting ran out of its share of the timeout (or of the whole).
	timedOut := errors.Is(countsCtx.Err(), context.DeadlineExceeded)
	cancel()
	var part *partError
	switch {
	case errors.As(err, &part) && c != nil && !errors.Is(ctx.Err(), context.Canceled):
		a.log.Warn("analysis is partial", zap.Error(err))
		res.Partial = true
	case err != nil && timedOut:
		return nil, apierr.WithCause(errTimedOut, err)
	case err != nil:
		return nil, err
	}
	res.Sampled, res.SampleSize = c.sampled, c.read

	b := buildReport(c, p, slugs)
	meta, err := readPatterns(ctx, a.pool, b.patternKeys())
	b.finish(meta)
	if err == nil {
		err = readExamples(ctx, a.pool, b.examples, slugs)
	}
	if err != nil {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// A failure, or a computation cancelled (every caller gone, or
			// Close): no report.
			return nil, err
		}
		a.log.Warn("analysis is partial", zap.Error(err))
		res.Partial = true
	}
	res.Report = b.report
	res.Summary, res.SummarySource = deterministicSummary(res, b.total), summaryReport
	if a.llm != nil && ctx.Err() == nil {
		if text, err := a.llm.Summarize(ctx, res); err != nil {
			a.log.Warn("the language model did not summarise; the summary is the report's", zap.Error(err))
		} else {
			res.Summary, res.SummarySource = text, summaryLLM
		}
	}
	return res, nil
}

// Who wrote a summary (AnalyzeLogsResponse.summary_source).
const (
	summaryReport = "report"
	summaryLLM    = "llm"
)

// sortDesc orders items by score, highest first, ties by key.
func sortDesc[T any](xs []T, score func(T) float64, key func(T) string) {
	slices.SortStableFunc(xs, func(x, y T) int {
		if c := cmp.Compare(score(y), score(x)); c != 0 {
			return c
		}
		return cmp.Compare(key(x), key(y))
	})
}
