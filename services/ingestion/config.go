package ingestion

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/devsmith/logs/internal/durationflag"
	"github.com/devsmith/logs/internal/ratelimit"
)

// Defaults of Config (zero fields take them, and RegisterFlags shows them).
const (
	defaultRetention           = 30 * 24 * time.Hour
	defaultMaxEntries          = 10_000
	defaultMaxMessageBytes     = 32 << 10
	defaultMaxContextBytes     = 64 << 10
	defaultMaintenanceInterval = time.Hour
	defaultQueueRows           = 50_000
	defaultQueueBytes          = 64 << 20
	// spareConns are the pool connections beyond the writers': maintenance,
	// the tail journal pruning, and a spare.
	spareConns = 4
)

// Config tunes the service; zero fields take their defaults.
type Config struct {
	Retention           time.Duration // entries older than this are refused, their partitions dropped
	MaxEntries          int           // entries per batch
	MaxMessageBytes     int           // longer messages are truncated
	MaxContextBytes     int           // larger contexts are truncated
	MaintenanceInterval time.Duration // partitions ahead + retention drop + batch-id cleanup
	Writers             int           // concurrent group-commit writers (connections); 0: the CPUs (GOMAXPROCS) between 2 and 8
	QueueRows           int           // rows waiting to be written before new batches are refused (503 with Retry-After); the default is about a second of peak load
	QueueBytes          int           // message and context bytes waiting, likewise bounded
	// MaxConns sizes the service's own database pool; 0: Writers + 4.
	// It must leave Writers + 2 (writers, maintenance, spare).
	MaxConns int
	// ServiceToken is the service credential (set by the platform, not a
	// flag): a caller carrying it (the gateway) is believed about the
	// client address it forwards, which key uses are reported with.
	ServiceToken string
	// MetricFields are the top-level context fields summarised into metric
	// rollups (docs/metrics.md); nil: defaultMetricFields, empty: none.
	MetricFields []string
	// MetricDimensions are the context keys a rollup is keyed by, besides
	// the service; nil: defaultMetricDimensions.
	MetricDimensions []string
	// ArchiveDir, when not empty, is the folder expiring partitions are
	// archived to before they are dropped (archive.go, docs/export.md).
	ArchiveDir string
	// RateLimit are the platform's rate limits (docs/rate-limits.md). The
	// process registers their flags once (--rate-limit-*, internal/platform)
	// and sets them here; the zero value is unlimited.
	RateLimit ratelimit.Config
}

// defaultMetricFields and defaultMetricDimensions are the summarised
// fields and dimensions by default: the keys the sample middlewares
// (Express, Flask, Gin) send with every request.
func defaultMetricFields() []string     { return []string{"duration_ms"} }
func defaultMetricDimensions() []string { return []string{"route", "method", "status"} }

const (
	// maxMetricFields bounds --metric-fields (a sample's field index is a
	// byte, and each field costs a substring search per entry).
	maxMetricFields = 8
	// maxMetricDimensions bounds --metric-dimensions (each multiplies the
	// keys of a minute).
	maxMetricDimensions = 6
)

// listFlag is a comma-separated list of names; "" is the empty list.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	out := []string{}
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.TrimPrefix(p, "context."))
		}
	}
	*l.v = out
	return nil
}

// RegisterFlags declares the service's settings on fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	durationflag.Var(fs, &c.Retention, "retention", defaultRetention, "the default retention, of projects without their own: their entries older than this are refused and their partitions dropped (at least 1h)")
	durationflag.Var(fs, &c.MaintenanceInterval, "maintenance-interval", defaultMaintenanceInterval, "how often partitions are created ahead, expired ones dropped and entries past a shortened retention purged")
	fs.StringVar(&c.ArchiveDir, "archive-dir", "", "folder where each expiring partition is archived (gzip-compressed JSON lines, export's format) before it is dropped; empty: dropped unarchived")
	fs.IntVar(&c.MaxEntries, "max-batch-entries", defaultMaxEntries, "entries per batch (413 above)")
	fs.IntVar(&c.MaxMessageBytes, "max-message-bytes", defaultMaxMessageBytes, "longer messages are truncated and marked _truncated")
	fs.IntVar(&c.MaxContextBytes, "max-context-bytes", defaultMaxContextBytes, "larger contexts are truncated and marked _truncated")
	fs.IntVar(&c.Writers, "ingestion-writers", 0, "concurrent group-commit writers, one database connection each (0: the CPUs, between 2 and 8)")
	fs.IntVar(&c.QueueRows, "ingestion-queue-rows", defaultQueueRows, "entries waiting to be written before new batches are refused with 503 and Retry-After")
	fs.IntVar(&c.QueueBytes, "ingestion-queue-bytes", defaultQueueBytes, "message and context bytes waiting to be written before new batches are refused")
	fs.IntVar(&c.MaxConns, "ingestion-max-conns", 0, "database connections of the ingestion service's pool (0: writers + 4; at least writers + 2)")
	if c.MetricFields == nil {
		c.MetricFields = defaultMetricFields()
	}
	if c.MetricDimensions == nil {
		c.MetricDimensions = defaultMetricDimensions()
	}
	fs.Var(listFlag{&c.MetricFields}, "metric-fields", "numeric top-level context fields summarised at ingest into per-minute percentile rollups (comma-separated; empty: none)")
	fs.Var(listFlag{&c.MetricDimensions}, "metric-dimensions", "context keys the metric rollups are grouped by, besides the service (comma-separated, at most 6)")
}

