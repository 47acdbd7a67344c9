// Package analysis implements AnalysisService, the reports on what changed
// in the logs of the projects a signed-in user may read (package insights
// computes them), and runs the pattern miner: one replica per database
// groups every new message signature into its project's patterns
// (mining.go, package patterns) and reopens the resolved error groups that
// happen again (regressions.go). See README.md for the decisions.
package analysis

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/durationflag"
	"github.com/devsmith/logs/services/analysis/alerts"
	"github.com/devsmith/logs/services/analysis/insights"
	"github.com/devsmith/logs/services/analysis/llm"
)

// defaultWindow is the window of a request that gives no since.
const defaultWindow = time.Hour

// maxProjects bounds the project slugs of one request.
const maxProjects = 1000

// Service is the analysis service.
type Service struct {
	logsv1.UnimplementedAnalysisServiceServer

	log      *zap.Logger
	pool     *pgxpool.Pool
	identity *authn.IdentityClient
	cfg      Config
	analyzer *insights.Analyzer
	now      func() time.Time

	// leading is true while this replica holds the miner's lock.
	leading atomic.Bool
	tel     *telemetry
	// alerts is AlertService and its evaluation and delivery loops.
	alerts *alerts.Service
}

// New makes the service. identity resolves session tokens (through the
// projects service); pool reads logs.entries and the pattern tables and
// carries the miner's connection settings. The language model is used when
// cfg.LLM is enabled.
func New(log *zap.Logger, pool *pgxpool.Pool, identity *authn.IdentityClient, cfg Config) *Service {
	cfg = cfg.withDefaults()
	var summarizer *llm.Client
	if cfg.LLM.Enabled() {
		summarizer = llm.New(cfg.LLM, log.Named("llm"))
	}
	s := &Service{
		log:      log,
		pool:     pool,
		identity: identity,
		cfg:      cfg,
		analyzer: insights.New(log.Named("insights"), pool, cfg.Insights, summarizer),
		now:      time.Now,
		alerts:   alerts.New(log.Named("alerts"), pool, cfg.Alerts),
	}
	s.tel = newTelemetry(s)
	return s
}

// Register registers AnalysisService and AlertService on g.
func (s *Service) Register(g *grpc.Server) {
	logsv1.RegisterAnalysisServiceServer(g, s)
	s.alerts.Register(g)
}

// Authenticator authenticates every method as a signed-in user, through
// IdentityService.ResolveSession.
func (s *Service) Authenticator() authn.Authenticator {
	return func(ctx context.Context, fullMethod string, md metadata.MD) (*authn.Principal, error) {
		if s.identity == nil {
			// It answers statuses: it runs before the error-mapping
			// interceptor.
			return nil, apierr.ToStatus(ctx, s.log, fullMethod, errNoIdentity)
		}
		return s.identity.Session(ctx, md)
	}
}

// Run mines patterns and reopens regressed error groups (when this replica
// is, or becomes, the one miner of the database) and compacts the metric
// rollups (compaction.go), evaluates the alert rules and delivers their
// notifications (package alerts) until ctx ends, then returns nil.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.compactLoop(ctx) })
	wg.Go(func() { s.alerts.Run(ctx) })
	s.mine(ctx)
	wg.Wait()
	return nil
}

// Leading reports whether this replica is the database's pattern miner.
func (s *Service) Leading() bool { return s.leading.Load() }

// AnalyzeLogs reports on [since, until) over the requested projects the
// caller may read (all of them when none is named).
func (s *Service) AnalyzeLogs(ctx context.Context, req *logsv1.AnalyzeLogsRequest) (_ *logsv1.AnalyzeLogsResponse, err error) {
	defer func(began time.Time) { s.tel.analysisDone(err, began) }(time.Now())
	r, err := s.parseRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	res, err := s.analyzer.Analyze(ctx, r)
	if err != nil {
		return nil, err
	}
	if res.GetSince() == nil {
		res.Since = timestamppb.New(r.Since)
	}
	if res.GetUntil() == nil {
		res.Until = timestamppb.New(r.Until)
	}
	return res, nil
}

