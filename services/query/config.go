package query

import (
	"errors"
	"flag"
	"fmt"

	"github.com/devsmith/logs/internal/ratelimit"
)

// Defaults of Config (zero fields take them, and RegisterFlags shows them).
const (
	defaultMaxPageSize     = 1000
	defaultDefaultPageSize = 100
	defaultSearchCountCap  = 10000
	defaultTailBuffer      = 1000
	defaultMaxConns        = 16
)

// Config bounds what one call may ask for, and the service's database pool.
type Config struct {
	// MaxPageSize caps ListEntries' and ListServices' page_size; larger
	// values are coerced.
	MaxPageSize int
	// DefaultPageSize is the page size when the request gives none (at most
	// MaxPageSize).
	DefaultPageSize int
	// SearchCountCap: with q, total_size counts at most this many matches
	// (then total_size_exact is false).
	SearchCountCap int
	// TailBuffer bounds, per tail subscriber, the journal reads waiting to be
	// read (past it the stream ends with ResourceExhausted) and the entries
	// read into memory at once.
	TailBuffer int
	// MaxConns sizes the service's own database pool: the reads running at
	// once (the tail listener has a connection of its own besides).
	MaxConns int
	// ServiceToken is the service credential (set by the platform, not a
	// flag): a caller carrying it (the gateway) is believed about the
	// client address it forwards, which key uses are reported with.
	ServiceToken string
	// RateLimit are the platform's rate limits, which hold the query API's
	// read keys (docs/rate-limits.md). The process registers their flags
	// once (--rate-limit-*, internal/platform) and sets them here; the zero
	// value is unlimited.
	RateLimit ratelimit.Config
}

// RegisterFlags declares the service's settings on fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.MaxPageSize, "max-page-size", defaultMaxPageSize, "largest page_size of an entries or services listing (larger ones are coerced)")
	fs.IntVar(&c.DefaultPageSize, "default-page-size", defaultDefaultPageSize, "page size of an entries or services listing that gives none (at most --max-page-size)")
	fs.IntVar(&c.SearchCountCap, "search-count-cap", defaultSearchCountCap, "with a text search, total_size counts at most this many matches")
	fs.IntVar(&c.TailBuffer, "tail-buffer", defaultTailBuffer, "journal reads a live tail may fall behind by before it is ended (and entries read into memory at once)")
	fs.IntVar(&c.MaxConns, "query-max-conns", defaultMaxConns, "database connections of the query service's pool (at least 2)")
}

// Validate checks the settings as given.
func (c Config) Validate() error {
	var errs []error
	atLeast := func(flag string, v, minimum int) {
		if v < minimum {
			errs = append(errs, fmt.Errorf("--%s %d: must be at least %d", flag, v, minimum))
		}
	}
	atLeast("max-page-size", c.MaxPageSize, 1)
	atLeast("default-page-size", c.DefaultPageSize, 1)
	if c.DefaultPageSize > c.MaxPageSize && c.MaxPageSize >= 1 {
		errs = append(errs, fmt.Errorf("--default-page-size %d: larger than --max-page-size %d", c.DefaultPageSize, c.MaxPageSize))
	}
	atLeast("search-count-cap", c.SearchCountCap, 1)
	atLeast("tail-buffer", c.TailBuffer, 1)
	atLeast("query-max-conns", c.MaxConns, 2)
	errs = append(errs, c.RateLimit.Validate())
	return errors.Join(errs...)
}

// PoolConns is the size of the database pool the service needs.
func (c Config) PoolConns() int { return c.withDefaults().MaxConns }

func (c Config) withDefaults() Config {
	if c.MaxPageSize <= 0 {
		c.MaxPageSize = defaultMaxPageSize
	}
	if c.DefaultPageSize <= 0 {
		c.DefaultPageSize = defaultDefaultPageSize
	}
	if c.DefaultPageSize > c.MaxPageSize {
		c.DefaultPageSize = c.MaxPageSize
	}
	if c.SearchCountCap <= 0 {
		c.SearchCountCap = defaultSearchCountCap
	}
	if c.TailBuffer <= 0 {
		c.TailBuffer = defaultTailBuffer
	}
	if c.MaxConns <= 0 {
		c.MaxConns = defaultMaxConns
	}
	return c
}