// Validate checks the settings as given (zero stands for "automatic" only
// where the flag says so).
func (c Config) Validate() error {
	var errs []error
	atLeast := func(flag string, v, minimum int) {
		if v < minimum {
			errs = append(errs, fmt.Errorf("--%s %d: must be at least %d", flag, v, minimum))
		}
	}
	if c.Retention < time.Hour {
		errs = append(errs, fmt.Errorf("--retention %s: too short, at least 1h", durationflag.Format(c.Retention)))
	}
	if c.MaintenanceInterval <= 0 {
		errs = append(errs, fmt.Errorf("--maintenance-interval %s: must be positive", durationflag.Format(c.MaintenanceInterval)))
	}
	atLeast("max-batch-entries", c.MaxEntries, 1)
	atLeast("max-message-bytes", c.MaxMessageBytes, 1)
	atLeast("max-context-bytes", c.MaxContextBytes, 1)
	atLeast("ingestion-writers", c.Writers, 0)
	atLeast("ingestion-queue-rows", c.QueueRows, 1)
	atLeast("ingestion-queue-bytes", c.QueueBytes, 1)
	if c.ArchiveDir != "" {
		if err := checkArchiveDir(c.ArchiveDir); err != nil {
			errs = append(errs, fmt.Errorf("--archive-dir (DEVSMITH_ARCHIVE_DIR) %q: %w", c.ArchiveDir, err))
		}
	}
	errs = append(errs, c.RateLimit.Validate())
	if c.MaxConns != 0 {
		atLeast("ingestion-max-conns", c.MaxConns, c.withDefaults().Writers+2)
	}
	if len(c.MetricFields) > maxMetricFields {
		errs = append(errs, fmt.Errorf("--metric-fields: %d fields, at most %d", len(c.MetricFields), maxMetricFields))
	}
	if len(c.MetricDimensions) > maxMetricDimensions {
		errs = append(errs, fmt.Errorf("--metric-dimensions: %d keys, at most %d", len(c.MetricDimensions), maxMetricDimensions))
	}
	for _, l := range []struct {
		flag  string
		names []string
	}{{"metric-fields", c.MetricFields}, {"metric-dimensions", c.MetricDimensions}} {
		seen := map[string]bool{}
		for _, n := range l.names {
			if seen[n] || n == "service_name" || strings.ContainsRune(n, 0) {
				errs = append(errs, fmt.Errorf("--%s: %q is repeated or reserved", l.flag, n))
			}
			seen[n] = true
		}
	}
	return errors.Join(errs...)
}

// PoolConns is the size of the database pool the service needs.
func (c Config) PoolConns() int {
	c = c.withDefaults()
	return c.MaxConns
}

func (c Config) withDefaults() Config {
	if c.Retention <= 0 {
		c.Retention = defaultRetention
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = defaultMaxEntries
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = defaultMaxMessageBytes
	}
	if c.MaxContextBytes <= 0 {
		c.MaxContextBytes = defaultMaxContextBytes
	}
	if c.MaintenanceInterval <= 0 {
		c.MaintenanceInterval = defaultMaintenanceInterval
	}
	if c.Writers <= 0 {
		// One writer per CPU keeps PostgreSQL's cores busy while every
		// group stays as large as possible: fewer, larger transactions cost
		// PostgreSQL less per row. Measured on 2 cores (16 REST clients,
		// 100-entry batches): 1 writer 69-70k logs/s, 2 writers 78-80k,
		// 3 writers 75k, 4 writers 69-73k (docs/performance.md).
		c.Writers = min(max(runtime.GOMAXPROCS(0), 2), 8)
	}
	if c.QueueRows <= 0 {
		c.QueueRows = defaultQueueRows
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = defaultQueueBytes
	}
	if c.MaxConns <= 0 {
		c.MaxConns = c.Writers + spareConns
	}
	if c.MetricFields == nil {
		c.MetricFields = defaultMetricFields()
	}
	if c.MetricDimensions == nil {
		c.MetricDimensions = defaultMetricDimensions()
	}
	return c
}