// parseRequest resolves the project slugs against the caller's projects
// (an unknown slug is NotFound for an admin, who may read every project,
// and PermissionDenied for anyone else), and defaults and checks the
// window: until defaults to now (rounded up to the second), since to an
// hour before until; since
// must be before until, and the window at most MaxWindow.
func (s *Service) parseRequest(ctx context.Context, req *logsv1.AnalyzeLogsRequest) (insights.Request, error) {
	p := authn.FromContext(ctx)
	if p.Kind != authn.KindUser {
		return insights.Request{}, errNotUser
	}
	if len(req.GetProject()) > maxProjects {
		return insights.Request{}, apierr.Invalidf("project: at most %d values", maxProjects)
	}
	bySlug := make(map[string]authn.ProjectAccess, len(p.Projects))
	for _, a := range p.Projects {
		bySlug[a.Slug] = a
	}
	var out insights.Request
	var slugs []string
	for _, v := range req.GetProject() {
		if strings.ContainsRune(v, 0) {
			return insights.Request{}, apierr.Invalidf("project must not contain NUL characters")
		}
		if strings.TrimSpace(v) != "" {
			slugs = append(slugs, v)
		}
	}
	slices.Sort(slugs)
	slugs = slices.Compact(slugs)
	if len(slugs) == 0 {
		for _, a := range p.Projects {
			out.Projects = append(out.Projects, insights.Project{ID: a.ID, Slug: a.Slug})
		}
	}
	for _, slug := range slugs {
		a, ok := bySlug[slug]
		switch {
		case ok:
			out.Projects = append(out.Projects, insights.Project{ID: a.ID, Slug: a.Slug})
		case p.IsAdmin():
			return insights.Request{}, apierr.NotFoundf("project %q not found", slug)
		default:
			return insights.Request{}, apierr.Deniedf("project %q is not yours", slug)
		}
	}
	slices.SortFunc(out.Projects, func(a, b insights.Project) int { return cmp.Compare(a.ID, b.ID) })
	out.Projects = slices.Compact(out.Projects)

	// The default until is now rounded up to the next whole second, so
	// that identical requests made within a second share one computation
	// and its cached report (they are keyed by the window).
	now := s.now().UTC()
	out.Until = now.Truncate(time.Second)
	if out.Until.Before(now) {
		out.Until = out.Until.Add(time.Second)
	}
	if u := req.GetUntil(); u != nil {
		if err := u.CheckValid(); err != nil {
			return insights.Request{}, apierr.Invalidf("until is not a valid timestamp")
		}
		out.Until = ceilMicro(u.AsTime())
	}
	out.Since = out.Until.Add(-defaultWindow)
	if v := req.GetSince(); v != nil {
		if err := v.CheckValid(); err != nil {
			return insights.Request{}, apierr.Invalidf("since is not a valid timestamp")
		}
		out.Since = ceilMicro(v.AsTime())
	}
	if !out.Since.Before(out.Until) {
		return insights.Request{}, errSinceAfterUntil
	}
	if w := out.Until.Sub(out.Since); w > s.cfg.MaxWindow {
		return insights.Request{}, apierr.Invalidf("the window since..until is %s; at most %s", durationflag.Format(w.Round(time.Second)), durationflag.Format(s.cfg.MaxWindow))
	}
	return out, nil
}

// ceilMicro rounds t up to PostgreSQL's microsecond, so that `ts >= since`
// and `ts < until` keep their meaning exactly for a nanosecond bound.
func ceilMicro(t time.Time) time.Time {
	tr := t.Truncate(time.Microsecond)
	if tr.Before(t) {
		tr = tr.Add(time.Microsecond)
	}
	return tr.UTC()
}
