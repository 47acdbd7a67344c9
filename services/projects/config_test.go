package projects

import (
	"flag"
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
	want := Config{}.withDefaults()
	want.DefaultRetention = 0 // not a flag of the service: the process hands it over
	require.Equal(t, want, c)
	require.NoError(t, c.Validate())
	require.Equal(t, "7d", fs.Lookup("session-ttl").DefValue)
	require.NoError(t, fs.Parse([]string{"--session-ttl=12h", "--bcrypt-cost=4", "--login-failures=3", "--login-window=30s", "--login-lockout=2m", "--login-slowdown=10ms", "--audit-retention=90d", "--projects-max-conns=6", "--retention-max=90d", "--admin-email=a@b.c", "--admin-password=pw"}))
	require.Equal(t, Config{SessionTTL: 12 * time.Hour, BcryptCost: 4, LoginFailures: 3, LoginWindow: 30 * time.Second, LoginLockout: 2 * time.Minute, LoginSlowdown: 10 * time.Millisecond, AuditRetention: 90 * 24 * time.Hour, MaxConns: 6, RetentionMax: 90 * 24 * time.Hour, AdminEmail: "a@b.c", AdminPassword: "pw"}, c)
	require.NoError(t, c.Validate())
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := Config{}.withDefaults()
	for want, edit := range map[string]func(*Config){
		"--session-ttl 0s: must be positive":                    func(c *Config) { c.SessionTTL = 0 },
		"--admin-email and --admin-password":                    func(c *Config) { c.AdminEmail = "a@b.c" },
		"--bcrypt-cost 3: must be between 4 and 31":             func(c *Config) { c.BcryptCost = 3 },
		"--bcrypt-cost 32: must be between 4 and 31":            func(c *Config) { c.BcryptCost = 32 },
		"--login-failures 0: must be at least 1":                func(c *Config) { c.LoginFailures = 0 },
		"--login-window 0s: must be positive":                   func(c *Config) { c.LoginWindow = 0 },
		"--login-lockout 0s: must be positive":                  func(c *Config) { c.LoginLockout = 0 },
		"--login-slowdown 2m: at most 1m":                       func(c *Config) { c.LoginSlowdown = 2 * time.Minute },
		"--audit-retention 30d: too short, at least 31d":        func(c *Config) { c.AuditRetention = 30 * 24 * time.Hour },
		"--projects-max-conns 1: must be at least 2":            func(c *Config) { c.MaxConns = 1 },
		"--retention-max 12h: must be between 1d and 32767d":    func(c *Config) { c.RetentionMax = 12 * time.Hour },
		"--retention-max 32768d: must be between 1d and 32767d": func(c *Config) { c.RetentionMax = 32768 * 24 * time.Hour },
		"--retention-max 36h: must be whole days":               func(c *Config) { c.RetentionMax = 36 * time.Hour },
	} {
		c := valid
		edit(&c)
		require.ErrorContains(t, c.Validate(), want)
	}
}
