package projects

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/devsmith/logs/internal/durationflag"
	"github.com/devsmith/logs/internal/ratelimit"
)

// Defaults of Config (zero fields take them, and RegisterFlags shows them).
const (
	defaultSessionTTL     = 7 * 24 * time.Hour
	defaultLoginFailures  = 10
	defaultLoginWindow    = 10 * time.Minute
	defaultLoginLockout   = 15 * time.Minute
	defaultLoginSlowdown  = 250 * time.Millisecond
	defaultAuditRetention = 400 * 24 * time.Hour
	defaultMaxConns       = 4
	// defaultRetention is the ingestion service's default (its
	// --retention, DEVSMITH_RETENTION), which the process hands over as
	// Config.DefaultRetention; a service never imports another's package.
	defaultRetention    = 30 * 24 * time.Hour
	defaultRetentionMax = 365 * 24 * time.Hour
	// maxRetentionMax is the longest retention a project may have:
	// logs.entries.retention_days is a smallint.
	maxRetentionMax = 32767 * 24 * time.Hour
	// minAuditRetention keeps at least the current and the previous month.
	minAuditRetention = 31 * 24 * time.Hour
)

// Config tunes the service. Zero values take the defaults.
type Config struct {
	// ServiceToken is the service credential IdentityService accepts
	// (x-devsmith-service-token). Empty refuses every IdentityService call.
	// It is the process's setting (--service-token), not registered here.
	ServiceToken string
	// SessionTTL is how long a session lasts.
	SessionTTL time.Duration
	// AdminEmail and AdminPassword make the first admin (Bootstrap) when no
	// user exists yet.
	AdminEmail, AdminPassword string
	// BcryptCost hashes passwords (clamped to bcrypt's range).
	BcryptCost int
	// LoginFailures failures (sign-ins from one client address or naming
	// one account, or invalid API keys from one address) within
	// LoginWindow lock that address or account out for LoginLockout
	// (lockout.go, docs/security.md).
	LoginFailures int
	// LoginWindow is the failure window, from its first failure.
	LoginWindow time.Duration
	// LoginLockout is how long a lock lasts.
	LoginLockout time.Duration
	// LoginSlowdown is how much longer each failed answer waits per
	// failure already counted (at most 8 times it).
	LoginSlowdown time.Duration
	// AuditRetention is how long audit events are kept: their monthly
	// partitions are dropped once wholly older.
	AuditRetention time.Duration
	// MaxConns sizes the service's own database pool.
	MaxConns int
	// RateLimit are the platform's rate limits, which a project's answer
	// shows unless it sets its own (docs/rate-limits.md). The process's
	// settings (--rate-limit-*, internal/platform), not registered here.
	RateLimit ratelimit.Config
	// DefaultRetention is the platform's retention (--retention,
	// DEVSMITH_RETENTION, the ingestion service's setting), which a
	// project's answer shows unless it sets its own. The process's setting
	// (internal/platform), not registered here.
	DefaultRetention time.Duration
	// RetentionMax is the longest retention a project may be given, in
	// whole days (UpdateProject's retention_days).
	RetentionMax time.Duration
}

// RegisterFlags declares the service's settings on fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	durationflag.Var(fs, &c.SessionTTL, "session-ttl", defaultSessionTTL, "how long a sign-in lasts")
	fs.StringVar(&c.AdminEmail, "admin-email", "", "first admin's email, created when no user exists (with --admin-password)")
	fs.StringVar(&c.AdminPassword, "admin-password", "", "first admin's password (with --admin-email)")
	fs.IntVar(&c.BcryptCost, "bcrypt-cost", bcrypt.DefaultCost, fmt.Sprintf("bcrypt cost of password hashes (%d to %d)", bcrypt.MinCost, bcrypt.MaxCost))
	fs.IntVar(&c.LoginFailures, "login-failures", defaultLoginFailures, "failed sign-ins from one client address or for one account, or invalid API keys from one address, within --login-window that lock it out for --login-lockout")
	durationflag.Var(fs, &c.LoginWindow, "login-window", defaultLoginWindow, "the window in which --login-failures failures lock out")
	durationflag.Var(fs, &c.LoginLockout, "login-lockout", defaultLoginLockout, "how long a client address or account stays locked out")
	durationflag.Var(fs, &c.LoginSlowdown, "login-slowdown", defaultLoginSlowdown, "extra wait of a failed sign-in or key per failure already counted, at most 8 times")
	durationflag.Var(fs, &c.AuditRetention, "audit-retention", defaultAuditRetention, "audit events older than this are dropped, a month at a time (at least 31d)")
	durationflag.Var(fs, &c.RetentionMax, "retention-max", defaultRetentionMax, "the longest retention a project may be given, in whole days (at most 32767d)")
	fs.IntVar(&c.MaxConns, "projects-max-conns", defaultMaxConns, "database connections of the projects service's pool (at least 2)")
}

