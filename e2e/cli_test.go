package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cliEnv runs bin/devsmith as the command-line client with its own config
// folder, pointed at one platform.
type cliEnv struct {
	server    string
	configDir string
}

func newCLI(t *testing.T, server string) *cliEnv {
	return &cliEnv{server: server, configDir: filepath.Join(t.TempDir(), "devsmith")}
}

func (c *cliEnv) cmd(stdin io.Reader, extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, "devsmith"), args...)
	cmd.Env = append(os.Environ(), "DEVSMITH_CONFIG_DIR="+c.configDir, "DEVSMITH_SERVER="+c.server, "NO_COLOR=1",
		"DEVSMITH_TOKEN=", "DEVSMITH_API_KEY=", "DEVSMITH_PASSWORD=")
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdin = stdin
	return cmd
}

// run runs one command to its end: stdout, stderr, exit code.
func (c *cliEnv) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return c.runEnv(t, stdin, nil, args...)
}

func (c *cliEnv) runEnv(t *testing.T, stdin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := c.cmd(strings.NewReader(stdin), env, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "running devsmith %v: %v", args, err)
		code = ee.ExitCode()
	}
	return out.String(), errOut.String(), code
}

// mustRun runs a command that must succeed.
func (c *cliEnv) mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := c.run(t, stdin, args...)
	require.Equal(t, 0, code, "devsmith %v\nstdout: %s\nstderr: %s", args, out, errOut)
	return out
}

// jsonLines decodes JSON-lines output, numbers kept as json.Number.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		d := json.NewDecoder(strings.NewReader(l))
		d.UseNumber()
		var m map[string]any
		require.NoError(t, d.Decode(&m), "line %q", l)
		rows = append(rows, m)
	}
	return rows
}

// streamProc is a long-running client command whose output lines are
// collected as they come.
type streamProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout []string
	stderr []string
	wake   chan struct{}
	done   chan struct{}
}

func (c *cliEnv) start(t *testing.T, stdin io.Reader, args ...string) *streamProc {
	t.Helper()
	return startCmd(t, c.cmd(stdin, nil, args...))
}

func startCmd(t *testing.T, cmd *exec.Cmd) *streamProc {
	t.Helper()
	outPipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	p := &streamProc{cmd: cmd, wake: make(chan struct{}, 1), done: make(chan struct{})}
	require.NoError(t, cmd.Start())
	var wg sync.WaitGroup
	read := func(r io.Reader, into *[]string) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			*into = append(*into, sc.Text())
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}
	wg.Add(2)
	go read(outPipe, &p.stdout)
	go read(errPipe, &p.stderr)
	go func() {
		wg.Wait()
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *streamProc) lines(stderr bool) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if stderr {
		return append([]string(nil), p.stderr...)
	}
	return append([]string(nil), p.stdout...)
}

