// Package gateway is the platform's REST edge (docs/architecture.md):
// grpc-gateway for the resource APIs, hand-written handlers for batch
// ingestion, Loki's push API, OTLP/HTTP logs and the live tail (SSE), health endpoints, the session cookie,
// and access logs.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/jsontext"
)

// Backends are the gRPC connections to the services.
type Backends struct {
	Projects  grpc.ClientConnInterface // AuthService, UserService, ProjectService, AuditService
	Ingestion grpc.ClientConnInterface
	Query     grpc.ClientConnInterface
	// Analysis, when set, serves POST /api/logs/analysis (AnalysisService)
	// and /api/alerts (AlertService).
	Analysis grpc.ClientConnInterface
}

// ReadyFunc reports whether the platform can serve (database reachable,
// migrations applied, backends serving).
type ReadyFunc func(ctx context.Context) error

// Gateway is the HTTP handler of the platform.
type Gateway struct {
	log       *zap.Logger
	cfg       Config
	mux       *http.ServeMux
	ingestion logsv1.IngestionServiceClient
	otlp      grpc.ClientConnInterface // the ingestion service's, for OTLP's LogsService (otlp.go)
	otlpCall  []grpc.CallOption        // forwardCodec: protobuf bodies sent as received
	query     logsv1.QueryServiceClient
	ready     ReadyFunc
	inflight  *byteBudget // batch bodies in flight
	tel       *telemetry

	tails    context.Context // ended by EndTails: every live tail ends
	endTails context.CancelFunc
}

// SessionCookie is the cookie that carries the session token for browsers.
const SessionCookie = "devsmith_session"

// New builds the gateway over the backends.
func New(ctx context.Context, log *zap.Logger, cfg Config, b Backends, ready ReadyFunc, dashboard http.Handler) (*Gateway, error) {
	cfg.setDefaults()
	g := &Gateway{
		log:       log,
		cfg:       cfg,
		mux:       http.NewServeMux(),
		ingestion: logsv1.NewIngestionServiceClient(b.Ingestion),
		otlp:      b.Ingestion,
		otlpCall:  []grpc.CallOption{grpc.ForceCodecV2(forwardCodec{encoding.GetCodecV2(protoCodecName)})},
		query:     logsv1.NewQueryServiceClient(b.Query),
		ready:     ready,
		inflight:  &byteBudget{max: cfg.MaxInflightBatchBytes},
		tel:       newTelemetry(),
	}
	g.tails, g.endTails = context.WithCancel(context.Background())
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler{}),
		runtime.WithErrorHandler(g.errorHandler),
		runtime.WithRoutingErrorHandler(g.routingErrorHandler),
		runtime.WithForwardResponseOption(g.forwardResponse),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithMetadata(sessionMetadata),
		runtime.SetQueryParameterParser(queryParser{}),
		runtime.WithDisableHTTPMethodOverride(),
	)
	// Registration only records handlers; it cannot fail for these clients,
	// but the generated functions report errors, so they are checked.
	if err := errors.Join(
		logsv1.RegisterAuthServiceHandlerClient(ctx, gw, logsv1.NewAuthServiceClient(b.Projects)),
		logsv1.RegisterUserServiceHandlerClient(ctx, gw, logsv1.NewUserServiceClient(b.Projects)),
		logsv1.RegisterProjectServiceHandlerClient(ctx, gw, logsv1.NewProjectServiceClient(b.Projects)),
		logsv1.RegisterAuditServiceHandlerClient(ctx, gw, logsv1.NewAuditServiceClient(b.Projects)),
		logsv1.RegisterQueryServiceHandlerClient(ctx, gw, g.query),
	); err != nil {
		return nil, fmt.Errorf("registering REST handlers: %w", err)
	}
	if b.Analysis != nil {
		if err := errors.Join(
			logsv1.RegisterAnalysisServiceHandlerClient(ctx, gw, logsv1.NewAnalysisServiceClient(b.Analysis)),
			logsv1.RegisterAlertServiceHandlerClient(ctx, gw, logsv1.NewAlertServiceClient(b.Analysis)),
		); err != nil {
			return nil, fmt.Errorf("registering REST handlers: %w", err)
		}
		// An analysis runs up to its own deadline (a minute by default):
		// it has a time limit of its own, which the call carries to the
		// service (grpc-timeout) and the service to its SQL. A client
		// that goes away cancels it likewise.
		g.mux.Handle("POST /api/logs/analysis", withTimeout(gw, cfg.AnalysisTimeout))
	}

	g.mux.Handle("/api/", withTimeout(gw, cfg.RequestTimeout))
	hand := map[string]http.Handler{
		"POST /api/logs/batch": http.HandlerFunc(g.handleBatch),
		"POST " + lokiPushPath: http.HandlerFunc(g.handleLokiPush),
		"POST " + otlpPath:     http.HandlerFunc(g.handleOTLP),
		"GET /api/logs/tail":   http.HandlerFunc(g.handleTail),
		"GET " + exportPath:    http.HandlerFunc(g.handleExport),
		"GET /healthz":         http.HandlerFunc(handleHealthz),
		"GET /readyz":          http.HandlerFunc(g.handleReady),
		DashboardRoute:         dashboard,
	}
	for _, pattern := range HandRoutes() {
		h, ok := hand[pattern]
		if !ok {
			return nil, fmt.Errorf("hand-written route %q has no handler", pattern)
		}
		delete(hand, pattern)
		if h != nil {
			g.mux.Handle(pattern, h)
		}
	}
	if len(hand) > 0 {
		return nil, fmt.Errorf("handlers missing from HandRoutes: %v", hand)
	}
	return g, nil
}

