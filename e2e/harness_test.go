// Package e2e runs the real binaries (bin/devsmith and the single-service
// binaries, built by TestMain) against a real PostgreSQL and walks the REST
// contract over HTTP and the services over gRPC.
package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/pgtest"
)

var (
	binDir  string
	cluster *pgtest.Cluster
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "devsmith-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", binDir+"/", "../cmd/...")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building binaries:", err)
		os.Exit(1)
	}
	pgtest.Main(m, &cluster) // exits
}

const (
	adminEmail    = "admin@example.com"
	adminPassword = "admin-password-1"
)

// proc is one running binary whose JSON log lines we can wait on.
type proc struct {
	name  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
	wake  chan struct{}
	done  chan struct{}
}

func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	cmd.Stdout = cmd.Stderr
	p := &proc{name: name, cmd: cmd, wake: make(chan struct{}, 1), done: make(chan struct{})}
	require.NoError(t, cmd.Start())
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var m map[string]any
			p.mu.Lock()
			p.raw.Write(line)
			p.raw.WriteByte('\n')
			if json.Unmarshal(line, &m) == nil {
				p.lines = append(p.lines, m)
			}
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// waitLog waits for a log line with msg and returns it.
func (p *proc) waitLog(t *testing.T, msg string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(90 * time.Second)
	seen := 0
	for {
		p.mu.Lock()
		for ; seen < len(p.lines); seen++ {
			l := p.lines[seen]
			if l["msg"] == msg && (match == nil || match(l)) {
				p.mu.Unlock()
				return l
			}
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-p.done:
			t.Fatalf("%s exited before logging %q:\n%s", p.name, msg, p.output())
		case <-deadline:
			t.Fatalf("%s did not log %q in time:\n%s", p.name, msg, p.output())
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within 60s of SIGTERM", p.name)
	}
}

// platform is a running DevSmith, however it was started.
type platform struct {
	baseURL   string
	grpcAddrs map[string]string
	db        *pgxpool.Pool // the same database, for independent SQL checks
	procs     []*proc
	client    *http.Client // nil: http.DefaultClient (an HTTPS platform's trusts its CA)
}

func (pl *platform) httpClient() *http.Client {
	if pl.client != nil {
		return pl.client
	}
	return http.DefaultClient
}

func serviceAddr(t *testing.T, p *proc, service string) string {
	l := p.waitLog(t, "gRPC service listening", func(m map[string]any) bool { return m["service"] == service })
	return l["addr"].(string)
}

// startAllInOne runs `devsmith` with its embedded PostgreSQL, as `make run`
// does.
func startAllInOne(t *testing.T) *platform {
	return startAllInOneAt(t, newDataDir(t), "127.0.0.1:0")
}

// newDataDir is a data folder the embedded PostgreSQL's OS user can reach.
func newDataDir(t *testing.T) string {
	dataDir, err := os.MkdirTemp("", "devsmith-e2e-data-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dataDir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	return dataDir
}

// startAllInOneAt runs the all-in-one on a given data folder and HTTP
// address, so a test can stop it and start it again where it was.
func startAllInOneAt(t *testing.T, dataDir, httpAddr string) *platform {
	return startAllInOneEnv(t, dataDir, httpAddr, nil, nil)
}

// startAllInOneEnv is startAllInOneAt with more variables (extra wins),
// and client for its HTTP calls (nil: http.DefaultClient).
func startAllInOneEnv(t *testing.T, dataDir, httpAddr string, extra []string, client *http.Client) *platform {
	env := []string{
		"DEVSMITH_DATA_DIR=" + dataDir,
		"DATABASE_URL=",
		"DEVSMITH_HTTP_ADDR=" + httpAddr,
		"DEVSMITH_PROJECTS_ADDR=127.0.0.1:0",
		"DEVSMITH_INGESTION_ADDR=127.0.0.1:0",
		"DEVSMITH_QUERY_ADDR=127.0.0.1:0",
		"DEVSMITH_ANALYSIS_ADDR=127.0.0.1:0",
		"DEVSMITH_ADMIN_EMAIL=" + adminEmail,
		"DEVSMITH_ADMIN_PASSWORD=" + adminPassword,
		"DEVSMITH_MAINTENANCE_INTERVAL=1s",
		// The tests play a reverse proxy on loopback (X-Forwarded-For).
		"DEVSMITH_TRUSTED_PROXIES=127.0.0.1",
		// No load balancer to drain: stop at once.
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY=0",
		// Failed sign-ins answer without the lockout's growing wait.
		"DEVSMITH_LOGIN_SLOWDOWN=1ms",
	}
	p := startProc(t, "devsmith", append(env, extra...))
	pl := &platform{grpcAddrs: map[string]string{}, procs: []*proc{p}, client: client}
	for _, s := range []string{"projects", "ingestion", "query", "analysis"} {
		pl.grpcAddrs[s] = serviceAddr(t, p, s)
	}
	gw := p.waitLog(t, "gateway listening", nil)
	scheme := "http://"
	if gw["tls"] == true {
		scheme = "https://"
	}
	pl.baseURL = scheme + gw["addr"].(string)
	// Closed before the process (and its PostgreSQL) stops.
	pl.db = openDB(t, fmt.Sprintf("host=%s user=devsmith dbname=devsmith sslmode=disable", filepath.Join(dataDir, "pg")))
	pl.waitReady(t)
	return pl
}

// startSeparate runs each service as its own process, as on Kubernetes,
// against a shared PostgreSQL.
func startSeparate(t *testing.T) *platform {
	return startSeparateEnv(t, nil, nil)
}

// startSeparateEnv is startSeparate with more variables for every process
// (extra wins), and client for its HTTP calls (nil: http.DefaultClient).
func startSeparateEnv(t *testing.T, extra []string, client *http.Client) *platform {
	dsn := cluster.NewDatabase(t)
	token := "e2e-service-token"
	common := []string{
		"DATABASE_URL=" + dsn,
		"DEVSMITH_SERVICE_TOKEN=" + token,
		"DEVSMITH_ADMIN_EMAIL=" + adminEmail,
		"DEVSMITH_ADMIN_PASSWORD=" + adminPassword,
		"DEVSMITH_MAINTENANCE_INTERVAL=1s",
		"DEVSMITH_GRPC_ADDR=127.0.0.1:0",
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY=0",
		"DEVSMITH_LOGIN_SLOWDOWN=1ms",
	}
	common = append(common, extra...)
	pl := &platform{grpcAddrs: map[string]string{}, client: client}
	projects := startProc(t, "devsmith-projects", common)
	pl.grpcAddrs["projects"] = serviceAddr(t, projects, "projects")
	withProjects := append(common, "DEVSMITH_PROJECTS_ADDR="+pl.grpcAddrs["projects"])
	ingestion := startProc(t, "devsmith-ingestion", withProjects)
	query := startProc(t, "devsmith-query", withProjects)
	analysis := startProc(t, "devsmith-analysis", withProjects)
	pl.grpcAddrs["ingestion"] = serviceAddr(t, ingestion, "ingestion")
	pl.grpcAddrs["query"] = serviceAddr(t, query, "query")
	pl.grpcAddrs["analysis"] = serviceAddr(t, analysis, "analysis")
	gw := startProc(t, "devsmith-gateway", append([]string{
		"DEVSMITH_HTTP_ADDR=127.0.0.1:0",
		"DEVSMITH_SERVICE_TOKEN=" + token,
		"DEVSMITH_TRUSTED_PROXIES=127.0.0.1",
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY=0",
		"DEVSMITH_PROJECTS_ADDR=" + pl.grpcAddrs["projects"],
		"DEVSMITH_INGESTION_ADDR=" + pl.grpcAddrs["ingestion"],
		"DEVSMITH_QUERY_ADDR=" + pl.grpcAddrs["query"],
		"DEVSMITH_ANALYSIS_ADDR=" + pl.grpcAddrs["analysis"],
	}, extra...))
	listening := gw.waitLog(t, "gateway listening", nil)
	scheme := "http://"
	if listening["tls"] == true {
		scheme = "https://"
	}
	pl.baseURL = scheme + listening["addr"].(string)
	pl.procs = []*proc{projects, ingestion, query, analysis, gw}
	pl.db = openDB(t, dsn)
	pl.waitReady(t)
	return pl
}

// openDB is a pool on the platform's database, for independent SQL checks
// and setup, closed when the test ends (before the platform stops).
func openDB(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	db, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}

func (pl *platform) waitReady(t *testing.T) {
	require.Eventually(t, func() bool {
		res, err := pl.httpClient().Get(pl.baseURL + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 60*time.Second, 50*time.Millisecond, "platform never became ready")
}

// response is an HTTP answer with its JSON body decoded.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

type reqOpt func(*http.Request)

func bearer(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func (pl *platform) do(t *testing.T, method, path string, body any, opts ...reqOpt) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, pl.baseURL+path, rd)
	require.NoError(t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	res, err := pl.httpClient().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(raw, &out.JSON), "body: %s", raw)
	}
	return out
}

// expect checks the status and returns the response.
func (r response) expect(t *testing.T, status int) response {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Raw)
	return r
}

// expectError checks an error answer: status, {error, code}, and that the
// message mentions want.
func (r response) expectError(t *testing.T, status int, code, want string) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Raw)
	require.Equal(t, code, r.JSON["code"], "body: %s", r.Raw)
	require.Contains(t, r.JSON["error"], want, "body: %s", r.Raw)
}

func (pl *platform) login(t *testing.T, email, password string) string {
	t.Helper()
	r := pl.do(t, "POST", "/api/auth/login", map[string]string{"email": email, "password": password}).expect(t, 200)
	tok, _ := r.JSON["token"].(string)
	require.NotEmpty(t, tok)
	return tok
}

func gzipBytes(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func num(t *testing.T, v any) int64 {
	t.Helper()
	f, ok := v.(float64)
	require.True(t, ok, "want a JSON number, got %T %v", v, v)
	return int64(f)
}
