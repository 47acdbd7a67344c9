package platform

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/devsmith/logs/gateway"
	"github.com/devsmith/logs/gateway/web"
	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/pgembed"
	"github.com/devsmith/logs/migrations"
	"github.com/devsmith/logs/services/analysis"
	"github.com/devsmith/logs/services/analysis/alerts"
	"github.com/devsmith/logs/services/ingestion"
	"github.com/devsmith/logs/services/projects"
	"github.com/devsmith/logs/services/query"
)

// maxMessageBytes bounds gRPC messages between the services: a 5 MiB batch
// body grows a little as a protobuf.
const maxMessageBytes = 16 << 20

// secretsKeyFile is where the all-in-one keeps the key alert channel
// secrets are stored under, in its data folder (DEVSMITH_SECRETS_KEY
// overrides it).
const secretsKeyFile = "secrets.key"

// service is what every service package provides.
type service interface {
	Register(*grpc.Server)
	Authenticator() authn.Authenticator
	Run(ctx context.Context) error
}

// Process is a running DevSmith process.
type Process struct {
	log *zap.Logger
	cfg Config

	tls *transport // the listeners' certificate and the clients' credentials

	pg    *pgembed.Server
	dsn   string
	db    *pgxpool.Pool            // the platform's own: migrations, readiness
	pools map[string]*pgxpool.Pool // each service's, by target name
	conns []*grpc.ClientConn

	servers []*grpcServer
	http    *http.Server
	metrics *http.Server   // --metrics-addr
	serveWG sync.WaitGroup // the Serve loops

	// reg holds every metric of the process (telemetry.go); readies are
	// its services' readiness checks, for the metrics address's /readyz.
	reg     *prometheus.Registry
	readies []func(context.Context) error

	// MetricsAddr is where --metrics-addr bound, if set.
	MetricsAddr string

	// Addresses actually bound (useful when configured with port 0).
	HTTPAddr string
	GRPCAddr map[string]string

	probeCtx    context.Context // ends the readiness probes
	probeCancel context.CancelFunc
	probeWG     sync.WaitGroup
	serving     bool        // Start completed: Stop drains
	stopping    atomic.Bool // /readyz answers 503
	stopOnce    sync.Once

	runCancel context.CancelFunc
	runWG     sync.WaitGroup
	runErr    chan error
}

type grpcServer struct {
	name   string
	srv    *grpc.Server
	health *health.Server
	lis    net.Listener
	// endStreams, when set, ends the service's long-lived streams before
	// the graceful stop, which would otherwise wait for them.
	endStreams func()
}

// livenessService is the gRPC health service name that reports SERVING
// for as long as the server runs, whatever its readiness: for liveness
// probes, which must not restart a process whose database is down.
const livenessService = "liveness"

// readinessEvery is how often each service's readiness is checked into its
// gRPC health status.
const readinessEvery = 250 * time.Millisecond

// Start brings up what cfg.Target asks for and returns once it serves.
// Stop shuts it down in reverse order.
func Start(ctx context.Context, log *zap.Logger, cfg Config) (*Process, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Process{log: log, cfg: cfg, GRPCAddr: map[string]string{}, pools: map[string]*pgxpool.Pool{}, runErr: make(chan error, 8), reg: newRegistry()}
	p.probeCtx, p.probeCancel = context.WithCancel(context.Background())
	err := p.start(ctx, cfg)
	if err == nil && cfg.MetricsAddr != "" {
		err = p.serveMetrics(cfg.MetricsAddr)
	}
	if err != nil {
		// Undo what did start, in reverse order.
		p.Stop(context.Background())
		return nil, err
	}
	p.serving = true
	return p, nil
}

