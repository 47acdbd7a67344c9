package query

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/fingerprint"
)

// Error groups (logstore/errors.go, docs/errors.md): ListErrorGroups,
// GetErrorGroup and UpdateErrorGroup. Counts are exact for the range: its
// whole hours from logs.error_group_hours or, without services,
// logs.error_group_level_hours (the writers' hourly counts, migrations
// 0008 and 0013), its partial hours at either end from logs.entries, by
// index-only scans of the fingerprinted entries' partial indexes: one
// group's through entries_error_fp_idx (project_id, error_fp, ts), every
// group's in time order through entries_error_ts_idx (project_id, ts)
// (migrations 0006 and 0017; groupCounts).

const (
	defaultGroupPageSize = 50
	maxGroupPageSize     = 1000
)

// The orders of ListErrorGroups.
const (
	sortLastSeen  = "last_seen"
	sortCount     = "count"
	sortFirstSeen = "first_seen"
)

// groupLevels are the levels that have error groups; defaultGroupLevels
// those ListErrorGroups counts when the request names none.
var (
	groupLevels        = []logstore.Level{logstore.LevelWarn, logstore.LevelError, logstore.LevelFatal}
	defaultGroupLevels = []int16{int16(logstore.LevelError), int16(logstore.LevelFatal)}
)

// groupRequest is what ListErrorGroups filters on besides the entries'
// filters: the groups' statuses and a substring of title or culprit.
type groupRequest struct {
	statuses []string
	q        string
	sort     string
}

// ListErrorGroups ranks the error groups of the matching entries in a
// range. One aggregate over the range's rows of the error index counts
// every group (count, oldest and newest entry, most severe level); the
// groups are ranked in memory, and only the page's groups get their trend,
// services, example, description and also_in, all in one snapshot.
func (s *Service) ListErrorGroups(ctx context.Context, req *logsv1.ListErrorGroupsRequest) (*logsv1.ListErrorGroupsResponse, error) {
	size, err := groupPageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	f, err := parseFilters(ctx, rawFilters{
		project: req.GetProject(), service: req.GetService(), level: req.GetLevel(),
		since: req.GetSince(), until: req.GetUntil(),
	})
	if err != nil {
		return nil, err
	}
	for _, l := range f.levels {
		if !slices.Contains(groupLevels, logstore.Level(l)) {
			return nil, apierr.Invalidf("level %q: error groups have WARN, ERROR and FATAL entries only", logstore.Level(l).String())
		}
	}
	g, err := parseGroupRequest(req)
	if err != nil {
		return nil, err
	}
	hash := g.hash(f) // of the filters as given, before the defaults
	if len(f.levels) == 0 {
		f.levels = defaultGroupLevels
	}
	offset, until, tr, err := s.trendPage(f, req.GetPageToken(), hash)
	if err != nil {
		return nil, err
	}
	res := &logsv1.ListErrorGroupsResponse{Groups: []*logsv1.ErrorGroup{}, BucketSeconds: int64(tr.width / time.Second)}
	if len(f.projects) == 0 {
		return res, nil
	}

	var page []*groupAgg
	var more bool
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		all, err := aggregateGroups(ctx, tx, f, g)
		if err != nil {
			return err
		}
		slices.SortFunc(all, func(a, b *groupAgg) int {
			var c int
			switch g.sort {
			case sortCount:
				c = cmp.Compare(b.count, a.count)
			case sortFirstSeen:
				c = b.lo.Compare(a.lo)
			default:
				c = b.hi.Compare(a.hi)
			}
			if c != 0 {
				return c
			}
			if c := cmp.Compare(f.slugs[a.project], f.slugs[b.project]); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		})
		if offset >= len(all) {
			return nil
		}
		page = all[offset:min(offset+size, len(all))]
		more = offset+size < len(all)
		return describeGroups(ctx, tx, f, tr, page)
	})
	if err != nil {
		return nil, err
	}
	for _, a := range page {
		res.Groups = append(res.Groups, a.toProto(f.slugs, tr))
	}
	if more {
		res.NextPageToken = encodePatternToken(patternCursor{until: until, offset: offset + size}, hash)
	}
	return res, nil
}

// groupPageSize applies ListErrorGroups' default and cap (AIP-158).
func groupPageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, apierr.Invalidf("page_size must not be negative")
	case n == 0:
		return defaultGroupPageSize, nil
	}
	return min(int(n), maxGroupPageSize), nil
}

