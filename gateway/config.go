package gateway

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"time"

	"github.com/devsmith/logs/internal/durationflag"
)

// Defaults of Config (zero fields take them, and RegisterFlags shows them).
const (
	defaultMaxBodyBytes          = 5 << 20
	defaultTailHeartbeat         = 15 * time.Second
	defaultRequestTimeout        = 30 * time.Second
	defaultAnalysisTimeout       = 75 * time.Second
	defaultMaxInflightBatchBytes = 16 << 20
)

// Config holds the gateway's limits and switches.
type Config struct {
	// MaxBodyBytes bounds a request body after decompression (413 above),
	// so that a small gzip body cannot expand without limit.
	MaxBodyBytes int64
	// SecureCookie treats every request as HTTPS (behind a TLS-terminating
	// proxy): Secure cookies and HSTS, as a TLS connection gets anyway.
	SecureCookie bool
	// PublicURL, when set, is the origin browsers reach the dashboard at
	// (scheme and host): writes from any other Origin are refused. Unset,
	// the request's own Host is the site.
	PublicURL *url.URL
	// TailHeartbeat is how often an idle SSE stream gets a comment line.
	TailHeartbeat time.Duration
	// RequestTimeout bounds every unary API call but an analysis.
	RequestTimeout time.Duration
	// AnalysisTimeout bounds POST /api/logs/analysis: longer than the
	// analysis service's own deadline, so that its answer (a partial
	// report, DEADLINE_EXCEEDED) arrives first.
	AnalysisTimeout time.Duration
	// MaxInflightBatchBytes bounds the batch bodies (after decompression)
	// being read, decoded and ingested at once; a batch that does not fit
	// is refused with 503 and Retry-After. At least MaxBodyBytes. (A
	// decoded batch holds about twice its body.)
	MaxInflightBatchBytes int64
	// TrustedProxies are the reverse proxies (addresses and CIDR prefixes)
	// whose X-Forwarded-For names the client; from anyone else the header
	// is ignored. Empty: clients connect directly.
	TrustedProxies []netip.Prefix
}

// RegisterFlags declares the gateway's settings on fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", defaultMaxBodyBytes, "request body limit after decompression (413 above)")
	fs.BoolVar(&c.SecureCookie, "secure-cookie", false, "treat every request as HTTPS: Secure cookies and HSTS (set it behind a TLS-terminating proxy; with --tls-cert they are on anyway)")
	fs.Func("public-url", "the `URL` browsers open the dashboard at (scheme://host[:port]); cookie-authenticated writes from any other Origin are refused (empty: the request's Host)", func(s string) error {
		u, err := ParsePublicURL(s)
		if err != nil {
			return err
		}
		c.PublicURL = u
		return nil
	})
	durationflag.Var(fs, &c.TailHeartbeat, "tail-heartbeat", defaultTailHeartbeat, "how often an idle live tail (SSE) gets a comment line, so proxies keep it open")
	durationflag.Var(fs, &c.RequestTimeout, "request-timeout", defaultRequestTimeout, "time limit of every REST call but the batch ingestion and the live tail")
	durationflag.Var(fs, &c.AnalysisTimeout, "analysis-request-timeout", defaultAnalysisTimeout, "time limit of POST /api/logs/analysis at the gateway (longer than --analysis-timeout, the analysis service's own)")
	fs.Int64Var(&c.MaxInflightBatchBytes, "max-inflight-batch-bytes", defaultMaxInflightBatchBytes, "batch bodies (after decompression) being decoded and ingested at once; past it batches get 503 and Retry-After (raised to --max-body-bytes if lower)")
	fs.Func("trusted-proxies", "reverse proxies (`addresses`, CIDR prefixes; comma-separated) whose X-Forwarded-For names the client; set it behind an ingress or load balancer", func(s string) error {
		p, err := ParseTrustedProxies(s)
		if err != nil {
			return err
		}
		c.TrustedProxies = p
		return nil
	})
}

// Validate checks the settings as given.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBodyBytes < 1 {
		errs = append(errs, fmt.Errorf("--max-body-bytes %d: must be at least 1", c.MaxBodyBytes))
	}
	if c.TailHeartbeat <= 0 {
		errs = append(errs, fmt.Errorf("--tail-heartbeat %s: must be positive", durationflag.Format(c.TailHeartbeat)))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--request-timeout %s: must be positive", durationflag.Format(c.RequestTimeout)))
	}
	if c.AnalysisTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--analysis-request-timeout %s: must be positive", durationflag.Format(c.AnalysisTimeout)))
	}
	if c.MaxInflightBatchBytes < 1 {
		errs = append(errs, fmt.Errorf("--max-inflight-batch-bytes %d: must be at least 1", c.MaxInflightBatchBytes))
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.TailHeartbeat <= 0 {
		c.TailHeartbeat = defaultTailHeartbeat
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = defaultRequestTimeout
	}
	if c.AnalysisTimeout <= 0 {
		c.AnalysisTimeout = defaultAnalysisTimeout
	}
	if c.MaxInflightBatchBytes <= 0 {
		c.MaxInflightBatchBytes = defaultMaxInflightBatchBytes
	}
	c.MaxInflightBatchBytes = max(c.MaxInflightBatchBytes, c.MaxBodyBytes)
}

// ParsePublicURL parses --public-url: an absolute http or https URL whose
// path, if any, is ignored.
func ParsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want an absolute http:// or https:// URL such as https://logs.example.com")
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}
