package query

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/signature"
)

const (
	defaultPatternPageSize = 100
	maxPatternPageSize     = 1000
	// maxPatternOffset bounds a patterns page token's offset.
	maxPatternOffset = 1 << 31
	// trendBuckets is about how many buckets a pattern's trend has.
	trendBuckets = 30
	// patternExamples is the most examples a pattern carries.
	patternExamples = 3
)

// ListPatterns ranks the patterns of the matching entries in a range by
// their exact count there. The entries are counted in one scan per
// (project, signature, level, service, trend bucket); each signature is
// then mapped to its pattern as the contract of logstore says (the
// pattern its row points at, itself while unmined, the overflow pattern
// for signature 0), and the page's templates and examples are read, all in
// one snapshot. See README.md.
func (s *Service) ListPatterns(ctx context.Context, req *logsv1.ListPatternsRequest) (*logsv1.ListPatternsResponse, error) {
	size, err := patternPageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	f, err := parseFilters(ctx, rawFilters{
		project: req.GetProject(), service: req.GetService(), level: req.GetLevel(),
		since: req.GetSince(), until: req.GetUntil(), q: req.GetQ(), context: req.GetContext(),
	})
	if err != nil {
		return nil, err
	}
	hash := f.hash() // of the filters as given, before the range's defaults
	offset, until, tr, err := s.trendPage(f, req.GetPageToken(), hash)
	if err != nil {
		return nil, err
	}
	res := &logsv1.ListPatternsResponse{Patterns: []*logsv1.Pattern{}, BucketSeconds: int64(tr.width / time.Second)}
	if len(f.projects) == 0 {
		return res, nil
	}

	var page []*patternAgg
	var more bool
	var examples []logstore.Entry
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		sigs, err := aggregateSignatures(ctx, tx, f, tr)
		if err != nil {
			return err
		}
		all, err := groupPatterns(ctx, tx, sigs, tr)
		if err != nil {
			return err
		}
		slices.SortFunc(all, func(a, b *patternAgg) int {
			if c := cmp.Compare(b.count, a.count); c != 0 {
				return c
			}
			if c := cmp.Compare(f.slugs[a.key.project], f.slugs[b.key.project]); c != 0 {
				return c
			}
			return cmp.Compare(uint64(a.key.id), uint64(b.key.id))
		})
		if offset >= len(all) {
			return nil
		}
		page = all[offset:min(offset+size, len(all))]
		more = offset+size < len(all)
		if err := describePatterns(ctx, tx, page); err != nil {
			return err
		}
		if examples, err = readExamples(ctx, tx, f, page); err != nil {
			return err
		}
		return logstore.ResolveEntries(ctx, tx, examples)
	})
	if err != nil {
		return nil, err
	}

	byKey := make(map[patternKey]*logsv1.Pattern, len(page))
	for _, p := range page {
		pb := p.toProto(f.slugs, tr)
		byKey[p.key] = pb
		res.Patterns = append(res.Patterns, pb)
	}
	// Examples come newest first, and each goes to the pattern it resolved
	// to (the one whose key it was read for: same snapshot).
	slices.SortFunc(examples, func(a, b logstore.Entry) int {
		if c := b.TS.Compare(a.TS); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	for i := range examples {
		e := &examples[i]
		if pb := byKey[patternKey{e.ProjectID, e.Pattern}]; pb != nil && len(pb.Examples) < patternExamples {
			pb.Examples = append(pb.Examples, e.Proto(f.slugs[e.ProjectID]))
		}
	}
	if more {
		res.NextPageToken = encodePatternToken(patternCursor{until: until, offset: offset + size}, hash)
	}
	return res, nil
}

// patternPageSize applies ListPatterns' default and cap (AIP-158).
func patternPageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, apierr.Invalidf("page_size must not be negative")
	case n == 0:
		return defaultPatternPageSize, nil
	}
	return min(int(n), maxPatternPageSize), nil
}

// trend is the buckets of a range: n of width from first.
// trendPage reads the page token of a list paged by offset with a trend
// per item (ListPatterns, ListErrorGroups): the page's offset, and the
// range with its trend buckets, whose until a token pins to the first
// page's (hash: of the filters as given).
func (s *Service) trendPage(f *filters, tok string, hash [8]byte) (offset int, until time.Time, tr trend, err error) {
	if tok != "" {
		c, err := decodePatternToken(tok, hash)
		if err != nil {
			return 0, time.Time{}, trend{}, err
		}
		if f.until == nil {
			f.until = &c.until
		}
		offset = c.offset
	}
	since, until, err := s.statsRange(f)
	if err != nil {
		return 0, time.Time{}, trend{}, err
	}
	width, first, n, err := buckets(since, until, trendBuckets)
	if err != nil {
		return 0, time.Time{}, trend{}, err
	}
	return offset, until, trend{first: first, width: width, n: n}, nil
}

