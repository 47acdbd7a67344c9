package insights

import (
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
)

// builder turns the counts into the report's lists.
type builder struct {
	c        *counts
	p        plan
	slugs    map[int64]string
	patterns map[patternKey]*patternAgg
	total    int64 // entries in the window (estimated when sampled)
	report   *logsv1.AnalysisReport
	examples []*exampleItem
	byItem   map[seriesKey]*exampleItem
}

// buildReport groups the counts per pattern; finish makes the lists.
func buildReport(c *counts, p plan, slugs map[int64]string) *builder {
	b := &builder{c: c, p: p, slugs: slugs, patterns: map[patternKey]*patternAgg{}, report: &logsv1.AnalysisReport{}, byItem: map[seriesKey]*exampleItem{}}
	for k, s := range c.series {
		if s.window == 0 && s.prev == 0 {
			continue
		}
		pk := patternKey{k.project, k.pattern}
		pa := b.patterns[pk]
		if pa == nil {
			pa = &patternAgg{}
			b.patterns[pk] = pa
		}
		pa.window += s.window
		pa.prev += s.prev
		for l, n := range s.levels {
			pa.levels[l] += n
		}
		if s.window > 0 {
			pa.services = append(pa.services, k.service)
			if pa.firstTS.IsZero() || s.firstTS.Before(pa.firstTS) {
				pa.firstTS = s.firstTS
			}
			pa.lastTS = later(pa.lastTS, s.lastTS)
		}
		b.total += s.window
	}
	b.total = b.scaled(b.total)
	for _, pa := range b.patterns {
		slices.Sort(pa.services)
	}
	return b
}

// patternKeys are the patterns seen in the window, whose templates and
// first_seen the report needs.
func (b *builder) patternKeys() []patternKey {
	keys := make([]patternKey, 0, len(b.patterns))
	for k, pa := range b.patterns {
		if pa.window > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, comparePatternKeys)
	return keys
}

func comparePatternKeys(x, y patternKey) int {
	if x.project != y.project {
		return compareInt(x.project, y.project)
	}
	return compareInt(x.pattern, y.pattern)
}

func compareInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func (b *builder) scaled(n int64) int64 {
	if b.c.scale == 1 {
		return n
	}
	return int64(math.Round(float64(n) * b.c.scale))
}

func (b *builder) scaledF(n int64) float64 { return float64(n) * b.c.scale }

// sortKey orders ties: by project slug, pattern id, service.
func (b *builder) sortKey(project, pattern int64, service string) string {
	return b.slugs[project] + "\x00" + logstore.FormatPatternID(pattern) + "\x00" + service
}

// finish makes every list of the report from the counts and the patterns'
// metadata (meta may lack patterns when reading it failed: they have no
// template and are not judged new).
func (b *builder) finish(meta map[patternKey]patternMeta) {
	r := b.report
	type ranked struct {
		k     patternKey
		score float64
	}
	var all, growing, fresh, freshErr []ranked
	for k, pa := range b.patterns {
		if pa.window == 0 {
			continue
		}
		all = append(all, ranked{k, float64(pa.window)})
		m, known := meta[k]
		isNew := known && !m.firstSeen.IsZero() && !m.firstSeen.Before(b.p.since) && m.firstSeen.Before(b.p.until)
		if isNew {
			fresh = append(fresh, ranked{k, float64(pa.window)})
			if errs := pa.levels[logstore.LevelError] + pa.levels[logstore.LevelFatal]; errs > 0 {
				freshErr = append(freshErr, ranked{k, float64(errs)})
			}
		} else if rank, ok := growth(b.scaledF(pa.window), b.scaledF(pa.prev)); ok {
			growing = append(growing, ranked{k, rank})
		}
	}
	pick := func(xs []ranked) []*logsv1.PatternInsight {
		sortDesc(xs, func(x ranked) float64 { return x.score }, func(x ranked) string { return b.sortKey(x.k.project, x.k.pattern, "") })
		out := []*logsv1.PatternInsight{}
		for _, x := range xs[:min(len(xs), listLen)] {
			out = append(out, b.insight(x.k, meta[x.k]))
		}
		return out
	}
	r.TopPatterns = pick(all)
	r.GrowingPatterns = pick(growing)
	r.NewPatterns = pick(fresh)
	r.NewErrorPatterns = pick(freshErr)
	r.Spikes = b.spikes(meta)
	r.SilentServices, r.AffectedServices = b.services()
}

// insight is the report's item for one pattern, its examples to be read.
func (b *builder) insight(k patternKey, m patternMeta) *logsv1.PatternInsight {
	pa := b.patterns[k]
	pi := &logsv1.PatternInsight{
		PatternId:     logstore.FormatPatternID(k.pattern),
		ProjectSlug:   b.slugs[k.project],
		Template:      m.template,
		Count:         b.scaled(pa.window),
		PreviousCount: b.scaled(pa.prev),
		CountsByLevel: map[string]int64{},
		Services:      pa.services,
		LastSeen:      timestamppb.New(pa.lastTS),
	}
	for l, n := range pa.levels {
		if n > 0 {
			pi.CountsByLevel[logstore.Level(l).String()] = b.scaled(n)
		}
	}
	if !m.firstSeen.IsZero() {
		pi.FirstSeen = timestamppb.New(m.firstSeen)
	}
	b.exampleOf(seriesKey{project: k.project, pattern: k.pattern}, pa.firstTS, pa.lastTS, &pi.Examples)
	return pi
}

