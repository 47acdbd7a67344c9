package projects

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// authServer is the AuthService.
type authServer struct {
	logsv1.UnimplementedAuthServiceServer
	*Service
}

// clientAddress is the address sign-in failures are counted against (see
// authn.ClientAddress: the gateway's forwarded client, else the peer).
func (s *Service) clientAddress(ctx context.Context) string {
	return authn.ClientAddress(ctx, s.cfg.ServiceToken)
}

func (s *authServer) Login(ctx context.Context, req *logsv1.LoginRequest) (*logsv1.LoginResponse, error) {
	if req.GetEmail() == "" {
		return nil, apierr.Invalidf("email is required")
	}
	if req.GetPassword() == "" {
		return nil, apierr.Invalidf("password is required")
	}
	addr := s.clientAddress(ctx)
	// Counted per address and per account, known or not, so that neither
	// the lock nor its absence tells whether an account exists.
	subjects := []subject{addressSubject(addr), accountSubject(req.GetEmail())}
	until, err := s.store.lockedUntil(ctx, s.now(), subjects...)
	if err != nil {
		return nil, err
	}
	if !until.IsZero() {
		// Even the right password: the lock is not a hint to try again.
		s.log.Info("sign-in refused during a lockout", zap.String("client", addr))
		return nil, s.lockedAnswer(until, msgSignInLocked)
	}
	u, hash, found, err := s.store.userByEmail(ctx, req.GetEmail())
	if err != nil {
		return nil, err
	}
	if !found {
		// Spend the same time as a wrong password, so the answer does not
		// tell which emails have accounts.
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(req.GetPassword()))
		s.log.Info("sign-in failed", zap.String("client", addr))
		return nil, s.signInFailed(ctx, req.GetEmail(), 0, subjects)
	}
	err = bcrypt.CompareHashAndPassword([]byte(hash), []byte(req.GetPassword()))
	if err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		s.log.Error("checking a password hash failed", zap.Int64("user_id", u.ID), zap.Error(err))
	}
	// bcrypt reads 72 bytes at most; no stored password is longer, so a
	// longer one can only be wrong.
	if err != nil || len(req.GetPassword()) > maxPasswordBytes {
		s.log.Info("sign-in failed", zap.String("client", addr), zap.Int64("user_id", u.ID))
		return nil, s.signInFailed(ctx, req.GetEmail(), u.ID, subjects)
	}
	tok, expires, err := s.startSession(ctx, u)
	if err != nil {
		return nil, err
	}
	s.log.Info("user signed in", zap.Int64("user_id", u.ID))
	return &logsv1.LoginResponse{Token: tok, User: userProto(u), ExpireTime: timestamppb.New(expires)}, nil
}

// signInFailed counts a failed sign-in of email (userID 0 when no user has
// it) against subjects and records auth.login_failed, both in one
// transaction, then waits as the count asks (lockout.go). The answer is
// errBadLogin whether or not the account exists.
func (s *Service) signInFailed(ctx context.Context, email string, userID int64, subjects []subject) error {
	actor := s.actorOf(ctx)
	actor.UserID, actor.Email = userID, email
	var failures int
	if err := s.store.inTx(ctx, func(tx pgx.Tx) error {
		if err := recordAudit(ctx, tx, actor, auditEvent{Action: auditLoginFailed}); err != nil {
			return err
		}
		var err error
		failures, _, err = s.recordFailures(ctx, tx, actor, credentialPassword, subjects...)
		return err
	}); err != nil {
		return err
	}
	s.slowDown(ctx, failures)
	return errBadLogin
}