type trend struct {
	first time.Time
	width time.Duration
	n     int
}

// index is the bucket starting at b.
func (t trend) index(b time.Time) (int, error) {
	i := int(b.Sub(t.first) / t.width)
	if i < 0 || i >= t.n || !t.first.Add(time.Duration(i)*t.width).Equal(b) {
		return 0, fmt.Errorf("trend bucket %s outside the trend from %s", b.UTC(), t.first)
	}
	return i, nil
}

// counts are what ListPatterns counts of a signature or a pattern.
type counts struct {
	count    int64
	levels   [logstore.MaxLevel + 1]int64
	services map[string]struct{}
	lo, hi   time.Time // oldest and newest entry
	trend    []int64
}

func newCounts(t trend) counts {
	return counts{services: map[string]struct{}{}, trend: make([]int64, t.n)}
}

// sigAgg is one signature's counts.
type sigAgg struct {
	project, sig int64
	counts
	// newest are the ts of its patternExamples newest entries among the
	// oldest and newest of each bucket, newest first.
	newest []time.Time
}

// patternKey names a pattern: ids are unique within a project.
type patternKey struct{ project, id int64 }

// patternAgg is one pattern's counts, summed over its signatures, and what
// describePatterns reads of it.
type patternAgg struct {
	key patternKey
	counts
	// keys are the (ts, signature) of entries of it (its signatures'
	// newest), where its examples are read.
	keys []exampleKey
	// template and created are set by describePatterns.
	template string
	created  *time.Time
}

type exampleKey struct {
	ts  time.Time
	sig int64
}

// patternsAggQuery counts the entries in the range per (project,
// signature) in one scan: first per (project, signature, level, service,
// bucket), a hash aggregate as small as the distinct combinations, with
// each combination's oldest and newest entry; then that regrouped: by level
// (with the oldest and newest entry), by service, and by bucket (with the
// bucket's oldest and newest entry: where examples are read). The first
// column tells the grouping (groupedBy...).
//
// The first aggregate is a MATERIALIZED CTE and the regroupings a UNION
// ALL, not GROUPING SETS over it: the planner has no statistics for the
// bucket expression and expects about one group per entry, so with GROUPING
// SETS it sorted every entry (on disk) to feed the sorted regroupings;
// with 200,000 entries over three projects that took 360 ms instead of
// 200 ms. Here nothing downstream gains from sorted input, and every step
// is a hash aggregate (which spills in batches if a range ever has more
// combinations than work_mem holds). (Collecting more instants per
// signature for the examples, as arrays, cost another 95 ms.)
func patternsAggQuery(f *filters, width time.Duration) (string, []any) {
	b := &sqlBuilder{}
	w := b.arg(int64(width / time.Second))
	f.addFilters(b, filterOpts{projects: true, times: true})
	return `WITH g AS MATERIALIZED (
		SELECT project_id, signature, level, service_name,
		       date_bin(` + w + `::bigint * interval '1 second', ts, timestamptz '1970-01-01 00:00:00+00') AS bucket,
		       count(*) AS n, min(ts) AS lo, max(ts) AS hi
		FROM logs.entries WHERE ` + b.where() + `
		GROUP BY 1, 2, 3, 4, 5
	)
	SELECT ` + strconv.Itoa(int(groupedByLevel)) + `, project_id, signature, level, NULL::text, NULL::timestamptz, sum(n)::bigint, min(lo), max(hi) FROM g GROUP BY 2, 3, 4
	UNION ALL SELECT ` + strconv.Itoa(int(groupedByService)) + `, project_id, signature, NULL, service_name, NULL, sum(n)::bigint, NULL, NULL FROM g GROUP BY 2, 3, 5
	UNION ALL SELECT ` + strconv.Itoa(int(groupedByBucket)) + `, project_id, signature, NULL, NULL, bucket, sum(n)::bigint, min(lo), max(hi) FROM g GROUP BY 2, 3, 6`, b.args
}

// The groupings of patternsAggQuery's rows, its first column.
const (
	groupedByLevel int32 = iota + 1
	groupedByService
	groupedByBucket
)

