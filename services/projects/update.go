package projects

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
)

// projectUpdate is a validated UpdateProjectRequest: nil fields keep their
// value. A rate limit of 0 is stored as NULL: the platform's default.
type projectUpdate struct {
	Name, Description, RepositoryURL *string
	SetRequests, SetLogs             bool
	RequestsPerMinute, LogsPerSecond *int32 // nil with Set*: back to the default
}

func (u projectUpdate) empty() bool {
	return u.Name == nil && u.Description == nil && u.RepositoryURL == nil && !u.SetRequests && !u.SetLogs
}

// details lists the fields set and their new values, for the audit event
// (rate limits as given: 0 is the default).
func (u projectUpdate) details() map[string]any {
	d := map[string]any{}
	if u.Name != nil {
		d["name"] = *u.Name
	}
	if u.Description != nil {
		d["description"] = *u.Description
	}
	if u.RepositoryURL != nil {
		d["repository_url"] = *u.RepositoryURL
	}
	if u.SetRequests || u.SetLogs {
		rl := map[string]any{}
		if u.SetRequests {
			rl["requests_per_minute"] = valueOrZero(u.RequestsPerMinute)
		}
		if u.SetLogs {
			rl["logs_per_second"] = valueOrZero(u.LogsPerSecond)
		}
		d["rate_limit"] = rl
	}
	return d
}

func valueOrZero(v *int32) int32 {
	if v == nil {
		return 0
	}
	return *v
}

// validateUpdate checks an UpdateProjectRequest field by field, as
// CreateProject checks the same fields, and names the one that is wrong.
func validateUpdate(req *logsv1.UpdateProjectRequest) (projectUpdate, error) {
	var u projectUpdate
	if req.Name != nil {
		name := strings.TrimSpace(req.GetName())
		switch {
		case name == "":
			return u, apierr.Invalidf("name must not be empty")
		case utf8.RuneCountInString(name) > maxName:
			return u, apierr.Invalidf("name must be at most %d characters", maxName)
		}
		u.Name = &name
	}
	if req.Description != nil {
		if utf8.RuneCountInString(req.GetDescription()) > maxDescription {
			return u, apierr.Invalidf("description must be at most %d characters", maxDescription)
		}
		d := req.GetDescription()
		u.Description = &d
	}
	if req.RepositoryUrl != nil {
		// The same rules as CreateProject's, with a valid name and slug.
		if _, err := validateProject("x", "x", "", req.GetRepositoryUrl()); err != nil {
			return u, err
		}
		r := req.GetRepositoryUrl()
		u.RepositoryURL = &r
	}
	if rl := req.GetRateLimit(); req.RateLimit != nil {
		var err error
		if u.SetRequests, u.RequestsPerMinute, err = rateLimitField("rate_limit.requests_per_minute", rl.RequestsPerMinute); err != nil {
			return u, err
		}
		if u.SetLogs, u.LogsPerSecond, err = rateLimitField("rate_limit.logs_per_second", rl.LogsPerSecond); err != nil {
			return u, err
		}
	}
	return u, nil
}

// rateLimitField reads one limit of the request: absent, 0 (the default:
// NULL) or a positive value.
func rateLimitField(field string, v *int32) (set bool, value *int32, err error) {
	switch {
	case v == nil:
		return false, nil, nil
	case *v < 0:
		return false, nil, apierr.Invalidf("%s must not be negative (0 returns it to the platform's default), got %d", field, *v)
	case *v == 0:
		return true, nil, nil
	}
	return true, v, nil
}

func (s *projectServer) UpdateProject(ctx context.Context, req *logsv1.UpdateProjectRequest) (*logsv1.UpdateProjectResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	u, err := validateUpdate(req)
	if err != nil {
		return nil, err
	}
	pr, err := s.maintainedProject(ctx, p, req.GetId(), fmt.Sprintf("viewers cannot change project %d: ask its owner or a maintainer", req.GetId()))
	if err != nil {
		return nil, err
	}
	if !pr.IsActive {
		return nil, apierr.Preconditionf("project %d is deleted; it cannot be changed", pr.ID)
	}
	if u.empty() {
		return &logsv1.UpdateProjectResponse{Project: s.projectProto(pr)}, nil
	}
	if err := s.store.updateProject(ctx, pr, u, s.actorOf(ctx)); err != nil {
		return nil, err
	}
	pr, err = s.store.getProject(ctx, pr.ID, p.UserID, p.IsAdmin())
	if err != nil {
		return nil, err
	}
	s.log.Info("project updated", zap.Int64("project_id", pr.ID), zap.Int64("user_id", p.UserID))
	return &logsv1.UpdateProjectResponse{Project: s.projectProto(pr)}, nil
}

// updateProject changes the fields u sets on an active project and records
// project.update, in one transaction.
func (st *store) updateProject(ctx context.Context, pr project, u projectUpdate, actor auditActor) error {
	return st.inTx(ctx, func(tx pgx.Tx) error {
		var slug string
		err := tx.QueryRow(ctx, `UPDATE logs.projects SET
			name = coalesce($2, name),
			description = coalesce($3, description),
			repository_url = coalesce($4, repository_url),
			rate_limit_requests_per_minute = CASE WHEN $5 THEN $6 ELSE rate_limit_requests_per_minute END,
			rate_limit_logs_per_second = CASE WHEN $7 THEN $8 ELSE rate_limit_logs_per_second END,
			updated_at = now()
			WHERE id = $1 AND is_active RETURNING slug`,
			pr.ID, u.Name, u.Description, u.RepositoryURL, u.SetRequests, u.RequestsPerMinute, u.SetLogs, u.LogsPerSecond).Scan(&slug)
		if errors.Is(err, pgx.ErrNoRows) {
			return apierr.Preconditionf("project %d is deleted; it cannot be changed", pr.ID)
		}
		if err != nil {
			return fmt.Errorf("updating project %d: %w", pr.ID, err)
		}
		return recordAudit(ctx, tx, actor, auditEvent{Action: auditProjectUpdate, ProjectID: pr.ID, ProjectSlug: slug, Details: u.details()})
	})
}

// rateLimitProto is a project's effective limits: its own, else the
// platform's.
func (s *Service) rateLimitProto(p project) *logsv1.RateLimit {
	l := s.cfg.RateLimit.Effective(p.RequestsPerMinute, p.LogsPerSecond)
	return &logsv1.RateLimit{
		RequestsPerMinute: int32(min(l.RequestsPerMinute, 1<<31-1)),
		LogsPerSecond:     int32(min(l.LogsPerSecond, 1<<31-1)),
		IsDefault:         l.IsDefault,
	}
}
