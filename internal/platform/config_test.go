package platform

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// parse registers the flags and parses args and env (a map standing in for
// the environment).
func parse(env map[string]string, args ...string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(bytes.NewBuffer(nil))
	c.RegisterFlags(fs)
	err := Parse(fs, args, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	return c, err
}

func TestConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		parseErr string // from Parse
		wantErr  string // from Validate
		check    func(*testing.T, Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			require.Equal(t, TargetAll, c.Target)
			require.Equal(t, ":3000", c.HTTPAddr)
			require.Equal(t, 30*24*time.Hour, c.Ingestion.Retention)
			require.Equal(t, 10000, c.Ingestion.MaxEntries)
			require.Equal(t, "./data", c.DataDir)
			require.Equal(t, 5*time.Second, c.ShutdownDrainDelay)
			require.Equal(t, 7*24*time.Hour, c.Projects.SessionTTL)
			require.Equal(t, int64(5<<20), c.Gateway.MaxBodyBytes)
			require.Equal(t, 1000, c.Query.MaxPageSize)
		}},
		{name: "TLS settings by env", env: map[string]string{
			"DEVSMITH_TLS_CERT": "/tls/cert.pem", "DEVSMITH_TLS_KEY": "/tls/key.pem", "DEVSMITH_TLS_CA": "/tls/ca.pem",
			"DEVSMITH_TLS_SERVER_NAME": "svc.internal", "DEVSMITH_TLS_RELOAD_INTERVAL": "1s", "DEVSMITH_PUBLIC_URL": "https://logs.example.com/x",
		}, check: func(t *testing.T, c Config) {
			require.Equal(t, TLSConfig{CertFile: "/tls/cert.pem", KeyFile: "/tls/key.pem", CAFile: "/tls/ca.pem", ServerName: "svc.internal", ReloadInterval: time.Second}, c.TLS)
			require.True(t, c.TLS.Enabled())
			require.Equal(t, "https://logs.example.com", c.Gateway.PublicURL.String())
		}},
		{name: "TLS off by default", check: func(t *testing.T, c Config) {
			require.False(t, c.TLS.Enabled())
			require.Equal(t, 5*time.Second, c.TLS.ReloadInterval)
			require.Nil(t, c.Gateway.PublicURL)
		}},
		{name: "a certificate without its key", env: map[string]string{"DEVSMITH_TLS_CERT": "/tls/cert.pem"},
			wantErr: "--tls-cert (DEVSMITH_TLS_CERT) and --tls-key (DEVSMITH_TLS_KEY) go together"},
		{name: "a public URL that is not one", args: []string{"--public-url=logs.example.com"},
			parseErr: "absolute http:// or https:// URL"},
		{name: "env and day durations", env: map[string]string{"DEVSMITH_RETENTION": "7d", "DEVSMITH_HTTP_ADDR": ":4000"}, check: func(t *testing.T, c Config) {
			require.Equal(t, 7*24*time.Hour, c.Ingestion.Retention)
			require.Equal(t, 7*24*time.Hour, c.withRetention().Analysis.Retention, "the analysis service expires rollups with the same default")
			require.Equal(t, ":4000", c.HTTPAddr)
		}},
		{name: "every component is reachable by env", env: map[string]string{
			"DEVSMITH_INGESTION_WRITERS": "3", "DEVSMITH_INGESTION_QUEUE_ROWS": "777", "DEVSMITH_QUERY_MAX_CONNS": "9",
			"DEVSMITH_TAIL_BUFFER": "55", "DEVSMITH_REQUEST_TIMEOUT": "12s", "DEVSMITH_SECURE_COOKIE": "true",
			"DEVSMITH_BCRYPT_COST": "4", "DEVSMITH_LOGIN_WINDOW": "2m", "DEVSMITH_SHUTDOWN_DRAIN_DELAY": "0",
			"DATABASE_URL": "postgres://db/x",
		}, check: func(t *testing.T, c Config) {
			require.Equal(t, 3, c.Ingestion.Writers)
			require.Equal(t, 777, c.Ingestion.QueueRows)
			require.Equal(t, 9, c.Query.MaxConns)
			require.Equal(t, 55, c.Query.TailBuffer)
			require.Equal(t, 12*time.Second, c.Gateway.RequestTimeout)
			require.True(t, c.Gateway.SecureCookie)
			require.Equal(t, 4, c.Projects.BcryptCost)
			require.Equal(t, 2*time.Minute, c.Projects.LoginWindow)
			require.Zero(t, c.ShutdownDrainDelay)
			require.Equal(t, "postgres://db/x", c.DatabaseURL)
		}},
		{name: "the analysis service is reachable by env", env: map[string]string{
			"DEVSMITH_ANALYSIS_MAX_CONNS": "5", "DEVSMITH_PATTERN_MINE_INTERVAL": "250ms", "DEVSMITH_PATTERN_MAX_PER_PROJECT": "100",
			"DEVSMITH_ANALYSIS_MAX_WINDOW": "7d", "DEVSMITH_ANALYSIS_REQUEST_TIMEOUT": "2m", "DEVSMITH_ANALYSIS_ADDR": "analysis:9104",
		}, check: func(t *testing.T, c Config) {
			require.Equal(t, 5, c.Analysis.MaxConns)
			require.Equal(t, 250*time.Millisecond, c.Analysis.MineInterval)
			require.Equal(t, 100, c.Analysis.MaxPatterns)
			require.Equal(t, 7*24*time.Hour, c.Analysis.MaxWindow)
			require.Equal(t, 2*time.Minute, c.Gateway.AnalysisTimeout)
			require.Equal(t, "analysis:9104", c.AnalysisAddr)
		}},
		{name: "the gateway waits for an analysis longer than its deadline", args: []string{"--analysis-timeout=2m"}, wantErr: "--analysis-request-timeout 1m15s: must be longer than --analysis-timeout 2m"},
		{name: "analysis service alone needs a database", args: []string{"--target=analysis"}, wantErr: "DATABASE_URL"},
		{name: "bad analysis setting is named", args: []string{"--pattern-mine-batch=0"}, wantErr: "--pattern-mine-batch 0: must be at least 1"},
		{name: "flag wins over env", env: map[string]string{"DEVSMITH_RETENTION": "7d"}, args: []string{"--retention=48h"}, check: func(t *testing.T, c Config) {
			require.Equal(t, 48*time.Hour, c.Ingestion.Retention)
		}},
		{name: "flag wins over an invalid env", env: map[string]string{"DEVSMITH_RETENTION": "forever", "DEVSMITH_MAX_BATCH_ENTRIES": "many", "DEVSMITH_TRUSTED_PROXIES": "ingress"},
			args: []string{"--retention=2d", "--max-batch-entries", "50", "--trusted-proxies=10.0.0.0/8"}, check: func(t *testing.T, c Config) {
				require.Equal(t, 48*time.Hour, c.Ingestion.Retention)
				require.Equal(t, 50, c.Ingestion.MaxEntries)
				require.Equal(t, "[10.0.0.0/8]", fmt.Sprint(c.Gateway.TrustedProxies))
			}},
		{name: "an empty variable is unset", env: map[string]string{"DEVSMITH_HTTP_ADDR": "", "DATABASE_URL": ""}, check: func(t *testing.T, c Config) {
			require.Equal(t, ":3000", c.HTTPAddr)
			require.Empty(t, c.DatabaseURL)
		}},
		{name: "bad env value is named", env: map[string]string{"DEVSMITH_RETENTION": "forever"}, parseErr: `DEVSMITH_RETENTION="forever" (--retention): invalid duration "forever"`},
		{name: "bad env number is named", env: map[string]string{"DEVSMITH_MAX_BATCH_ENTRIES": "many"}, parseErr: `DEVSMITH_MAX_BATCH_ENTRIES="many"`},
		{name: "bad env bool is named", env: map[string]string{"DEVSMITH_SECURE_COOKIE": "sometimes"}, parseErr: `DEVSMITH_SECURE_COOKIE="sometimes"`},
		{name: "bad flag is refused", args: []string{"--tail-buffer=lots"}, parseErr: `invalid value "lots" for flag -tail-buffer`},
		{name: "unknown flag is refused", args: []string{"--no-such-setting=1"}, parseErr: "no-such-setting"},
		{name: "stray argument is refused", args: []string{"serve"}, parseErr: `unexpected argument "serve"`},
		{name: "bad value given by env fails Validate naming the flag", env: map[string]string{"DEVSMITH_MAX_BATCH_ENTRIES": "0"}, wantErr: "--max-batch-entries 0: must be at least 1"},
		{name: "unknown target", args: []string{"--target=everything"}, wantErr: "--target"},
		{name: "single service needs a database", args: []string{"--target=query"}, wantErr: "DATABASE_URL"},
		{name: "single service needs the service token", env: map[string]string{"DATABASE_URL": "postgres://x"}, args: []string{"--target=ingestion"}, wantErr: "DEVSMITH_SERVICE_TOKEN"},
		{name: "gateway needs the service token", args: []string{"--target=gateway"}, wantErr: "DEVSMITH_SERVICE_TOKEN"},
		{name: "trusted proxies", env: map[string]string{"DEVSMITH_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5"}, check: func(t *testing.T, c Config) {
			require.Equal(t, "[10.0.0.0/8 192.168.1.5/32]", fmt.Sprint(c.Gateway.TrustedProxies))
		}},
		{name: "bad trusted proxy is named", env: map[string]string{"DEVSMITH_TRUSTED_PROXIES": "10.0.0.0/8, ingress"}, parseErr: `DEVSMITH_TRUSTED_PROXIES="10.0.0.0/8, ingress" (--trusted-proxies): invalid IP address or CIDR prefix: ingress`},
		{name: "admin needs both", env: map[string]string{"DEVSMITH_ADMIN_EMAIL": "a@b.c"}, wantErr: "--admin-password"},
		{name: "bad log level", args: []string{"--log-level=loud"}, wantErr: `--log-level "loud"`},
		{name: "ingestion pool too small for its writers", args: []string{"--ingestion-writers=4", "--ingestion-max-conns=5"}, wantErr: "--ingestion-max-conns 5: must be at least 6"},
		{name: "pools beyond the embedded PostgreSQL", args: []string{"--query-max-conns=290"}, wantErr: "max_connections (300)"},
		{name: "pools beyond the embedded PostgreSQL are fine elsewhere", args: []string{"--query-max-conns=290", "--database-url=postgres://big/x"}, check: func(t *testing.T, c Config) {
			require.Equal(t, 290, c.Query.MaxConns)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parse(c.env, c.args...)
			if c.parseErr != "" {
				require.ErrorContains(t, err, c.parseErr)
				return
			}
			require.NoError(t, err)
			err = cfg.Validate()
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			c.check(t, cfg)
		})
	}
}

