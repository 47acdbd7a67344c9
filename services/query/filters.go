package query

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/logstore"
)

// maxValues bounds each repeated filter of a request.
const maxValues = 1000

type contextFilter struct{ key, value string }

// filters are a request's validated filters.
type filters struct {
	// projects the call reads (resolved from the principal); empty means the
	// caller may read none, and the answer is empty.
	projects []int64
	// slugs names every project the principal may read, by id.
	slugs map[int64]string
	// requested are the project slugs the request named, sorted (for the
	// page token's hash).
	requested []string
	services  []string
	// levels are logstore.Level numbers, as plain smallints: a one-shot
	// statement (oneShot) has no parameter types to encode a []Level by.
	levels []int16
	// since (inclusive) and until (exclusive); nil when not given.
	since, until *time.Time
	q            string
	context      []contextFilter
	// patterns are the requested pattern ids, sorted, each once; empty: no
	// pattern filter.
	patterns []int64
	// memberProjects and memberSigs are the (project, signature) pairs
	// whose entries are the patterns' entries, as parallel arrays
	// (resolveMembers); the pattern condition selects exactly these.
	memberProjects, memberSigs []int64
	// errorGroups are the requested error group ids, sorted, each once;
	// empty: no error group filter.
	errorGroups []int64
	// groupProjects and groupFPs are the (project, fingerprint) pairs of
	// the groups in f's projects, as parallel arrays (resolveMembers): the
	// error group condition selects exactly their entries.
	groupProjects, groupFPs []int64
}

// rawFilters are the filter fields every request shares.
type rawFilters struct {
	project, service, level []string
	since, until            *timestamppb.Timestamp
	q                       string
	context                 []*logsv1.ContextFilter
	pattern                 []string
	errorGroup              []string
}

