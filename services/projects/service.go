// Package projects is the projects service: users and their sessions
// (AuthService, UserService), projects, their API keys and members
// (ProjectService), and the credential checks the other services ask for
// (IdentityService), and the audit trail (AuditService). PostgreSQL holds
// all of its state, the failure counts of its lockout too.
package projects

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// sweepInterval is how often Run deletes expired sessions and ended
// failure counts, and keeps the audit partitions.
const sweepInterval = 10 * time.Minute

// Service implements AuthService, UserService, ProjectService,
// IdentityService and AuditService.
type Service struct {
	log   *zap.Logger
	store *store
	cfg   Config

	// dummyHash is compared against when a sign-in names an unknown email,
	// so that answer takes as long as a wrong password.
	dummyHash []byte
	now       func() time.Time
	// wait sleeps before a failed sign-in's answer (lockout.go).
	wait  func(context.Context, time.Duration)
	sweep time.Duration
}

// New returns the service over pool.
func New(log *zap.Logger, pool *pgxpool.Pool, cfg Config) *Service {
	cfg = cfg.withDefaults()
	// A fixed string hashed at the configured cost; it matches no password
	// a user could have (the comparison's result is ignored anyway).
	dummy, err := bcrypt.GenerateFromPassword([]byte("devsmith-no-such-user"), cfg.BcryptCost)
	if err != nil {
		// Only a cost out of range fails, and the cost was clamped above.
		panic(fmt.Sprintf("projects: hashing the dummy password: %v", err))
	}
	return &Service{
		log:       log,
		store:     &store{pool: pool},
		cfg:       cfg,
		dummyHash: dummy,
		now:       time.Now,
		wait:      wait,
		sweep:     sweepInterval,
	}
}

// Register registers the five gRPC services on g. Their errors become
// statuses in the server's apierr interceptor.
func (s *Service) Register(g *grpc.Server) {
	logsv1.RegisterAuthServiceServer(g, &authServer{Service: s})
	logsv1.RegisterUserServiceServer(g, &userServer{Service: s})
	logsv1.RegisterProjectServiceServer(g, &projectServer{Service: s})
	identityv1.RegisterIdentityServiceServer(g, &identityServer{Service: s})
	logsv1.RegisterAuditServiceServer(g, &auditServer{Service: s})
}

// Bootstrap creates the first admin from Config.AdminEmail and
// AdminPassword when no user exists; once any user exists it does nothing.
// Without those settings it only logs that there is no user yet.
func (s *Service) Bootstrap(ctx context.Context) error {
	exists, err := s.store.hasUsers(ctx)
	if err != nil {
		return err
	}
	if exists {
		return nil
	}
	if s.cfg.AdminEmail == "" && s.cfg.AdminPassword == "" {
		s.log.Warn("no user exists yet: open the dashboard from this machine to create the first admin, or set DEVSMITH_ADMIN_EMAIL and DEVSMITH_ADMIN_PASSWORD")
		return nil
	}
	if err := validateEmail("admin email", s.cfg.AdminEmail); err != nil {
		return fmt.Errorf("creating the first admin: %w", err)
	}
	if err := validatePassword(s.cfg.AdminPassword); err != nil {
		return fmt.Errorf("creating the first admin: admin %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(s.cfg.AdminPassword), s.cfg.BcryptCost)
	if err != nil {
		return fmt.Errorf("hashing the first admin's password: %w", err)
	}
	created, err := s.store.bootstrapAdmin(ctx, s.cfg.AdminEmail, string(hash), auditActor{})
	if err != nil {
		return err
	}
	if created {
		s.log.Info("created the first admin")
	}
	return nil
}

// Run deletes expired sessions and ended failure counts, and creates and
// drops audit partitions (auditpartitions.go), now and every few minutes
// until ctx ends, then returns nil.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.sweep)
	defer t.Stop()
	for {
		n, err := s.store.deleteExpiredSessions(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("deleting expired sessions failed", zap.Error(err))
		case n > 0:
			s.log.Debug("deleted expired sessions", zap.Int64("count", n))
		}
		n, err = s.store.deleteEndedFailures(ctx, s.now(), s.cfg.LoginWindow)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("deleting ended failure counts failed", zap.Error(err))
		case n > 0:
			s.log.Debug("deleted ended failure counts", zap.Int64("count", n))
		}
		dropped, err := maintainAuditPartitions(ctx, s.store.pool, s.now(), s.cfg.AuditRetention)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("maintaining audit partitions failed", zap.Error(err))
		case len(dropped) > 0:
			s.log.Info("dropped audit partitions past retention", zap.Strings("partitions", dropped))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
