package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

const (
	// idleEvict is how long a full bucket stays unused before it is
	// forgotten (and no longer synced).
	idleEvict = 2 * time.Minute
	// staleUsage is how long a replica's usage rows outlive its last write.
	staleUsage = 10 * time.Minute
	// pruneEvery is how often stale usage rows are deleted.
	pruneEvery = time.Minute
)

// Run syncs the limiter with the other replicas every SyncInterval and
// reads the projects' own limits every RefreshInterval, until ctx ends. Failures are logged and the
// next round tries again; meanwhile the limiter keeps admitting on what it
// knows. It returns at once without a pool.
func (l *Limiter) Run(ctx context.Context) error {
	if l.pool == nil {
		return nil
	}
	syncT := time.NewTicker(l.cfg.SyncInterval)
	defer syncT.Stop()
	refreshT := time.NewTicker(l.cfg.RefreshInterval)
	defer refreshT.Stop()
	pruneT := time.NewTicker(pruneEvery)
	defer pruneT.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-syncT.C:
			err = l.Sync(ctx)
		case <-refreshT.C:
			err = l.Refresh(ctx)
		case <-pruneT.C:
			err = l.prune(ctx)
		}
		if err != nil && ctx.Err() == nil {
			l.log.Warn("rate limiter sync failed; admitting on local counts", zap.Error(err))
		}
	}
}

// syncSQL writes this replica's totals of the buckets that changed ($2,
// $3) and reads the other replicas' totals of every bucket it holds ($4),
// in one round trip: all of them, and those of the replicas that wrote in
// the last $5 microseconds (still admitting).
const syncSQL = `WITH mine AS (
	INSERT INTO logs.rate_limit_usage AS u (bucket, replica, admitted)
	SELECT b, $1, a FROM unnest($2::bytea[], $3::bigint[]) AS t(b, a)
	ON CONFLICT (bucket, replica) DO UPDATE SET admitted = EXCLUDED.admitted, updated_at = now()
)
SELECT bucket, sum(admitted)::bigint,
	coalesce(sum(admitted) FILTER (WHERE updated_at > now() - $5::bigint * interval '1 microsecond'), 0)::bigint
FROM logs.rate_limit_usage
WHERE bucket = ANY($4::bytea[]) AND replica <> $1
GROUP BY bucket`

// usage is the other replicas' totals of a bucket.
type usage struct{ total, recent int64 }

// Sync exchanges admissions with the other replicas: it writes what this
// one admitted and takes what the others admitted since the last Sync out
// of its buckets. Idle buckets are forgotten first.
func (l *Limiter) Sync(ctx context.Context) error {
	now := l.now()
	var ids, changed [][]byte
	var totals []int64
	held := map[bucketID]*bucket{}
	written := map[bucketID]int64{}
	l.buckets.Range(func(k, v any) bool {
		id, b := k.(bucketID), v.(*bucket)
		b.mu.Lock()
		idle := now.Sub(b.last) > idleEvict && b.admitted == b.synced
		if !idle {
			if b.admitted != b.synced {
				changed = append(changed, id[:])
				totals = append(totals, b.admitted)
				written[id] = b.admitted
			}
		}
		b.mu.Unlock()
		if idle {
			l.buckets.Delete(id)
			return true
		}
		held[id] = b
		ids = append(ids, id[:])
		return true
	})
	if len(ids) == 0 {
		return nil
	}
	recent := RequestWindow + 2*l.cfg.SyncInterval
	rows, err := l.pool.Query(ctx, syncSQL, l.replica, changed, totals, ids, recent.Microseconds())
	if err != nil {
		return fmt.Errorf("syncing rate limit usage: %w", err)
	}
	others := map[bucketID]usage{}
	var raw []byte
	var u usage
	if _, err := pgx.ForEachRow(rows, []any{&raw, &u.total, &u.recent}, func() error {
		if len(raw) == len(bucketID{}) {
			others[bucketID(raw)] = u
		}
		return nil
	}); err != nil {
		return fmt.Errorf("reading rate limit usage: %w", err)
	}
	for id, b := range held {
		o := others[id]
		b.mu.Lock()
		if n, ok := written[id]; ok {
			b.synced = n
		}
		switch {
		case b.others < 0:
			// A new bucket, full, while other replicas may be admitting
			// from theirs: what they admitted lately counts, up to what
			// one bucket could have admitted since this one was made
			// (their totals may go back hours).
			could := float64(b.limit) * (1 + (now.Sub(b.created)+l.cfg.SyncInterval).Seconds()/b.window.Seconds())
			b.tokens -= min(float64(o.recent), could)
		case o.total > b.others:
			// Unbounded below: what the others admitted was admitted, and
			// the bucket refuses until the rate over time is the limit.
			b.tokens -= float64(o.total - b.others)
		}
		// A total that fell (another replica restarted its bucket, or its
		// rows were pruned) only sets where the next Sync counts from.
		b.others = o.total
		b.mu.Unlock()
	}
	return nil
}

// Refresh reads the own limits of the projects seen: those of the buckets
// held, and those first seen since the last Refresh.
func (l *Limiter) Refresh(ctx context.Context) error {
	seen := map[int64]bool{}
	l.unknown.Range(func(k, _ any) bool {
		seen[k.(int64)] = true
		return true
	})
	l.buckets.Range(func(_, v any) bool {
		seen[v.(*bucket).projectID] = true
		return true
	})
	if len(seen) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	rows, err := l.pool.Query(ctx, `SELECT id, coalesce(rate_limit_requests_per_minute, 0), coalesce(rate_limit_logs_per_second, 0)
		FROM logs.projects WHERE id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("reading projects' rate limits: %w", err)
	}
	next := make(map[int64]override, len(ids))
	var id int64
	var o override
	if _, err := pgx.ForEachRow(rows, []any{&id, &o.requestsPerMinute, &o.logsPerSecond}, func() error {
		next[id] = o
		return nil
	}); err != nil {
		return fmt.Errorf("reading projects' rate limits: %w", err)
	}
	for _, id := range ids {
		if _, ok := next[id]; !ok {
			next[id] = override{} // gone: the defaults, and no read per call
		}
	}
	l.projects.Store(&next)
	for _, id := range ids {
		l.unknown.Delete(id)
	}
	return nil
}

// prune deletes the usage rows of replicas silent for staleUsage.
func (l *Limiter) prune(ctx context.Context) error {
	if _, err := l.pool.Exec(ctx, `DELETE FROM logs.rate_limit_usage WHERE updated_at < now() - $1::bigint * interval '1 second'`,
		int64(staleUsage/time.Second)); err != nil {
		return fmt.Errorf("pruning rate limit usage: %w", err)
	}
	return nil
}