// parseFilters validates raw against the caller's principal.
func parseFilters(ctx context.Context, raw rawFilters) (*filters, error) {
	p := authn.FromContext(ctx)
	readable, err := readableProjects(p)
	if err != nil {
		return nil, err
	}
	f := &filters{slugs: make(map[int64]string, len(readable))}
	bySlug := make(map[string]int64, len(readable))
	for _, a := range readable {
		f.slugs[a.ID] = a.Slug
		bySlug[a.Slug] = a.ID
	}

	if err := checkList("project", raw.project); err != nil {
		return nil, err
	}
	f.requested = normalized(raw.project)
	if len(f.requested) == 0 {
		for id := range f.slugs {
			f.projects = append(f.projects, id)
		}
	} else {
		for _, slug := range f.requested {
			id, ok := bySlug[slug]
			switch {
			case ok:
				f.projects = append(f.projects, id)
			case p.IsAdmin():
				return nil, apierr.NotFoundf("project %q not found", slug)
			default:
				return nil, apierr.Deniedf("project %q is not yours", slug)
			}
		}
	}
	slices.Sort(f.projects)
	f.projects = slices.Compact(f.projects)

	if err := checkList("service", raw.service); err != nil {
		return nil, err
	}
	f.services = normalized(raw.service)

	if err := checkList("level", raw.level); err != nil {
		return nil, err
	}
	for _, l := range raw.level {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n, ok := logstore.ParseLevel(strings.TrimSpace(l))
		if !ok {
			return nil, apierr.Invalidf("level %q is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL", l)
		}
		f.levels = append(f.levels, int16(n))
	}
	slices.Sort(f.levels)
	f.levels = slices.Compact(f.levels)

	if f.since, err = requestTime("since", raw.since); err != nil {
		return nil, err
	}
	if f.until, err = requestTime("until", raw.until); err != nil {
		return nil, err
	}
	if f.since != nil && f.until != nil && !f.since.Before(*f.until) {
		return nil, apierr.Invalidf("since must be before until")
	}

	if strings.ContainsRune(raw.q, 0) {
		return nil, apierr.Invalidf("q must not contain NUL characters")
	}
	f.q = raw.q

	if len(raw.context) > maxValues {
		return nil, apierr.Invalidf("context: at most %d filters", maxValues)
	}
	for i, c := range raw.context {
		if c.GetKey() == "" {
			return nil, apierr.Invalidf("context[%d].key must not be empty", i)
		}
		if strings.ContainsRune(c.GetKey(), 0) || strings.ContainsRune(c.GetValue(), 0) {
			return nil, apierr.Invalidf("context[%d] must not contain NUL characters", i)
		}
		f.context = append(f.context, contextFilter{key: c.GetKey(), value: c.GetValue()})
	}
	slices.SortFunc(f.context, func(a, b contextFilter) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	f.context = slices.Compact(f.context)

	if f.patterns, err = parseIDs("pattern", raw.pattern, logstore.ParsePatternID, "a pattern id (16 hex digits)"); err != nil {
		return nil, err
	}
	if f.errorGroups, err = parseIDs("error_group", raw.errorGroup, logstore.ParseErrorGroupID, "an error group id (decimal digits)"); err != nil {
		return nil, err
	}
	return f, nil
}

// resolveMembers looks up the (project, signature) pairs of f's patterns
// in f's projects, as they are now: the miner maps new signatures to
// patterns as it goes, so a reader resolves them in the snapshot it reads
// the entries in (a tail: at each journal read). It also looks up the
// (project, fingerprint) of f's error groups: an id that is no group of a
// project the caller may read is NotFound (whether it exists elsewhere is
// not revealed); a readable group outside the requested projects matches
// nothing. It reports false when a filter has no pair at all: the answer
// is empty, and the statement is not run.
func (f *filters) resolveMembers(ctx context.Context, q logstore.Querier) (bool, error) {
	found := true
	if len(f.errorGroups) > 0 {
		refs, err := logstore.ErrorGroupMembers(ctx, q, f.errorGroups)
		if err != nil {
			return false, err
		}
		readable := make(map[int64]bool, len(refs))
		f.groupProjects, f.groupFPs = nil, nil
		for _, r := range refs {
			if _, ok := f.slugs[r.Project]; !ok {
				continue
			}
			readable[r.ID] = true
			if _, ok := slices.BinarySearch(f.projects, r.Project); ok {
				f.groupProjects, f.groupFPs = append(f.groupProjects, r.Project), append(f.groupFPs, r.Fingerprint)
			}
		}
		for _, id := range f.errorGroups {
			if !readable[id] {
				return false, apierr.NotFoundf("error group %q not found", logstore.FormatErrorGroupID(id))
			}
		}
		found = len(f.groupFPs) > 0
	}
	if len(f.patterns) == 0 || !found {
		return found, nil
	}
	ps, sigs, err := logstore.PatternMembers(ctx, q, f.projects, f.patterns)
	if err != nil {
		return false, err
	}
	f.memberProjects, f.memberSigs = ps, sigs
	return len(sigs) > 0, nil
}

func checkList(field string, vs []string) error {
	if len(vs) > maxValues {
		return apierr.Invalidf("%s: at most %d values", field, maxValues)
	}
	for _, v := range vs {
		if strings.ContainsRune(v, 0) {
			return apierr.Invalidf("%s must not contain NUL characters", field)
		}
	}
	return nil
}

// normalized drops empty values (`?service=` means no filter), sorts and
// deduplicates.
func normalized(vs []string) []string {
	var out []string
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// requestTime converts a request timestamp, rounded up to PostgreSQL's
// microsecond (so `ts >= since` and `ts < until` keep their meaning exactly
// for a nanosecond bound).
func requestTime(field string, ts *timestamppb.Timestamp) (*time.Time, error) {
	if ts == nil {
		return nil, nil
	}
	if err := ts.CheckValid(); err != nil {
		return nil, apierr.Invalidf("%s is not a valid timestamp", field)
	}
	t := ceilMicro(ts.AsTime())
	return &t, nil
}

func ceilMicro(t time.Time) time.Time {
	tr := t.Truncate(time.Microsecond)
	if tr.Before(t) {
		tr = tr.Add(time.Microsecond)
	}
	return tr.UTC()
}

// hash identifies the filters (not the page size) for page tokens.
func (f *filters) hash() [8]byte {
	h := sha256.New()
	var buf [8]byte
	str := func(s string) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	num := func(n int64) {
		binary.BigEndian.PutUint64(buf[:], uint64(n))
		h.Write(buf[:])
	}
	str("query.filters.v1")
	num(int64(len(f.requested)))
	for _, s := range f.requested {
		str(s)
	}
	num(int64(len(f.services)))
	for _, s := range f.services {
		str(s)
	}
	num(int64(len(f.levels)))
	for _, l := range f.levels {
		num(int64(l))
	}
	for _, t := range []*time.Time{f.since, f.until} {
		if t == nil {
			str("")
		} else {
			str(t.UTC().Format(time.RFC3339Nano))
		}
	}
	str(f.q)
	num(int64(len(f.context)))
	for _, c := range f.context {
		str(c.key)
		str(c.value)
	}
	if len(f.patterns) > 0 {
		// Only with a pattern filter, so that the tokens of requests
		// without one read as before it existed.
		str("pattern")
		num(int64(len(f.patterns)))
		for _, id := range f.patterns {
			num(id)
		}
	}
	if len(f.errorGroups) > 0 {
		// Likewise only with an error group filter.
		str("error_group")
		num(int64(len(f.errorGroups)))
		for _, id := range f.errorGroups {
			num(id)
		}
	}
	var out [8]byte
	copy(out[:], h.Sum(nil))
	return out
}

// sqlBuilder collects conditions and their arguments.
type sqlBuilder struct {
	args  []any
	conds []string
}

// arg adds an argument and returns its placeholder.
func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func (b *sqlBuilder) and(cond string) { b.conds = append(b.conds, cond) }

// group returns the conditions add adds, joined as where joins them, with
// their arguments numbered among b's: a WHERE clause of one part of a
// statement with several.
func (b *sqlBuilder) group(add func(*sqlBuilder)) string {
	c := &sqlBuilder{args: b.args}
	add(c)
	b.args = c.args
	return c.where()
}

// where returns the conditions joined, or "true".
func (b *sqlBuilder) where() string {
	if len(b.conds) == 0 {
		return "true"
	}
	return strings.Join(b.conds, " AND ")
}

// filterOpts says which of the filters addFilters writes.
type filterOpts struct {
	projects bool // project_id = ANY(...)
	times    bool // since/until
}

// addFilters adds f's conditions on logs.entries to b.
func (f *filters) addFilters(b *sqlBuilder, o filterOpts) {
	if o.projects {
		if len(f.projects) == 1 {
			b.and("project_id = " + b.arg(f.projects[0]))
		} else {
			b.and("project_id = ANY(" + b.arg(f.projects) + ")")
		}
	}
	if len(f.services) == 1 {
		b.and("service_name = " + b.arg(f.services[0]))
	} else if len(f.services) > 1 {
		b.and("service_name = ANY(" + b.arg(f.services) + ")")
	}
	if len(f.levels) == 1 {
		b.and("level = " + b.arg(f.levels[0]))
	} else if len(f.levels) > 1 {
		b.and("level = ANY(" + b.arg(f.levels) + ")")
	}
	if o.times {
		if f.since != nil {
			b.and("ts >= " + b.arg(*f.since))
		}
		if f.until != nil {
			b.and("ts < " + b.arg(*f.until))
		}
	}
	if f.q != "" {
		b.and("message ILIKE " + b.arg(likePattern(f.q)))
	}
	for _, c := range f.context {
		b.and("context ->> " + b.arg(c.key) + " = " + b.arg(c.value))
	}
	if len(f.patterns) > 0 {
		// The pairs resolveMembers found (a caller with none answers
		// empty without running the statement).
		b.and("(project_id, signature) IN (SELECT * FROM unnest(" + b.arg(f.memberProjects) + "::bigint[], " + b.arg(f.memberSigs) + "::bigint[]))")
	}
	if len(f.errorGroups) > 0 {
		// The pairs resolveMembers found; error_fp <> 0 is the partial
		// index's predicate, so the planner may use it.
		b.and("error_fp <> 0")
		b.and("(project_id, error_fp) IN (SELECT * FROM unnest(" + b.arg(f.groupProjects) + "::bigint[], " + b.arg(f.groupFPs) + "::bigint[]))")
	}
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// likePattern matches q anywhere, with LIKE's wildcards and escape taken
// literally (backslash is ILIKE's default escape).
func likePattern(q string) string { return "%" + likeEscaper.Replace(q) + "%" }

// parseIDs reads the repeatable id parameter name: sorted, without
// duplicates or blanks; a value parse refuses is INVALID_ARGUMENT naming
// it and what it should be.
func parseIDs(name string, vals []string, parse func(string) (int64, bool), what string) ([]int64, error) {
	if err := checkList(name, vals); err != nil {
		return nil, err
	}
	var ids []int64
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		id, ok := parse(v)
		if !ok {
			return nil, apierr.Invalidf("%s %q is not %s", name, v, what)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