// waitFor waits until cond holds on the output collected so far.
func (p *streamProc) waitFor(t *testing.T, what string, cond func(stdout, stderr []string) bool) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if cond(p.lines(false), p.lines(true)) {
			return
		}
		select {
		case <-p.wake:
		case <-p.done:
			if cond(p.lines(false), p.lines(true)) {
				return
			}
			t.Fatalf("the command ended before %s\nstdout: %q\nstderr: %q", what, p.lines(false), p.lines(true))
		case <-deadline:
			t.Fatalf("timed out waiting for %s\nstdout: %q\nstderr: %q", what, p.lines(false), p.lines(true))
		}
	}
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// The client end to end against the all-in-one: sign in with the password
// on stdin, manage projects, ship 10,000 stdin lines, query them with
// filters in both output forms, tail a new entry, and the exit codes and
// messages of a bad key and of a server that is down.
func TestCLI(t *testing.T) {
	t.Parallel()
	dsn := cluster.NewDatabase(t)
	pl, _ := startOnDatabase(t, dsn)
	db := openDB(t, dsn)
	c := newCLI(t, pl.baseURL)

	// Not signed in yet: exit 3, and the message says what to do.
	_, errOut, code := c.run(t, "", "projects", "list")
	require.Equal(t, 3, code)
	require.Contains(t, errOut, "not signed in: run `devsmith login")

	// A wrong password: the server's message, exit 3.
	_, errOut, code = c.run(t, "wrong-password\n", "login", "--email", adminEmail)
	require.Equal(t, 3, code, errOut)
	require.Contains(t, errOut, "devsmith login: ")
	require.Contains(t, errOut, "HTTP 401 UNAUTHENTICATED")

	out := c.mustRun(t, adminPassword+"\n", "login", "--email", adminEmail)
	require.Contains(t, out, "Signed in to "+pl.baseURL+" as "+adminEmail)
	credPath := filepath.Join(c.configDir, "credentials.json")
	fi, err := os.Stat(credPath)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "credentials file mode")
	di, err := os.Stat(c.configDir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm(), "config folder mode")
	saved, err := os.ReadFile(credPath)
	require.NoError(t, err)
	require.NotContains(t, string(saved), adminPassword, "the password is not stored")
	var cred struct {
		Server string    `json:"server"`
		Token  string    `json:"token"`
		Expiry time.Time `json:"expiry"`
	}
	require.NoError(t, json.Unmarshal(saved, &cred))
	require.Equal(t, pl.baseURL, cred.Server)
	require.True(t, cred.Expiry.After(time.Now()), "expiry %s", cred.Expiry)
	// The saved token is a working session.
	pl.do(t, "GET", "/api/auth/me", nil, bearer(cred.Token)).expect(t, 200)

	// Projects: create prints the key once; list shows it; a taken slug is
	// the server's message with exit 1.
	out = c.mustRun(t, "", "projects", "create", "cli-shop", "--name", "CLI Shop")
	require.Contains(t, out, "Created project cli-shop")
	key := lastWord(out)
	require.True(t, strings.HasPrefix(key, "dsk_"), out)
	_, errOut, code = c.run(t, "", "projects", "create", "cli-shop")
	require.Equal(t, 1, code)
	require.Equal(t, "devsmith projects create: slug \"cli-shop\" is already taken (HTTP 409 ALREADY_EXISTS)\n", errOut)
	out = c.mustRun(t, "", "projects", "create", "--slug", "cli-other", "--output", "json")
	other := jsonLines(t, out)
	require.Len(t, other, 1)
	require.Equal(t, "cli-other", other[0]["slug"])
	otherKey := other[0]["api_key"].(string)

	list := jsonLines(t, c.mustRun(t, "", "projects", "list", "--output", "json"))
	slugs := map[string]string{}
	for _, p := range list {
		slugs[p["slug"].(string)] = p["name"].(string)
	}
	require.Equal(t, map[string]string{"cli-shop": "CLI Shop", "cli-other": "cli-other"}, slugs)
	table := c.mustRun(t, "", "projects", "list")
	require.Regexp(t, `(?m)^ID\s+SLUG\s+NAME\s+ROLE`, table)
	require.Regexp(t, `(?m)^\d+\s+cli-shop\s+CLI Shop\s+owner\s+0\s+-\s+true$`, table)

	// Rotate: the new key works, the old one is refused (exit 3).
	out = c.mustRun(t, "", "projects", "rotate-key", "cli-other")
	newKey := lastWord(out)
	require.True(t, strings.HasPrefix(newKey, "dsk_") && newKey != otherKey, out)
	_, errOut, code = c.run(t, "hello\n", "logs", "send", "--service", "x", "--api-key", otherKey)
	require.Equal(t, 3, code, errOut)
	require.Contains(t, errOut, "devsmith logs send: invalid or revoked API key (HTTP 401 UNAUTHENTICATED)")
	require.Contains(t, errOut, "1 NOT delivered")
	c.mustRun(t, "hello\n", "logs", "send", "--service", "x", "--api-key", newKey)

	// Delete asks first: without a terminal it wants --yes (exit 2).
	_, errOut, code = c.run(t, "", "projects", "delete", "cli-other")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "pass --yes")
	require.Contains(t, c.mustRun(t, "", "projects", "delete", "cli-other", "--yes"), "Deleted project cli-other")
	_, errOut, code = c.run(t, "hello\n", "logs", "send", "--service", "x", "--api-key", newKey)
	require.Equal(t, 3, code, "a deleted project's key is refused: %s", errOut)

	// Tail, started before the entries exist, with a filter.
	tail := c.start(t, nil, "logs", "tail", "--project", "cli-shop", "--level", "ERROR", "--output", "json")
	tail.waitFor(t, "the tail to start", func(_, stderr []string) bool { return containsLine(stderr, "following "+pl.baseURL) })

	// Send 10,000 stdin lines (plain and JSON objects) in batches.
	var in strings.Builder
	const n = 10000
	for i := range n {
		switch {
		case i%1000 == 0:
			fmt.Fprintf(&in, `{"message":"checkout %05d failed","level":"error","context":{"order_id":9007199254740993%d,"region":"eu"}}`+"\n", i, i/1000)
		default:
			fmt.Fprintf(&in, "line %05d of the file\n", i)
		}
	}
	out, errOut, code = c.run(t, in.String(), "logs", "send", "--service", "cli-send", "--api-key", key, "--project", "cli-shop")
	require.Equal(t, 0, code, "stdout %s stderr %s", out, errOut)
	require.Contains(t, errOut, "10000 lines read, 10000 stored in 100 batches")
	var total, distinct int
	require.NoError(t, db.QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT message) FROM logs.entries WHERE service_name = 'cli-send'`).Scan(&total, &distinct))
	require.Equal(t, n, total, "every line stored once")
	require.Equal(t, n, distinct)
	st := pl.do(t, "GET", "/api/logs/stats?project=cli-shop&service=cli-send", nil, bearer(cred.Token)).expect(t, 200)
	require.EqualValues(t, n, st.JSON["total"])

	// SIGINT flushes what was read: 150 lines on a pipe that stays open,
	// a flush interval that would not fire; the first 100 go as a batch,
	// the signal sends the other 50 and the exit is clean.
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pw.Close()
	sender := c.start(t, pr, "logs", "send", "--service", "cli-sigint", "--api-key", key, "--flush-interval", "10m")
	pr.Close() // the child has it
	for i := range 150 {
		fmt.Fprintf(pw, "sigint line %d\n", i)
	}
	countOf := func(service string) int {
		var n int
		require.NoError(t, db.QueryRow(context.Background(), `SELECT count(*) FROM logs.entries WHERE service_name = $1`, service).Scan(&n))
		return n
	}
	require.Eventually(t, func() bool { return countOf("cli-sigint") == 100 }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, sender.cmd.Process.Signal(syscall.SIGINT))
	<-sender.done
	require.Equal(t, 0, sender.cmd.ProcessState.ExitCode(), "stderr: %q", sender.lines(true))
	require.Equal(t, 150, countOf("cli-sigint"))
	require.True(t, containsLine(sender.lines(true), "150 lines read, 150 stored in 2 batches"), "stderr: %q", sender.lines(true))

	// The tail got the ten ERROR entries, context exact, and nothing else.
	tail.waitFor(t, "ten ERROR entries on the tail", func(stdout, _ []string) bool { return len(stdout) >= 10 })
	rows := jsonLines(t, strings.Join(tail.lines(false), "\n"))
	require.Len(t, rows, 10)
	for i, r := range rows {
		require.Equal(t, fmt.Sprintf("checkout %05d failed", i*1000), r["message"])
		require.Equal(t, "ERROR", r["level"])
		require.Equal(t, json.Number(fmt.Sprintf("9007199254740993%d", i)), r["context"].(map[string]any)["order_id"], "a 64-bit id with every digit")
	}
	// Ctrl-C ends the tail cleanly.
	require.NoError(t, tail.cmd.Process.Signal(syscall.SIGINT))
	<-tail.done
	require.Equal(t, 0, tail.cmd.ProcessState.ExitCode(), "stderr: %q", tail.lines(true))

	// Query with filters: JSON lines parsed and checked.
	rows = jsonLines(t, c.mustRun(t, "", "logs", "query", "--project", "cli-shop", "--level", "error", "--since", "1h",
		"--context", "region=eu", "--output", "json", "--limit", "0"))
	require.Len(t, rows, 10)
	require.Equal(t, "checkout 09000 failed", rows[0]["message"], "newest first")
	require.Equal(t, json.Number("90071992547409939"), rows[0]["context"].(map[string]any)["order_id"])
	rows = jsonLines(t, c.mustRun(t, "", "logs", "query", "--project", "cli-shop", "--q", "LINE 0999", "--output", "json"))
	require.Len(t, rows, 10, "lines 09990..09999: %v", rows)
	// Paging through next_page_token up to --limit.
	rows = jsonLines(t, c.mustRun(t, "", "logs", "query", "--service", "cli-send", "--limit", "2500", "--output", "json"))
	require.Len(t, rows, 2500)
	seen := map[string]bool{}
	for _, r := range rows {
		id := string(r["id"].(json.Number))
		require.False(t, seen[id], "entry %s twice across pages", id)
		seen[id] = true
	}
	require.Empty(t, c.mustRun(t, "", "logs", "query", "--project", "cli-shop", "--until", "2h", "--output", "json"), "nothing before two hours ago")
	// The table holds the rows.
	table = c.mustRun(t, "", "logs", "query", "--project", "cli-shop", "--level", "ERROR", "--limit", "3")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	require.Len(t, lines, 4, table)
	require.Regexp(t, `^TIME\s+LEVEL\s+SERVICE\s+MESSAGE$`, lines[0])
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR cli-send\s+checkout 09000 failed \{"region":"eu","order_id":90071992547409939\}$`, lines[1])
	require.NotContains(t, table, "\x1b[", "no colours off a terminal")

	// Bad filters: the API's message, exit 1; a bad --since, exit 2.
	_, errOut, code = c.run(t, "", "logs", "query", "--pattern", "xyz")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `pattern "xyz" is not a pattern id`)
	_, errOut, code = c.run(t, "", "logs", "query", "--since", "last tuesday")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `devsmith logs query: --since: "last tuesday" is neither a duration`)

	// A server that is down: exit 4, said so, the lines counted.
	down := "http://" + freeAddr(t)
	_, errOut, code = c.run(t, "a\nb\n", "logs", "send", "--service", "x", "--api-key", key, "--server", down, "--retry-for", "1s")
	require.Equal(t, 4, code, errOut)
	require.Contains(t, errOut, "cannot reach "+down)
	require.Contains(t, errOut, "2 lines read, 0 stored in 0 batches, 2 NOT delivered")
	_, errOut, code = c.run(t, "", "logs", "query", "--server", down, "--token", cred.Token)
	require.Equal(t, 4, code, errOut)
	require.Contains(t, errOut, "devsmith logs query: cannot reach "+down)

	// On a terminal (a pty from script(1)): the password prompt does not
	// echo, and the table is coloured unless NO_COLOR is set.
	tty := newCLI(t, pl.baseURL)
	login := tty.startTTY(t, nil, "login", "--email", adminEmail)
	login.waitOutput(t, "Password: ")
	_, err = fmt.Fprintln(login.stdin, adminPassword)
	require.NoError(t, err)
	out, code = login.wait(t)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "Signed in to "+pl.baseURL)
	require.NotContains(t, out, adminPassword, "the password was echoed")
	out, code = tty.startTTY(t, []string{"NO_COLOR"}, "logs", "query", "--project", "cli-shop", "--level", "ERROR", "--limit", "1").wait(t)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "\x1b[31mERROR\x1b[0m", "coloured on a terminal")
	out, code = tty.startTTY(t, nil, "logs", "query", "--project", "cli-shop", "--level", "ERROR", "--limit", "1").wait(t)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "ERROR cli-send")
	require.NotContains(t, out, "\x1b[", "NO_COLOR")

	// Logout ends the session on the server and forgets it.
	require.Contains(t, c.mustRun(t, "", "logout"), "Signed out.")
	_, err = os.Stat(credPath)
	require.True(t, os.IsNotExist(err), "credentials removed")
	pl.do(t, "GET", "/api/auth/me", nil, bearer(cred.Token)).expect(t, 401)
}

