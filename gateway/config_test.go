package gateway

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The flags' defaults are the defaults of a zero Config, and valid.
func TestRegisterFlags(t *testing.T) {
	t.Parallel()
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	d := Config{}
	d.setDefaults()
	require.Equal(t, d, c)
	require.NoError(t, c.Validate())
	require.Equal(t, "15s", fs.Lookup("tail-heartbeat").DefValue)
	require.NoError(t, fs.Parse([]string{"--secure-cookie", "--request-timeout=5s", "--tail-heartbeat=1m", "--max-body-bytes=100", "--max-inflight-batch-bytes=1000", "--trusted-proxies=10.0.0.0/8,127.0.0.1"}))
	require.True(t, c.SecureCookie)
	require.Equal(t, 5*time.Second, c.RequestTimeout)
	require.Equal(t, time.Minute, c.TailHeartbeat)
	require.Equal(t, int64(100), c.MaxBodyBytes)
	require.Equal(t, int64(1000), c.MaxInflightBatchBytes)
	require.Equal(t, "[10.0.0.0/8 127.0.0.1/32]", fmt.Sprint(c.TrustedProxies))
	require.ErrorContains(t, fs.Parse([]string{"--trusted-proxies=ingress"}), "invalid IP address or CIDR prefix: ingress")
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := Config{}
	valid.setDefaults()
	for want, edit := range map[string]func(*Config){
		"--max-body-bytes 0: must be at least 1":           func(c *Config) { c.MaxBodyBytes = 0 },
		"--tail-heartbeat 0s: must be positive":            func(c *Config) { c.TailHeartbeat = 0 },
		"--request-timeout -1s: must be positive":          func(c *Config) { c.RequestTimeout = -time.Second },
		"--max-inflight-batch-bytes 0: must be at least 1": func(c *Config) { c.MaxInflightBatchBytes = 0 },
	} {
		c := valid
		edit(&c)
		require.ErrorContains(t, c.Validate(), want)
	}
}