// DashboardRoute is the pattern of the dashboard: every path no other
// route takes.
const DashboardRoute = "/"

// HandRoutes are the patterns (http.ServeMux syntax) of the routes the
// gateway serves by hand, besides the REST bindings of
// proto/devsmith/logs/v1/http.yaml (under /api/, grpc-gateway's). New
// registers exactly these; the tenancy matrix (e2e/tenancy_test.go) fails
// when one has no row there.
func HandRoutes() []string {
	return []string{
		"POST /api/logs/batch",
		"POST " + lokiPushPath,
		"POST " + otlpPath,
		"GET /api/logs/tail",
		"GET " + exportPath,
		"GET /healthz",
		"GET /readyz",
		DashboardRoute,
	}
}

func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// Handler is the gateway with its middleware: the client's address behind
// trusted proxies, recovery, access log, security headers, the CSRF check
// (browser.go), body limits and gzip request bodies.
func (g *Gateway) Handler() http.Handler {
	return g.resolveClient(g.accessLog(g.recoverPanics(g.securityHeaders(g.checkCSRF(g.limitBody(g.mux))))))
}

// EndTails ends every open live tail (browsers reconnect with their last
// event id, to another replica) and every tail opened from now on, so that
// an http.Server's Shutdown, which waits for active requests, need not
// wait for them. Other requests are not affected.
func (g *Gateway) EndTails() { g.endTails() }

func withTimeout(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (g *Gateway) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if g.ready != nil {
		if err := g.ready(ctx); err != nil {
			g.log.Warn("not ready", zap.Error(err))
			w.WriteHeader(http.StatusServiceUnavailable)
			b := append([]byte(`{"status":"unavailable","reason":`), jsontext.AppendString(nil, err.Error())...)
			_, _ = w.Write(append(b, "}\n"...))
			return
		}
	}
	_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
}

// sessionMetadata passes the session cookie on as Bearer metadata when the
// request has no Authorization header of its own, and a project API key's
// X-API-Key header (the query API takes read keys; docs/keys.md).
func sessionMetadata(_ context.Context, r *http.Request) metadata.MD {
	md := metadata.MD{}
	if v := r.Header.Get("X-API-Key"); v != "" {
		md.Set("x-api-key", v)
	}
	if r.Header.Get("Authorization") == "" {
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			md.Set("authorization", "Bearer "+c.Value)
		}
	}
	if len(md) == 0 {
		return nil
	}
	return md
}

// outgoingAuth builds the metadata for hand-written handlers: the
// Authorization header (or session cookie), an X-API-Key, and the client
// address.
func outgoingAuth(r *http.Request) metadata.MD {
	md := metadata.MD{}
	if v := r.Header.Get("Authorization"); v != "" {
		md.Set("authorization", v)
	} else if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		md.Set("authorization", "Bearer "+c.Value)
	}
	if v := r.Header.Get("X-API-Key"); v != "" {
		md.Set("x-api-key", v)
	}
	md.Set("x-forwarded-for", clientIP(r))
	return md
}

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// forwardResponse sets what the REST contract needs beyond the body:
// 201 for creations, the session cookies on login and their removal on
// logout (browser.go).
func (g *Gateway) forwardResponse(ctx context.Context, w http.ResponseWriter, m proto.Message) error {
	switch m := m.(type) {
	case *logsv1.LoginResponse:
		setSessionCookies(ctx, w, m.GetToken(), m.GetExpireTime().AsTime())
	case *logsv1.CreateFirstAdminResponse:
		setSessionCookies(ctx, w, m.GetToken(), m.GetExpireTime().AsTime())
		w.WriteHeader(http.StatusCreated)
	case *logsv1.LogoutResponse:
		clearSessionCookies(ctx, w)
	case *logsv1.CreateProjectResponse, *logsv1.CreateUserResponse, *logsv1.AddProjectMemberResponse,
		*logsv1.CreateProjectKeyResponse:
		w.WriteHeader(http.StatusCreated)
	case *logsv1.CreateAlertResponse:
		w.WriteHeader(http.StatusCreated)
	}
	return nil
}
