// Package platform assembles the services into processes: every service in
// one process (the all-in-one of a laptop), or one service per process for
// separate deployments. Services talk gRPC either way.
package platform

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/devsmith/logs/gateway"
	"github.com/devsmith/logs/internal/durationflag"
	"github.com/devsmith/logs/internal/pgembed"
	"github.com/devsmith/logs/internal/ratelimit"
	"github.com/devsmith/logs/services/analysis"
	"github.com/devsmith/logs/services/ingestion"
	"github.com/devsmith/logs/services/projects"
	"github.com/devsmith/logs/services/query"
)

// Targets a process can run.
const (
	TargetAll       = "all"
	TargetProjects  = "projects"
	TargetIngestion = "ingestion"
	TargetQuery     = "query"
	TargetAnalysis  = "analysis"
	TargetGateway   = "gateway"
	// TargetMigrate applies the database migrations and exits (a
	// deployment's migration job); every service also applies them at
	// start, under the same advisory lock.
	TargetMigrate = "migrate"
)

// platformConns are the process's own database connections besides the
// services' pools: migrations and the gateway's readiness check.
const platformConns = 2

// Config is every setting of a DevSmith process: the process's own, and
// each component's. Every field has a flag and an environment variable
// (EnvName); a flag given on the command line wins (Parse).
type Config struct {
	Target string

	HTTPAddr      string // gateway listen address
	MetricsAddr   string // Prometheus /metrics, /healthz and /readyz of this process (empty: none, but the gateway's port)
	GRPCAddr      string // listen address of a single-service process
	ProjectsAddr  string // where the projects service is (all-in-one: listens there)
	IngestionAddr string
	QueryAddr     string
	AnalysisAddr  string

	DatabaseURL string
	DataDir     string
	PGUser      string

	ServiceToken string

	LogLevel  string
	LogFormat string

	// ShutdownDrainDelay is how long a stopping process keeps serving
	// while it reports not ready, so that load balancers stop sending
	// before it stops accepting.
	ShutdownDrainDelay time.Duration

	// TLS is the transport security of every listener but the metrics
	// one, and of the clients of the other services (tls.go).
	TLS TLSConfig

	// RateLimit are the limits of every API key and project
	// (docs/rate-limits.md): registered once here, handed to the services
	// that hold them (ingestion, query) or show them (projects) by
	// withRateLimits.
	RateLimit ratelimit.Config

	Projects  projects.Config
	Ingestion ingestion.Config
	Query     query.Config
	Analysis  analysis.Config
	Gateway   gateway.Config
}

// section is one component's flags, listed together by --help.
type section struct {
	title    string
	register func(*flag.FlagSet)
}

func (c *Config) sections() []section {
	return []section{
		{"Process", c.registerProcessFlags},
		{"TLS", c.TLS.RegisterFlags},
		{"Rate limits", c.RateLimit.RegisterFlags},
		{"Projects service", c.Projects.RegisterFlags},
		{"Ingestion service", c.Ingestion.RegisterFlags},
		{"Query service", c.Query.RegisterFlags},
		{"Analysis service", c.Analysis.RegisterFlags},
		{"Gateway", c.Gateway.RegisterFlags},
	}
}

// RegisterFlags declares every setting of the process and its components
// on fs, with its default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	for _, s := range c.sections() {
		s.register(fs)
	}
}

func (c *Config) registerProcessFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Target, "target", TargetAll, "what this process runs: all, projects, ingestion, query, analysis or gateway; migrate applies the migrations and exits")
	fs.StringVar(&c.HTTPAddr, "http-addr", ":3000", "REST API and dashboard listen address (gateway; it serves /metrics too)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "listen address of this process's Prometheus /metrics, /healthz and /readyz (for a service in its own process; empty: none)")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", "", "gRPC listen address of a single-service process (empty: :9101 projects, :9102 ingestion, :9103 query, :9104 analysis)")
	fs.StringVar(&c.ProjectsAddr, "projects-addr", "127.0.0.1:9101", "projects service gRPC address (all-in-one: where it listens)")
	fs.StringVar(&c.IngestionAddr, "ingestion-addr", "127.0.0.1:9102", "ingestion service gRPC address (all-in-one: where it listens)")
	fs.StringVar(&c.QueryAddr, "query-addr", "127.0.0.1:9103", "query service gRPC address (all-in-one: where it listens)")
	fs.StringVar(&c.AnalysisAddr, "analysis-addr", "127.0.0.1:9104", "analysis service gRPC address (all-in-one: where it listens)")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL; empty runs an embedded PostgreSQL (all-in-one only)")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "folder of the embedded PostgreSQL")
	fs.StringVar(&c.PGUser, "pg-os-user", "postgres", "OS user that runs the embedded PostgreSQL when started as root")
	fs.StringVar(&c.ServiceToken, "service-token", "", "credential the services use between themselves, the gateway's too (empty: random per start, all-in-one only)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "json or console")
	durationflag.Var(fs, &c.ShutdownDrainDelay, "shutdown-drain-delay", 5*time.Second, "on SIGTERM, how long the process reports not ready while still serving, before it stops accepting")
}

// EnvName is the environment variable of a flag: DEVSMITH_ and the name
// upper-cased with dashes as underscores; --database-url is DATABASE_URL.
func EnvName(flagName string) string {
	if flagName == "database-url" {
		return "DATABASE_URL"
	}
	return "DEVSMITH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args, then gives every flag not on the command line the
// value of its environment variable (EnvName), when set and not empty,
// through the flag's own parser. A flag on the command line means its
// variable is not read at all; a variable that does not parse is named in
// the error.
func Parse(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool)) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: settings are flags (--name=value)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := EnvName(f.Name)
		v, ok := lookupEnv(name)
		if !ok || v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q (--%s): %w", name, v, f.Name, err))
		}
	})
	return errors.Join(errs...)
}