func (p *Process) start(ctx context.Context, cfg Config) error {
	cfg = cfg.withRateLimits().withRetention()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.runCancel = cancel

	tr, err := newTransport(p.log.Named("tls"), cfg.TLS)
	if err != nil {
		return err
	}
	p.tls = tr

	all := cfg.Target == TargetAll
	runs := func(t string) bool { return all || cfg.Target == t }
	if all && cfg.ServiceToken == "" {
		cfg.ServiceToken = randomToken()
		p.cfg.ServiceToken = cfg.ServiceToken
	}

	if runs(TargetProjects) || runs(TargetIngestion) || runs(TargetQuery) || runs(TargetAnalysis) {
		if err := p.openDatabase(ctx); err != nil {
			return err
		}
	}

	listen := func(allAddr, defPort string) string {
		if all {
			return allAddr
		}
		if cfg.GRPCAddr != "" {
			return cfg.GRPCAddr
		}
		return defPort
	}
	var identity *authn.IdentityClient
	if runs(TargetProjects) {
		pcfg := cfg.Projects
		pcfg.ServiceToken = cfg.ServiceToken
		pool, err := p.newPool(ctx, TargetProjects, pcfg.PoolConns())
		if err != nil {
			return err
		}
		svc := projects.New(p.log.Named("projects"), pool, pcfg)
		if err := svc.Bootstrap(ctx); err != nil {
			return fmt.Errorf("creating the first admin: %w", err)
		}
		addr, err := p.serve(runCtx, TargetProjects, listen(cfg.ProjectsAddr, ":9101"), svc, p.databaseReachable)
		if err != nil {
			return err
		}
		if all {
			cfg.ProjectsAddr = addr
		}
	}
	if runs(TargetIngestion) || runs(TargetQuery) || runs(TargetAnalysis) {
		conn, err := p.dial(cfg.ProjectsAddr, grpc.WithPerRPCCredentials(p.serviceCredentials(cfg.ServiceToken)))
		if err != nil {
			return err
		}
		identity = authn.NewIdentityClient(identityv1.NewIdentityServiceClient(conn), authn.ForwardClientAddress(cfg.ServiceToken))
	}
	if runs(TargetIngestion) {
		pool, err := p.newPool(ctx, TargetIngestion, cfg.Ingestion.PoolConns())
		if err != nil {
			return err
		}
		icfg := cfg.Ingestion
		icfg.ServiceToken = cfg.ServiceToken
		svc := ingestion.New(p.log.Named("ingestion"), pool, identity, icfg)
		ready := func(context.Context) error {
			if !svc.Ready() {
				return errors.New("partitions not ensured yet, or stopping")
			}
			return nil
		}
		addr, err := p.serve(runCtx, TargetIngestion, listen(cfg.IngestionAddr, ":9102"), svc, ready)
		if err != nil {
			return err
		}
		if all {
			cfg.IngestionAddr = addr
		}
	}
	if runs(TargetQuery) {
		pool, err := p.newPool(ctx, TargetQuery, cfg.Query.PoolConns())
		if err != nil {
			return err
		}
		qcfg := cfg.Query
		qcfg.ServiceToken = cfg.ServiceToken
		svc := query.New(p.log.Named("query"), pool, identity, qcfg)
		addr, err := p.serve(runCtx, TargetQuery, listen(cfg.QueryAddr, ":9103"), svc, p.databaseReachable)
		if err != nil {
			return err
		}
		p.servers[len(p.servers)-1].endStreams = svc.EndTails
		if all {
			cfg.QueryAddr = addr
		}
	}
	if runs(TargetAnalysis) {
		pool, err := p.newPool(ctx, TargetAnalysis, cfg.Analysis.PoolConns())
		if err != nil {
			return err
		}
		acfg := cfg.Analysis
		if all && cfg.DatabaseURL == "" && acfg.Alerts.SecretsKey == "" {
			// The all-in-one on its embedded PostgreSQL keeps its key
			// beside that data, so channel secrets stay readable across
			// restarts. (On a database of its own the key is configured,
			// like every replica's.)
			key, err := alerts.KeyFile(filepath.Join(cfg.DataDir, secretsKeyFile))
			if err != nil {
				return err
			}
			acfg.Alerts.SecretsKey = key
		}
		svc := analysis.New(p.log.Named("analysis"), pool, identity, acfg)
		addr, err := p.serve(runCtx, TargetAnalysis, listen(cfg.AnalysisAddr, ":9104"), svc, p.databaseReachable)
		if err != nil {
			return err
		}
		if all {
			cfg.AnalysisAddr = addr
		}
	}
	if runs(TargetGateway) {
		if err := p.startGateway(ctx, cfg); err != nil {
			return err
		}
	}
	return nil
}

