package ratelimit

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Defaults of Config: the original design's 1,000 requests a minute per
// key, and 10,000 entries a second per project.
const (
	DefaultRequestsPerMinute = 1000
	DefaultLogsPerSecond     = 10_000
	defaultSyncInterval      = time.Second
	defaultRefreshInterval   = 5 * time.Second
)

// Config holds the platform's limits; a project may override each
// (logs.projects.rate_limit_*). 0 means unlimited.
type Config struct {
	// RequestsPerMinute is each API key's request budget a minute.
	RequestsPerMinute int
	// LogsPerSecond is each project's budget of entries a second, over all
	// its keys.
	LogsPerSecond int
	// SyncInterval is how often a limiter exchanges what it admitted with
	// the other replicas (0: a second). Not a flag: tests shorten it.
	SyncInterval time.Duration
	// RefreshInterval is how often a limiter reads the projects' own limits
	// (0: five seconds). Not a flag: tests shorten it.
	RefreshInterval time.Duration
}

// RegisterFlags declares the limits on fs, with their defaults. The
// process registers them once (internal/platform) and hands them to every
// service that limits or shows them.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.RequestsPerMinute, "rate-limit-requests-per-minute", DefaultRequestsPerMinute,
		"requests a minute each API key may make, ingest or read, before 429 (a project may set its own; 0: unlimited)")
	fs.IntVar(&c.LogsPerSecond, "rate-limit-logs-per-second", DefaultLogsPerSecond,
		"log entries a second each project may ingest over all its keys, before 429 (a project may set its own; 0: unlimited)")
}

// Validate checks the limits as given.
func (c Config) Validate() error {
	var errs []error
	if c.RequestsPerMinute < 0 {
		errs = append(errs, fmt.Errorf("--rate-limit-requests-per-minute %d: must not be negative (0: unlimited)", c.RequestsPerMinute))
	}
	if c.LogsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("--rate-limit-logs-per-second %d: must not be negative (0: unlimited)", c.LogsPerSecond))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.SyncInterval <= 0 {
		c.SyncInterval = defaultSyncInterval
	}
	if c.RefreshInterval <= 0 {
		c.RefreshInterval = defaultRefreshInterval
	}
	return c
}

// Limits are a project's effective limits (0: unlimited).
type Limits struct {
	RequestsPerMinute int
	LogsPerSecond     int
	// IsDefault is true when the project sets neither limit itself.
	IsDefault bool
}

// Effective combines a project's own limits (nil: not set) with the
// platform's.
func (c Config) Effective(requestsPerMinute, logsPerSecond *int32) Limits {
	l := Limits{RequestsPerMinute: c.RequestsPerMinute, LogsPerSecond: c.LogsPerSecond, IsDefault: true}
	if requestsPerMinute != nil {
		l.RequestsPerMinute, l.IsDefault = int(*requestsPerMinute), false
	}
	if logsPerSecond != nil {
		l.LogsPerSecond, l.IsDefault = int(*logsPerSecond), false
	}
	return l
}
