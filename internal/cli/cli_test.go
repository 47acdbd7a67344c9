package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func envOf(vars map[string]string) Env {
	return Env{
		Stdin:  strings.NewReader(""),
		Stdout: &bytes.Buffer{},
		Stderr: &bytes.Buffer{},
		Lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		Now:    func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) },
	}
}

func TestParseFlagsAndPositionals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		pos     []string
		yes     bool
		levels  []string
		ctx     [][2]string
		wantErr string
	}{
		{name: "flags after the argument", args: []string{"shop", "--yes"}, pos: []string{"shop"}, yes: true},
		{name: "flags before", args: []string{"--yes", "shop"}, pos: []string{"shop"}, yes: true},
		{name: "repeatable and comma-separated", args: []string{"--level", "WARN,ERROR", "--level=fatal"}, levels: []string{"WARN", "ERROR", "fatal"}},
		{name: "context pairs keep commas and '='", args: []string{"--context", "user_id=12", "--context", "context.q=a,b=c"}, ctx: [][2]string{{"user_id", "12"}, {"q", "a,b=c"}}},
		{name: "double dash ends flags", args: []string{"--", "--yes"}, pos: []string{"--yes"}},
		{name: "unknown flag", args: []string{"--colour"}, wantErr: "flag provided but not defined: -colour"},
		{name: "context without =", args: []string{"--context", "user"}, wantErr: `"user" is not key=value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c common
			fs := newFlags("x", &c)
			yes := fs.Bool("yes", false, "")
			var levels list
			var ctx pairs
			fs.Var(&levels, "level", "")
			fs.Var(&ctx, "context", "")
			pos, err := parse(fs, "x", tc.args, &bytes.Buffer{})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				var ee *exitError
				require.ErrorAs(t, err, &ee)
				require.Equal(t, ExitUsage, ee.code)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.pos, pos)
			require.Equal(t, tc.yes, *yes)
			require.Equal(t, tc.levels, []string(levels))
			require.Equal(t, tc.ctx, [][2]string(ctx))
		})
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "1h", want: now.Add(-time.Hour)},
		{in: "30m", want: now.Add(-30 * time.Minute)},
		{in: "7d", want: now.Add(-7 * 24 * time.Hour)},
		{in: "1.5d", want: now.Add(-36 * time.Hour)},
		{in: "90s", want: now.Add(-90 * time.Second)},
		{in: "2026-03-10T08:00:00Z", want: time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)},
		{in: "2026-03-10T09:00:00.250+01:00", want: time.Date(2026, 3, 10, 8, 0, 0, 250e6, time.UTC)},
		{in: "2026-03-09", want: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)},
		{in: "yesterday", wantErr: true},
		{in: "-1h", wantErr: true},
		{in: "", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseTime(tc.in, now)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "got %s want %s", got, tc.want)
		})
	}
}

func TestFiltersValues(t *testing.T) {
	f := filters{project: list{"shop"}, level: list{"error", "Fatal"}, since: "1h", q: "timeout", context: pairs{{"user_id", "7"}}, errorGroup: list{"17"}}
	v, err := f.values(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, "context.user_id=7&error_group=17&level=ERROR&level=FATAL&project=shop&q=timeout&since=2026-03-10T11%3A00%3A00Z", v.Encode())

	f = filters{until: "soon"}
	_, err = f.values(time.Now())
	require.ErrorContains(t, err, `--until: "soon" is neither a duration`)
}

func TestFormatRow(t *testing.T) {
	raw := `{"id":7,"project_slug":"shop","service_name":"api","timestamp":"2026-03-10T11:59:51.0071Z","level":"ERROR",` +
		`"message":"payment failed\nretrying","context":{"big": 9223372036854775807, "f": 1.50},"pattern_id":"x"}`
	var e entry
	require.NoError(t, json.Unmarshal([]byte(raw), &e))
	for _, tc := range []struct {
		name string
		p    printer
		want string
	}{
		{name: "plain", p: printer{}, want: "2026-03-10T11:59:51.007Z ERROR api              payment failed\\nretrying {\"big\":9223372036854775807,\"f\":1.50}"},
		{name: "with project", p: printer{showProject: true}, want: "2026-03-10T11:59:51.007Z ERROR shop             api              payment failed\\nretrying {\"big\":9223372036854775807,\"f\":1.50}"},
		{name: "colour", p: printer{color: true}, want: "\x1b[2m2026-03-10T11:59:51.007Z\x1b[0m \x1b[31mERROR\x1b[0m \x1b[36mapi             \x1b[0m payment failed\\nretrying\x1b[2m {\"big\":9223372036854775807,\"f\":1.50}\x1b[0m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.p.formatRow(e))
		})
	}

	// JSON output: the entry's own bytes, compacted; numbers untouched.
	var out bytes.Buffer
	p := printer{w: &out, json: true}
	require.NoError(t, p.entry([]byte(raw)))
	require.Equal(t, strings.ReplaceAll(raw, `"big": 9223372036854775807, "f": 1.50`, `"big":9223372036854775807,"f":1.50`)+"\n", out.String())
}

func TestColourOnlyOnATerminal(t *testing.T) {
	env := envOf(map[string]string{})
	require.False(t, newPrinter(env, "table", false).color, "a buffer is no terminal")
	env = envOf(map[string]string{"NO_COLOR": ""})
	require.False(t, newPrinter(env, "table", false).color)
}

func TestLineEntry(t *testing.T) {
	read := time.Date(2026, 3, 10, 12, 0, 0, 5000, time.UTC)
	ts := `"2026-03-10T12:00:00.000005Z"`
	for _, tc := range []struct {
		name, line string
		raw        bool
		want       string
	}{
		{name: "plain line", line: "disk full", want: `{"timestamp":` + ts + `,"level":"INFO","message":"disk full"}`},
		{name: "json object", line: `{"message":"paid","level":"warn","timestamp":1741600000123,"context":{"order":12345678901234567890},"user":"bob"}`,
			want: `{"timestamp":1741600000123,"level":"warn","message":"paid","context":{"order":12345678901234567890,"user":"bob"}}`},
		{name: "slog's msg and time", line: `{"time":"2026-03-10T11:00:00Z","level":"ERROR","msg":"boom","user_id":7}`,
			want: `{"timestamp":"2026-03-10T11:00:00Z","level":"ERROR","message":"boom","context":{"user_id":7}}`},
		{name: "a numeric level stays in the context", line: `{"level":30,"msg":"pino"}`,
			want: `{"timestamp":` + ts + `,"level":"INFO","message":"pino","context":{"level":30}}`},
		{name: "json without message is a line", line: `{"text":"x"}`, want: `{"timestamp":` + ts + `,"level":"INFO","message":"{\"text\":\"x\"}"}`},
		{name: "raw keeps json as the message", line: `{"message":"m"}`, raw: true, want: `{"timestamp":` + ts + `,"level":"INFO","message":"{\"message\":\"m\"}"}`},
		{name: "context not an object", line: `{"message":"m","context":[1,2]}`, want: `{"timestamp":` + ts + `,"level":"INFO","message":"m","context":{"context":[1,2]}}`},
		{name: "broken json is a line", line: `{"message":"m"`, want: `{"timestamp":` + ts + `,"level":"INFO","message":"{\"message\":\"m\""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(lineEntry(tc.line, "INFO", tc.raw, read))
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(b))
			if strings.Contains(tc.want, "12345678901234567890") {
				require.Contains(t, string(b), "12345678901234567890", "the number is sent with every digit")
			}
		})
	}
}

