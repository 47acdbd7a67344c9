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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/authn"
)

// Config bounds what one call may ask for.
type Config struct {
	// MaxPageSize caps ListEntries' page_size; larger values are coerced.
	// Default 1000.
	MaxPageSize int
	// DefaultPageSize is the page size when the request gives none. Default
	// 100.
	DefaultPageSize int
	// SearchCountCap: with q, total_size counts at most this many matches
	// (then total_size_exact is false). Default 10000.
	SearchCountCap int
	// TailBuffer bounds, per tail subscriber, the journal reads waiting to be
	// read (past it the stream ends with ResourceExhausted) and the entries
	// read into memory at once. Default 1000.
	TailBuffer int
}

func (c Config) withDefaults() Config {
	if c.MaxPageSize <= 0 {
		c.MaxPageSize = 1000
	}
	if c.DefaultPageSize <= 0 {
		c.DefaultPageSize = 100
	}
	if c.DefaultPageSize > c.MaxPageSize {
		c.DefaultPageSize = c.MaxPageSize
	}
	if c.SearchCountCap <= 0 {
		c.SearchCountCap = 10000
	}
	if c.TailBuffer <= 0 {
		c.TailBuffer = 1000
	}
	return c
}

// Service is the query service.
type Service struct {
	logsv1.UnimplementedQueryServiceServer

	log      *zap.Logger
	pool     *pgxpool.Pool
	identity *authn.IdentityClient
	cfg      Config
	hub      *hub
	listener listenerState
	now      func() time.Time
}

// New makes the service. identity resolves session tokens (through the
// projects service); pool reads logs.entries and logs.entry_rollups.
func New(log *zap.Logger, pool *pgxpool.Pool, identity *authn.IdentityClient, cfg Config) *Service {
	return &Service{
		log:      log,
		pool:     pool,
		identity: identity,
		cfg:      cfg.withDefaults(),
		hub:      newHub(),
		now:      time.Now,
	}
}

// Register registers QueryService on g.
func (s *Service) Register(g *grpc.Server) {
	logsv1.RegisterQueryServiceServer(g, s)
}

// Authenticator authenticates every method as a signed-in user, through
// IdentityService.ResolveSession.
func (s *Service) Authenticator() authn.Authenticator {
	return func(ctx context.Context, _ string, md metadata.MD) (*authn.Principal, error) {
		if s.identity == nil {
			return nil, status.Error(codes.Unavailable, "sign-in is not available: the query service has no identity client")
		}
		return s.identity.Session(ctx, md)
	}
}
