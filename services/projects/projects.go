package projects

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// Confirmations the REST contract shows.
const (
	msgProjectCreated = "Project created. Copy the API key now: it will not be shown again."
	msgKeyRegenerated = "API key regenerated. The old key no longer works."
	msgProjectDeleted = "Project deleted. Its API key no longer works; its logs stay readable."
)

// projectServer is the ProjectService.
type projectServer struct {
	logsv1.UnimplementedProjectServiceServer
	*Service
}

// readableProject returns a project the caller may read: NotFound when it
// does not exist, PermissionDenied when it is someone else's.
func (s *Service) readableProject(ctx context.Context, p *authn.Principal, id int64) (project, error) {
	pr, err := s.store.getProject(ctx, id, p.UserID, p.IsAdmin())
	if err != nil {
		return project{}, err
	}
	if pr.Role == "" {
		return project{}, apierr.Deniedf("project %d is not yours", id)
	}
	return pr, nil
}

// managedProject returns a project the caller owns or, as an admin, manages.
func (s *Service) managedProject(ctx context.Context, p *authn.Principal, id int64, action string) (project, error) {
	pr, err := s.readableProject(ctx, p, id)
	if err != nil {
		return project{}, err
	}
	if pr.Role != roleOwner && pr.Role != roleAdmin && !p.IsAdmin() {
		return project{}, apierr.Deniedf("only the owner of project %d or an admin can %s", id, action)
	}
	return pr, nil
}

