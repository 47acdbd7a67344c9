package query

import (
	"context"

	"github.com/devsmith/logs/internal/authn"
)

// limitKey holds a call made with a project's read key to its key's
// request budget (docs/rate-limits.md): one request of the budget, the
// x-ratelimit-* response headers, and a RateLimited client error
// (ResourceExhausted with RetryInfo, once the authenticator maps it) when
// the key is over it. Sessions are not limited.
func (s *Service) limitKey(ctx context.Context, p *authn.Principal) error {
	if p.Kind != authn.KindProject {
		return nil
	}
	return s.limiter.AdmitRequest(ctx, p)
}