// exampleOf registers dst to receive the examples of k (a pattern, of one
// service when k.service is set) seen in the window between first and last.
func (b *builder) exampleOf(k seriesKey, first, last time.Time, dst *[]*logsv1.LogEntry) {
	it := b.byItem[k]
	if it == nil {
		it = &exampleItem{project: k.project, pattern: k.pattern, service: k.service, lo: first, hi: last}
		if b.c.sampled {
			// The sample's oldest and newest are not the window's.
			it.lo, it.hi = b.p.since, b.p.until
		}
		b.byItem[k] = it
		b.examples = append(b.examples, it)
	}
	it.into = append(it.into, dst)
}

// spikes judges every pattern of every service seen in the window against
// its baseline windows and, for a window of at most a day, against the same
// window a day and a week earlier when the service sent entries then.
func (b *builder) spikes(meta map[patternKey]patternMeta) []*logsv1.Spike {
	type cand struct {
		k     seriesKey
		s     *series
		base  robust
		score float64
	}
	var cands []cand
	buf := make([]float64, b.p.baseline)
	for k, s := range b.c.series {
		if s.window == 0 {
			continue
		}
		clear(buf)
		for _, w := range s.base {
			buf[w.k-1] = b.scaledF(w.n)
		}
		base := baselineOf(buf, b.c.scale)
		var refs []float64
		if b.p.seasonal {
			sv := b.c.services[serviceKey{k.project, k.service}]
			if sv.dayBefore > 0 {
				refs = append(refs, b.scaledF(s.dayBefore))
			}
			if sv.weekBefore > 0 {
				refs = append(refs, b.scaledF(s.weekBefore))
			}
		}
		if z, ok := spike(b.scaledF(s.window), base, refs); ok {
			cands = append(cands, cand{k, s, base, z})
		}
	}
	sortDesc(cands, func(c cand) float64 { return c.score }, func(c cand) string { return b.sortKey(c.k.project, c.k.pattern, c.k.service) })
	out := []*logsv1.Spike{}
	for _, c := range cands[:min(len(cands), listLen)] {
		sp := &logsv1.Spike{
			ProjectSlug: b.slugs[c.k.project],
			ServiceName: c.k.service,
			PatternId:   logstore.FormatPatternID(c.k.pattern),
			Template:    meta[patternKey{c.k.project, c.k.pattern}].template,
			Count:       b.scaled(c.s.window),
			Baseline:    c.base.median,
			Score:       math.Round(c.score*100) / 100,
		}
		b.exampleOf(c.k, c.s.firstTS, c.s.lastTS, &sp.Examples)
		out = append(out, sp)
	}
	return out
}

// services lists the services that went silent (entries in the 24 h before
// the window, or in the previous window, and none in it) and those whose
// volume or errors changed sharply against the previous window.
func (b *builder) services() (silent, affected []*logsv1.ServiceInsight) {
	type cand struct {
		k     serviceKey
		in    *logsv1.ServiceInsight
		score float64
	}
	var sil, aff []cand
	for k, sv := range b.c.services {
		in := &logsv1.ServiceInsight{
			ProjectSlug:    b.slugs[k.project],
			ServiceName:    k.service,
			Count:          b.scaled(sv.window),
			PreviousCount:  b.scaled(sv.prev),
			Errors:         b.scaled(sv.errs),
			PreviousErrors: b.scaled(sv.prevErrs),
		}
		if !sv.lastAny.IsZero() {
			in.LastLogAt = timestamppb.New(sv.lastAny)
		}
		if sv.window == 0 {
			if sv.last24 > 0 || sv.prev > 0 {
				in.Reason = "went silent"
				sil = append(sil, cand{k, in, float64(max(sv.last24, sv.prev))})
			}
			continue
		}
		if reason, m := serviceChange(b.scaledF(sv.window), b.scaledF(sv.prev), b.scaledF(sv.errs), b.scaledF(sv.prevErrs)); reason != "" {
			in.Reason = reason
			aff = append(aff, cand{k, in, m})
		}
	}
	pick := func(xs []cand) []*logsv1.ServiceInsight {
		sortDesc(xs, func(c cand) float64 { return c.score }, func(c cand) string { return b.slugs[c.k.project] + "\x00" + c.k.service })
		out := []*logsv1.ServiceInsight{}
		for _, c := range xs[:min(len(xs), listLen)] {
			out = append(out, c.in)
		}
		return out
	}
	return pick(sil), pick(aff)
}
