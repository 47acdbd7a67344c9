package platform

import (
	"context"
	"flag"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

func TestMain(m *testing.M) { pgtest.Main(m, &cluster) }

func parse(t *testing.T, env map[string]string, args ...string) Config {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	require.NoError(t, fs.Parse(args))
	return c
}

func TestConfig(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		check   func(*testing.T, Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			require.Equal(t, TargetAll, c.Target)
			require.Equal(t, ":3000", c.HTTPAddr)
			require.Equal(t, 30*24*time.Hour, c.Retention)
			require.Equal(t, "./data", c.DataDir)
		}},
		{name: "env and day durations", env: map[string]string{"DEVSMITH_RETENTION": "7d", "DEVSMITH_HTTP_ADDR": ":4000"}, check: func(t *testing.T, c Config) {
			require.Equal(t, 7*24*time.Hour, c.Retention)
			require.Equal(t, ":4000", c.HTTPAddr)
		}},
		{name: "flag wins over env", env: map[string]string{"DEVSMITH_RETENTION": "7d"}, args: []string{"--retention=48h"}, check: func(t *testing.T, c Config) {
			require.Equal(t, 48*time.Hour, c.Retention)
		}},
		{name: "bad env value is named", env: map[string]string{"DEVSMITH_RETENTION": "forever"}, wantErr: "DEVSMITH_RETENTION"},
		{name: "bad env number is named", env: map[string]string{"DEVSMITH_MAX_BATCH_ENTRIES": "many"}, wantErr: "DEVSMITH_MAX_BATCH_ENTRIES"},
		{name: "unknown target", args: []string{"--target=everything"}, wantErr: "--target"},
		{name: "single service needs a database", args: []string{"--target=query"}, wantErr: "DATABASE_URL"},
		{name: "single service needs the service token", env: map[string]string{"DATABASE_URL": "postgres://x"}, args: []string{"--target=ingestion"}, wantErr: "DEVSMITH_SERVICE_TOKEN"},
		{name: "gateway needs the service token", args: []string{"--target=gateway"}, wantErr: "DEVSMITH_SERVICE_TOKEN"},
		{name: "trusted proxies", env: map[string]string{"DEVSMITH_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5"}, check: func(t *testing.T, c Config) {
			require.Equal(t, "[10.0.0.0/8 192.168.1.5/32]", fmt.Sprint(c.TrustedProxies))
		}},
		{name: "bad trusted proxy is named", env: map[string]string{"DEVSMITH_TRUSTED_PROXIES": "10.0.0.0/8, ingress"}, wantErr: "DEVSMITH_TRUSTED_PROXIES: invalid IP address or CIDR prefix: ingress"},
		{name: "admin needs both", env: map[string]string{"DEVSMITH_ADMIN_EMAIL": "a@b.c"}, wantErr: "DEVSMITH_ADMIN_PASSWORD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := parse(t, c.env, c.args...)
			err := cfg.Validate()
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			c.check(t, cfg)
		})
	}
}

// A process that cannot bind its HTTP port fails with an error naming the
// address, and undoes what it had started.
func TestStartFailsCleanlyWhenThePortIsTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cfg := parse(t, map[string]string{
		"DATABASE_URL":            cluster.NewDatabase(t),
		"DEVSMITH_HTTP_ADDR":      busy.Addr().String(),
		"DEVSMITH_PROJECTS_ADDR":  "127.0.0.1:0",
		"DEVSMITH_INGESTION_ADDR": "127.0.0.1:0",
		"DEVSMITH_QUERY_ADDR":     "127.0.0.1:0",
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := Start(ctx, zaptest.NewLogger(t), cfg)
	require.ErrorContains(t, err, busy.Addr().String())
	require.Nil(t, p)
}
