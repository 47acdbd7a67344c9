// Package ratelimit holds API keys to a request budget a minute and
// projects to a budget of log entries a second (docs/rate-limits.md). Each
// budget is a token bucket in memory, so admitting a call costs a map
// lookup and a mutex, never a database round trip. Across replicas the
// buckets are kept honest in the background: every second each limiter
// writes what it admitted per bucket to logs.rate_limit_usage and takes
// what the other replicas admitted since its last read out of its own
// buckets (sync.go). Projects' own limits are read from logs.projects every
// few seconds, for the projects seen (refresh in sync.go).
//
// The ingestion and query services each own a Limiter; neither imports
// the other. A call is admitted with Check (ingestion: a batch's request
// and entries) or AdmitRequest (the query API with a read key).
package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// Response metadata (gRPC headers) of a keyed call; the gateway answers
// them as the HTTP headers X-RateLimit-Limit, -Remaining and -Reset.
const (
	HeaderLimit     = "x-ratelimit-limit"
	HeaderRemaining = "x-ratelimit-remaining"
	HeaderReset     = "x-ratelimit-reset"
)

// Windows of the two budgets.
const (
	RequestWindow = time.Minute
	LogsWindow    = time.Second
)

// bucketID names a bucket: a kind byte, then a key's digest or a
// project's id. It is the bucket column of logs.rate_limit_usage.
type bucketID [1 + 32]byte

const (
	kindKey     = 'k'
	kindProject = 'p'
)

func keyBucket(digest [32]byte) bucketID {
	var id bucketID
	id[0] = kindKey
	copy(id[1:], digest[:])
	return id
}

func projectBucket(projectID int64) bucketID {
	var id bucketID
	id[0] = kindProject
	binary.BigEndian.PutUint64(id[1:], uint64(projectID))
	return id
}

// bucket is one budget: tokens refill at limit per window up to limit. It
// may go below zero: a batch larger than what is left is admitted when the
// bucket holds as much as the batch could ever get (min(n, limit)), and the
// other replicas' admissions are taken out at each sync; a negative bucket
// refuses until it has refilled, so the rate over time stays the limit.
type bucket struct {
	projectID int64
	created   time.Time
	window    time.Duration

	mu       sync.Mutex
	limit    int // tokens a window, and the bucket's size
	tokens   float64
	last     time.Time // of the last refill
	admitted int64     // tokens this replica took, since the bucket was made
	synced   int64     // admitted as last written to the database
	others   int64     // the other replicas' total at the last sync; -1: not read yet
}

// refill adds the tokens of the time since the last refill; the caller
// holds mu.
func (b *bucket) refill(now time.Time, limit int, window time.Duration) {
	if limit != b.limit {
		// A changed limit (the project's own was set or cleared): the
		// bucket keeps its level, within the new size.
		b.tokens = min(b.tokens, float64(limit))
		b.limit = limit
	}
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = min(b.tokens+float64(limit)*dt.Seconds()/window.Seconds(), float64(limit))
		b.last = now
	}
}

// untilHolds is how long until the bucket holds need tokens.
func (b *bucket) untilHolds(need float64, window time.Duration) time.Duration {
	if b.tokens >= need {
		return 0
	}
	secs := (need - b.tokens) * window.Seconds() / float64(b.limit)
	return time.Duration(math.Ceil(secs * float64(time.Second)))
}

// state is what a decision reports of the bucket.
func (b *bucket) state(window time.Duration) apierr.RateLimit {
	return apierr.RateLimit{
		Limit:     b.limit,
		Remaining: int(max(math.Floor(b.tokens), 0)),
		Reset:     b.untilHolds(float64(b.limit), window),
		Window:    window,
	}
}

// override is a project's own limits; 0: not set.
type override struct{ requestsPerMinute, logsPerSecond int }

// Limiter holds the buckets of one replica. Its methods are safe for
// concurrent use; Run syncs it with the other replicas.
type Limiter struct {
	log     *zap.Logger
	pool    *pgxpool.Pool
	cfg     Config
	replica [16]byte
	now     func() time.Time

	buckets sync.Map // bucketID → *bucket

	// projects are the limits of the projects seen, as last read; a
	// project missing from it takes the defaults until the next Refresh.
	projects atomic.Pointer[map[int64]override]
	unknown  sync.Map // project id → struct{}: seen, not read yet
}

// New returns a limiter of cfg's limits. pool is where the replicas meet
// and the projects' own limits are read; nil keeps the limiter to this
// process with the defaults (tests).
func New(log *zap.Logger, pool *pgxpool.Pool, cfg Config) *Limiter {
	l := &Limiter{log: log, pool: pool, cfg: cfg.withDefaults(), now: time.Now}
	_, _ = rand.Read(l.replica[:]) // never fails (crypto/rand, Go 1.24+)
	empty := map[int64]override{}
	l.projects.Store(&empty)
	return l
}

