// Package tlsfiles provides the TLS settings of the platform's listeners
// and clients from PEM files: a server certificate that is re-read when its
// files change (no restart), and the client side that trusts a private CA
// or the system roots.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// DefaultReloadInterval is how often, at most, the certificate files are
// checked for a change.
const DefaultReloadInterval = 5 * time.Second

// stamp identifies one version of the certificate and key files.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// Reloader serves a certificate and key pair read from files and re-reads
// them when their modification time or size changes, checked at most every
// interval, during a handshake. A new pair that does not load (a key that
// does not match, a file half written) keeps the pair in use and is logged;
// it is tried again once the files change again.
type Reloader struct {
	log      *zap.Logger
	certFile string
	keyFile  string
	interval time.Duration
	now      func() time.Time

	cert atomic.Pointer[tls.Certificate]

	mu        sync.Mutex // held by the check in progress
	loaded    stamp      // of the pair in cert
	tried     stamp      // of the last pair that failed to load
	nextCheck time.Time
}

// NewReloader loads the pair once; an error names the file that failed.
// interval <= 0 takes DefaultReloadInterval.
func NewReloader(log *zap.Logger, certFile, keyFile string, interval time.Duration) (*Reloader, error) {
	if interval <= 0 {
		interval = DefaultReloadInterval
	}
	r := &Reloader{log: log, certFile: certFile, keyFile: keyFile, interval: interval, now: time.Now}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	cert, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cert.Store(cert)
	r.loaded = st
	r.nextCheck = r.now().Add(interval)
	return r, nil
}

func (r *Reloader) stat() (stamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return stamp{}, fmt.Errorf("reading the TLS certificate %s: %w", r.certFile, err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return stamp{}, fmt.Errorf("reading the TLS key %s: %w", r.keyFile, err)
	}
	return stamp{certMod: c.ModTime(), certSize: c.Size(), keyMod: k.ModTime(), keySize: k.Size()}, nil
}

func (r *Reloader) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	return &cert, nil
}

// GetCertificate is tls.Config.GetCertificate: the pair in use, after
// re-reading the files if they changed since the last check.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.maybeReload()
	return r.cert.Load(), nil
}

// Certificate is the pair in use (without checking the files).
func (r *Reloader) Certificate() *tls.Certificate { return r.cert.Load() }

func (r *Reloader) maybeReload() {
	// A handshake never waits for another's check: it serves the pair in
	// use.
	if !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	now := r.now()
	if now.Before(r.nextCheck) {
		return
	}
	r.nextCheck = now.Add(r.interval)
	st, err := r.stat()
	if err != nil {
		if st != r.tried {
			r.log.Error("TLS certificate files unreadable; serving the previous certificate", zap.Error(err))
		}
		r.tried = st
		return
	}
	if st == r.loaded || st == r.tried {
		return
	}
	cert, err := r.load()
	if err != nil {
		r.tried = st
		r.log.Error("new TLS certificate does not load; serving the previous one", zap.Error(err))
		return
	}
	r.cert.Store(cert)
	r.loaded = st
	r.tried = stamp{}
	r.log.Info("TLS certificate reloaded", zap.String("cert_file", r.certFile), zap.Time("not_after", notAfter(cert)))
}

func notAfter(c *tls.Certificate) time.Time {
	if c.Leaf != nil {
		return c.Leaf.NotAfter
	}
	if len(c.Certificate) == 0 {
		return time.Time{}
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return time.Time{}
	}
	return leaf.NotAfter
}

// ServerConfig is the TLS configuration of a listener serving r's
// certificate: TLS 1.2 at least.
func (r *Reloader) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// ClientConfig is the TLS configuration of a client of the platform's
// services: it trusts the CA certificates in caFile (PEM) when given, the
// system roots otherwise, and checks the server's name against serverName
// when given, the host of the address dialled otherwise.
func ClientConfig(caFile, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading the TLS CA file %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("TLS CA file " + caFile + " holds no PEM certificate")
	}
	cfg.RootCAs = pool
	return cfg, nil
}
