// Package query implements QueryService: filtered, paginated reads of the
// log entries of the projects a signed-in user may read, exact statistics
// and histograms, the list of services, and live tails that follow the
// database through LISTEN/NOTIFY (so they see entries written through any
// replica of the ingestion service). See README.md for the decisions.
package query

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/keyuse"
	"github.com/devsmith/logs/internal/ratelimit"
)

// Service is the query service.
type Service struct {
	logsv1.UnimplementedQueryServiceServer

	log      *zap.Logger
	pool     *pgxpool.Pool
	identity *authn.IdentityClient
	uses     *keyuse.Reporter // nil without identity
	cfg      Config
	hub      *hub
	listener listenerState
	limiter  *ratelimit.Limiter // read keys' request budgets (ratelimit.go)
	now      func() time.Time
}

// New makes the service. identity resolves session tokens (through the
// projects service); pool reads logs.entries and logs.entry_rollups.
func New(log *zap.Logger, pool *pgxpool.Pool, identity *authn.IdentityClient, cfg Config) *Service {
	s := &Service{
		log:      log,
		pool:     pool,
		identity: identity,
		cfg:      cfg.withDefaults(),
		hub:      newHub(),
		limiter:  ratelimit.New(log.Named("ratelimit"), pool, cfg.RateLimit),
		now:      time.Now,
	}
	if identity != nil {
		s.uses = keyuse.New(log, identity, func() time.Time { return s.now() })
	}
	return s
}

// Register registers QueryService on g.
func (s *Service) Register(g *grpc.Server) {
	logsv1.RegisterQueryServiceServer(g, s)
}

// EndTails ends every live tail cleanly (an OK end of stream: clients
// resume elsewhere from their last resume token) and refuses new ones, so
// that a stopping server's graceful stop does not wait on them. Run ends
// them too when it returns.
func (s *Service) EndTails() { s.hub.close() }

// Authenticator authenticates every method as a signed-in user, through
// IdentityService.ResolveSession, and the reading methods also as a
// project API key with the read scope (keys.go).
func (s *Service) Authenticator() authn.Authenticator {
	return func(ctx context.Context, fullMethod string, md metadata.MD) (*authn.Principal, error) {
		p, err := s.authenticate(ctx, fullMethod, md)
		if err != nil {
			// It answers statuses: it runs before the error-mapping
			// interceptor.
			return nil, apierr.ToStatus(ctx, s.log, fullMethod, err)
		}
		return p, nil
	}
}