// Limits are the limits that apply to a project now (as last read).
func (l *Limiter) Limits(projectID int64) (requestsPerMinute, logsPerSecond int) {
	o, ok := (*l.projects.Load())[projectID]
	if !ok {
		// Read at the next Refresh; until then the defaults hold.
		l.unknown.LoadOrStore(projectID, struct{}{})
	}
	requestsPerMinute, logsPerSecond = l.cfg.RequestsPerMinute, l.cfg.LogsPerSecond
	if o.requestsPerMinute > 0 {
		requestsPerMinute = o.requestsPerMinute
	}
	if o.logsPerSecond > 0 {
		logsPerSecond = o.logsPerSecond
	}
	return requestsPerMinute, logsPerSecond
}

func (l *Limiter) bucket(id bucketID, projectID int64, limit int, window time.Duration, now time.Time) *bucket {
	if b, ok := l.buckets.Load(id); ok {
		return b.(*bucket)
	}
	b, _ := l.buckets.LoadOrStore(id, &bucket{projectID: projectID, created: now, window: window,
		limit: limit, tokens: float64(limit), last: now, others: -1})
	return b.(*bucket)
}

// Decision is the outcome of Check.
type Decision struct {
	// Budget is what the call's X-RateLimit-* headers report: the key's
	// request budget after an admitted call, the budget that refused a
	// refused one (Limit 0: unlimited, no headers).
	Budget apierr.RateLimit
	// Err is nil when the call is admitted, else a RateLimited error
	// naming the budget it is over (the key's requests or the project's
	// entries).
	Err error
}

// Check admits one request of p's key carrying entries log entries for
// p's project (0 for a call that sends none): both budgets are checked
// before either is taken from, so a refused call costs neither.
func (l *Limiter) Check(p *authn.Principal, entries int) Decision {
	rpm, lps := l.Limits(p.ProjectID)
	now := l.now()
	var kb, pb *bucket
	if rpm > 0 {
		kb = l.bucket(keyBucket(p.KeyDigest), p.ProjectID, rpm, RequestWindow, now)
		kb.mu.Lock()
		defer kb.mu.Unlock()
		kb.refill(now, rpm, RequestWindow)
		if kb.tokens < 1 {
			st := kb.state(RequestWindow)
			return Decision{Budget: st, Err: apierr.RateLimited(kb.untilHolds(1, RequestWindow),
				"rate limited: this API key of project "+p.ProjectSlug+" is over its "+strconv.Itoa(rpm)+" requests a minute", st)}
		}
	}
	if lps > 0 && entries > 0 {
		pb = l.bucket(projectBucket(p.ProjectID), p.ProjectID, lps, LogsWindow, now)
		pb.mu.Lock()
		defer pb.mu.Unlock()
		pb.refill(now, lps, LogsWindow)
		if need := float64(min(entries, lps)); pb.tokens < need {
			st := pb.state(LogsWindow)
			return Decision{Budget: st, Err: apierr.RateLimited(pb.untilHolds(need, LogsWindow),
				"rate limited: project "+p.ProjectSlug+" is over its "+strconv.Itoa(lps)+" log entries a second", st)}
		}
		pb.tokens -= float64(entries)
		pb.admitted += int64(entries)
	}
	if kb != nil {
		kb.tokens--
		kb.admitted++
	}
	return Decision{Budget: l.keyState(kb)}
}

func (l *Limiter) keyState(kb *bucket) apierr.RateLimit {
	if kb == nil {
		return apierr.RateLimit{}
	}
	return kb.state(RequestWindow)
}

// AdmitRequest admits one request of p's key (no entries): the hook of the
// query API's authenticator for read keys. It sets the X-RateLimit-*
// response headers of the call and returns nil or the RateLimited error
// (a client error: map it with apierr.ToStatus where statuses are due).
func (l *Limiter) AdmitRequest(ctx context.Context, p *authn.Principal) error {
	d := l.Check(p, 0)
	SetHeaders(ctx, d.Budget)
	return d.Err
}

// HeaderMD is the response metadata of a key's budget; nil when unlimited.
func HeaderMD(rl apierr.RateLimit) metadata.MD {
	if rl.Limit <= 0 {
		return nil
	}
	return metadata.MD{
		HeaderLimit:     []string{strconv.Itoa(rl.Limit)},
		HeaderRemaining: []string{strconv.Itoa(rl.Remaining)},
		HeaderReset:     []string{strconv.Itoa(ResetSeconds(rl.Reset))},
	}
}

// ResetSeconds is a Reset in whole seconds, rounded up.
func ResetSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// SetHeaders sends a key's budget as the call's response headers (a unary
// call, or a stream before its first message). Outside a gRPC call it does
// nothing.
func SetHeaders(ctx context.Context, rl apierr.RateLimit) {
	if md := HeaderMD(rl); md != nil {
		_ = grpc.SetHeader(ctx, md)
	}
}