// aggregateSignatures counts the matching entries of each signature.
func aggregateSignatures(ctx context.Context, tx logstore.Querier, f *filters, t trend) ([]*sigAgg, error) {
	sql, args := patternsAggQuery(f, t.width)
	rows, err := tx.Query(ctx, sql, oneShot(args)...)
	if err != nil {
		return nil, fmt.Errorf("counting patterns: %w", err)
	}
	defer rows.Close()
	bySig := map[sigKey]*sigAgg{}
	var out []*sigAgg
	for rows.Next() {
		var (
			grouping     int32
			project, sig int64
			level        *logstore.Level
			service      *string
			bucket       *time.Time
			count        int64
			lo, hi       *time.Time
		)
		if err := rows.Scan(&grouping, &project, &sig, &level, &service, &bucket, &count, &lo, &hi); err != nil {
			return nil, fmt.Errorf("reading pattern counts: %w", err)
		}
		k := sigKey{project, sig}
		a := bySig[k]
		if a == nil {
			a = &sigAgg{project: project, sig: sig, counts: newCounts(t)}
			bySig[k] = a
			out = append(out, a)
		}
		switch grouping {
		case groupedByLevel: // every entry once
			if !level.Valid() {
				return nil, fmt.Errorf("entry level %d out of range", *level)
			}
			a.count += count
			a.levels[*level] += count
			a.lo, a.hi = earliest(a.lo, *lo), maxTime(a.hi, *hi)
		case groupedByService:
			a.services[*service] = struct{}{}
		case groupedByBucket:
			i, err := t.index(*bucket)
			if err != nil {
				return nil, err
			}
			a.trend[i] += count
			a.newest = append(a.newest, *hi)
			if lo.Before(*hi) {
				a.newest = append(a.newest, *lo)
			}
		default:
			return nil, fmt.Errorf("pattern counts: unexpected grouping %d", grouping)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading pattern counts: %w", err)
	}
	for _, a := range out {
		a.newest = newestDistinct(a.newest, patternExamples)
	}
	return out, nil
}

// sigKey names a signature: signatures are per project.
type sigKey struct{ project, sig int64 }

// newestDistinct returns the n latest distinct times of ts, newest first
// (reusing ts).
func newestDistinct(ts []time.Time, n int) []time.Time {
	slices.SortFunc(ts, func(a, b time.Time) int { return b.Compare(a) })
	ts = slices.CompactFunc(ts, time.Time.Equal)
	return ts[:min(n, len(ts))]
}

// earliest is min where the zero time is "none" (maxTime needs no such
// case: the zero time is before any other).
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// groupPatterns sums the signatures' counts per pattern, each signature's
// pattern as logstore.PatternsOf says.
func groupPatterns(ctx context.Context, tx logstore.Querier, sigs []*sigAgg, t trend) ([]*patternAgg, error) {
	keys := make([]logstore.SignatureKey, len(sigs))
	for i, a := range sigs {
		keys[i] = logstore.SignatureKey{Project: a.project, Signature: a.sig}
	}
	pattern, err := logstore.PatternsOf(ctx, tx, keys)
	if err != nil {
		return nil, fmt.Errorf("mapping signatures to patterns: %w", err)
	}
	byKey := map[patternKey]*patternAgg{}
	var out []*patternAgg
	for i, a := range sigs {
		k := patternKey{a.project, pattern[keys[i]]}
		p := byKey[k]
		if p == nil {
			p = &patternAgg{key: k, counts: newCounts(t)}
			byKey[k] = p
			out = append(out, p)
		}
		p.count += a.count
		for l, c := range a.levels {
			p.levels[l] += c
		}
		for sv := range a.services {
			p.services[sv] = struct{}{}
		}
		p.lo, p.hi = earliest(p.lo, a.lo), maxTime(p.hi, a.hi)
		for i, c := range a.trend {
			p.trend[i] += c
		}
		for _, ts := range a.newest {
			p.keys = append(p.keys, exampleKey{ts, a.sig})
		}
	}
	return out, nil
}

// describeSQL reads, for each pattern (project $1, id $2), the template of
// its live pattern (following a merge), when it was first seen, and the
// row of the signature equal to its id (the founding one; for an unmined
// pattern the only one), whose message is the template of a pattern not
// mined yet.
const describeSQL = `SELECT u.p, u.id, coalesce(l.template, p.template), coalesce(p.first_seen, s.first_seen), s.message
FROM unnest($1::bigint[], $2::bigint[]) AS u(p, id)
LEFT JOIN logs.patterns p ON p.project_id = u.p AND p.id = u.id
LEFT JOIN logs.patterns l ON l.project_id = u.p AND l.id = p.merged_into
LEFT JOIN logs.pattern_signatures s ON s.project_id = u.p AND s.signature = u.id`

// describePatterns sets the page's templates and creation times.
func describePatterns(ctx context.Context, tx logstore.Querier, page []*patternAgg) error {
	byKey := make(map[patternKey]*patternAgg, len(page))
	ps, ids := make([]int64, 0, len(page)), make([]int64, 0, len(page))
	for _, p := range page {
		byKey[p.key] = p
		if p.key.id == logstore.OverflowPattern {
			p.template = logstore.OverflowTemplate
		}
		ps, ids = append(ps, p.key.project), append(ids, p.key.id)
	}
	rows, err := tx.Query(ctx, describeSQL, ps, ids)
	if err != nil {
		return fmt.Errorf("reading pattern templates: %w", err)
	}
	var (
		k        patternKey
		template *string
		created  *time.Time
		message  *string
	)
	_, err = pgx.ForEachRow(rows, []any{&k.project, &k.id, &template, &created, &message}, func() error {
		p := byKey[k]
		if p == nil {
			return nil
		}
		switch {
		case k.id == logstore.OverflowPattern:
		case template != nil:
			p.template = *template
		case message != nil:
			p.template = signature.Template(*message)
		}
		if created != nil {
			c := *created
			p.created = &c
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading pattern templates: %w", err)
	}
	return nil
}

// readExamples reads the candidates of the page's examples: for each
// pattern, the matching entries at the patternExamples newest of its
// (ts, signature) keys, each an exact primary-key range (project, ts)
// narrowed by the signature. The first key is the pattern's newest entry;
// the others are the oldest or newest entries of its signatures' buckets:
// recent, not necessarily the next newest (which a scan of the range would
// find, at a cost that grows with the entries between them).
func readExamples(ctx context.Context, tx logstore.Querier, f *filters, page []*patternAgg) ([]logstore.Entry, error) {
	var ps, gs []int64
	var ts []time.Time
	for _, p := range page {
		slices.SortFunc(p.keys, func(a, b exampleKey) int {
			if c := b.ts.Compare(a.ts); c != 0 {
				return c
			}
			return cmp.Compare(a.sig, b.sig)
		})
		p.keys = slices.Compact(p.keys)
		for _, k := range p.keys[:min(len(p.keys), patternExamples)] {
			ps, ts, gs = append(ps, p.key.project), append(ts, k.ts), append(gs, k.sig)
		}
	}
	if len(ps) == 0 {
		return nil, nil
	}
	b := &sqlBuilder{}
	keys := "unnest(" + b.arg(ps) + "::bigint[], " + b.arg(ts) + "::timestamptz[], " + b.arg(gs) + "::bigint[]) AS k(p, t, g)"
	b.and("project_id = k.p")
	b.and("ts = k.t")
	b.and("signature = k.g")
	f.addFilters(b, filterOpts{times: true})
	sql := "SELECT " + logstore.EntryColumnsOf("e") + " FROM " + keys +
		" CROSS JOIN LATERAL (SELECT " + logstore.EntryColumns + " FROM logs.entries WHERE " + b.where() + ") e"
	rows, err := tx.Query(ctx, sql, oneShot(b.args)...)
	if err != nil {
		return nil, fmt.Errorf("reading pattern examples: %w", err)
	}
	out, err := pgx.CollectRows(rows, logstore.ScanEntry)
	if err != nil {
		return nil, fmt.Errorf("reading pattern examples: %w", err)
	}
	return out, nil
}

// toProto converts p; its examples are added by the caller.
func (p *patternAgg) toProto(slugs map[int64]string, t trend) *logsv1.Pattern {
	pb := &logsv1.Pattern{
		Id:            logstore.FormatPatternID(p.key.id),
		ProjectSlug:   slugs[p.key.project],
		Template:      p.template,
		Count:         p.count,
		CountsByLevel: zeroLevels(),
		Services:      make([]string, 0, len(p.services)),
		FirstSeen:     timestamppb.New(p.lo),
		LastSeen:      timestamppb.New(p.hi),
		Examples:      []*logsv1.LogEntry{},
		Trend:         make([]*logsv1.CountBucket, t.n),
	}
	for l := logstore.MinLevel; l <= logstore.MaxLevel; l++ {
		pb.CountsByLevel[l.String()] = p.levels[l]
	}
	for sv := range p.services {
		pb.Services = append(pb.Services, sv)
	}
	slices.Sort(pb.Services)
	for i := range pb.Trend {
		pb.Trend[i] = &logsv1.CountBucket{Start: timestamppb.New(t.first.Add(time.Duration(i) * t.width)), Count: p.trend[i]}
	}
	if p.created != nil {
		pb.CreateTime = timestamppb.New(*p.created)
	}
	return pb
}
