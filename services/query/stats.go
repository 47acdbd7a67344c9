package query

import (
	"context"
	"fmt"
	"maps"
	"math"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/logstore"
)

// bucketWidths are the round histogram widths, smallest first.
var bucketWidths = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour,
}

const (
	// maxBuckets is the most buckets a range may be split into.
	maxBuckets = 60
	// maxHistogramBuckets bounds the histogram of a range so long that even
	// the widest width gives more than maxBuckets (about 82 years).
	maxHistogramBuckets = 1000
	defaultStatsRange   = 24 * time.Hour
)

// bucketWidth is the smallest round width that splits a range into at most
// maxBuckets (the widest one past that).
func bucketWidth(r time.Duration) time.Duration { return roundWidth(r, maxBuckets) }

// roundWidth is the smallest round width that splits a range into at most
// most buckets (the widest one past that).
func roundWidth(r time.Duration, most int) time.Duration {
	for _, w := range bucketWidths {
		n := r / w
		if r%w != 0 {
			n++
		}
		if n <= time.Duration(most) {
			return w
		}
	}
	return bucketWidths[len(bucketWidths)-1]
}

// statsRange sets f's range as statistics read it: until defaults to now
// and since to defaultStatsRange before until.
func (s *Service) statsRange(f *filters) (since, until time.Time, err error) {
	if f.until == nil {
		now := ceilMicro(s.now())
		f.until = &now
		if f.since != nil && !f.since.Before(now) {
			return since, until, apierr.Invalidf("since must be before until (default now)")
		}
	}
	if f.since == nil {
		since := f.until.Add(-defaultStatsRange)
		f.since = &since
	}
	return *f.since, *f.until, nil
}

// buckets splits [since, until) into buckets of a round width, at most
// about most of them, aligned to the epoch: n buckets from first.
func buckets(since, until time.Time, most int) (width time.Duration, first time.Time, n int, err error) {
	width = roundWidth(until.Sub(since), most)
	first = floorTo(since, width)
	last := floorTo(until.Add(-time.Microsecond), width) // the bucket holding the last instant counted
	n = int(last.Sub(first)/width) + 1
	if n > maxHistogramBuckets {
		return 0, first, 0, apierr.Invalidf("since: the range is too long for a histogram (at most %d days)", int(maxHistogramBuckets*width/(24*time.Hour)))
	}
	return width, first, n, nil
}

// floorTo is the start of the width-aligned (since the Unix epoch) bucket
// holding t, as date_bin computes it.
func floorTo(t time.Time, w time.Duration) time.Time {
	us, wus := t.UnixMicro(), w.Microseconds()
	b := us / wus
	if us%wus < 0 {
		b--
	}
	return time.UnixMicro(b * wus).UTC()
}

// GetStats counts the matching entries over a range, by level, by service and
// over time.
func (s *Service) GetStats(ctx context.Context, req *logsv1.GetStatsRequest) (*logsv1.GetStatsResponse, error) {
	f, err := parseFilters(ctx, rawFilters{
		project: req.GetProject(), service: req.GetService(), level: req.GetLevel(),
		since: req.GetSince(), until: req.GetUntil(), q: req.GetQ(), context: req.GetContext(),
		pattern: req.GetPattern(), errorGroup: req.GetErrorGroup(),
	})
	if err != nil {
		return nil, err
	}
	since, until, err := s.statsRange(f)
	if err != nil {
		return nil, err
	}
	width, first, n, err := buckets(since, until, maxBuckets)
	if err != nil {
		return nil, err
	}

	res := &logsv1.GetStatsResponse{
		ByLevel:       zeroLevels(),
		ByService:     map[string]int64{},
		Histogram:     make([]*logsv1.HistogramBucket, n),
		BucketSeconds: int64(width / time.Second),
		Since:         timestamppb.New(since),
		Until:         timestamppb.New(until),
	}
	for i := range res.Histogram {
		res.Histogram[i] = &logsv1.HistogramBucket{Start: timestamppb.New(first.Add(time.Duration(i) * width)), Counts: zeroLevels()}
	}
	// The estimates, summed unrounded (each is rounded once, at the end).
	est := newEstimates(n)
	if len(f.projects) == 0 {
		est.fill(res)
		return res, nil
	}
	if found, err := f.resolveMembers(ctx, s.pool); err != nil || !found {
		est.fill(res)
		return res, err
	}

	sql, args := statsQuery(f, width)
	rows, err := s.pool.Query(ctx, sql, oneShot(args)...)
	if err != nil {
		return nil, fmt.Errorf("querying stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			bySvc     int32
			bucket    *time.Time
			level     *logstore.Level
			service   *string
			count, ns int64
			stands    float64 // what the sampled ones stand for
		)
		if err := rows.Scan(&bySvc, &bucket, &level, &service, &count, &ns, &stands); err != nil {
			return nil, fmt.Errorf("reading stats: %w", err)
		}
		e := float64(count-ns) + stands
		if ns > 0 {
			res.Sampled = true
		}
		if bySvc == 0 {
			// Grouped by service: every counted entry once.
			res.ByService[*service] += count
			res.Total += count
			est.service[*service] += e
			continue
		}
		i := int(bucket.Sub(first) / width)
		if i < 0 || i >= n || !first.Add(time.Duration(i)*width).Equal(*bucket) {
			return nil, fmt.Errorf("stats bucket %s outside the histogram from %s", bucket.UTC(), first)
		}
		name := level.String()
		res.ByLevel[name] += count
		res.Histogram[i].Counts[name] += count
		est.level[*level] += e
		est.hist[i][*level] += e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading stats: %w", err)
	}
	est.fill(res)
	return res, nil
}

// estimates are GetStats' estimated counts before rounding, by level
// (indexed by logstore.Level), by service and by bucket and level.
type estimates struct {
	level   [logstore.MaxLevel + 1]float64
	service map[string]float64
	hist    [][logstore.MaxLevel + 1]float64
}

func newEstimates(buckets int) *estimates {
	return &estimates{service: map[string]float64{}, hist: make([][logstore.MaxLevel + 1]float64, buckets)}
}

// fill sets res's estimated fields: each sum rounded to the nearest
// entry; the counts themselves when nothing counted was sampled (they
// are then the same, and exact).
func (e *estimates) fill(res *logsv1.GetStatsResponse) {
	if !res.Sampled {
		res.EstimatedTotal = res.Total
		res.EstimatedByLevel = maps.Clone(res.ByLevel)
		res.EstimatedByService = maps.Clone(res.ByService)
		for _, b := range res.Histogram {
			b.EstimatedCounts = maps.Clone(b.Counts)
		}
		return
	}
	byLevel := func(v *[logstore.MaxLevel + 1]float64) map[string]int64 {
		m := make(map[string]int64, logstore.MaxLevel)
		for l := logstore.MinLevel; l <= logstore.MaxLevel; l++ {
			m[l.String()] = int64(math.Round(v[l]))
		}
		return m
	}
	res.EstimatedByLevel = byLevel(&e.level)
	res.EstimatedByService = make(map[string]int64, len(e.service))
	total := 0.0
	for name, v := range e.service {
		res.EstimatedByService[name] = int64(math.Round(v))
		total += v
	}
	res.EstimatedTotal = int64(math.Round(total))
	for i, b := range res.Histogram {
		b.EstimatedCounts = byLevel(&e.hist[i])
	}
}

func zeroLevels() map[string]int64 {
	m := make(map[string]int64, logstore.MaxLevel)
	for l := logstore.MinLevel; l <= logstore.MaxLevel; l++ {
		m[l.String()] = 0
	}
	return m
}
