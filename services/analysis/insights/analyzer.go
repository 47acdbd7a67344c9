package insights

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/services/analysis/llm"
)

// maxCached bounds the cached reports (each is a few tens of KB at most:
// bounded lists of bounded items).
const maxCached = 256

// maxSeries is the most (project, service, pattern) series an analysis
// holds, about 60 MB: the miner keeps at most 5,000 patterns per project,
// so only an analysis of many large projects at once reaches it
// (BenchmarkAnalyze1M holds 902).
const maxSeries = 100_000

// Project is a project to analyse: its id and its slug (the report names
// projects by slug).
type Project struct {
	ID   int64
	Slug string
}

// Request is one analysis: the projects (the caller may read them all) and
// the window [Since, Until), defaulted and validated by the caller.
type Request struct {
	Projects     []Project
	Since, Until time.Time
}

// key identifies identical requests: the same projects in any order, the
// same since and until.
type key struct {
	projects     string // sorted ids, 8 bytes each
	since, until int64  // Unix nanoseconds
}

func keyOf(req Request) key {
	ids := make([]int64, len(req.Projects))
	for i, p := range req.Projects {
		ids[i] = p.ID
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	b := make([]byte, 0, 8*len(ids))
	for _, id := range ids {
		for s := 56; s >= 0; s -= 8 {
			b = append(b, byte(id>>s))
		}
	}
	return key{projects: string(b), since: req.Since.UnixNano(), until: req.Until.UnixNano()}
}

// flight is one running computation and the callers waiting for it.
type flight struct {
	done    chan struct{} // closed when res and err are set
	res     *logsv1.AnalyzeLogsResponse
	err     error
	waiters int                // callers still waiting (guarded by Analyzer.mu)
	cancel  context.CancelFunc // cancels the computation
}

type cached struct {
	res     *logsv1.AnalyzeLogsResponse
	expires time.Time
}

// Analyzer computes reports, at most Config.MaxConcurrent at once, one
// computation for identical concurrent requests, each cached for
// Config.CacheTTL. Safe for concurrent use.
type Analyzer struct {
	log  *zap.Logger
	pool *pgxpool.Pool
	cfg  Config
	llm  *llm.Client // nil: no language model
	// maxSeries bounds the (project, service, pattern) series one analysis
	// holds: its memory (a few hundred bytes each).
	maxSeries int

	mu      sync.Mutex
	flights map[key]*flight      // running computations that still have waiters
	all     map[*flight]struct{} // every running computation, abandoned ones still stopping too
	cache   map[key]cached
	closed  bool
	wg      sync.WaitGroup // the computations' goroutines

	computations, shared, cacheHits, rejected atomic.Int64
}

// New returns an Analyzer reading the entries through pool. summarizer
// writes the summary from the report; nil means the summary is always the
// report's own.
func New(log *zap.Logger, pool *pgxpool.Pool, cfg Config, summarizer *llm.Client) *Analyzer {
	return &Analyzer{
		log: log, pool: pool, cfg: cfg.withDefaults(), llm: summarizer, maxSeries: maxSeries,
		flights: map[key]*flight{}, all: map[*flight]struct{}{}, cache: map[key]cached{},
	}
}

// Stats counts what the Analyzer did, for metrics.
type Stats struct {
	// Computations started (each identical concurrent group once).
	Computations int64
	// Shared: requests that joined a running identical computation.
	Shared int64
	// CacheHits: requests answered from the cache.
	CacheHits int64
	// Rejected: requests refused because MaxConcurrent were running.
	Rejected int64
	// Running: computations running now.
	Running int
}

// Stats returns the counters.
func (a *Analyzer) Stats() Stats {
	a.mu.Lock()
	running := len(a.all)
	a.mu.Unlock()
	return Stats{
		Computations: a.computations.Load(), Shared: a.shared.Load(), CacheHits: a.cacheHits.Load(),
		Rejected: a.rejected.Load(), Running: running,
	}
}

// Analyze answers req: from the cache, by joining a running identical
// computation, or by starting one (refused with ResourceExhausted when
// MaxConcurrent are running). The computation runs detached from any one
// caller, under the timeout, and is cancelled — its SQL too — once every
// caller waiting for it has gone; a caller leaves when its ctx ends.
func (a *Analyzer) Analyze(ctx context.Context, req Request) (*logsv1.AnalyzeLogsResponse, error) {
	k := keyOf(req)
	now := time.Now()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, errClosed
	}
	if c, ok := a.cache[k]; ok && now.Before(c.expires) {
		a.mu.Unlock()
		a.cacheHits.Add(1)
		return proto.CloneOf(c.res), nil
	}
	f := a.flights[k]
	if f != nil {
		f.waiters++
		a.shared.Add(1)
	} else {
		if len(a.all) >= a.cfg.MaxConcurrent {
			a.mu.Unlock()
			a.rejected.Add(1)
			return nil, errBusy
		}
		f = a.start(ctx, k, req)
	}
	a.mu.Unlock()

	select {
	case <-f.done:
		if f.err != nil {
			return nil, f.err
		}
		return proto.CloneOf(f.res), nil
	case <-ctx.Done():
		a.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody waits any more: stop the computation, and let the next
			// identical request start afresh.
			f.cancel()
			if a.flights[k] == f {
				delete(a.flights, k)
			}
		}
		a.mu.Unlock()
		return nil, ctx.Err()
	}
}

// start begins the computation of k for its first caller; a.mu is held.
// The computation's context keeps the caller's values, not its
// cancellation, and carries the timeout.
func (a *Analyzer) start(ctx context.Context, k key, req Request) *flight {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.Timeout)
	f := &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
	a.flights[k] = f
	a.all[f] = struct{}{}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer cancel()
		res, err := a.compute(cctx, req)
		a.mu.Lock()
		delete(a.all, f)
		if a.flights[k] == f {
			delete(a.flights, k)
		}
		// A partial report is not cached: the next request may finish.
		if err == nil && !res.GetPartial() && a.cfg.CacheTTL > 0 {
			a.store(k, res)
		}
		f.res, f.err = res, err
		a.mu.Unlock()
		close(f.done)
	}()
	return f
}

// Close cancels the running computations (their callers get Canceled)
// and waits for them to end; Analyze is refused afterwards (Unavailable).
// Call it when the server has stopped taking calls.
func (a *Analyzer) Close() {
	a.mu.Lock()
	a.closed = true
	for f := range a.all {
		f.cancel()
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// store caches res; a.mu is held. Expired reports are dropped first, then,
// when still full, the one expiring soonest.
func (a *Analyzer) store(k key, res *logsv1.AnalyzeLogsResponse) {
	now := time.Now()
	if len(a.cache) >= maxCached {
		var soonest key
		var first time.Time
		for ck, c := range a.cache {
			if !now.Before(c.expires) {
				delete(a.cache, ck)
				continue
			}
			if first.IsZero() || c.expires.Before(first) {
				soonest, first = ck, c.expires
			}
		}
		if len(a.cache) >= maxCached {
			delete(a.cache, soonest)
		}
	}
	a.cache[k] = cached{res: res, expires: now.Add(a.cfg.CacheTTL)}
}
