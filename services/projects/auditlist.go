package projects

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// auditServer is the AuditService. Who reads what (docs/audit.md): an
// admin every event; anyone else the events of the projects they own or
// maintain, and nothing else (sign-ins and user changes concern no
// project). A caller who owns or maintains no project is refused. Reading
// is not itself recorded.
type auditServer struct {
	logsv1.UnimplementedAuditServiceServer
	*Service
}

// auditActionFilter is an action, or a family of them (`auth.*`).
var auditActionFilter = regexp.MustCompile(`^[a-z_]+\.(\*|[a-z_]+)$`)

// auditQuery is a validated ListAuditEvents request.
type auditQuery struct {
	projectIDs   []int64 // nil: every project and none (admins only)
	actorEmail   string
	actorKey     string
	action       string // exact, or a LIKE pattern when family
	family       bool
	since, until *time.Time
	after        *pageKey
	size         int // the page's; one more row is read to tell if another page follows
}

func (s *auditServer) ListAuditEvents(ctx context.Context, req *logsv1.ListAuditEventsRequest) (*logsv1.ListAuditEventsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	q, err := auditQueryOf(p, req)
	if err != nil {
		return nil, err
	}
	events, err := s.store.listAuditEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	res := &logsv1.ListAuditEventsResponse{}
	events, res.NextPageToken = nextPage(events, q.size, func(e *logsv1.AuditEvent) pageKey {
		return pageKey{T: e.GetTime().AsTime(), ID: e.GetId()}
	})
	res.Events = events
	return res, nil
}

// auditQueryOf validates req and limits it to what p may read.
func auditQueryOf(p *authn.Principal, req *logsv1.ListAuditEventsRequest) (auditQuery, error) {
	size, after, err := readPage(req)
	if err != nil {
		return auditQuery{}, err
	}
	q := auditQuery{after: after, size: size}
	if slug := req.GetProject(); slug != "" {
		var found *authn.ProjectAccess
		for i, a := range p.Projects {
			if a.Slug == slug {
				found = &p.Projects[i]
			}
		}
		switch {
		case found == nil:
			return auditQuery{}, apierr.NotFoundf("project %q not found", slug)
		case !p.IsAdmin() && found.Role != roleOwner && found.Role != roleMaintainer:
			return auditQuery{}, apierr.Deniedf("only owners, maintainers and admins can read project %q's audit trail", slug)
		}
		q.projectIDs = []int64{found.ID}
	} else if !p.IsAdmin() {
		q.projectIDs = []int64{}
		for _, a := range p.Projects {
			if a.Role == roleOwner || a.Role == roleMaintainer {
				q.projectIDs = append(q.projectIDs, a.ID)
			}
		}
		if len(q.projectIDs) == 0 {
			return auditQuery{}, apierr.Deniedf("the audit trail is for admins and for the owners and maintainers of a project")
		}
	}
	if actor := req.GetActor(); strings.HasPrefix(actor, authn.APIKeyPrefix) {
		q.actorKey = actor
	} else {
		q.actorEmail = strings.ToLower(actor)
	}
	if a := req.GetAction(); a != "" {
		if !auditActionFilter.MatchString(a) {
			return auditQuery{}, apierr.Invalidf("action %q: want an action such as project.key_rotate, or a family such as auth.*", a)
		}
		q.action = a
		if family, ok := strings.CutSuffix(a, ".*"); ok {
			q.action, q.family = family+".%", true
		}
	}
	if t := req.GetSince(); t != nil {
		v := t.AsTime()
		q.since = &v
	}
	if t := req.GetUntil(); t != nil {
		v := t.AsTime()
		q.until = &v
	}
	if q.since != nil && q.until != nil && !q.since.Before(*q.until) {
		return auditQuery{}, apierr.Invalidf("since must be before until")
	}
	return q, nil
}

// listAuditEvents reads a page of events, newest first. Family patterns
// are made of [a-z_.%] only, so `_` matching any character cannot widen
// them past their family.
func (st *store) listAuditEvents(ctx context.Context, q auditQuery) ([]*logsv1.AuditEvent, error) {
	var afterT *time.Time
	var afterID int64
	if q.after != nil {
		afterT, afterID = &q.after.T, q.after.ID
	}
	rows, err := st.pool.Query(ctx, `SELECT id, time, coalesce(actor_user_id, 0), actor_email, actor_key_prefix,
			action, project_slug, client_ip, user_agent, details::text
		FROM logs.audit_events
		WHERE ($1::bigint[] IS NULL OR project_id = ANY($1))
		  AND ($2 = '' OR lower(actor_email) = $2)
		  AND ($3 = '' OR actor_key_prefix = $3)
		  AND ($4 = '' OR CASE WHEN $5 THEN action LIKE $4 ELSE action = $4 END)
		  AND ($6::timestamptz IS NULL OR time >= $6)
		  AND ($7::timestamptz IS NULL OR time < $7)
		  AND ($8::timestamptz IS NULL OR (time, id) < ($8::timestamptz, $9::bigint))
		ORDER BY time DESC, id DESC LIMIT $10`,
		q.projectIDs, q.actorEmail, q.actorKey, q.action, q.family, q.since, q.until, afterT, afterID, q.size+1)
	if err != nil {
		return nil, fmt.Errorf("listing audit events: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*logsv1.AuditEvent, error) {
		e := &logsv1.AuditEvent{Actor: &logsv1.AuditActor{}}
		var t time.Time
		var details string
		if err := r.Scan(&e.Id, &t, &e.Actor.UserId, &e.Actor.Email, &e.Actor.KeyPrefix,
			&e.Action, &e.ProjectSlug, &e.ClientIp, &e.UserAgent, &details); err != nil {
			return nil, err
		}
		e.Time = timestamppb.New(t)
		var m map[string]any
		if err := json.Unmarshal([]byte(details), &m); err != nil {
			return nil, fmt.Errorf("decoding details of audit event %d: %w", e.Id, err)
		}
		var err error
		if e.Details, err = structpb.NewStruct(m); err != nil {
			return nil, fmt.Errorf("converting details of audit event %d: %w", e.Id, err)
		}
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading audit events: %w", err)
	}
	return events, nil
}