// parseGroupRequest validates the status, q and sort of a request.
func parseGroupRequest(req *logsv1.ListErrorGroupsRequest) (groupRequest, error) {
	var g groupRequest
	if err := checkList("status", req.GetStatus()); err != nil {
		return g, err
	}
	for _, st := range normalized(req.GetStatus()) {
		st = strings.ToLower(strings.TrimSpace(st))
		if !validStatus(st) {
			return g, apierr.Invalidf("status %q is not one of open, resolved, ignored", st)
		}
		g.statuses = append(g.statuses, st)
	}
	slices.Sort(g.statuses)
	g.statuses = slices.Compact(g.statuses)
	if strings.ContainsRune(req.GetQ(), 0) {
		return g, apierr.Invalidf("q must not contain NUL characters")
	}
	g.q = req.GetQ()
	switch g.sort = strings.TrimSpace(req.GetSort()); g.sort {
	case "":
		g.sort = sortLastSeen
	case sortLastSeen, sortCount, sortFirstSeen:
	default:
		return g, apierr.Invalidf("sort %q is not one of last_seen, count, first_seen", req.GetSort())
	}
	return g, nil
}

func validStatus(s string) bool {
	return s == logstore.StatusOpen || s == logstore.StatusResolved || s == logstore.StatusIgnored
}

// hash identifies the filters and the order (not the page size) for page
// tokens: a patterns token does not page error groups.
func (g groupRequest) hash(f *filters) [8]byte {
	fh := f.hash()
	h := sha256.New()
	h.Write([]byte("query.error_groups.v1\x00"))
	h.Write(fh[:])
	for _, st := range g.statuses {
		h.Write([]byte(st + "\x00"))
	}
	h.Write([]byte("\x01" + g.q + "\x00" + g.sort))
	var out [8]byte
	copy(out[:], h.Sum(nil))
	return out
}

// groupAgg is one group's counts over the range and, for the page, what
// describeGroups reads of it.
type groupAgg struct {
	id, project, fp int64
	count           int64
	lo, hi          time.Time // oldest and newest entry
	level           logstore.Level
	// Set by describeGroups (GetErrorGroup also sets bySvc).
	trend                  []int64
	services               map[string]int64
	exceptionType          string
	title, culprit, status string
	regression             bool
	created                time.Time
	resolved               *time.Time
	alsoIn                 []string
	example                *logstore.Entry
}

// groupsAggQuery counts the matching entries of every group (groupCounts):
// per (project, fingerprint), with the oldest and newest entry and the most
// severe level, joined to the group's id. The groups are those of
// logs.error_groups (small) in f's projects and, with a status or q filter,
// only those it selects.
func groupsAggQuery(f *filters, g groupRequest) (string, []any) {
	b := &sqlBuilder{}
	where := b.group(func(c *sqlBuilder) {
		c.and("project_id = ANY(" + c.arg(f.projects) + "::bigint[])")
		if len(g.statuses) > 0 {
			c.and("status = ANY(" + c.arg(g.statuses) + "::text[])")
		}
		if g.q != "" {
			q := c.arg(likePattern(g.q))
			c.and("(title ILIKE " + q + " OR culprit ILIKE " + q + ")")
		}
	})
	counts := groupCounts(b, f, countsBy{projects: true})
	return `WITH k AS MATERIALIZED (SELECT id, project_id AS p, fingerprint AS f FROM logs.error_groups WHERE ` + where + `)
	SELECT k.id, k.p, k.f, a.n, a.lo, a.hi, a.lvl FROM (
		SELECT project_id, error_fp, sum(n)::bigint AS n, min(lo) AS lo, max(hi) AS hi, max(lvl) AS lvl
		FROM (` + counts + `) u GROUP BY project_id, error_fp
	) a JOIN k ON k.p = a.project_id AND k.f = a.error_fp`, b.args
}

// countsBy says how groupCounts groups its rows besides by (project_id,
// error_fp), whether it filters on f's projects, and which groups it
// counts.
type countsBy struct {
	projects bool
	service  bool          // and by service_name
	width    time.Duration // and by bucket, date_bin(width, ts): when not 0
	// keys, when not empty, is the (p, f) row of an enclosing LATERAL
	// whose entries alone are counted, each part a range of the error
	// index. Without keys, every group of f's entries is counted, the
	// partial hours in time order (edge).
	keys string
}

