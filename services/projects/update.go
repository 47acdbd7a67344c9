package projects

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/logstore/partition"
)

// projectUpdate is a validated UpdateProjectRequest: nil fields keep their
// value. A rate limit of 0 is stored as NULL: the platform's default.
type projectUpdate struct {
	Name, Description, RepositoryURL *string
	SetRequests, SetLogs             bool
	RequestsPerMinute, LogsPerSecond *int32 // nil with Set*: back to the default
	// SetRetention with RetentionDays nil: back to the default (NULL).
	SetRetention  bool
	RetentionDays *int32
	// SetSampling replaces the project's sampling rules with Sampling.
	SetSampling bool
	Sampling    []samplingRule
}

// samplingRule is one row of logs.sampling_rules: Service "" is the rule
// of every service without one of its own.
type samplingRule struct {
	Service             string
	DebugRate, InfoRate float64
}

// Limits of a project's sampling rules.
const (
	maxSamplingRules = 100
	// maxServiceName is the ingestion service's limit on service_name
	// (its maxNameChars): a longer name matches no entry.
	maxServiceName = 200
)

func (u projectUpdate) empty() bool {
	return u.Name == nil && u.Description == nil && u.RepositoryURL == nil && !u.SetRequests && !u.SetLogs &&
		!u.SetRetention && !u.SetSampling
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
	if u.SetSampling {
		rules := make([]map[string]any, 0, len(u.Sampling))
		for _, r := range u.Sampling {
			rules = append(rules, map[string]any{"service_name": r.Service, "debug_rate": r.DebugRate, "info_rate": r.InfoRate})
		}
		d["sampling_rules"] = rules
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
// maxRetention is the longest retention allowed, in days.
func validateUpdate(req *logsv1.UpdateProjectRequest, maxRetention int32) (projectUpdate, error) {
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
	if req.RetentionDays != nil {
		switch v := req.GetRetentionDays(); {
		case v < 0:
			return u, apierr.Invalidf("retention_days %d: must be 0 (the platform's default) or 1 to %d", v, maxRetention)
		case v > maxRetention:
			return u, apierr.Invalidf("retention_days %d: at most %d (DEVSMITH_RETENTION_MAX)", v, maxRetention)
		case v > 0:
			u.RetentionDays = &v
		}
		u.SetRetention = true
	}
	if req.Sampling != nil {
		rules, err := validateSampling(req.GetSampling().GetRules())
		if err != nil {
			return u, err
		}
		u.SetSampling, u.Sampling = true, rules
	}
	return u, nil
}

// validateSampling checks a project's new sampling rules, naming the rule
// and field that is wrong, and returns them by service name.
func validateSampling(in []*logsv1.SamplingRule) ([]samplingRule, error) {
	if len(in) > maxSamplingRules {
		return nil, apierr.Invalidf("sampling.rules: at most %d rules, got %d", maxSamplingRules, len(in))
	}
	rules := make([]samplingRule, 0, len(in))
	seen := map[string]int{}
	for i, r := range in {
		svc := strings.TrimSpace(r.GetServiceName())
		if utf8.RuneCountInString(svc) > maxServiceName {
			return nil, apierr.Invalidf("sampling.rules[%d].service_name: at most %d characters", i, maxServiceName)
		}
		if j, dup := seen[svc]; dup {
			if svc == "" {
				return nil, apierr.Invalidf("sampling.rules[%d].service_name: rule %d is already the rule of all services", i, j)
			}
			return nil, apierr.Invalidf("sampling.rules[%d].service_name %q: rule %d is already for it", i, svc, j)
		}
		seen[svc] = i
		for _, f := range []struct {
			name string
			v    float64
		}{{"debug_rate", r.GetDebugRate()}, {"info_rate", r.GetInfoRate()}} {
			if !(f.v > 0 && f.v <= 1) { // NaN too
				return nil, apierr.Invalidf("sampling.rules[%d].%s %v: must be more than 0 and at most 1 (1 keeps every entry)", i, f.name, f.v)
			}
		}
		rules = append(rules, samplingRule{Service: svc, DebugRate: r.GetDebugRate(), InfoRate: r.GetInfoRate()})
	}
	slices.SortFunc(rules, func(a, b samplingRule) int { return strings.Compare(a.Service, b.Service) })
	return rules, nil
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
	u, err := validateUpdate(req, s.cfg.retentionMaxDays())
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
	if u.RetentionDays != nil && (pr.RetentionDays == nil || *pr.RetentionDays != *u.RetentionDays) {
		// The new class's partitions must exist before the project's
		// retention is committed: from that moment the ingestion service
		// writes the project's entries in them (partition.EnsureClass).
		// The default class's partitions always exist.
		if err := partition.EnsureClass(ctx, s.store.pool, s.now(), int(*u.RetentionDays)); err != nil {
			return nil, fmt.Errorf("creating the partitions of retention class %d: %w", *u.RetentionDays, err)
		}
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

// updateProject changes the fields u sets on an active project, replaces
// its sampling rules when u sets them, and records project.update, in one
// transaction. A retention that changes sets retention_changed_at; the
// event records it as {"from", "to"} in days (0: the default).
func (st *store) updateProject(ctx context.Context, pr project, u projectUpdate, actor auditActor) error {
	return st.inTx(ctx, func(tx pgx.Tx) error {
		var old *int32
		err := tx.QueryRow(ctx, `SELECT retention_days FROM logs.projects WHERE id = $1 AND is_active FOR NO KEY UPDATE`, pr.ID).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return apierr.Preconditionf("project %d is deleted; it cannot be changed", pr.ID)
		}
		if err != nil {
			return fmt.Errorf("locking project %d: %w", pr.ID, err)
		}
		var slug string
		if err := tx.QueryRow(ctx, `UPDATE logs.projects SET
			name = coalesce($2, name),
			description = coalesce($3, description),
			repository_url = coalesce($4, repository_url),
			rate_limit_requests_per_minute = CASE WHEN $5 THEN $6 ELSE rate_limit_requests_per_minute END,
			rate_limit_logs_per_second = CASE WHEN $7 THEN $8 ELSE rate_limit_logs_per_second END,
			retention_changed_at = CASE WHEN $9 AND retention_days IS DISTINCT FROM $10 THEN now() ELSE retention_changed_at END,
			retention_days = CASE WHEN $9 THEN $10 ELSE retention_days END,
			updated_at = now()
			WHERE id = $1 RETURNING slug`,
			pr.ID, u.Name, u.Description, u.RepositoryURL, u.SetRequests, u.RequestsPerMinute, u.SetLogs, u.LogsPerSecond,
			u.SetRetention, u.RetentionDays).Scan(&slug); err != nil {
			return fmt.Errorf("updating project %d: %w", pr.ID, err)
		}
		if u.SetSampling {
			if err := replaceSampling(ctx, tx, pr.ID, u.Sampling); err != nil {
				return err
			}
		}
		details := u.details()
		if u.SetRetention {
			details["retention_days"] = map[string]any{"from": valueOrZero(old), "to": valueOrZero(u.RetentionDays)}
		}
		return recordAudit(ctx, tx, actor, auditEvent{Action: auditProjectUpdate, ProjectID: pr.ID, ProjectSlug: slug, Details: details})
	})
}

// replaceSampling makes rules the project's sampling rules, in tx.
func replaceSampling(ctx context.Context, tx pgx.Tx, projectID int64, rules []samplingRule) error {
	if _, err := tx.Exec(ctx, `DELETE FROM logs.sampling_rules WHERE project_id = $1`, projectID); err != nil {
		return fmt.Errorf("deleting the sampling rules of project %d: %w", projectID, err)
	}
	if len(rules) == 0 {
		return nil
	}
	services := make([]string, len(rules))
	debug := make([]float64, len(rules))
	info := make([]float64, len(rules))
	for i, r := range rules {
		services[i], debug[i], info[i] = r.Service, r.DebugRate, r.InfoRate
	}
	if _, err := tx.Exec(ctx, `INSERT INTO logs.sampling_rules (project_id, service_name, debug_rate, info_rate)
		SELECT $1, * FROM unnest($2::text[], $3::real[], $4::real[])`, projectID, services, debug, info); err != nil {
		return fmt.Errorf("storing the sampling rules of project %d: %w", projectID, err)
	}
	return nil
}

// retentionProto fills out's retention fields: the project's own
// retention, else the platform's, its oldest entry kept, its sampling rules
// and the entries they left out.
func (s *Service) retentionProto(p project, out *logsv1.Project) {
	out.RetentionDays, out.RetentionIsDefault = s.cfg.defaultRetentionDays(), true
	if p.RetentionDays != nil {
		out.RetentionDays, out.RetentionIsDefault = *p.RetentionDays, false
	}
	if p.OldestLogAt != nil {
		out.OldestLogAt = timestamppb.New(*p.OldestLogAt)
	}
	out.SampledOutCount = p.SampledOut
	for _, r := range p.Sampling {
		out.SamplingRules = append(out.SamplingRules, &logsv1.SamplingRule{ServiceName: r.Service, DebugRate: r.DebugRate, InfoRate: r.InfoRate})
	}
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
