package projects

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// Brute-force protection (docs/security.md, "Sign-in and key guessing").
// Failed sign-ins are counted per client address and per account (the
// lowercased email tried, whether or not it has a user), invalid API keys
// per client address, all in logs.auth_failures, so every replica counts
// the same failures. LoginFailures failures within LoginWindow lock the
// subject for LoginLockout. Before that, each failed answer waits longer
// (LoginSlowdown per failure already counted, at most maxSlowdownSteps
// times). Only failures write; a good sign-in or key reads at most.
const (
	scopeAddress    = "address"     // sign-ins from a client address
	scopeAccount    = "account"     // sign-ins naming an email
	scopeKeyAddress = "key_address" // invalid API keys from a client address

	credentialPassword = "password"
	credentialAPIKey   = "api_key"

	// maxSlowdownSteps bounds the wait of a failed answer to this many
	// LoginSlowdowns.
	maxSlowdownSteps = 8
)

// subject is one counted thing: a scope and its address or email.
type subject struct{ scope, key string }

func addressSubject(addr string) subject { return subject{scopeAddress, addr} }
func accountSubject(email string) subject {
	return subject{scopeAccount, strings.ToLower(truncate(email, maxAuditEmailLength))}
}
func keyAddressSubject(addr string) subject { return subject{scopeKeyAddress, addr} }

// failureCount is a subject's count after one more failure.
type failureCount struct {
	subject
	failures    int
	lockedUntil time.Time // zero when not locked
	newlyLocked bool      // this failure started the lock
}

// lockedUntil returns when the latest lock on any of subjects ends, or the
// zero time when none is locked at now.
func (st *store) lockedUntil(ctx context.Context, now time.Time, subjects ...subject) (time.Time, error) {
	scopes, keys := make([]string, len(subjects)), make([]string, len(subjects))
	for i, s := range subjects {
		scopes[i], keys[i] = s.scope, s.key
	}
	var until *time.Time
	if err := st.pool.QueryRow(ctx, `SELECT max(locked_until) FROM logs.auth_failures
		WHERE (scope, subject) IN (SELECT * FROM unnest($1::text[], $2::text[])) AND locked_until > $3`,
		scopes, keys, now).Scan(&until); err != nil {
		return time.Time{}, fmt.Errorf("checking lockouts: %w", err)
	}
	if until == nil {
		return time.Time{}, nil
	}
	return *until, nil
}