// openDatabase starts the embedded PostgreSQL when no URL is given, opens
// the platform's own small pool and applies the migrations.
func (p *Process) openDatabase(ctx context.Context) error {
	p.dsn = p.cfg.DatabaseURL
	if p.dsn == "" {
		srv, err := pgembed.Start(ctx, p.log.Named("postgres"), pgembed.Config{DataDir: p.cfg.DataDir, OSUser: p.cfg.PGUser})
		if err != nil {
			return fmt.Errorf("starting the embedded PostgreSQL: %w", err)
		}
		p.pg = srv
		p.dsn = srv.DSN()
		p.log.Info("embedded PostgreSQL started", zap.String("data_dir", p.cfg.DataDir))
	}
	pool, err := p.connect(ctx, "platform", platformConns)
	if err != nil {
		return err
	}
	p.db = pool
	if err := migrations.Apply(ctx, pool); err != nil {
		return err
	}
	return nil
}

// databaseReachable is the readiness of the projects, query and analysis
// services.
// It asks through the platform's own pool, not the service's: a service
// whose pool is busy with its load is not unready, and the probe must not
// wait behind that load.
func (p *Process) databaseReachable(ctx context.Context) error {
	if err := p.db.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return nil
}

// newPool opens a service's own pool of maxConns connections, so that no
// service's load can take another's connections.
func (p *Process) newPool(ctx context.Context, service string, maxConns int) (*pgxpool.Pool, error) {
	pool, err := p.connect(ctx, service, maxConns)
	if err != nil {
		return nil, err
	}
	p.pools[service] = pool
	p.reg.MustRegister(poolCollector(service, pool))
	return pool, nil
}

func (p *Process) connect(ctx context.Context, name string, maxConns int) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(p.dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing DATABASE_URL: %w", err)
	}
	pcfg.MaxConns = int32(maxConns)
	if _, ok := pcfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		// Names the connections in pg_stat_activity.
		pcfg.ConnConfig.RuntimeParams["application_name"] = "devsmith-" + name
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL (%s pool): %w", name, err)
	}
	return pool, nil
}

// serve starts one service on its own gRPC server, with auth interceptors,
// health (following ready) and reflection, and its background loop.
func (p *Process) serve(runCtx context.Context, name, addr string, svc service, ready func(context.Context) error) (string, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s service: listening on %s: %w", name, addr, err)
	}
	a := svc.Authenticator()
	opts := apierr.ServerOptions(p.log.With(zap.String("service", name)), authn.UnaryServerInterceptor(a), authn.StreamServerInterceptor(a))
	opts = append(opts, p.tls.serverOptions()...)
	srv := grpc.NewServer(append(opts,
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxSendMsgSize(maxMessageBytes),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)...)
	svc.Register(srv)
	if c, ok := svc.(interface{ Collectors() []prometheus.Collector }); ok {
		p.reg.MustRegister(c.Collectors()...)
	}
	p.readies = append(p.readies, ready)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	gs := &grpcServer{name: name, srv: srv, health: hs, lis: lis}
	p.servers = append(p.servers, gs)
	p.serveWG.Add(1)
	go func() {
		defer p.serveWG.Done()
		// Serve returns nil only after Stop or GracefulStop.
		if err := srv.Serve(lis); err != nil {
			p.log.Error("gRPC server stopped", zap.String("service", name), zap.Error(err))
			p.fail(fmt.Errorf("%s service: serving gRPC on %s: %w", name, lis.Addr(), err))
		}
	}()
	p.runWG.Add(1)
	go func() {
		defer p.runWG.Done()
		if err := svc.Run(runCtx); err != nil {
			p.log.Error("service loop failed", zap.String("service", name), zap.Error(err))
			p.fail(fmt.Errorf("%s service: %w", name, err))
		}
	}()
	hs.SetServingStatus(livenessService, healthpb.HealthCheckResponse_SERVING)
	p.followReadiness(name, hs, ready)
	bound := lis.Addr().String()
	p.GRPCAddr[name] = bound
	p.log.Info("gRPC service listening", zap.String("service", name), zap.String("addr", bound), zap.Bool("tls", p.tls.secure()))
	return bound, nil
}

