package alerts

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"time"

	"github.com/devsmith/logs/internal/durationflag"
)

// Defaults of Config.
const (
	defaultInterval     = 15 * time.Second
	defaultRetryBase    = 2 * time.Second
	defaultRetryFor     = 24 * time.Hour
	defaultDashboardURL = "http://localhost:3000"
	// retryCap bounds one backoff delay (before jitter).
	retryCap = time.Hour
	// httpTimeout bounds one POST.
	httpTimeout = 10 * time.Second
	// deliveryWorkers POST at once per replica.
	deliveryWorkers = 4
)

// Config is the alerts' settings.
type Config struct {
	// Interval is how often every rule is evaluated.
	Interval time.Duration
	// RetryBase is the first retry's backoff ceiling; it doubles with
	// every attempt up to an hour (full jitter: a random delay below it).
	RetryBase time.Duration
	// RetryFor is how long a delivery is retried before it fails.
	RetryFor time.Duration
	// DashboardURL is the dashboard's public address, for the links in
	// notifications.
	DashboardURL string
	// SecretsKey is the base64 of the 32-byte AES-256-GCM key channel
	// secrets are stored under. Empty: channels with a secret are refused.
	SecretsKey string
}

// RegisterFlags declares the settings on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	durationflag.Var(fs, &c.Interval, "alert-interval", defaultInterval, "how often every alert rule is evaluated")
	durationflag.Var(fs, &c.RetryBase, "alert-retry-base", defaultRetryBase, "backoff before an alert delivery's first retry; doubles each attempt up to 1h, with full jitter")
	durationflag.Var(fs, &c.RetryFor, "alert-retry-for", defaultRetryFor, "how long an alert delivery is retried before it is given up")
	fs.StringVar(&c.DashboardURL, "dashboard-url", defaultDashboardURL, "public address of the dashboard, for the links in alert notifications")
	fs.StringVar(&c.SecretsKey, "secrets-key", "", "base64 of 32 random bytes: the AES-256-GCM key alert channel secrets are stored under (empty: the all-in-one on its embedded PostgreSQL keeps one in its data folder; otherwise channels with a secret are refused)")
}

// Validate checks the settings as given.
func (c Config) Validate() error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("--alert-interval %s: must be positive", durationflag.Format(c.Interval)))
	}
	if c.RetryBase <= 0 {
		errs = append(errs, fmt.Errorf("--alert-retry-base %s: must be positive", durationflag.Format(c.RetryBase)))
	}
	if c.RetryFor <= 0 {
		errs = append(errs, fmt.Errorf("--alert-retry-for %s: must be positive", durationflag.Format(c.RetryFor)))
	}
	if u, err := url.Parse(c.DashboardURL); c.DashboardURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, fmt.Errorf("--dashboard-url %q: want an http or https URL", c.DashboardURL))
	}
	if c.SecretsKey != "" {
		if _, err := parseKey(c.SecretsKey); err != nil {
			errs = append(errs, fmt.Errorf("--secrets-key (DEVSMITH_SECRETS_KEY): %w", err))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = defaultInterval
	}
	if c.RetryBase <= 0 {
		c.RetryBase = defaultRetryBase
	}
	if c.RetryFor <= 0 {
		c.RetryFor = defaultRetryFor
	}
	if c.DashboardURL == "" {
		c.DashboardURL = defaultDashboardURL
	}
	return c
}

func parseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		k, err = base64.RawURLEncoding.DecodeString(s)
	}
	if err != nil || len(k) != 32 {
		return nil, errors.New("want the base64 of exactly 32 bytes (openssl rand -base64 32)")
	}
	return k, nil
}