// Every bad variable is reported at once, not only the first.
func TestEnvErrorsAreAllNamed(t *testing.T) {
	t.Parallel()
	_, err := parse(map[string]string{"DEVSMITH_TAIL_BUFFER": "x", "DEVSMITH_LOGIN_WINDOW": "y", "DEVSMITH_QUERY_MAX_CONNS": "z"})
	for _, name := range []string{"DEVSMITH_TAIL_BUFFER", "DEVSMITH_LOGIN_WINDOW", "DEVSMITH_QUERY_MAX_CONNS"} {
		require.ErrorContains(t, err, name)
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "DEVSMITH_MAX_BATCH_ENTRIES", EnvName("max-batch-entries"))
	require.Equal(t, "DEVSMITH_SHUTDOWN_DRAIN_DELAY", EnvName("shutdown-drain-delay"))
	require.Equal(t, "DATABASE_URL", EnvName("database-url"))
}

// registered is every flag with its default, by name.
func registered() map[string]string {
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	out := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { out[f.Name] = f.DefValue })
	return out
}

// --help (and -h) exits 0 and lists every flag with its variable and
// default, under its component.
func TestHelpListsEverySetting(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--help", "-h"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{arg}, "", func(string) (string, bool) { return "", false }, &stdout, &stderr)
		require.Equal(t, 0, code, stderr.String())
		out := stdout.String()
		for name, def := range registered() {
			if def == "" {
				def = "(empty)"
			}
			require.Contains(t, out, "  --"+name, "flag %s listed", name)
			require.Contains(t, out, fmt.Sprintf("env %s, default %s\n", EnvName(name), def), "flag %s's variable and default", name)
		}
		for _, section := range []string{"Process:", "Projects service:", "Ingestion service:", "Query service:", "Gateway:"} {
			require.Contains(t, out, "\n"+section+"\n")
		}
		require.Contains(t, out, "  --retention duration\n")
		require.Contains(t, out, "  --secure-cookie\n")
	}
}