// followReadiness sets the health status of hs from ready, now and every
// readinessEvery until Stop begins.
func (p *Process) followReadiness(name string, hs *health.Server, ready func(context.Context) error) {
	last := healthpb.HealthCheckResponse_UNKNOWN
	check := func() {
		ctx, cancel := context.WithTimeout(p.probeCtx, readinessEvery*4)
		err := ready(ctx)
		cancel()
		st := healthpb.HealthCheckResponse_SERVING
		if err != nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		if st == last || p.probeCtx.Err() != nil {
			return
		}
		if last != healthpb.HealthCheckResponse_UNKNOWN || err != nil {
			p.log.Info("service readiness changed", zap.String("service", name), zap.Bool("ready", err == nil), zap.NamedError("reason", err))
		}
		last = st
		hs.SetServingStatus("", st)
	}
	check()
	p.probeWG.Add(1)
	go func() {
		defer p.probeWG.Done()
		t := time.NewTicker(readinessEvery)
		defer t.Stop()
		for {
			select {
			case <-p.probeCtx.Done():
				return
			case <-t.C:
				check()
			}
		}
	}()
}

// fail reports a failure that should stop the process (Failed).
func (p *Process) fail(err error) {
	select {
	case p.runErr <- err:
	default: // one is enough to stop
	}
}

func (p *Process) dial(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append(opts,
		grpc.WithTransportCredentials(p.tls.client),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)),
	)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	p.conns = append(p.conns, conn)
	return conn, nil
}

func (p *Process) startGateway(ctx context.Context, cfg Config) error {
	var backends gateway.Backends
	var err error
	conns := map[string]*grpc.ClientConn{}
	for name, addr := range map[string]string{TargetProjects: cfg.ProjectsAddr, TargetIngestion: cfg.IngestionAddr, TargetQuery: cfg.QueryAddr, TargetAnalysis: cfg.AnalysisAddr} {
		var opts []grpc.DialOption
		if name == TargetProjects || name == TargetIngestion || name == TargetQuery {
			// The credential vouches for the client address the gateway
			// forwards, which the sign-in throttle counts against and API
			// keys' last use records.
			opts = append(opts, grpc.WithPerRPCCredentials(p.serviceCredentials(cfg.ServiceToken)))
		}
		if conns[name], err = p.dial(addr, opts...); err != nil {
			return err
		}
	}
	backends.Projects, backends.Ingestion, backends.Query = conns[TargetProjects], conns[TargetIngestion], conns[TargetQuery]
	backends.Analysis = conns[TargetAnalysis]
	ready := func(ctx context.Context) error {
		if p.stopping.Load() {
			return errors.New("shutting down")
		}
		if p.db != nil {
			if err := p.db.Ping(ctx); err != nil {
				return errors.New("database unreachable")
			}
			if n, err := migrations.Pending(ctx, p.db); err != nil || n > 0 {
				return errors.New("database migrations not applied")
			}
		}
		for name, c := range conns {
			if name == TargetAnalysis {
				// Not needed to serve: without it only analyses fail
				// (503), while ingestion and queries go on.
				continue
			}
			res, err := healthpb.NewHealthClient(c).Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				return fmt.Errorf("%s service not serving", name)
			}
		}
		return nil
	}
	p.readies = append(p.readies, ready)
	gw, err := gateway.New(ctx, p.log.Named("gateway"), cfg.Gateway, backends, ready, web.Handler())
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("gateway: listening on %s: %w", cfg.HTTPAddr, err)
	}
	p.reg.MustRegister(gw.Collectors()...)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", p.metricsHandler())
	mux.Handle("/", gw.Handler())
	p.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if p.tls.secure() {
		// ServeTLS adds h2 and http/1.1 to the protocols offered.
		p.http.TLSConfig = p.tls.cert.ServerConfig()
	}
	// Shutdown waits for active requests to finish; live tails never do, so
	// it ends them (only them: in-flight batches finish and are answered).
	p.http.RegisterOnShutdown(gw.EndTails)
	p.HTTPAddr = lis.Addr().String()
	p.serveWG.Add(1)
	go func() {
		defer p.serveWG.Done()
		serve := p.http.Serve
		if p.tls.secure() {
			serve = func(l net.Listener) error { return p.http.ServeTLS(l, "", "") }
		}
		if err := serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("HTTP server stopped", zap.Error(err))
			p.fail(fmt.Errorf("gateway: serving HTTP on %s: %w", lis.Addr(), err))
		}
	}()
	p.log.Info("gateway listening", zap.String("addr", p.HTTPAddr), zap.Bool("tls", p.tls.secure()))
	return nil
}

