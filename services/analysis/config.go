package analysis

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/devsmith/logs/internal/durationflag"
	"github.com/devsmith/logs/services/analysis/alerts"
	"github.com/devsmith/logs/services/analysis/insights"
	"github.com/devsmith/logs/services/analysis/llm"
)

// Defaults of Config (zero fields take them, and RegisterFlags shows them).
const (
	defaultMaxConns     = 8
	defaultMaxWindow    = 31 * 24 * time.Hour
	defaultMineInterval = 500 * time.Millisecond
	defaultMineBatch    = 5000
	defaultLeaderRetry  = 2 * time.Second
	defaultMaxPatterns  = 5000
	// defaultCompactInterval: rollup rows of a minute are merged within
	// about this long after it ends.
	defaultCompactInterval = 15 * time.Second
	// defaultRetention is the platform's default retention when none is
	// handed over (the ingestion service's default).
	defaultRetention = 30 * 24 * time.Hour
)

// Config is the analysis service's settings: the reports' (Insights), the
// optional language model's (LLM), the window a request may ask for, the
// pattern miner's loop, and the service's database pool.
type Config struct {
	Insights insights.Config
	LLM      llm.Config
	// Alerts is the alert rules' evaluation and delivery (package alerts).
	Alerts alerts.Config
	// MaxConns sizes the service's own database pool (the analyses'
	// queries). The miner has one connection of its own besides.
	MaxConns int
	// MaxWindow is the longest [since, until) an analysis may cover.
	MaxWindow time.Duration
	// MineInterval is how often the leader looks for signatures to mine
	// when no commit notification woke it.
	MineInterval time.Duration
	// MineBatch is how many signatures one mining transaction takes.
	MineBatch int
	// LeaderRetry is how often a replica that is not the miner tries to
	// become it (and how long a failed leader waits before it tries again).
	LeaderRetry time.Duration
	// MaxPatterns bounds the live patterns of each project; past it new
	// messages that join no pattern go to the overflow pattern 0.
	MaxPatterns int
	// CompactInterval is how often the metric rollups are compacted.
	CompactInterval time.Duration
	// Retention is the platform's default retention (DEVSMITH_RETENTION,
	// registered by the ingestion service's config and handed over by the
	// platform): the rollups and hourly counts of projects without their
	// own retention are kept as long.
	Retention time.Duration
}

// RegisterFlags declares the service's settings on fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Insights.RegisterFlags(fs)
	c.LLM.RegisterFlags(fs)
	fs.IntVar(&c.MaxConns, "analysis-max-conns", defaultMaxConns, "database connections of the analysis service's pool (at least 2; the pattern miner has one more of its own)")
	durationflag.Var(fs, &c.MaxWindow, "analysis-max-window", defaultMaxWindow, "longest since..until window an analysis may cover")
	durationflag.Var(fs, &c.MineInterval, "pattern-mine-interval", defaultMineInterval, "how often the pattern miner looks for new signatures when no commit woke it")
	fs.IntVar(&c.MineBatch, "pattern-mine-batch", defaultMineBatch, "new signatures the pattern miner takes per transaction")
	durationflag.Var(fs, &c.LeaderRetry, "pattern-leader-retry", defaultLeaderRetry, "how often a replica that does not mine patterns tries to take over (one miner per database)")
	fs.IntVar(&c.MaxPatterns, "pattern-max-per-project", defaultMaxPatterns, "live patterns per project; past it, messages that join none go to the overflow pattern")
	durationflag.Var(fs, &c.CompactInterval, "metric-compact-interval", defaultCompactInterval, "how often one replica merges each minute's metric rollup rows into one per key")
	c.Alerts.RegisterFlags(fs)
}

// Validate checks the settings as given.
func (c Config) Validate() error {
	var errs []error
	atLeast := func(flag string, v, minimum int) {
		if v < minimum {
			errs = append(errs, fmt.Errorf("--%s %d: must be at least %d", flag, v, minimum))
		}
	}
	positive := func(flag string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("--%s %s: must be positive", flag, durationflag.Format(d)))
		}
	}
	errs = append(errs, c.Insights.Validate(), c.LLM.Validate(), c.Alerts.Validate())
	atLeast("analysis-max-conns", c.MaxConns, 2)
	positive("analysis-max-window", c.MaxWindow)
	positive("pattern-mine-interval", c.MineInterval)
	atLeast("pattern-mine-batch", c.MineBatch, 1)
	positive("pattern-leader-retry", c.LeaderRetry)
	atLeast("pattern-max-per-project", c.MaxPatterns, 1)
	positive("metric-compact-interval", c.CompactInterval)
	return errors.Join(errs...)
}

// PoolConns is the size of the database pool the service needs (the
// miner's own connection is not in it).
func (c Config) PoolConns() int { return c.withDefaults().MaxConns }

func (c Config) withDefaults() Config {
	if c.MaxConns <= 0 {
		c.MaxConns = defaultMaxConns
	}
	if c.MaxWindow <= 0 {
		c.MaxWindow = defaultMaxWindow
	}
	if c.MineInterval <= 0 {
		c.MineInterval = defaultMineInterval
	}
	if c.MineBatch <= 0 {
		c.MineBatch = defaultMineBatch
	}
	if c.LeaderRetry <= 0 {
		c.LeaderRetry = defaultLeaderRetry
	}
	if c.CompactInterval <= 0 {
		c.CompactInterval = defaultCompactInterval
	}
	if c.MaxPatterns <= 0 {
		c.MaxPatterns = defaultMaxPatterns
	}
	if c.Retention <= 0 {
		c.Retention = defaultRetention
	}
	return c
}
