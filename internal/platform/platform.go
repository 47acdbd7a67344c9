package platform

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/devsmith/logs/gateway"
	"github.com/devsmith/logs/gateway/web"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/pgembed"
	"github.com/devsmith/logs/migrations"
	"github.com/devsmith/logs/services/ingestion"
	"github.com/devsmith/logs/services/projects"
	"github.com/devsmith/logs/services/query"
)

// maxMessageBytes bounds gRPC messages between the services: a 5 MiB batch
// body grows a little as a protobuf.
const maxMessageBytes = 16 << 20

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

	pg      *pgembed.Server
	pool    *pgxpool.Pool
	conns   []*grpc.ClientConn
	servers []*grpcServer
	http    *http.Server

	// Addresses actually bound (useful when configured with port 0).
	HTTPAddr string
	GRPCAddr map[string]string

	runCancel context.CancelFunc
	runWG     sync.WaitGroup
	runErr    chan error
}

type grpcServer struct {
	name   string
	srv    *grpc.Server
	health *health.Server
	lis    net.Listener
}

// Start brings up what cfg.Target asks for and returns once it serves.
// Stop shuts it down in reverse order.
func Start(ctx context.Context, log *zap.Logger, cfg Config) (*Process, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Process{log: log, cfg: cfg, GRPCAddr: map[string]string{}, runErr: make(chan error, 8)}
	if err := p.start(ctx, cfg); err != nil {
		// Undo what did start, in reverse order.
		p.Stop(context.Background())
		return nil, err
	}
	return p, nil
}

func (p *Process) start(ctx context.Context, cfg Config) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.runCancel = cancel

	all := cfg.Target == TargetAll
	runs := func(t string) bool { return all || cfg.Target == t }
	if all && cfg.ServiceToken == "" {
		cfg.ServiceToken = randomToken()
		p.cfg.ServiceToken = cfg.ServiceToken
	}

	if runs(TargetProjects) || runs(TargetIngestion) || runs(TargetQuery) {
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
		svc := projects.New(p.log.Named("projects"), p.pool, projects.Config{
			ServiceToken:  cfg.ServiceToken,
			SessionTTL:    cfg.SessionTTL,
			AdminEmail:    cfg.AdminEmail,
			AdminPassword: cfg.AdminPassword,
		})
		if err := svc.Bootstrap(ctx); err != nil {
			return fmt.Errorf("creating the first admin: %w", err)
		}
		addr, err := p.serve(runCtx, TargetProjects, listen(cfg.ProjectsAddr, ":9101"), svc)
		if err != nil {
			return err
		}
		if all {
			cfg.ProjectsAddr = addr
		}
	}
	if runs(TargetIngestion) || runs(TargetQuery) {
		conn, err := p.dial(cfg.ProjectsAddr, grpc.WithPerRPCCredentials(authn.ServiceCredentials{Token: cfg.ServiceToken}))
		if err != nil {
			return err
		}
		identity = authn.NewIdentityClient(logsv1.NewIdentityServiceClient(conn))
	}
	if runs(TargetIngestion) {
		svc := ingestion.New(p.log.Named("ingestion"), p.pool, identity, ingestion.Config{
			Retention:           cfg.Retention,
			MaxEntries:          cfg.MaxEntries,
			MaxMessageBytes:     cfg.MaxMessageBytes,
			MaxContextBytes:     cfg.MaxContextBytes,
			MaintenanceInterval: cfg.MaintenanceInterval,
		})
		addr, err := p.serve(runCtx, TargetIngestion, listen(cfg.IngestionAddr, ":9102"), svc)
		if err != nil {
			return err
		}
		if all {
			cfg.IngestionAddr = addr
		}
	}
	if runs(TargetQuery) {
		svc := query.New(p.log.Named("query"), p.pool, identity, query.Config{})
		addr, err := p.serve(runCtx, TargetQuery, listen(cfg.QueryAddr, ":9103"), svc)
		if err != nil {
			return err
		}
		if all {
			cfg.QueryAddr = addr
		}
	}
	if runs(TargetGateway) {
		if err := p.startGateway(ctx, cfg); err != nil {
			return err
		}
	}
	return nil
}