// Failed reports a background loop or a server that stopped with an
// error: the process should stop.
func (p *Process) Failed() <-chan error { return p.runErr }

// Stop shuts down in this order: health NOT_SERVING and /readyz 503; the
// drain delay, serving on meanwhile, so load balancers stop sending; the
// gateway stops accepting and its in-flight requests finish (live tails are
// ended); each gRPC server, last started first, ends its tails and stops
// gracefully (in-flight batches are acknowledged); the background loops
// stop (the ingestion writers drain their queue); the pools close; the
// embedded PostgreSQL stops. Later calls return at once.
func (p *Process) Stop(ctx context.Context) {
	p.stopOnce.Do(func() { p.stop(ctx) })
}

func (p *Process) stop(ctx context.Context) {
	p.stopping.Store(true)
	p.probeCancel()
	p.probeWG.Wait()
	for _, s := range p.servers {
		s.health.Shutdown()
	}
	if p.serving && p.cfg.ShutdownDrainDelay > 0 {
		p.log.Info("not ready; draining before stopping", zap.Duration("delay", p.cfg.ShutdownDrainDelay))
		t := time.NewTimer(p.cfg.ShutdownDrainDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if p.http != nil {
		if err := p.http.Shutdown(ctx); err != nil {
			p.log.Warn("gateway shutdown", zap.Error(err))
		}
	}
	if p.metrics != nil {
		if err := p.metrics.Shutdown(ctx); err != nil {
			p.log.Warn("metrics server shutdown", zap.Error(err))
		}
	}
	for i := len(p.servers) - 1; i >= 0; i-- {
		s := p.servers[i]
		if s.endStreams != nil {
			s.endStreams()
		}
		done := make(chan struct{})
		go func() { s.srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.log.Warn("gRPC graceful stop timed out; closing the remaining calls", zap.String("service", s.name))
			s.srv.Stop()
			<-done
		}
	}
	p.serveWG.Wait()
	if p.runCancel != nil {
		p.runCancel()
	}
	p.runWG.Wait()
	for _, c := range p.conns {
		_ = c.Close()
	}
	for _, pool := range p.pools {
		pool.Close()
	}
	if p.db != nil {
		p.db.Close()
	}
	if p.pg != nil {
		if err := p.pg.Stop(ctx); err != nil {
			p.log.Warn("embedded PostgreSQL stop", zap.Error(err))
		} else {
			p.log.Info("embedded PostgreSQL stopped")
		}
	}
}

// serviceCredentials is the service credential on every call of a client
// connection; over TLS it refuses to travel on a plain one.
func (p *Process) serviceCredentials(token string) authn.ServiceCredentials {
	return authn.ServiceCredentials{Token: token, RequireTLS: p.tls.secure()}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