// startSession makes a session for u and returns its token, which is stored
// only as a digest. In the same transaction it records auth.login and
// clears the failures counted against u's account.
func (s *Service) startSession(ctx context.Context, u user) (string, time.Time, error) {
	tok, tokHash, err := newSessionToken()
	if err != nil {
		return "", time.Time{}, err
	}
	actor := s.actorOf(ctx)
	actor.UserID, actor.Email = u.ID, u.Email
	var expires time.Time
	err = s.store.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if expires, err = s.store.createSession(ctx, tx, tokHash, u.ID, s.cfg.SessionTTL); err != nil {
			return err
		}
		if err := s.store.forgetAccountFailures(ctx, tx, u.Email, s.now()); err != nil {
			return err
		}
		return recordAudit(ctx, tx, actor, auditEvent{Action: auditLogin})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, expires, nil
}

// GetSetupStatus tells whether the first admin is still to be created.
func (s *authServer) GetSetupStatus(ctx context.Context, _ *logsv1.GetSetupStatusRequest) (*logsv1.GetSetupStatusResponse, error) {
	exists, err := s.store.hasUsers(ctx)
	if err != nil {
		return nil, err
	}
	return &logsv1.GetSetupStatusResponse{SetupRequired: !exists}, nil
}

// CreateFirstAdmin is the dashboard's one-time setup: only while no user
// exists, and only for a caller on loopback (both the gRPC peer and, through
// the gateway, the HTTP client).
func (s *authServer) CreateFirstAdmin(ctx context.Context, req *logsv1.CreateFirstAdminRequest) (*logsv1.CreateFirstAdminResponse, error) {
	if !fromLoopback(ctx) {
		return nil, apierr.Deniedf("the first admin can only be created from the machine that runs DevSmith Logs (a loopback address)")
	}
	if err := validateEmail("email", req.GetEmail()); err != nil {
		return nil, err
	}
	if err := validatePassword(req.GetPassword()); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(req.GetPassword()), s.cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("hashing the first admin's password: %w", err)
	}
	created, err := s.store.bootstrapAdmin(ctx, req.GetEmail(), string(hash), s.actorOf(ctx))
	if err != nil {
		return nil, err
	}
	if !created {
		return nil, apierr.Existsf("setup is already done: a user exists; sign in instead")
	}
	u, _, _, err := s.store.userByEmail(ctx, req.GetEmail())
	if err != nil {
		return nil, err
	}
	tok, expires, err := s.startSession(ctx, u)
	if err != nil {
		return nil, err
	}
	s.log.Info("created the first admin through setup", zap.Int64("user_id", u.ID))
	return &logsv1.CreateFirstAdminResponse{Token: tok, User: userProto(u), ExpireTime: timestamppb.New(expires)}, nil
}

// fromLoopback tells whether the call comes from this machine: the gRPC peer
// is a loopback address, and so is the HTTP client the gateway forwards.
func fromLoopback(ctx context.Context) bool {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return false
	}
	host, _, err := net.SplitHostPort(p.Addr.String())
	if err != nil || !isLoopback(host) {
		return false
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("x-forwarded-for") {
		for _, hop := range strings.Split(v, ",") {
			if !isLoopback(strings.TrimSpace(hop)) {
				return false
			}
		}
	}
	return true
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *authServer) Logout(ctx context.Context, _ *logsv1.LogoutRequest) (*logsv1.LogoutResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.store.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.store.deleteSession(ctx, tx, digest(p.SessionToken)); err != nil {
			return err
		}
		return recordAudit(ctx, tx, s.actorOf(ctx), auditEvent{Action: auditLogout})
	}); err != nil {
		return nil, err
	}
	return &logsv1.LogoutResponse{Message: "Signed out."}, nil
}

func (s *authServer) GetCurrentUser(ctx context.Context, _ *logsv1.GetCurrentUserRequest) (*logsv1.GetCurrentUserResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.store.userByID(ctx, p.UserID)
	if errors.Is(err, apierr.ErrNotFound) {
		return nil, errBadSession
	}
	if err != nil {
		return nil, err
	}
	return &logsv1.GetCurrentUserResponse{User: userProto(u)}, nil
}

func userProto(u user) *logsv1.User {
	return &logsv1.User{Id: u.ID, Email: u.Email, Role: u.Role, CreatedAt: timestamppb.New(u.CreatedAt)}
}
