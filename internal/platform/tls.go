package platform

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/devsmith/logs/internal/durationflag"
	"github.com/devsmith/logs/internal/tlsfiles"
)

// TLSConfig is the transport security of a process (docs/deploy.md, TLS):
// with a certificate and key, the gateway's HTTP listener and every gRPC
// listener serve TLS, reloading the files when they change, and the
// process's clients of the other services dial with TLS. Without, all is
// plain, as the all-in-one on a laptop. The --metrics-addr listener stays
// plain either way (scraped on the cluster network).
type TLSConfig struct {
	CertFile string
	KeyFile  string
	// CAFile is the PEM CA the clients of the services trust; empty: the
	// system roots.
	CAFile string
	// ServerName is the name the clients check in the services'
	// certificates; empty: the host of each address dialled.
	ServerName string
	// ReloadInterval is how often, at most, the files are checked for a
	// new pair.
	ReloadInterval time.Duration
}

// Enabled reports whether TLS is configured.
func (c TLSConfig) Enabled() bool { return c.CertFile != "" }

// RegisterFlags declares the TLS settings on fs.
func (c *TLSConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.CertFile, "tls-cert", "", "PEM certificate (chain) served on the HTTP and every gRPC listener; with --tls-key turns TLS on, the services' clients too (empty: plain)")
	fs.StringVar(&c.KeyFile, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&c.CAFile, "tls-ca", "", "PEM CA certificates the process trusts when it dials the other services over TLS (empty: the system roots)")
	fs.StringVar(&c.ServerName, "tls-server-name", "", "name checked in the services' certificates when dialling them (empty: the host of each address)")
	durationflag.Var(fs, &c.ReloadInterval, "tls-reload-interval", tlsfiles.DefaultReloadInterval, "how often, at most, --tls-cert and --tls-key are checked for a change (a new pair is served without restart)")
}

// Validate checks that the certificate and key come together.
func (c TLSConfig) Validate() error {
	var errs []error
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("--tls-cert (DEVSMITH_TLS_CERT) and --tls-key (DEVSMITH_TLS_KEY) go together: set both or neither"))
	}
	if c.ReloadInterval <= 0 {
		errs = append(errs, fmt.Errorf("--tls-reload-interval %s: must be positive", durationflag.Format(c.ReloadInterval)))
	}
	return errors.Join(errs...)
}

// transport is what a process built from a TLSConfig: the server
// certificate (nil when plain) and the credentials of its gRPC clients.
type transport struct {
	cert   *tlsfiles.Reloader
	client credentials.TransportCredentials
}

func newTransport(log *zap.Logger, c TLSConfig) (*transport, error) {
	if !c.Enabled() {
		return &transport{client: insecure.NewCredentials()}, nil
	}
	cert, err := tlsfiles.NewReloader(log, c.CertFile, c.KeyFile, c.ReloadInterval)
	if err != nil {
		return nil, err
	}
	ccfg, err := tlsfiles.ClientConfig(c.CAFile, c.ServerName)
	if err != nil {
		return nil, err
	}
	return &transport{cert: cert, client: credentials.NewTLS(ccfg)}, nil
}

func (t *transport) secure() bool { return t.cert != nil }

// serverOptions are the gRPC server options of the transport.
func (t *transport) serverOptions() []grpc.ServerOption {
	if t.cert == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(t.cert.ServerConfig()))}
}
