package ingestion

import (
	"context"

	"google.golang.org/grpc"

	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/ratelimit"
)

// Rate limits (docs/rate-limits.md): every IngestBatch, every batch of an
// IngestStream and every OTLP Export is one request of its key's budget,
// and its entries (records) count against its project's budget of entries
// a second. The check is in memory (package ratelimit); a refused call is
// ResourceExhausted with RetryInfo before anything is decoded further or
// queued, so a flooding project costs the writers nothing and cannot slow
// another project's batches.

// admit checks a unary call against the limits and sends the key's budget
// (or the budget that refused it) as the call's response headers.
func (s *Service) admit(ctx context.Context, p *authn.Principal, entries int) error {
	d := s.limiter.Check(p, entries)
	ratelimit.SetHeaders(ctx, d.Budget)
	return d.Err
}

// streamBudget admits the batches of one IngestStream: the budget after
// the first goes out as the stream's headers, the last one as its trailer
// (headers can be sent once).
type streamBudget struct {
	stream grpc.ServerStream
	sent   bool
	last   ratelimit.Decision
}

func (b *streamBudget) admit(l *ratelimit.Limiter, p *authn.Principal, entries int) error {
	b.last = l.Check(p, entries)
	if !b.sent {
		b.sent = true
		if md := ratelimit.HeaderMD(b.last.Budget); md != nil {
			_ = b.stream.SetHeader(md)
		}
	}
	return b.last.Err
}

func (b *streamBudget) trailer() {
	if md := ratelimit.HeaderMD(b.last.Budget); md != nil {
		b.stream.SetTrailer(md)
	}
}