// groupCounts is the UNION ALL of the counts of f's matching entries with a
// fingerprint, as rows (project_id, error_fp[, service_name][, bucket], n,
// lo, hi, lvl): the range's whole hours from logs.error_group_hours
// (migration 0008), or logs.error_group_level_hours when neither the rows
// nor the filters name services, when wholeHours says they serve, and the
// rest, or all of it, from the entries. A key may have several rows.
func groupCounts(b *sqlBuilder, f *filters, by countsBy) string {
	keys, groupBy := "project_id, error_fp", "project_id, error_fp"
	if by.service {
		keys += ", service_name"
		groupBy += ", service_name"
	}
	bucket := func(string) string { return "" }
	if by.width > 0 {
		w := b.arg(int64(by.width / time.Second))
		bucket = func(col string) string {
			return ", date_bin(" + w + "::bigint * interval '1 second', " + col + ", timestamptz '1970-01-01 00:00:00+00') AS bucket"
		}
		groupBy += ", bucket"
	}
	const counts = ", count(*) AS n, min(ts) AS lo, max(ts) AS hi, max(level) AS lvl"
	// entriesWhere: f's entries with a fingerprint in [since, until), of
	// the enclosing key (by.keys) or of the pair named by keyOf.
	entriesWhere := func(since, until time.Time, keyOf string) string {
		e := *f
		e.since, e.until = &since, &until
		return b.group(func(c *sqlBuilder) {
			c.and("error_fp <> 0")
			if keyOf != "" {
				c.and("project_id = " + keyOf + ".project_id")
				c.and("error_fp = " + keyOf + ".error_fp")
			}
			e.addFilters(c, filterOpts{projects: by.projects && keyOf == "", times: true})
		})
	}
	keyCond := func(c *sqlBuilder) {
		c.and("project_id = " + by.keys + ".p")
		c.and("error_fp = " + by.keys + ".f")
	}
	entries := func(since, until time.Time) string {
		where := entriesWhere(since, until, "")
		if by.keys != "" {
			where = b.group(func(c *sqlBuilder) {
				keyCond(c)
				c.and(where)
			})
		}
		return "SELECT " + keys + bucket("ts") + counts + " FROM logs.entries WHERE " + where + " GROUP BY " + groupBy
	}
	lo, hi, ok := wholeHours(f, by.width)
	if !ok {
		return entries(*f.since, *f.until)
	}
	// Without services, the hourly counts summed over them (migration
	// 0013) serve: a fifth of the rows.
	hours := "logs.error_group_hours"
	if !by.service && len(f.services) == 0 {
		hours = "logs.error_group_level_hours"
	}
	hourRows := func(cond func(c *sqlBuilder)) string {
		where := b.group(func(c *sqlBuilder) {
			f.addFilters(c, filterOpts{projects: by.projects})
			cond(c)
			if by.keys != "" {
				keyCond(c)
			}
		})
		return "SELECT " + keys + bucket("hour") + ", count AS n, first_ts AS lo, last_ts AS hi, level AS lvl FROM " + hours + " h WHERE " + where
	}
	// edge counts the partial hour [since, until) of the hour from h0.
	// Per key, a range of the error index. Else, whichever is shorter of
	// the part and the rest of its hour is read in time order
	// (entries_error_ts_idx, migration 0017): reading the rest, the hour's
	// counts serve every group with no entry there (the usual newest edge,
	// before now, has none), and those with some are counted from their own
	// range of the error index.
	edge := func(h0, since, until time.Time) string {
		restSince, restUntil := h0, since
		if since.Equal(h0) {
			restSince, restUntil = until, h0.Add(time.Hour)
		}
		if by.keys != "" || by.width > 0 || restUntil.Sub(restSince) >= until.Sub(since) {
			return entries(since, until)
		}
		touched := "SELECT DISTINCT project_id, error_fp FROM logs.entries WHERE " + entriesWhere(restSince, restUntil, "")
		return "SELECT * FROM (WITH t AS MATERIALIZED (" + touched + ") " +
			hourRows(func(c *sqlBuilder) {
				c.and("hour = " + c.arg(h0))
				c.and("NOT EXISTS (SELECT 1 FROM t WHERE t.project_id = h.project_id AND t.error_fp = h.error_fp)")
			}) +
			" UNION ALL SELECT t.project_id, t.error_fp, x.n, x.lo, x.hi, x.lvl FROM t CROSS JOIN LATERAL (SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi, max(level) AS lvl FROM logs.entries WHERE " +
			entriesWhere(since, until, "t") + " HAVING count(*) > 0) x) e"
	}
	parts := []string{hourRows(func(c *sqlBuilder) {
		c.and("hour >= " + c.arg(lo))
		c.and("hour < " + c.arg(hi))
	})}
	if f.since.Before(lo) {
		parts = append(parts, edge(lo.Add(-time.Hour), *f.since, lo))
	}
	if hi.Before(*f.until) {
		parts = append(parts, edge(hi, hi, *f.until))
	}
	return strings.Join(parts, " UNION ALL ")
}

