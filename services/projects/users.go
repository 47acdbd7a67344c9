package projects

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
)

// userServer is the UserService.
type userServer struct {
	logsv1.UnimplementedUserServiceServer
	*Service
}

func (s *userServer) ListUsers(ctx context.Context, req *logsv1.ListUsersRequest) (*logsv1.ListUsersResponse, error) {
	if _, err := adminCaller(ctx); err != nil {
		return nil, err
	}
	size, after, err := readPage(req)
	if err != nil {
		return nil, err
	}
	users, err := s.store.listUsers(ctx, after, size+1)
	if err != nil {
		return nil, err
	}
	res := &logsv1.ListUsersResponse{}
	users, res.NextPageToken = nextPage(users, size, func(u user) pageKey { return pageKey{T: u.CreatedAt, ID: u.ID} })
	for _, u := range users {
		res.Users = append(res.Users, userProto(u))
	}
	return res, nil
}

func (s *userServer) CreateUser(ctx context.Context, req *logsv1.CreateUserRequest) (*logsv1.CreateUserResponse, error) {
	p, err := adminCaller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validateEmail("email", req.GetEmail()); err != nil {
		return nil, err
	}
	if err := validatePassword(req.GetPassword()); err != nil {
		return nil, err
	}
	role, err := userRole(req.GetRole())
	if err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(req.GetPassword()), s.cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("hashing password: %w", err)
	}
	var u user
	if err := s.store.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if u, err = s.store.createUser(ctx, tx, req.GetEmail(), string(hash), role); err != nil {
			return err
		}
		return recordAudit(ctx, tx, s.actorOf(ctx), auditEvent{Action: auditUserCreate, Details: map[string]any{
			"user_id": u.ID, "email": u.Email, "role": u.Role,
		}})
	}); err != nil {
		return nil, err
	}
	s.log.Info("user created", zap.Int64("user_id", u.ID), zap.String("role", u.Role), zap.Int64("by_user_id", p.UserID))
	return &logsv1.CreateUserResponse{User: userProto(u)}, nil
}

func (s *userServer) DeleteUser(ctx context.Context, req *logsv1.DeleteUserRequest) (*logsv1.DeleteUserResponse, error) {
	p, err := adminCaller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetId() == p.UserID {
		return nil, apierr.Preconditionf("id: you cannot delete your own account; ask another admin")
	}
	if err := s.store.inTx(ctx, func(tx pgx.Tx) error {
		u, err := s.store.deleteUser(ctx, tx, req.GetId())
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, s.actorOf(ctx), auditEvent{Action: auditUserDelete, Details: map[string]any{
			"user_id": u.ID, "email": u.Email, "role": u.Role,
		}})
	}); err != nil {
		return nil, err
	}
	s.log.Info("user deleted", zap.Int64("user_id", req.GetId()), zap.Int64("by_user_id", p.UserID))
	return &logsv1.DeleteUserResponse{Message: fmt.Sprintf("User %d deleted. Their sessions have ended; their projects remain.", req.GetId())}, nil
}
