package projects

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/metadata"

	"github.com/devsmith/logs/internal/authn"
)

// Audit actions (docs/audit.md lists them with their details).
const (
	auditLogin          = "auth.login"
	auditLoginFailed    = "auth.login_failed"
	auditLogout         = "auth.logout"
	auditLockout        = "auth.lockout"
	auditUserCreate     = "user.create"
	auditUserDelete     = "user.delete"
	auditProjectCreate  = "project.create"
	auditProjectDelete  = "project.delete"
	auditProjectUpdate  = "project.update"
	auditKeyRotate      = "project.key_rotate"
	auditKeyCreate      = "project.key_create"
	auditKeyRevoke      = "project.key_revoke"
	auditMemberAdd      = "project.member_add"
	auditMemberRemove   = "project.member_remove"
	auditKeyNewAddress  = "key.new_address"
	maxUserAgentLength  = 512
	maxAuditEmailLength = 320
)

// auditActor is who did something, and from where.
type auditActor struct {
	UserID    int64 // 0 for a key or an unknown account
	Email     string
	KeyPrefix string
	ClientIP  string
	UserAgent string
}

// auditEvent is one action to record. Details must never hold a secret.
type auditEvent struct {
	Action      string
	ProjectID   int64 // 0 when no project is concerned
	ProjectSlug string
	Details     map[string]any
}

// actorOf returns the caller of ctx as an audit actor: the signed-in user
// or the API key, with the client's address (authn.ClientAddress) and
// User-Agent (the gateway passes the browser's as grpcgateway-user-agent).
func (s *Service) actorOf(ctx context.Context) auditActor {
	a := auditActor{ClientIP: authn.ClientAddress(ctx, s.cfg.ServiceToken), UserAgent: userAgent(ctx)}
	switch p := authn.FromContext(ctx); p.Kind {
	case authn.KindUser:
		a.UserID, a.Email = p.UserID, p.Email
	case authn.KindProject:
		a.KeyPrefix = p.KeyPrefix
	}
	return a
}

// userAgent returns the client's User-Agent from the call's metadata,
// truncated to maxUserAgentLength bytes.
func userAgent(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, k := range []string{"grpcgateway-user-agent", "user-agent"} {
		if v := md.Get(k); len(v) > 0 && v[0] != "" {
			return truncate(v[0], maxUserAgentLength)
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// recordAudit appends an event to logs.audit_events in tx, the transaction
// of the change it records, so the event exists exactly when the change
// does.
func recordAudit(ctx context.Context, tx pgx.Tx, a auditActor, ev auditEvent) error {
	details := []byte("{}")
	if len(ev.Details) > 0 {
		var err error
		if details, err = json.Marshal(ev.Details); err != nil {
			return fmt.Errorf("encoding details of audit event %s: %w", ev.Action, err)
		}
	}
	var userID, projectID *int64
	if a.UserID != 0 {
		userID = &a.UserID
	}
	if ev.ProjectID != 0 {
		projectID = &ev.ProjectID
	}
	if _, err := tx.Exec(ctx, `INSERT INTO logs.audit_events
		(actor_user_id, actor_email, actor_key_prefix, action, project_id, project_slug, client_ip, user_agent, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		userID, truncate(a.Email, maxAuditEmailLength), a.KeyPrefix, ev.Action, projectID, ev.ProjectSlug,
		a.ClientIP, a.UserAgent, details); err != nil {
		return fmt.Errorf("recording audit event %s: %w", ev.Action, err)
	}
	return nil
}

// inTx runs fn in a transaction of st's pool, committing when fn returns
// nil and rolling back otherwise.
func (st *store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, st.pool, fn)
}