func (p *Process) openDatabase(ctx context.Context) error {
	dsn := p.cfg.DatabaseURL
	if dsn == "" {
		srv, err := pgembed.Start(ctx, p.log.Named("postgres"), pgembed.Config{DataDir: p.cfg.DataDir, OSUser: p.cfg.PGUser})
		if err != nil {
			return fmt.Errorf("starting the embedded PostgreSQL: %w", err)
		}
		p.pg = srv
		dsn = srv.DSN()
		p.log.Info("embedded PostgreSQL started", zap.String("data_dir", p.cfg.DataDir))
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("parsing DATABASE_URL: %w", err)
	}
	if pcfg.MaxConns < 16 {
		pcfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	p.pool = pool
	if err := migrations.Apply(ctx, pool); err != nil {
		return err
	}
	return nil
}

// serve starts one service on its own gRPC server, with auth interceptors,
// health and reflection, and its background loop.
func (p *Process) serve(runCtx context.Context, name, addr string, svc service) (string, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s service: listening on %s: %w", name, addr, err)
	}
	a := svc.Authenticator()
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(authn.UnaryServerInterceptor(a)),
		grpc.ChainStreamInterceptor(authn.StreamServerInterceptor(a)),
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxSendMsgSize(maxMessageBytes),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	svc.Register(srv)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	gs := &grpcServer{name: name, srv: srv, health: hs, lis: lis}
	p.servers = append(p.servers, gs)
	go func() {
		if err := srv.Serve(lis); err != nil {
			p.log.Error("gRPC server stopped", zap.String("service", name), zap.Error(err))
		}
	}()
	p.runWG.Add(1)
	go func() {
		defer p.runWG.Done()
		if err := svc.Run(runCtx); err != nil {
			p.log.Error("service loop failed", zap.String("service", name), zap.Error(err))
			p.runErr <- fmt.Errorf("%s service: %w", name, err)
		}
	}()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	bound := lis.Addr().String()
	p.GRPCAddr[name] = bound
	p.log.Info("gRPC service listening", zap.String("service", name), zap.String("addr", bound))
	return bound, nil
}

func (p *Process) dial(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append(opts,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
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
	for name, addr := range map[string]string{TargetProjects: cfg.ProjectsAddr, TargetIngestion: cfg.IngestionAddr, TargetQuery: cfg.QueryAddr} {
		var opts []grpc.DialOption
		if name == TargetProjects {
			// The credential vouches for the client address the gateway
			// forwards, which the sign-in throttle counts against.
			opts = append(opts, grpc.WithPerRPCCredentials(authn.ServiceCredentials{Token: cfg.ServiceToken}))
		}
		if conns[name], err = p.dial(addr, opts...); err != nil {
			return err
		}
	}
	backends.Projects, backends.Ingestion, backends.Query = conns[TargetProjects], conns[TargetIngestion], conns[TargetQuery]
	ready := func(ctx context.Context) error {
		if p.pool != nil {
			if err := p.pool.Ping(ctx); err != nil {
				return errors.New("database unreachable")
			}
			if n, err := migrations.Pending(ctx, p.pool); err != nil || n > 0 {
				return errors.New("database migrations not applied")
			}
		}
		for name, c := range conns {
			res, err := healthpb.NewHealthClient(c).Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				return fmt.Errorf("%s service not serving", name)
			}
		}
		return nil
	}
	gw, err := gateway.New(ctx, p.log.Named("gateway"), gateway.Config{MaxBodyBytes: cfg.MaxBodyBytes, TrustedProxies: cfg.TrustedProxies}, backends, ready, web.Handler())
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("gateway: listening on %s: %w", cfg.HTTPAddr, err)
	}
	streamsCtx, cancelStreams := context.WithCancel(context.Background())
	p.http = &http.Server{
		Handler:           gw.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return streamsCtx },
	}
	// Shutdown waits for idle connections; live tails never idle, so end them.
	p.http.RegisterOnShutdown(cancelStreams)
	p.HTTPAddr = lis.Addr().String()
	go func() {
		if err := p.http.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("HTTP server stopped", zap.Error(err))
		}
	}()
	p.log.Info("gateway listening", zap.String("addr", p.HTTPAddr))
	return nil
}

// Failed reports a background loop that stopped with an error.
func (p *Process) Failed() <-chan error { return p.runErr }

// Stop shuts down in reverse order: the gateway (in-flight requests finish),
// the gRPC servers (in-flight RPCs finish), the background loops (writers
// drain), the database pool, and the embedded PostgreSQL.
func (p *Process) Stop(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if p.http != nil {
		if err := p.http.Shutdown(ctx); err != nil {
			p.log.Warn("gateway shutdown", zap.Error(err))
		}
	}
	for i := len(p.servers) - 1; i >= 0; i-- {
		s := p.servers[i]
		s.health.Shutdown()
		done := make(chan struct{})
		go func() { s.srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.srv.Stop()
			<-done
		}
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	if p.runCancel != nil {
		p.runCancel()
	}
	p.runWG.Wait()
	if p.pool != nil {
		p.pool.Close()
	}
	if p.pg != nil {
		if err := p.pg.Stop(ctx); err != nil {
			p.log.Warn("embedded PostgreSQL stop", zap.Error(err))
		} else {
			p.log.Info("embedded PostgreSQL stopped")
		}
	}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