// ttyProc is a client command run on a pseudo-terminal by script(1)
// (util-linux/bsdutils), its stdin a pipe into the terminal, its output
// (prompts without a newline too) collected as it comes.
type ttyProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	out   bytes.Buffer
	wake  chan struct{}
	done  chan struct{}
}

func (p *ttyProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	p.out.Write(b)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

func (p *ttyProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitOutput waits until the output holds s.
func (p *ttyProc) waitOutput(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(p.output(), s) {
		select {
		case <-p.wake:
		case <-p.done:
			require.Contains(t, p.output(), s)
			return
		case <-deadline:
			t.Fatalf("timed out waiting for %q in %q", s, p.output())
		}
	}
}

// wait waits for the end and returns the output and the exit code.
func (p *ttyProc) wait(t *testing.T) (string, int) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the command did not end: %q", p.output())
	}
	return p.output(), p.cmd.ProcessState.ExitCode()
}

// startTTY runs devsmith on a terminal; unset names variables removed
// from the environment (cmd sets NO_COLOR=1).
func (c *cliEnv) startTTY(t *testing.T, unset []string, args ...string) *ttyProc {
	t.Helper()
	line := filepath.Join(binDir, "devsmith")
	for _, a := range args {
		line += " '" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command("script", "-qefc", line, "/dev/null")
	cmd.Stdin = pr
	for _, kv := range c.cmd(nil, nil).Env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(unset, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "TERM=xterm")
	p := &ttyProc{cmd: cmd, stdin: pw, wake: make(chan struct{}, 1), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p, p
	require.NoError(t, cmd.Start())
	pr.Close()
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		pw.Close()
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// The tail survives the platform's restart: it follows the all-in-one, the
// platform stops (its connection drops) and starts again on the same
// database and address; the tail reconnects with Last-Event-ID and prints
// every entry exactly once: those before, those committed while it was
// away, and those after.
func TestCLITailResumesAfterRestart(t *testing.T) {
	t.Parallel()
	dsn := cluster.NewDatabase(t)
	addr := freeAddr(t)
	pl, p := startOnDatabase(t, dsn, "DEVSMITH_HTTP_ADDR="+addr)
	admin := pl.login(t, adminEmail, adminPassword)
	key := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Tail", "slug": "tail"}, bearer(admin)).
		expect(t, 201).JSON["api_key"].(string)
	send := func(base, name string, n int) {
		logs := make([]map[string]any, n)
		for i := range logs {
			logs[i] = map[string]any{"message": fmt.Sprintf("%s %d", name, i)}
		}
		body, _ := json.Marshal(map[string]any{"service_name": "tail", "logs": logs})
		st, err := postBatch(http.DefaultClient, base, key, body)
		require.NoError(t, err)
		require.Equal(t, 201, st)
	}

	c := newCLI(t, pl.baseURL)
	tail := c.start(t, nil, "logs", "tail", "--project", "tail", "--output", "json", "--token", admin)
	tail.waitFor(t, "the tail to start", func(_, stderr []string) bool { return containsLine(stderr, "following") })
	send(pl.baseURL, "before", 3)
	tail.waitFor(t, "the first entries", func(stdout, _ []string) bool { return len(stdout) >= 3 })

	p.stop(t)
	require.Equal(t, 0, p.cmd.ProcessState.ExitCode())
	tail.waitFor(t, "the tail to notice", func(_, stderr []string) bool { return containsLine(stderr, "reconnecting in") })

	pl2, _ := startOnDatabase(t, dsn, "DEVSMITH_HTTP_ADDR="+addr)
	require.Equal(t, pl.baseURL, pl2.baseURL)
	// Sessions are in the database: the token still works after the restart.
	send(pl2.baseURL, "away", 4) // most likely before the tail is back
	tail.waitFor(t, "the tail to resume", func(_, stderr []string) bool { return containsLine(stderr, "resumed after the last entry") })
	send(pl2.baseURL, "after", 2)
	tail.waitFor(t, "every entry", func(stdout, _ []string) bool { return len(stdout) >= 9 })

	var got []string
	for _, r := range jsonLines(t, strings.Join(tail.lines(false), "\n")) {
		got = append(got, r["message"].(string))
	}
	require.Equal(t, []string{"before 0", "before 1", "before 2", "away 0", "away 1", "away 2", "away 3", "after 0", "after 1"}, got)
	// Nothing more arrives (no duplicates trailing in): a last marker entry
	// is the next line.
	send(pl2.baseURL, "marker", 1)
	tail.waitFor(t, "the marker", func(stdout, _ []string) bool { return len(stdout) >= 10 })
	require.Len(t, tail.lines(false), 10)
	require.Contains(t, tail.lines(false)[9], `"message":"marker 0"`)
	require.False(t, containsLine(tail.lines(true), "may be missing"), "stderr: %q", tail.lines(true))
}