// countFailure counts one failure of subj at now in tx. The row is locked
// for the rest of tx, so concurrent failures on any replica count one by
// one and only one of them starts the lock.
func countFailure(ctx context.Context, tx pgx.Tx, subj subject, now time.Time, cfg Config) (failureCount, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO logs.auth_failures (scope, subject, window_start, failures)
		VALUES ($1, $2, $3, 0) ON CONFLICT (scope, subject) DO NOTHING`, subj.scope, subj.key, now); err != nil {
		return failureCount{}, fmt.Errorf("counting a %s failure: %w", subj.scope, err)
	}
	var start time.Time
	var n int
	var until *time.Time
	if err := tx.QueryRow(ctx, `SELECT window_start, failures, locked_until FROM logs.auth_failures
		WHERE scope = $1 AND subject = $2 FOR UPDATE`, subj.scope, subj.key).Scan(&start, &n, &until); err != nil {
		return failureCount{}, fmt.Errorf("reading a %s failure count: %w", subj.scope, err)
	}
	c := failureCount{subject: subj}
	switch {
	case until != nil && now.Before(*until): // locked: counted, the lock stays as it is
		c.failures, c.lockedUntil = n+1, *until
	case until != nil || !now.Before(start.Add(cfg.LoginWindow)): // the lock or the window ended: a new window
		start, c.failures = now, 1
	default:
		c.failures = n + 1
	}
	if c.lockedUntil.IsZero() && c.failures >= cfg.LoginFailures {
		c.lockedUntil, c.newlyLocked = now.Add(cfg.LoginLockout), true
	}
	var lock *time.Time
	if !c.lockedUntil.IsZero() {
		lock = &c.lockedUntil
	}
	if _, err := tx.Exec(ctx, `UPDATE logs.auth_failures SET window_start = $3, failures = $4, locked_until = $5
		WHERE scope = $1 AND subject = $2`, subj.scope, subj.key, start, c.failures, lock); err != nil {
		return failureCount{}, fmt.Errorf("updating a %s failure count: %w", subj.scope, err)
	}
	return c, nil
}

// forgetAccountFailures clears an account's failures after it signed in,
// unless it is locked (a lock is never lifted early). The address's count
// stays: one good account must not reset the guesses made at others.
func (st *store) forgetAccountFailures(ctx context.Context, tx pgx.Tx, email string, now time.Time) error {
	s := accountSubject(email)
	if _, err := tx.Exec(ctx, `DELETE FROM logs.auth_failures
		WHERE scope = $1 AND subject = $2 AND (locked_until IS NULL OR locked_until <= $3)`, s.scope, s.key, now); err != nil {
		return fmt.Errorf("clearing an account's failures: %w", err)
	}
	return nil
}

// deleteEndedFailures deletes the counts whose window and lock have both
// ended.
func (st *store) deleteEndedFailures(ctx context.Context, now time.Time, window time.Duration) (int64, error) {
	tag, err := st.pool.Exec(ctx, `DELETE FROM logs.auth_failures
		WHERE window_start <= $1 AND (locked_until IS NULL OR locked_until <= $2)`, now.Add(-window), now)
	if err != nil {
		return 0, fmt.Errorf("deleting ended failure counts: %w", err)
	}
	return tag.RowsAffected(), nil
}

// recordFailures counts a failure of each subject in tx and records an
// auth.lockout event for each lock it starts. It returns the highest count
// and the end of the latest lock (zero when none is locked).
func (s *Service) recordFailures(ctx context.Context, tx pgx.Tx, actor auditActor, credential string, subjects ...subject) (most int, until time.Time, err error) {
	now := s.now()
	for _, subj := range subjects {
		c, err := countFailure(ctx, tx, subj, now, s.cfg)
		if err != nil {
			return 0, time.Time{}, err
		}
		most = max(most, c.failures)
		if c.lockedUntil.After(until) {
			until = c.lockedUntil
		}
		if !c.newlyLocked {
			continue
		}
		scope := scopeAddress
		if subj.scope == scopeAccount {
			scope = scopeAccount
		}
		if err := recordAudit(ctx, tx, actor, auditEvent{Action: auditLockout, Details: map[string]any{
			"scope": scope, "credential": credential, "failures": c.failures,
			"until": c.lockedUntil.UTC().Format(time.RFC3339),
		}}); err != nil {
			return 0, time.Time{}, err
		}
		s.log.Warn("locked out after repeated failures", zap.String("scope", subj.scope),
			zap.String("client", actor.ClientIP), zap.Time("until", c.lockedUntil))
	}
	return most, until, nil
}

// slowDown waits before a failed answer: LoginSlowdown for every failure
// counted before this one, at most maxSlowdownSteps of them. It returns
// early when ctx ends.
func (s *Service) slowDown(ctx context.Context, failures int) {
	d := time.Duration(min(failures-1, maxSlowdownSteps)) * s.cfg.LoginSlowdown
	if d <= 0 {
		return
	}
	s.wait(ctx, d)
}

// wait sleeps for d or until ctx ends.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// lockedAnswer is the answer during a lock that ends at until, with the
// time left rounded up to whole seconds (as Retry-After counts it).
func (s *Service) lockedAnswer(until time.Time, msg string) error {
	left := until.Sub(s.now())
	if r := left % time.Second; r != 0 {
		left += time.Second - r
	}
	return errLockedOut(left, msg)
}

// isBadAPIKey tells whether err says the key matched no active key (as
// opposed to an expired key or a failure to check).
func isBadAPIKey(err error) bool { return errors.Is(err, errBadAPIKey) }
