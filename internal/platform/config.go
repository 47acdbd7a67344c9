// Package platform assembles the services into processes: every service in
// one process (the all-in-one of a laptop), or one service per process for
// separate deployments. Services talk gRPC either way.
package platform

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/devsmith/logs/gateway"
)

// Targets a process can run.
const (
	TargetAll       = "all"
	TargetProjects  = "projects"
	TargetIngestion = "ingestion"
	TargetQuery     = "query"
	TargetGateway   = "gateway"
)

// Config is every setting of a DevSmith process. Each field has a flag and
// an environment variable; the flag wins.
type Config struct {
	Target string

	HTTPAddr       string         // gateway listen address
	TrustedProxies []netip.Prefix // reverse proxies whose X-Forwarded-For the gateway believes
	GRPCAddr       string         // listen address of a single-service process
	ProjectsAddr   string         // where the projects service is (all-in-one: listens there)
	IngestionAddr  string
	QueryAddr      string

	DatabaseURL string
	DataDir     string
	PGUser      string

	ServiceToken  string
	AdminEmail    string
	AdminPassword string
	SessionTTL    time.Duration

	Retention           time.Duration
	MaintenanceInterval time.Duration
	MaxBodyBytes        int64
	MaxEntries          int
	MaxMessageBytes     int
	MaxContextBytes     int

	LogLevel  string
	LogFormat string

	envErrs []error // environment values that did not parse
}

// RegisterFlags declares the flags, with defaults taken from the
// environment.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Target, "target", env("DEVSMITH_TARGET", TargetAll), "what this process runs: all, projects, ingestion, query or gateway")
	fs.StringVar(&c.HTTPAddr, "http-addr", env("DEVSMITH_HTTP_ADDR", ":3000"), "REST API and dashboard listen address")
	fs.Func("trusted-proxies", "reverse proxies (addresses, CIDR prefixes; comma-separated) whose X-Forwarded-For names the client (env DEVSMITH_TRUSTED_PROXIES, default none)", func(s string) error {
		p, err := gateway.ParseTrustedProxies(s)
		c.TrustedProxies = p
		return err
	})
	if v := env("DEVSMITH_TRUSTED_PROXIES", ""); v != "" {
		p, err := gateway.ParseTrustedProxies(v)
		if err != nil {
			c.envErrs = append(c.envErrs, fmt.Errorf("DEVSMITH_TRUSTED_PROXIES: %w", err))
		}
		c.TrustedProxies = p
	}
	fs.StringVar(&c.GRPCAddr, "grpc-addr", env("DEVSMITH_GRPC_ADDR", ""), "gRPC listen address of a single-service process (default :9101 projects, :9102 ingestion, :9103 query)")
	fs.StringVar(&c.ProjectsAddr, "projects-addr", env("DEVSMITH_PROJECTS_ADDR", "127.0.0.1:9101"), "projects service gRPC address")
	fs.StringVar(&c.IngestionAddr, "ingestion-addr", env("DEVSMITH_INGESTION_ADDR", "127.0.0.1:9102"), "ingestion service gRPC address")
	fs.StringVar(&c.QueryAddr, "query-addr", env("DEVSMITH_QUERY_ADDR", "127.0.0.1:9103"), "query service gRPC address")
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL URL; empty runs an embedded PostgreSQL (all-in-one only)")
	fs.StringVar(&c.DataDir, "data-dir", env("DEVSMITH_DATA_DIR", "./data"), "folder of the embedded PostgreSQL")
	fs.StringVar(&c.PGUser, "pg-os-user", env("DEVSMITH_PG_OS_USER", "postgres"), "OS user that runs the embedded PostgreSQL when started as root")
	fs.StringVar(&c.ServiceToken, "service-token", env("DEVSMITH_SERVICE_TOKEN", ""), "credential the services use between themselves (required unless --target=all; the gateway shows it to the projects service so that the client address it forwards is believed)")
	fs.StringVar(&c.AdminEmail, "admin-email", env("DEVSMITH_ADMIN_EMAIL", ""), "first admin's email, created when no user exists")
	fs.StringVar(&c.AdminPassword, "admin-password", env("DEVSMITH_ADMIN_PASSWORD", ""), "first admin's password")
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.envDuration("DEVSMITH_SESSION_TTL", 7*24*time.Hour), "how long a sign-in lasts")
	fs.Func("retention", "how long entries are kept, e.g. 30d or 720h (env DEVSMITH_RETENTION, default 30d)", func(s string) error {
		d, err := ParseDuration(s)
		c.Retention = d
		return err
	})
	c.Retention = c.envDuration("DEVSMITH_RETENTION", 30*24*time.Hour)
	fs.DurationVar(&c.MaintenanceInterval, "maintenance-interval", c.envDuration("DEVSMITH_MAINTENANCE_INTERVAL", time.Hour), "how often partitions are created ahead and expired ones dropped")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", int64(c.envInt("DEVSMITH_MAX_BODY_BYTES", 5<<20)), "request body limit after decompression")
	fs.IntVar(&c.MaxEntries, "max-batch-entries", c.envInt("DEVSMITH_MAX_BATCH_ENTRIES", 10000), "entries per batch")
	fs.IntVar(&c.MaxMessageBytes, "max-message-bytes", c.envInt("DEVSMITH_MAX_MESSAGE_BYTES", 32<<10), "message size before truncation")
	fs.IntVar(&c.MaxContextBytes, "max-context-bytes", c.envInt("DEVSMITH_MAX_CONTEXT_BYTES", 64<<10), "context size before truncation")
	fs.StringVar(&c.LogLevel, "log-level", env("DEVSMITH_LOG_LEVEL", "info"), "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", env("DEVSMITH_LOG_FORMAT", "json"), "json or console")
}

// Validate checks the settings before anything starts.
func (c *Config) Validate() error {
	if err := errors.Join(c.envErrs...); err != nil {
		return err
	}
	switch c.Target {
	case TargetAll, TargetProjects, TargetIngestion, TargetQuery, TargetGateway:
	default:
		return fmt.Errorf("--target %q: must be all, projects, ingestion, query or gateway", c.Target)
	}
	if c.Target != TargetAll && c.Target != TargetGateway && c.DatabaseURL == "" {
		return errors.New("DATABASE_URL is required when a service runs on its own (the embedded PostgreSQL is for --target=all)")
	}
	if c.Target != TargetAll && c.ServiceToken == "" {
		return errors.New("DEVSMITH_SERVICE_TOKEN is required when services run as separate processes")
	}
	if c.Retention < time.Hour {
		return fmt.Errorf("retention %v is too short: at least 1h", c.Retention)
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		return errors.New("set both DEVSMITH_ADMIN_EMAIL and DEVSMITH_ADMIN_PASSWORD, or neither")
	}
	return nil
}

// ParseDuration accepts Go durations and a day suffix: "30d", "12h", "90m".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 30d or 720h", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 30d or 720h", s)
	}
	return d, nil
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func (c *Config) envInt(key string, def int) int {
	v := env(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Errorf("%s=%q: not a whole number", key, v))
		return def
	}
	return n
}

func (c *Config) envDuration(key string, def time.Duration) time.Duration {
	v := env(key, "")
	if v == "" {
		return def
	}
	d, err := ParseDuration(v)
	if err != nil {
		c.envErrs = append(c.envErrs, fmt.Errorf("%s: %w", key, err))
		return def
	}
	return d
}
