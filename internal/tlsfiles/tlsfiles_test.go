package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/devsmith/logs/internal/testcert"
)

func serialOf(t *testing.T, c *tls.Certificate) *big.Int {
	t.Helper()
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	require.NoError(t, err)
	return leaf.SerialNumber
}

func TestReloaderServesTheNewPairAfterTheInterval(t *testing.T) {
	ca, err := testcert.NewCA("test CA")
	require.NoError(t, err)
	dir := t.TempDir()
	first, err := ca.Issue("localhost", "127.0.0.1")
	require.NoError(t, err)
	certFile, keyFile, err := first.Write(dir)
	require.NoError(t, err)

	core, logs := observer.New(zap.InfoLevel)
	r, err := NewReloader(zap.New(core), certFile, keyFile, 5*time.Second)
	require.NoError(t, err)
	clock := time.Now()
	r.now = func() time.Time { return clock }
	r.nextCheck = clock.Add(5 * time.Second)

	got, err := r.GetCertificate(nil)
	require.NoError(t, err)
	require.Equal(t, first.Serial, serialOf(t, got))

	second, err := ca.Issue("localhost", "127.0.0.1")
	require.NoError(t, err)
	_, _, err = second.Write(dir)
	require.NoError(t, err)

	// Within the interval the files are not looked at.
	clock = clock.Add(4 * time.Second)
	got, _ = r.GetCertificate(nil)
	require.Equal(t, first.Serial, serialOf(t, got), "checked before the interval passed")

	clock = clock.Add(2 * time.Second)
	got, _ = r.GetCertificate(nil)
	require.Equal(t, second.Serial, serialOf(t, got), "new pair not served after the interval")
	require.Equal(t, 1, logs.FilterMessage("TLS certificate reloaded").Len())
}

func TestReloaderKeepsTheOldPairWhenTheNewOneIsBroken(t *testing.T) {
	ca, err := testcert.NewCA("test CA")
	require.NoError(t, err)
	dir := t.TempDir()
	first, err := ca.Issue("localhost")
	require.NoError(t, err)
	certFile, keyFile, err := first.Write(dir)
	require.NoError(t, err)
	core, logs := observer.New(zap.InfoLevel)
	r, err := NewReloader(zap.New(core), certFile, keyFile, time.Second)
	require.NoError(t, err)
	clock := time.Now()
	r.now = func() time.Time { return clock }

	// A certificate whose key is another's: the pair does not match.
	other, err := ca.Issue("localhost")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(certFile, other.CertPEM, 0o644))
	for range 3 {
		clock = clock.Add(2 * time.Second)
		got, err := r.GetCertificate(nil)
		require.NoError(t, err)
		require.Equal(t, first.Serial, serialOf(t, got), "a broken pair replaced the good one")
	}
	// Logged once, not on every check.
	require.Equal(t, 1, logs.FilterMessage("new TLS certificate does not load; serving the previous one").Len())

	// Completing the pair (the key arrives) is picked up.
	require.NoError(t, os.WriteFile(keyFile, other.KeyPEM, 0o600))
	clock = clock.Add(2 * time.Second)
	got, _ := r.GetCertificate(nil)
	require.Equal(t, other.Serial, serialOf(t, got))
}

func TestNewReloaderNamesTheMissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := NewReloader(zap.NewNop(), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), 0)
	require.ErrorContains(t, err, "cert.pem")
}

func TestClientConfigTrustsTheCAAndChecksTheName(t *testing.T) {
	ca, err := testcert.NewCA("test CA")
	require.NoError(t, err)
	dir := t.TempDir()
	leaf, err := ca.Issue("127.0.0.1")
	require.NoError(t, err)
	certFile, keyFile, err := leaf.Write(dir)
	require.NoError(t, err)
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ca.PEM, 0o644))

	r, err := NewReloader(zap.NewNop(), certFile, keyFile, 0)
	require.NoError(t, err)
	lis, err := tls.Listen("tcp", "127.0.0.1:0", r.ServerConfig())
	require.NoError(t, err)
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()

	dial := func(cfg *tls.Config) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", lis.Addr().String(), cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	cfg, err := ClientConfig(caFile, "")
	require.NoError(t, err)
	require.NoError(t, dial(cfg), "the CA's certificate for 127.0.0.1 is trusted")

	cfg, err = ClientConfig(caFile, "db.example.com")
	require.NoError(t, err)
	require.ErrorContains(t, dial(cfg), "db.example.com", "a name the certificate does not carry is refused")

	cfg, err = ClientConfig("", "")
	require.NoError(t, err)
	require.Error(t, dial(cfg), "the system roots do not trust a private CA")

	require.NoError(t, os.WriteFile(caFile, []byte("not pem"), 0o644))
	_, err = ClientConfig(caFile, "")
	require.ErrorContains(t, err, "no PEM certificate")
}
