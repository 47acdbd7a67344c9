package insights

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/devsmith/logs/internal/durationflag"
)

// Defaults of Config (zero fields take them, and RegisterFlags shows them).
const (
	defaultTimeout       = 60 * time.Second
	defaultMaxConcurrent = 2
	defaultMaxEntries    = 2_000_000
	defaultCacheTTL      = 30 * time.Second
)

// Config bounds the analyses of one Analyzer (one replica).
type Config struct {
	// Timeout is the deadline of one analysis, from its start to its
	// answer: its SQL is cancelled when it passes.
	Timeout time.Duration
	// MaxConcurrent is the number of analyses computed at once; a request
	// for another is refused with ResourceExhausted and a retry delay.
	// Requests that join a running identical analysis, or are answered
	// from the cache, do not count.
	MaxConcurrent int
	// MaxEntries bounds the entries one analysis reads: past it (by the
	// rollups' estimate) the analysis reads a sample of about MaxEntries
	// entries and scales its counts.
	MaxEntries int64
	// CacheTTL is how long a report answers identical requests (same
	// projects, since and until); 0 caches nothing.
	CacheTTL time.Duration
}

// RegisterFlags declares the settings on fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	durationflag.Var(fs, &c.Timeout, "analysis-timeout", defaultTimeout, "deadline of one analysis, database work included")
	fs.IntVar(&c.MaxConcurrent, "analysis-max-concurrent", defaultMaxConcurrent, "analyses computed at once by this replica (beyond: 429 with Retry-After)")
	fs.Int64Var(&c.MaxEntries, "analysis-max-entries", defaultMaxEntries, "entries one analysis reads; past it the analysis reads a sample and scales its counts (sampled: true)")
	durationflag.Var(fs, &c.CacheTTL, "analysis-cache-ttl", defaultCacheTTL, "how long a report answers identical requests (0: no cache)")
}

// Validate checks the settings as given.
func (c Config) Validate() error {
	var errs []error
	if c.Timeout < time.Second {
		errs = append(errs, fmt.Errorf("--analysis-timeout %s: must be at least 1s", durationflag.Format(c.Timeout)))
	}
	if c.MaxConcurrent < 1 {
		errs = append(errs, fmt.Errorf("--analysis-max-concurrent %d: must be at least 1", c.MaxConcurrent))
	}
	if c.MaxEntries < 1000 {
		errs = append(errs, fmt.Errorf("--analysis-max-entries %d: must be at least 1000", c.MaxEntries))
	}
	if c.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("--analysis-cache-ttl %s: must not be negative", durationflag.Format(c.CacheTTL)))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields (tests set only what they test;
// Validate refuses what a flag may not be, not what a test may).
func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = defaultTimeout
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = defaultMaxConcurrent
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = defaultMaxEntries
	}
	return c
}
