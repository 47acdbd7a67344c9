package projects

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// A project's API keys (docs/keys.md): each has a name, scopes and an
// optional expiry; the secret is shown once and only its digest is kept.
// The project's default key, made with it, is the one RegenerateProjectKey
// replaces. Every change writes its audit event in its own transaction.

const (
	defaultKeyName   = "default"
	maxKeyNameLength = 100
)

// defaultKeyScopes are the default key's: it only ever ingested.
func defaultKeyScopes() []string { return []string{authn.ScopeIngest} }

// issuedKey is a new key's secret and the row to store for it.
type issuedKey struct {
	newKey
	secret string
}

// issueKey makes a new secret and its digest, prefix and last four.
func issueKey() (issuedKey, error) {
	secret, hash, err := newAPIKey()
	if err != nil {
		return issuedKey{}, err
	}
	k := issuedKey{secret: secret}
	k.Hash = hash
	k.Prefix, k.LastFour = keyShape(secret)
	return k, nil
}

// validateScopes returns the scopes sorted and without repeats, or an
// error naming the bad value.
func validateScopes(scopes []string) ([]string, error) {
	var out []string
	for _, sc := range scopes {
		v := strings.ToLower(strings.TrimSpace(sc))
		if v != authn.ScopeIngest && v != authn.ScopeRead {
			return nil, apierr.Invalidf("scopes: %q is not one of ingest, read", sc)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, apierr.Invalidf("scopes: at least one of ingest, read is required")
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// validateKeyName trims a key's name and checks it is there and short.
func validateKeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", apierr.Invalidf("name is required")
	case utf8.RuneCountInString(name) > maxKeyNameLength:
		return "", apierr.Invalidf("name must be at most %d characters", maxKeyNameLength)
	}
	return name, nil
}

// maintainedProject returns a project the caller may change (its keys,
// settings): its owner, maintainers and admins. A viewer gets
// PermissionDenied with refusal; a caller who cannot read it, what
// readableProject answers.
func (s *Service) maintainedProject(ctx context.Context, p *authn.Principal, id int64, refusal string) (project, error) {
	pr, err := s.readableProject(ctx, p, id)
	if err != nil {
		return project{}, err
	}
	if pr.Role == roleViewer && !p.IsAdmin() {
		return project{}, apierr.Deniedf("%s", refusal)
	}
	return pr, nil
}

// keyManagedProject is maintainedProject for the key methods.
func (s *Service) keyManagedProject(ctx context.Context, p *authn.Principal, id int64) (project, error) {
	return s.maintainedProject(ctx, p, id, fmt.Sprintf("viewers cannot manage the keys of project %d", id))
}

// lockActiveProject locks a project's row in tx until it ends and refuses a
// deleted project. DeleteProject updates the row before revoking its keys,
// so a key issued under this lock is never left live on a deleted project.
func lockActiveProject(ctx context.Context, tx pgx.Tx, id int64, refusal string) error {
	var active bool
	err := tx.QueryRow(ctx, `SELECT is_active FROM logs.projects WHERE id = $1 FOR NO KEY UPDATE`, id).Scan(&active)
	if errors.Is(err, pgx.ErrNoRows) {
		return apierr.NotFoundf("project %d not found", id)
	}
	if err != nil {
		return fmt.Errorf("locking project %d: %w", id, err)
	}
	if !active {
		return apierr.Preconditionf("project %d is deleted; %s", id, refusal)
	}
	return nil
}

func (s *projectServer) CreateProjectKey(ctx context.Context, req *logsv1.CreateProjectKeyRequest) (*logsv1.CreateProjectKeyResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	name, err := validateKeyName(req.GetName())
	if err != nil {
		return nil, err
	}
	scopes, err := validateScopes(req.GetScopes())
	if err != nil {
		return nil, err
	}
	var expire *time.Time
	if req.GetExpireTime() != nil {
		if err := req.GetExpireTime().CheckValid(); err != nil {
			return nil, apierr.Invalidf("expire_time is not a valid time")
		}
		t := req.GetExpireTime().AsTime()
		if !t.After(s.now()) {
			return nil, apierr.Invalidf("expire_time must be in the future (got %s)", t.UTC().Format(time.RFC3339))
		}
		expire = &t
	}
	pr, err := s.keyManagedProject(ctx, p, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	key, err := issueKey()
	if err != nil {
		return nil, err
	}
	key.ProjectID, key.Name, key.Scopes, key.ExpireTime = pr.ID, name, scopes, expire
	actor := s.actorOf(ctx)
	var k apiKey
	err = s.store.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockActiveProject(ctx, tx, pr.ID, "no key can be created"); err != nil {
			return err
		}
		if k, err = insertKey(ctx, tx, key.newKey); err != nil {
			return err
		}
		details := map[string]any{"key_id": k.ID, "name": k.Name, "scopes": k.Scopes, "prefix": k.Prefix}
		if k.ExpireTime != nil {
			details["expire_time"] = k.ExpireTime.UTC().Format(time.RFC3339)
		}
		return recordAudit(ctx, tx, actor, auditEvent{Action: auditKeyCreate, ProjectID: pr.ID, ProjectSlug: pr.Slug, Details: details})
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("project key created", zap.Int64("project_id", pr.ID), zap.Int64("key_id", k.ID),
		zap.Strings("scopes", k.Scopes), zap.Int64("user_id", p.UserID))
	return &logsv1.CreateProjectKeyResponse{Key: apiKeyProto(k), ApiKey: key.secret}, nil
}

func (s *projectServer) ListProjectKeys(ctx context.Context, req *logsv1.ListProjectKeysRequest) (*logsv1.ListProjectKeysResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	size, after, err := readPage(req)
	if err != nil {
		return nil, err
	}
	pr, err := s.keyManagedProject(ctx, p, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	keys, err := s.store.listKeys(ctx, pr.ID, after, size+1)
	if err != nil {
		return nil, err
	}
	res := &logsv1.ListProjectKeysResponse{}
	keys, res.NextPageToken = nextPage(keys, size, func(k apiKey) pageKey { return pageKey{T: k.CreatedAt, ID: k.ID} })
	for _, k := range keys {
		res.Keys = append(res.Keys, apiKeyProto(k))
	}
	return res, nil
}

func (s *projectServer) DeleteProjectKey(ctx context.Context, req *logsv1.DeleteProjectKeyRequest) (*logsv1.DeleteProjectKeyResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := s.keyManagedProject(ctx, p, req.GetProjectId())
	if err != nil {
		return nil, err
	}
	actor := s.actorOf(ctx)
	var k apiKey
	err = s.store.inTx(ctx, func(tx pgx.Tx) error {
		var found bool
		if k, found, err = revokeKey(ctx, tx, pr.ID, req.GetKeyId()); err != nil {
			return err
		}
		if !found {
			return apierr.NotFoundf("key %d of project %d not found", req.GetKeyId(), pr.ID)
		}
		return recordAudit(ctx, tx, actor, auditEvent{Action: auditKeyRevoke, ProjectID: pr.ID, ProjectSlug: pr.Slug,
			Details: map[string]any{"key_id": k.ID, "name": k.Name, "scopes": k.Scopes, "prefix": k.Prefix}})
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("project key revoked", zap.Int64("project_id", pr.ID), zap.Int64("key_id", k.ID), zap.Int64("user_id", p.UserID))
	return &logsv1.DeleteProjectKeyResponse{
		Message: fmt.Sprintf("Key %q revoked. It no longer works.", k.Name),
	}, nil
}

func apiKeyProto(k apiKey) *logsv1.ApiKey {
	out := &logsv1.ApiKey{
		Id:              k.ID,
		ProjectId:       k.ProjectID,
		Name:            k.Name,
		Scopes:          k.Scopes,
		Prefix:          k.Prefix,
		LastFour:        k.LastFour,
		CreatedAt:       timestamppb.New(k.CreatedAt),
		LastUsedAddress: k.LastUsedAddress,
		IsDefault:       k.IsDefault,
	}
	if k.ExpireTime != nil {
		out.ExpireTime = timestamppb.New(*k.ExpireTime)
	}
	if k.LastUsedAt != nil {
		out.LastUsedAt = timestamppb.New(*k.LastUsedAt)
	}
	return out
}