func (s *projectServer) CreateProject(ctx context.Context, req *logsv1.CreateProjectRequest) (*logsv1.CreateProjectResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := validateProject(req.GetName(), req.GetSlug(), req.GetDescription(), req.GetRepositoryUrl())
	if err != nil {
		return nil, err
	}
	key, err := issueKey()
	if err != nil {
		return nil, err
	}
	actor := s.actorOf(ctx)
	err = s.store.inTx(ctx, func(tx pgx.Tx) error {
		if pr, err = insertProject(ctx, tx, p.UserID, pr); err != nil {
			return err
		}
		key.ProjectID, key.Name, key.Scopes, key.IsDefault = pr.ID, defaultKeyName, defaultKeyScopes(), true
		k, err := insertKey(ctx, tx, key.newKey)
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, actor, auditEvent{Action: auditProjectCreate, ProjectID: pr.ID, ProjectSlug: pr.Slug,
			Details: map[string]any{"name": pr.Name, "key_id": k.ID, "key_prefix": k.Prefix, "key_scopes": k.Scopes}})
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("project created", zap.Int64("project_id", pr.ID), zap.String("slug", pr.Slug), zap.Int64("user_id", p.UserID))
	return &logsv1.CreateProjectResponse{
		ProjectId: pr.ID,
		Name:      pr.Name,
		Slug:      pr.Slug,
		ApiKey:    key.secret,
		Message:   msgProjectCreated,
	}, nil
}

func (s *projectServer) ListProjects(ctx context.Context, req *logsv1.ListProjectsRequest) (*logsv1.ListProjectsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	size, after, err := readPage(req)
	if err != nil {
		return nil, err
	}
	list, err := s.store.listProjects(ctx, p.UserID, p.IsAdmin(), after, size+1)
	if err != nil {
		return nil, err
	}
	res := &logsv1.ListProjectsResponse{}
	list, res.NextPageToken = nextPage(list, size, func(pr project) pageKey { return pageKey{T: pr.CreatedAt, ID: pr.ID} })
	for _, pr := range list {
		res.Projects = append(res.Projects, s.projectProto(pr))
	}
	return res, nil
}

func (s *projectServer) GetProject(ctx context.Context, req *logsv1.GetProjectRequest) (*logsv1.GetProjectResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := s.readableProject(ctx, p, req.GetId())
	if err != nil {
		return nil, err
	}
	return &logsv1.GetProjectResponse{Project: s.projectProto(pr)}, nil
}

func (s *projectServer) RegenerateProjectKey(ctx context.Context, req *logsv1.RegenerateProjectKeyRequest) (*logsv1.RegenerateProjectKeyResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := s.maintainedProject(ctx, p, req.GetId(), "viewers cannot rotate keys")
	if err != nil {
		return nil, err
	}
	if !pr.IsActive {
		return nil, apierr.Preconditionf("project %d is deleted; its key cannot be regenerated", pr.ID)
	}
	key, err := issueKey()
	if err != nil {
		return nil, err
	}
	actor := s.actorOf(ctx)
	var k apiKey
	err = s.store.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockActiveProject(ctx, tx, pr.ID, "its key cannot be regenerated"); err != nil {
			return err
		}
		if k, err = rotateDefaultKey(ctx, tx, pr.ID, key.newKey); err != nil {
			return err
		}
		return recordAudit(ctx, tx, actor, auditEvent{Action: auditKeyRotate, ProjectID: pr.ID, ProjectSlug: pr.Slug,
			Details: map[string]any{"key_id": k.ID, "name": k.Name, "prefix": k.Prefix}})
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("project key regenerated", zap.Int64("project_id", pr.ID), zap.Int64("key_id", k.ID), zap.Int64("user_id", p.UserID))
	return &logsv1.RegenerateProjectKeyResponse{ApiKey: key.secret, Message: msgKeyRegenerated}, nil
}

func (s *projectServer) DeleteProject(ctx context.Context, req *logsv1.DeleteProjectRequest) (*logsv1.DeleteProjectResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := s.managedProject(ctx, p, req.GetId(), "delete it")
	if err != nil {
		return nil, err
	}
	actor := s.actorOf(ctx)
	err = s.store.inTx(ctx, func(tx pgx.Tx) error {
		// The project row first: its lock makes a key being issued
		// meanwhile (lockActiveProject) wait, then see the project deleted.
		if err := deleteProject(ctx, tx, pr.ID); err != nil {
			return err
		}
		n, err := revokeProjectKeys(ctx, tx, pr.ID)
		if err != nil {
			return err
		}
		if !pr.IsActive {
			return nil // deleted before: nothing changed, nothing to record
		}
		return recordAudit(ctx, tx, actor, auditEvent{Action: auditProjectDelete, ProjectID: pr.ID, ProjectSlug: pr.Slug,
			Details: map[string]any{"name": pr.Name, "keys_revoked": n}})
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("project deleted", zap.Int64("project_id", pr.ID), zap.Int64("user_id", p.UserID))
	return &logsv1.DeleteProjectResponse{Message: msgProjectDeleted}, nil
}

func (s *projectServer) ListProjectMembers(ctx context.Context, req *logsv1.ListProjectMembersRequest) (*logsv1.ListProjectMembersResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	size, after, err := readPage(req)
	if err != nil {
		return nil, err
	}
	pr, err := s.readableProject(ctx, p, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	members, err := s.store.listMembers(ctx, pr.ID, after, size+1)
	if err != nil {
		return nil, err
	}
	res := &logsv1.ListProjectMembersResponse{}
	members, res.NextPageToken = nextPage(members, size, func(m member) pageKey { return pageKey{T: m.CreatedAt, ID: m.UserID} })
	for _, m := range members {
		res.Members = append(res.Members, memberProto(m))
	}
	return res, nil
}

func (s *projectServer) AddProjectMember(ctx context.Context, req *logsv1.AddProjectMemberRequest) (*logsv1.AddProjectMemberResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetEmail() == "" {
		return nil, apierr.Invalidf("email is required")
	}
	role, err := memberRole(req.GetRole())
	if err != nil {
		return nil, err
	}
	pr, err := s.managedProject(ctx, p, req.GetProjectId(), "share it")
	if err != nil {
		return nil, err
	}
	var m member
	if err := s.store.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if m, err = s.store.upsertMember(ctx, tx, pr, req.GetEmail(), role); err != nil {
			return err
		}
		return recordAudit(ctx, tx, s.actorOf(ctx), auditEvent{Action: auditMemberAdd, ProjectID: pr.ID, ProjectSlug: pr.Slug,
			Details: map[string]any{"user_id": m.UserID, "email": m.Email, "role": m.Role}})
	}); err != nil {
		return nil, err
	}
	s.log.Info("project shared", zap.Int64("project_id", pr.ID), zap.Int64("member_id", m.UserID),
		zap.String("role", m.Role), zap.Int64("user_id", p.UserID))
	return &logsv1.AddProjectMemberResponse{Member: memberProto(m)}, nil
}

func (s *projectServer) RemoveProjectMember(ctx context.Context, req *logsv1.RemoveProjectMemberRequest) (*logsv1.RemoveProjectMemberResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := s.managedProject(ctx, p, req.GetProjectId(), "stop sharing it")
	if err != nil {
		return nil, err
	}
	if err := s.store.inTx(ctx, func(tx pgx.Tx) error {
		m, err := s.store.removeMember(ctx, tx, pr.ID, req.GetUserId())
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, s.actorOf(ctx), auditEvent{Action: auditMemberRemove, ProjectID: pr.ID, ProjectSlug: pr.Slug,
			Details: map[string]any{"user_id": m.UserID, "email": m.Email, "role": m.Role}})
	}); err != nil {
		return nil, err
	}
	s.log.Info("project unshared", zap.Int64("project_id", pr.ID), zap.Int64("member_id", req.GetUserId()), zap.Int64("user_id", p.UserID))
	return &logsv1.RemoveProjectMemberResponse{
		Message: fmt.Sprintf("Project %d is no longer shared with user %d.", pr.ID, req.GetUserId()),
	}, nil
}

func (s *Service) projectProto(p project) *logsv1.Project {
	out := &logsv1.Project{
		Id:            p.ID,
		Name:          p.Name,
		Slug:          p.Slug,
		Description:   p.Description,
		RepositoryUrl: p.RepositoryURL,
		CreatedAt:     timestamppb.New(p.CreatedAt),
		LogCount:      p.LogCount,
		IsActive:      p.IsActive,
		Role:          p.Role,
		OwnerId:       p.OwnerID,
		RateLimit:     s.rateLimitProto(p),
	}
	if p.LastLogAt != nil {
		out.LastLogAt = timestamppb.New(*p.LastLogAt)
	}
	s.retentionProto(p, out)
	return out
}

func memberProto(m member) *logsv1.ProjectMember {
	return &logsv1.ProjectMember{UserId: m.UserID, Email: m.Email, Role: m.Role, CreatedAt: timestamppb.New(m.CreatedAt)}
}