// A bad setting exits 2 before anything starts, naming it.
func TestBadSettingExits2(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DEVSMITH_MAX_BATCH_ENTRIES": "many"}
	var stdout, stderr bytes.Buffer
	code := run(nil, "", func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &stdout, &stderr)
	require.Equal(t, 2, code)
	require.Contains(t, stderr.String(), "DEVSMITH_MAX_BATCH_ENTRIES")
	require.Contains(t, stderr.String(), "--help")

	stderr.Reset()
	code = run([]string{"--retention=30m"}, "", func(string) (string, bool) { return "", false }, &stdout, &stderr)
	require.Equal(t, 2, code)
	require.Contains(t, stderr.String(), "--retention 30m: too short")

	// An archive folder that cannot be created (its parent is a file).
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	env = map[string]string{"DEVSMITH_ARCHIVE_DIR": filepath.Join(file, "archive")}
	stderr.Reset()
	code = run(nil, TargetIngestion, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &stdout, &stderr)
	require.Equal(t, 2, code)
	require.Contains(t, stderr.String(), `--archive-dir (DEVSMITH_ARCHIVE_DIR) "`+filepath.Join(file, "archive")+`": cannot be created`)
}

// The README's configuration table lists exactly the registered flags, each
// with its variable and default: `--flag` | `VARIABLE` | `default` or
// (empty) | meaning.
func TestREADMEConfigurationTable(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../README.md")
	require.NoError(t, err)
	defer f.Close()
	type row struct{ env, def string }
	listed := map[string]row{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Configuration"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `--") {
			continue
		}
		cells := strings.Split(line, "|")
		require.GreaterOrEqual(t, len(cells), 5, "row %q: | flag | variable | default | meaning |", line)
		unquote := func(s string) string {
			s = strings.TrimSpace(s)
			if s == "(empty)" {
				return ""
			}
			require.True(t, strings.HasPrefix(s, "`") && strings.HasSuffix(s, "`"), "cell %q of %q: `quoted` or (empty)", s, line)
			return strings.Trim(s, "`")
		}
		name := strings.TrimPrefix(unquote(cells[1]), "--")
		_, dup := listed[name]
		require.False(t, dup, "--%s listed twice", name)
		listed[name] = row{env: unquote(cells[2]), def: unquote(cells[3])}
	}
	require.NoError(t, sc.Err())

	var missing []string
	for name, def := range registered() {
		r, ok := listed[name]
		if !ok {
			shown := "`" + def + "`"
			if def == "" {
				shown = "(empty)"
			}
			missing = append(missing, fmt.Sprintf("| `--%s` | `%s` | %s | ... |", name, EnvName(name), shown))
			continue
		}
		require.Equal(t, EnvName(name), r.env, "--%s's variable in README.md", name)
		require.Equal(t, def, r.def, "--%s's default in README.md", name)
		delete(listed, name)
	}
	sort.Strings(missing)
	require.Empty(t, missing, "flags missing from README.md's configuration table:\n%s", strings.Join(missing, "\n"))
	require.Empty(t, listed, "README.md lists flags that are not registered")
}
