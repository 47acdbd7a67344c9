package query

import (
	"context"

	"google.golang.org/grpc/metadata"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// Project API keys with the read scope may call the reading methods, for
// their own project only (docs/keys.md): scripts, CI jobs, Grafana's JSON
// data sources. A key is resolved through IdentityService.ResolveApiKey on
// every call, as sessions are, so a revoked or expired key is refused by
// the next call on any replica. Each call's use is noted for the key's
// last_used_at (internal/keyuse: at most one report a minute per key), and
// is one request of the key's rate limit (ratelimit.go).

// keyMethods are the methods a read key may call.
var keyMethods = map[string]bool{
	logsv1.QueryService_ListEntries_FullMethodName:     true,
	logsv1.QueryService_GetStats_FullMethodName:        true,
	logsv1.QueryService_ListServices_FullMethodName:    true,
	logsv1.QueryService_TailEntries_FullMethodName:     true,
	logsv1.QueryService_ListPatterns_FullMethodName:    true,
	logsv1.QueryService_ListErrorGroups_FullMethodName: true,
	logsv1.QueryService_GetErrorGroup_FullMethodName:   true,
	logsv1.QueryService_GetMetrics_FullMethodName:      true,
	logsv1.QueryService_ExportEntries_FullMethodName:   true,
}

// authenticate takes a project API key (x-api-key, or a Bearer dsk_...)
// on keyMethods, and a session token otherwise.
func (s *Service) authenticate(ctx context.Context, fullMethod string, md metadata.MD) (*authn.Principal, error) {
	if s.identity == nil {
		return nil, errNoIdentity
	}
	if authn.APIKey(md) == "" {
		return s.identity.Session(ctx, md)
	}
	if !keyMethods[fullMethod] {
		return nil, errKeyMethod
	}
	p, err := s.identity.APIKey(ctx, md)
	if err != nil {
		return nil, err
	}
	if !p.HasScope(authn.ScopeRead) {
		return nil, errNoReadScope
	}
	s.uses.Note(p.KeyID, authn.ClientAddress(ctx, s.cfg.ServiceToken))
	if err := s.limitKey(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// readableProjects are the projects the caller may read: a user's, or a
// read key's own project.
func readableProjects(p *authn.Principal) ([]authn.ProjectAccess, error) {
	switch p.Kind {
	case authn.KindUser:
		return p.Projects, nil
	case authn.KindProject:
		if p.HasScope(authn.ScopeRead) {
			return []authn.ProjectAccess{{ID: p.ProjectID, Slug: p.ProjectSlug, IsActive: true}}, nil
		}
	}
	return nil, errNotUser
}

var (
	// errKeyMethod: an API key on a method that needs a user.
	errKeyMethod = apierr.New(apierr.ErrDenied, "API keys may only read (entries, export, stats, services, tail, patterns, error groups, metrics); this method needs a signed-in user")
	// errNoReadScope: an ingest-only key on a reading method.
	errNoReadScope = apierr.New(apierr.ErrDenied, "this API key lacks the read scope: it may only send logs")
)
