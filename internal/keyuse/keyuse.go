// Package keyuse reports when and from where API keys are used, without a
// write per request: a Reporter remembers, per key, the minute and the
// client address it last reported, and tells the projects service
// (IdentityService.RecordKeyUse) only when a key is used in a new minute
// or from a new address, batched every FlushInterval. So last_used_at is
// exact to the minute (late by at most FlushInterval), whatever the rate of
// requests, and costs one map lookup under a mutex per request.
package keyuse

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
)

const (
	// FlushInterval is how often pending uses are sent.
	FlushInterval = time.Second
	// maxKeys bounds the remembered keys; when full they are forgotten
	// (each is then reported once more, which is harmless).
	maxKeys = 10_000
	// maxBatch is the most uses one RecordKeyUse call carries (the
	// projects service's limit).
	maxBatch = 1000
	// sendTimeout bounds one report.
	sendTimeout = 5 * time.Second
)

// Recorder stores key uses: the projects service's IdentityService
// (authn.IdentityClient).
type Recorder interface {
	RecordKeyUse(ctx context.Context, uses []*identityv1.KeyUse) error
}

type seen struct {
	minute  time.Time
	address string
}

// Reporter batches key uses for a Recorder. The zero value is not usable;
// make one with New.
type Reporter struct {
	log *zap.Logger
	rec Recorder
	now func() time.Time

	mu      sync.Mutex
	last    map[int64]seen // what was reported (or is pending) per key
	pending map[int64]seen
}

// New returns a Reporter sending to rec; now is the clock (time.Now).
func New(log *zap.Logger, rec Recorder, now func() time.Time) *Reporter {
	return &Reporter{log: log, rec: rec, now: now, last: map[int64]seen{}, pending: map[int64]seen{}}
}

// Note records that key keyID was used from address now. It reports the
// use only when the key was not reported in this minute from this address.
func (r *Reporter) Note(keyID int64, address string) {
	if r == nil || keyID <= 0 {
		return
	}
	m := r.now().UTC().Truncate(time.Minute)
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.last[keyID]; ok && s.minute.Equal(m) && s.address == address {
		return
	}
	if len(r.last) >= maxKeys {
		clear(r.last)
	}
	r.last[keyID] = seen{minute: m, address: address}
	r.pending[keyID] = seen{minute: m, address: address}
}

// take removes and returns up to maxBatch pending uses.
func (r *Reporter) take() []*identityv1.KeyUse {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*identityv1.KeyUse
	for id, s := range r.pending {
		if len(out) == maxBatch {
			break
		}
		out = append(out, &identityv1.KeyUse{KeyId: id, Address: s.address, UseTime: timestamppb.New(s.minute)})
		delete(r.pending, id)
	}
	return out
}

// Flush sends every pending use. A failed report is logged and dropped:
// the key is reported again at its next use in a later minute.
func (r *Reporter) Flush(ctx context.Context) {
	for {
		uses := r.take()
		if len(uses) == 0 {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		err := r.rec.RecordKeyUse(sctx, uses)
		cancel()
		if err != nil {
			r.log.Warn("reporting API key use failed", zap.Int("keys", len(uses)), zap.Error(err))
			r.forget(uses)
			return
		}
	}
}

// forget drops what was remembered of keys whose report failed, so their
// next use is reported again.
func (r *Reporter) forget(uses []*identityv1.KeyUse) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range uses {
		delete(r.last, u.GetKeyId())
	}
}

// Run flushes every FlushInterval until ctx ends. What is pending then
// (under a second of reports) is dropped: the projects service may already
// be gone, and the keys are reported again at their next use.
func (r *Reporter) Run(ctx context.Context) {
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Flush(ctx)
		}
	}
}