// wholeHours are the whole hours [lo, hi) of f's range that
// logs.error_group_hours counts, if any: f has a range and filters only on
// what those rows have (projects, services, levels), and buckets of width
// (0: none) hold whole hours.
func wholeHours(f *filters, width time.Duration) (lo, hi time.Time, ok bool) {
	if f.since == nil || f.until == nil || f.q != "" || len(f.context) > 0 || len(f.patterns) > 0 || len(f.errorGroups) > 0 {
		return lo, hi, false
	}
	if width%time.Hour != 0 {
		return lo, hi, false
	}
	hi = floorTo(*f.until, time.Hour)
	if lo = floorTo(*f.since, time.Hour); lo.Before(*f.since) {
		lo = lo.Add(time.Hour)
	}
	return lo, hi, lo.Before(hi)
}

// aggregateGroups counts the matching entries of each group.
func aggregateGroups(ctx context.Context, tx logstore.Querier, f *filters, g groupRequest) ([]*groupAgg, error) {
	sql, args := groupsAggQuery(f, g)
	rows, err := tx.Query(ctx, sql, oneShotBinary(args)...)
	if err != nil {
		return nil, fmt.Errorf("counting error groups: %w", err)
	}
	var out []*groupAgg
	var a groupAgg
	_, err = pgx.ForEachRow(rows, []any{&a.id, &a.project, &a.fp, &a.count, &a.lo, &a.hi, &a.level}, func() error {
		c := a
		out = append(out, &c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting error groups: %w", err)
	}
	return out, nil
}

// groupDetailQuery counts the matching entries of the groups (projects $1,
// fingerprints $2) per trend bucket, with each bucket's oldest and newest
// entry and most severe level, and per service (groupCounts, per group):
// a row has either its bucket or its service (the other NULL), not every
// combination (a busy group's services × buckets were ten times the rows).
func groupDetailQuery(f *filters, ps, fps []int64, width time.Duration) (string, []any) {
	b := &sqlBuilder{}
	keys := "unnest(" + b.arg(ps) + "::bigint[], " + b.arg(fps) + "::bigint[]) AS k(p, f)"
	counts := groupCounts(b, f, countsBy{service: true, width: width, keys: "k"})
	return `SELECT k.p, k.f, x.service_name, x.bucket, x.n, x.lo, x.hi, x.lvl FROM ` + keys + ` CROSS JOIN LATERAL (
		SELECT CASE WHEN GROUPING(service_name) = 0 THEN service_name END AS service_name, bucket,
			sum(n)::bigint AS n, min(lo) AS lo, max(hi) AS hi, max(lvl) AS lvl
		FROM (` + counts + `) u GROUP BY GROUPING SETS ((bucket), (service_name))
	) x`, b.args
}

// groupExamplesQuery reads each group's newest matching entry: the highest
// id among its entries at its newest ts ($3), a primary-key lookup. The
// range's bounds, constants, let the planner prune the partitions outside
// it (the lookup's ts, a column of the LATERAL, cannot): planning every
// leaf of the retention took 4.6 ms of a 10 ms statement.
func groupExamplesQuery(f *filters, ps, fps []int64, his []time.Time) (string, []any) {
	b := &sqlBuilder{}
	keys := "unnest(" + b.arg(ps) + "::bigint[], " + b.arg(fps) + "::bigint[], " + b.arg(his) + "::timestamptz[]) AS k(p, f, t)"
	b.and("project_id = k.p")
	b.and("ts = k.t")
	b.and("error_fp = k.f")
	f.addFilters(b, filterOpts{times: true})
	return "SELECT " + logstore.EntryColumnsOf("e") + " FROM " + keys +
		" CROSS JOIN LATERAL (SELECT " + logstore.EntryColumns + " FROM logs.entries WHERE " + b.where() +
		" ORDER BY id DESC LIMIT 1) e", b.args
}

// describeGroupsSQL reads the groups $1 and, for each, the other projects
// among $2 with a group of the same fingerprint (error_groups_fingerprint_idx).
const describeGroupsSQL = `SELECT g.id, g.exception_type, g.title, g.culprit, g.first_seen, g.status, g.regression, g.resolved_at,
	ARRAY(SELECT o.project_id FROM logs.error_groups o WHERE o.fingerprint = g.fingerprint AND o.project_id <> g.project_id AND o.project_id = ANY($2::bigint[]))
FROM logs.error_groups g WHERE g.id = ANY($1::bigint[])`

// describeGroups reads the page's trends, services, examples, descriptions
// and other projects. With f.levels nil every level counts.
func describeGroups(ctx context.Context, tx logstore.Querier, f *filters, t trend, page []*groupAgg) error {
	if len(page) == 0 {
		return nil
	}
	ps, fps, ids := make([]int64, len(page)), make([]int64, len(page)), make([]int64, len(page))
	byKey := make(map[logstore.ErrorKey]*groupAgg, len(page))
	byID := make(map[int64]*groupAgg, len(page))
	for i, a := range page {
		ps[i], fps[i], ids[i] = a.project, a.fp, a.id
		a.trend, a.services = make([]int64, t.n), map[string]int64{}
		a.count, a.lo, a.hi, a.level = 0, time.Time{}, time.Time{}, 0
		byKey[logstore.ErrorKey{Project: a.project, Fingerprint: a.fp}] = a
		byID[a.id] = a
	}

	// Counts, per bucket and per service, in the same snapshot as the
	// ranking: the totals are the aggregate's again.
	sql, args := groupDetailQuery(f, ps, fps, t.width)
	rows, err := tx.Query(ctx, sql, oneShotBinary(args)...)
	if err != nil {
		return fmt.Errorf("counting error group trends: %w", err)
	}
	var (
		k       logstore.ErrorKey
		service *string
		bucket  *time.Time
		n       int64
		lo, hi  time.Time
		level   logstore.Level
	)
	_, err = pgx.ForEachRow(rows, []any{&k.Project, &k.Fingerprint, &service, &bucket, &n, &lo, &hi, &level}, func() error {
		a := byKey[k]
		if a == nil {
			return fmt.Errorf("trend of error group %d/%d not asked for", k.Project, k.Fingerprint)
		}
		if service != nil { // a service's row
			a.services[*service] += n
			return nil
		}
		if bucket == nil {
			return fmt.Errorf("counts of error group %d/%d without a bucket or service", k.Project, k.Fingerprint)
		}
		i, err := t.index(*bucket)
		if err != nil {
			return err
		}
		a.trend[i] += n
		a.count += n
		a.lo, a.hi, a.level = earliest(a.lo, lo), maxTime(a.hi, hi), max(a.level, level)
		return nil
	})
	if err != nil {
		return fmt.Errorf("counting error group trends: %w", err)
	}

	var eps, efps []int64
	var his []time.Time
	for _, a := range page {
		if a.count > 0 {
			eps, efps, his = append(eps, a.project), append(efps, a.fp), append(his, a.hi)
		}
	}
	if len(eps) > 0 {
		sql, args = groupExamplesQuery(f, eps, efps, his)
		rows, err := tx.Query(ctx, sql, oneShot(args)...)
		if err != nil {
			return fmt.Errorf("reading error group examples: %w", err)
		}
		examples, err := pgx.CollectRows(rows, logstore.ScanEntry)
		if err != nil {
			return fmt.Errorf("reading error group examples: %w", err)
		}
		if err := logstore.ResolvePatterns(ctx, tx, examples); err != nil {
			return err
		}
		for i := range examples {
			e := &examples[i]
			if a := byKey[logstore.ErrorKey{Project: e.ProjectID, Fingerprint: e.ErrorFP}]; a != nil {
				e.ErrorGroup = a.id
				a.example = e
			}
		}
	}

	readable := make([]int64, 0, len(f.slugs))
	for id := range f.slugs {
		readable = append(readable, id)
	}
	rows, err = tx.Query(ctx, describeGroupsSQL, ids, readable)
	if err != nil {
		return fmt.Errorf("reading error groups: %w", err)
	}
	var (
		id       int64
		d        groupAgg
		resolved *time.Time
		others   []int64
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &d.exceptionType, &d.title, &d.culprit, &d.created, &d.status, &d.regression, &resolved, &others}, func() error {
		a := byID[id]
		if a == nil {
			return nil
		}
		a.exceptionType, a.title, a.culprit, a.created, a.status, a.regression = d.exceptionType, d.title, d.culprit, d.created, d.status, d.regression
		if resolved != nil {
			r := *resolved
			a.resolved = &r
		}
		a.alsoIn = a.alsoIn[:0]
		for _, p := range others {
			a.alsoIn = append(a.alsoIn, f.slugs[p])
		}
		slices.Sort(a.alsoIn)
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading error groups: %w", err)
	}
	return nil
}

// toProto converts a described group.
func (a *groupAgg) toProto(slugs map[int64]string, t trend) *logsv1.ErrorGroup {
	pb := &logsv1.ErrorGroup{
		Id:            logstore.FormatErrorGroupID(a.id),
		ProjectSlug:   slugs[a.project],
		Title:         a.title,
		Culprit:       a.culprit,
		Count:         a.count,
		Services:      make([]string, 0, len(a.services)),
		Status:        a.status,
		Regression:    a.regression,
		Trend:         make([]*logsv1.CountBucket, t.n),
		AlsoIn:        append([]string{}, a.alsoIn...),
		ExceptionType: a.exceptionType,
		CreateTime:    timestamppb.New(a.created),
	}
	if a.count > 0 {
		pb.Level = a.level.String()
		pb.FirstSeen, pb.LastSeen = timestamppb.New(a.lo), timestamppb.New(a.hi)
	}
	for sv := range a.services {
		pb.Services = append(pb.Services, sv)
	}
	slices.Sort(pb.Services)
	for i := range pb.Trend {
		pb.Trend[i] = &logsv1.CountBucket{Start: timestamppb.New(t.first.Add(time.Duration(i) * t.width)), Count: a.trend[i]}
	}
	if a.resolved != nil {
		pb.ResolveTime = timestamppb.New(*a.resolved)
	}
	if a.example != nil {
		pb.Example = a.example.Proto(slugs[a.project])
	}
	return pb
}

// GetErrorGroup returns one group with its counts over the range (every
// level), its newest entry's stack, and its counts by service and release.
func (s *Service) GetErrorGroup(ctx context.Context, req *logsv1.GetErrorGroupRequest) (*logsv1.GetErrorGroupResponse, error) {
	id, err := parseGroupID(req.GetId())
	if err != nil {
		return nil, err
	}
	f, err := parseFilters(ctx, rawFilters{since: req.GetSince(), until: req.GetUntil()})
	if err != nil {
		return nil, err
	}
	g, err := s.getGroup(ctx, f, id)
	if err != nil {
		return nil, err
	}
	return &logsv1.GetErrorGroupResponse{Group: g}, nil
}

// parseGroupID reads a request's group id.
func parseGroupID(s string) (int64, error) {
	if s == "" {
		return 0, apierr.Invalidf("id must be given")
	}
	id, ok := logstore.ParseErrorGroupID(s)
	if !ok {
		return 0, apierr.Invalidf("id %q is not an error group id (decimal digits)", s)
	}
	return id, nil
}

// groupRef reads where group id is; a group the caller cannot read is
// NotFound like one that does not exist.
func groupRef(ctx context.Context, q logstore.Querier, slugs map[int64]string, id int64) (logstore.ErrorGroupRef, error) {
	refs, err := logstore.ErrorGroupMembers(ctx, q, []int64{id})
	if err != nil {
		return logstore.ErrorGroupRef{}, err
	}
	if len(refs) == 1 {
		if _, ok := slugs[refs[0].Project]; ok {
			return refs[0], nil
		}
	}
	return logstore.ErrorGroupRef{}, apierr.NotFoundf("error group %q not found", logstore.FormatErrorGroupID(id))
}

// releasesSQL counts a group's entries in a range per release
// (context.release, else context.version; entries with neither are not
// counted): a heap visit per entry of the group in the range.
const releasesSQL = `SELECT r, count(*) FROM (
	SELECT coalesce(context ->> 'release', context ->> 'version') AS r FROM logs.entries
	WHERE project_id = $1 AND error_fp = $2 AND error_fp <> 0 AND ts >= $3 AND ts < $4
) s WHERE r IS NOT NULL GROUP BY r`

// getGroup reads group id over f's range (the default range when f has
// none), with the fields only GetErrorGroup answers, in one snapshot.
func (s *Service) getGroup(ctx context.Context, f *filters, id int64) (*logsv1.ErrorGroup, error) {
	since, until, err := s.statsRange(f)
	if err != nil {
		return nil, err
	}
	width, first, n, err := buckets(since, until, trendBuckets)
	if err != nil {
		return nil, err
	}
	tr := trend{first: first, width: width, n: n}
	a := &groupAgg{id: id}
	releases := map[string]int64{}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		ref, err := groupRef(ctx, tx, f.slugs, id)
		if err != nil {
			return err
		}
		a.project, a.fp = ref.Project, ref.Fingerprint
		if err := describeGroups(ctx, tx, f, tr, []*groupAgg{a}); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, releasesSQL, pgx.QueryExecModeExec, a.project, a.fp, since, until)
		if err != nil {
			return fmt.Errorf("counting error group releases: %w", err)
		}
		var r string
		var c int64
		_, err = pgx.ForEachRow(rows, []any{&r, &c}, func() error {
			releases[r] = c
			return nil
		})
		if err != nil {
			return fmt.Errorf("counting error group releases: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pb := a.toProto(f.slugs, tr)
	pb.CountsByService = a.services
	pb.CountsByRelease = releases
	if a.example != nil {
		pb.Stack = fingerprint.Stack(a.example.Context)
	}
	return pb, nil
}

// UpdateErrorGroup sets a group's status, as a maintainer, owner or admin
// of its project; it answers the group over the last 24 hours.
func (s *Service) UpdateErrorGroup(ctx context.Context, req *logsv1.UpdateErrorGroupRequest) (*logsv1.UpdateErrorGroupResponse, error) {
	id, err := parseGroupID(req.GetId())
	if err != nil {
		return nil, err
	}
	status := strings.ToLower(strings.TrimSpace(req.GetStatus()))
	if !validStatus(status) {
		return nil, apierr.Invalidf("status %q is not one of open, resolved, ignored", req.GetStatus())
	}
	f, err := parseFilters(ctx, rawFilters{})
	if err != nil {
		return nil, err
	}
	p := authn.FromContext(ctx)
	ref, err := groupRef(ctx, s.pool, f.slugs, id)
	if err != nil {
		return nil, err
	}
	if !maySetStatus(p, ref.Project) {
		return nil, apierr.Deniedf("only maintainers and admins of project %q may change its error groups", f.slugs[ref.Project])
	}
	tag, err := s.pool.Exec(ctx, updateStatusSQL, id, status, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("updating error group status: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return nil, errors.New("updating error group status: the group is gone")
	}
	g, err := s.getGroup(ctx, f, id)
	if err != nil {
		return nil, err
	}
	return &logsv1.UpdateErrorGroupResponse{Group: g}, nil
}

// updateStatusSQL sets group $1's status to $2 as user $3. Resolving
// stamps resolved_at (a later entry reopens the group: ReopenRegressions);
// opening clears it; ignoring keeps it (when it was last resolved). A
// status set by hand is no regression.
const updateStatusSQL = `UPDATE logs.error_groups SET status = $2, regression = false,
	resolved_at = CASE $2::text WHEN 'resolved' THEN now() WHEN 'open' THEN NULL ELSE resolved_at END,
	updated_by = $3, updated_at = now()
WHERE id = $1`

// maySetStatus tells whether p may change the error groups of project: its
// owners, maintainers and admins.
func maySetStatus(p *authn.Principal, project int64) bool {
	if p.IsAdmin() {
		return true
	}
	for _, a := range p.Projects {
		if a.ID == project {
			return a.Role == "owner" || a.Role == "maintainer" || a.Role == "admin"
		}
	}
	return false
}