func TestReadLines(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes+10)
	in := "one\r\n\n  \ntwo\n" + long + "\nlast without newline"
	out := make(chan string, 10)
	require.NoError(t, readLines(context.Background(), strings.NewReader(in), out))
	var got []string
	for l := range out {
		got = append(got, l)
	}
	require.Equal(t, []string{"one", "two", long[:maxLineBytes], "last without newline"}, got)
}

func TestTailStateDropsTheResumedTransactionOnce(t *testing.T) {
	st := &tailState{}
	require.False(t, st.seen("t1", "1"))
	require.False(t, st.seen("t1", "2"))
	// Resumed from t1: the server sends t1's transaction again.
	require.True(t, st.seen("t1", "1"))
	require.True(t, st.seen("t1", "2"))
	require.False(t, st.seen("t1", "3"), "an entry of t1 not printed yet")
	require.False(t, st.seen("t2", "4"))
	require.False(t, st.seen("t2", "5"))
	require.Equal(t, "t2", st.token)
	require.Len(t, st.ids, 2, "only the last transaction's ids are kept")
}

func TestBackoff(t *testing.T) {
	for n := range 20 {
		d := backoff(n, 0)
		ceiling := min(backoffMin<<min(n, 10), backoffMax)
		require.GreaterOrEqual(t, d, ceiling/2, "attempt %d", n)
		require.LessOrEqual(t, d, ceiling, "attempt %d", n)
	}
	require.Equal(t, 3*time.Second, backoff(0, 3*time.Second), "Retry-After is a floor")
}