// Validate checks the settings as given.
func (c Config) Validate() error {
	var errs []error
	if c.SessionTTL <= 0 {
		errs = append(errs, fmt.Errorf("--session-ttl %s: must be positive", durationflag.Format(c.SessionTTL)))
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		errs = append(errs, errors.New("--admin-email and --admin-password (DEVSMITH_ADMIN_EMAIL, DEVSMITH_ADMIN_PASSWORD): set both or neither"))
	}
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		errs = append(errs, fmt.Errorf("--bcrypt-cost %d: must be between %d and %d", c.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost))
	}
	if c.LoginFailures < 1 {
		errs = append(errs, fmt.Errorf("--login-failures %d: must be at least 1", c.LoginFailures))
	}
	if c.LoginWindow <= 0 {
		errs = append(errs, fmt.Errorf("--login-window %s: must be positive", durationflag.Format(c.LoginWindow)))
	}
	if c.LoginLockout <= 0 {
		errs = append(errs, fmt.Errorf("--login-lockout %s: must be positive", durationflag.Format(c.LoginLockout)))
	}
	if c.LoginSlowdown > time.Minute {
		errs = append(errs, fmt.Errorf("--login-slowdown %s: at most 1m", durationflag.Format(c.LoginSlowdown)))
	}
	if c.AuditRetention < minAuditRetention {
		errs = append(errs, fmt.Errorf("--audit-retention %s: too short, at least %s", durationflag.Format(c.AuditRetention), durationflag.Format(minAuditRetention)))
	}
	switch {
	case c.RetentionMax < 24*time.Hour || c.RetentionMax > maxRetentionMax:
		errs = append(errs, fmt.Errorf("--retention-max %s: must be between 1d and %s", durationflag.Format(c.RetentionMax), durationflag.Format(maxRetentionMax)))
	case c.RetentionMax%(24*time.Hour) != 0:
		errs = append(errs, fmt.Errorf("--retention-max %s: must be whole days", durationflag.Format(c.RetentionMax)))
	}
	if c.MaxConns < 2 {
		errs = append(errs, fmt.Errorf("--projects-max-conns %d: must be at least 2", c.MaxConns))
	}
	return errors.Join(errs...)
}

// retentionMaxDays is RetentionMax in days.
func (c Config) retentionMaxDays() int32 { return int32(c.RetentionMax / (24 * time.Hour)) }

// defaultRetentionDays is DefaultRetention in days, rounded up: a class-0
// leaf is dropped once its whole day is past the retention (partition).
func (c Config) defaultRetentionDays() int32 {
	const day = 24 * time.Hour
	return int32((c.DefaultRetention + day - 1) / day)
}

// PoolConns is the size of the database pool the service needs.
func (c Config) PoolConns() int { return c.withDefaults().MaxConns }

func (c Config) withDefaults() Config {
	if c.SessionTTL <= 0 {
		c.SessionTTL = defaultSessionTTL
	}
	if c.BcryptCost <= 0 {
		c.BcryptCost = bcrypt.DefaultCost
	}
	c.BcryptCost = min(max(c.BcryptCost, bcrypt.MinCost), bcrypt.MaxCost)
	if c.LoginFailures <= 0 {
		c.LoginFailures = defaultLoginFailures
	}
	if c.LoginWindow <= 0 {
		c.LoginWindow = defaultLoginWindow
	}
	if c.LoginLockout <= 0 {
		c.LoginLockout = defaultLoginLockout
	}
	if c.LoginSlowdown <= 0 {
		c.LoginSlowdown = defaultLoginSlowdown
	}
	if c.AuditRetention <= 0 {
		c.AuditRetention = defaultAuditRetention
	}
	if c.MaxConns <= 0 {
		c.MaxConns = defaultMaxConns
	}
	if c.DefaultRetention <= 0 {
		c.DefaultRetention = defaultRetention
	}
	if c.RetentionMax <= 0 {
		c.RetentionMax = defaultRetentionMax
	}
	return c
}