// Validate checks the settings before anything starts: the process's, then
// each component's.
func (c *Config) Validate() error {
	var errs []error
	switch c.Target {
	case TargetAll:
	case TargetProjects, TargetIngestion, TargetQuery, TargetAnalysis, TargetGateway:
		if c.Target != TargetGateway && c.DatabaseURL == "" {
			errs = append(errs, errors.New("--database-url (DATABASE_URL) is required when a service runs on its own (the embedded PostgreSQL is for --target=all)"))
		}
		if c.ServiceToken == "" {
			errs = append(errs, errors.New("--service-token (DEVSMITH_SERVICE_TOKEN) is required when services run as separate processes"))
		}
	case TargetMigrate:
		if c.DatabaseURL == "" {
			errs = append(errs, errors.New("--database-url (DATABASE_URL) is required by --target=migrate"))
		}
	default:
		errs = append(errs, fmt.Errorf("--target %q: must be all, projects, ingestion, query, analysis, gateway or migrate", c.Target))
	}
	if _, err := zapcore.ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		errs = append(errs, fmt.Errorf("--log-format %q: want json or console", c.LogFormat))
	}
	if c.ShutdownDrainDelay < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-drain-delay %s: must not be negative", durationflag.Format(c.ShutdownDrainDelay)))
	}
	errs = append(errs, c.TLS.Validate(), c.RateLimit.Validate(), c.Projects.Validate(), c.Ingestion.Validate(), c.Query.Validate(), c.Analysis.Validate(), c.Gateway.Validate())
	if c.Gateway.AnalysisTimeout > 0 && c.Gateway.AnalysisTimeout <= c.Analysis.Insights.Timeout {
		// The gateway would cut an analysis off before the service's own
		// deadline answers (with what it computed).
		errs = append(errs, fmt.Errorf("--analysis-request-timeout %s: must be longer than --analysis-timeout %s",
			durationflag.Format(c.Gateway.AnalysisTimeout), durationflag.Format(c.Analysis.Insights.Timeout)))
	}
	if c.Target == TargetAll && c.DatabaseURL == "" {
		if n := c.databaseConns(); n > pgembed.MaxConnections {
			errs = append(errs, fmt.Errorf("--projects-max-conns, --ingestion-max-conns, --query-max-conns and --analysis-max-conns need %d connections with the platform's own, more than the embedded PostgreSQL's max_connections (%d)", n, pgembed.MaxConnections))
		}
	}
	return errors.Join(errs...)
}

// withRateLimits returns c with its rate limits handed to the services,
// and the ingestion service's default retention to the projects service,
// which shows it (DEVSMITH_RETENTION).
func (c Config) withRateLimits() Config {
	c.Projects.DefaultRetention = c.Ingestion.Retention
	c.Projects.RateLimit = c.RateLimit
	c.Ingestion.RateLimit = c.RateLimit
	c.Query.RateLimit = c.RateLimit
	return c
}

// withRetention returns c with the platform's default retention
// (ingestion's --retention, DEVSMITH_RETENTION: registered once) handed to
// the analysis service, which expires the rollups of projects without their
// own retention with it.
func (c Config) withRetention() Config {
	c.Analysis.Retention = c.Ingestion.Retention
	return c
}

// databaseConns is what the all-in-one may open at most: each service's
// pool, the query service's tail listener, the analysis service's miner
// connection, and the platform's own.
func (c *Config) databaseConns() int {
	return c.Projects.PoolConns() + c.Ingestion.PoolConns() + c.Query.PoolConns() + 1 + c.Analysis.PoolConns() + 1 + platformConns
}