func TestServerAndSessionResolution(t *testing.T) {
	dir := t.TempDir()
	env := envOf(map[string]string{"DEVSMITH_CONFIG_DIR": dir})
	_, err := sessionClient(env, common{})
	var ee *exitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, ExitAuth, ee.code)
	require.Contains(t, err.Error(), "not signed in")

	p, err := saveCredentials(env, credentials{Server: "http://logs.example.com:3000", Token: "tok", Expiry: time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "credentials.json"), p)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	cl, err := sessionClient(env, common{})
	require.NoError(t, err)
	require.Equal(t, "http://logs.example.com:3000", cl.server, "the saved server")
	require.Equal(t, "Bearer tok", cl.auth)

	// The saved session is never sent to another server.
	_, err = sessionClient(env, common{server: "localhost:4000"})
	require.ErrorContains(t, err, "not signed in to http://localhost:4000 (the saved session is for http://logs.example.com:3000)")

	// --token wins over the saved session, DEVSMITH_SERVER over the saved server.
	env2 := envOf(map[string]string{"DEVSMITH_CONFIG_DIR": dir, "DEVSMITH_SERVER": "https://other.example.com/", "DEVSMITH_TOKEN": "envtok"})
	cl, err = sessionClient(env2, common{})
	require.NoError(t, err)
	require.Equal(t, "https://other.example.com", cl.server)
	require.Equal(t, "Bearer envtok", cl.auth)
	cl, err = sessionClient(env2, common{token: "flagtok"})
	require.NoError(t, err)
	require.Equal(t, "Bearer flagtok", cl.auth)

	// An expired session says so.
	env.Now = func() time.Time { return time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC) }
	_, err = sessionClient(env, common{})
	require.ErrorContains(t, err, "expired")

	_, err = normalizeServer("ftp://x")
	require.ErrorContains(t, err, `server "ftp://x" is not an http(s) URL`)
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{args: []string{"frobnicate"}, want: `unknown command "frobnicate"`},
		{args: []string{"logs"}, want: "want a subcommand: query, tail, send or export"},
		{args: []string{"logs", "query", "--output", "yaml"}, want: `--output "yaml": want table or json`},
		{args: []string{"logs", "query", "--limit", "-1"}, want: "--limit -1"},
		{args: []string{"logs", "send"}, want: "--service is required"},
		{args: []string{"projects", "create"}, want: "a slug is required"},
		{args: []string{"projects", "delete"}, want: "want one project"},
		{args: []string{"login"}, want: "--email is required when stdin is not a terminal"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env := envOf(map[string]string{"DEVSMITH_CONFIG_DIR": t.TempDir()})
			code := Main(context.Background(), tc.args, env)
			require.Equal(t, ExitUsage, code, "stderr: %s", env.Stderr)
			require.Contains(t, env.Stderr.(*bytes.Buffer).String(), tc.want)
		})
	}
}

func TestReportNamesTheCommand(t *testing.T) {
	var b bytes.Buffer
	require.Equal(t, ExitAuth, report(&b, "logs send", &APIError{Status: 401, Code: "UNAUTHENTICATED", Message: "invalid or revoked API key"}))
	require.Equal(t, "devsmith logs send: invalid or revoked API key (HTTP 401 UNAUTHENTICATED)\n", b.String())
	b.Reset()
	require.Equal(t, ExitUnavailable, report(&b, "logs query", &netError{server: "http://x", err: errors.New("connection refused")}))
	require.Equal(t, ExitFailed, report(&b, "projects create", &APIError{Status: 409, Code: "ALREADY_EXISTS", Message: "taken"}))
	require.Equal(t, ExitUnavailable, report(&b, "x", &APIError{Status: 503}))
	require.Equal(t, ExitOK, report(&b, "x", flag.ErrHelp))
}
