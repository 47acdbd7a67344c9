package projects

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
)

// ResolveApiKey resolves a key (resolveKey). A key that matches no active
// key counts as a failure of the client's address (the ingestion and query
// services forward it; authn.IdentityClient), which LoginFailures of them
// within LoginWindow lock out for LoginLockout (lockout.go): meanwhile an
// invalid key is answered ResourceExhausted with the time left, so a
// guesser learns nothing more and is told to go away. A valid key keeps
// working from a locked address: guessing a 256-bit key is hopeless, and
// a noisy client behind the same NAT must not stop everyone's ingestion.
// Good keys cost nothing here; only failures write.
func (s *identityServer) ResolveApiKey(ctx context.Context, req *identityv1.ResolveApiKeyRequest) (*identityv1.ResolveApiKeyResponse, error) {
	res, err := s.resolveKey(ctx, req)
	if err == nil || !isBadAPIKey(err) {
		return res, err
	}
	until, err := s.keyFailed(ctx)
	if err != nil {
		return nil, err
	}
	if !until.IsZero() {
		return nil, s.lockedAnswer(until, msgKeysLocked)
	}
	return nil, errBadAPIKey
}

// keyFailed counts an invalid key against the caller's client address and
// waits as the count asks; it returns when the address's lock ends, or the
// zero time when it is not locked.
func (s *Service) keyFailed(ctx context.Context) (time.Time, error) {
	actor := s.actorOf(ctx)
	var failures int
	var until time.Time
	if err := s.store.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		failures, until, err = s.recordFailures(ctx, tx, actor, credentialAPIKey, keyAddressSubject(actor.ClientIP))
		return err
	}); err != nil {
		return time.Time{}, err
	}
	s.log.Info("invalid API key", zap.String("client", actor.ClientIP), zap.Int("failures", failures))
	s.slowDown(ctx, failures)
	return until, nil
}
