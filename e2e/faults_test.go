package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/pgembed"
)

// TestFaults runs the platform as separate processes (bin/devsmith
// --target=...) against a PostgreSQL of its own, and breaks things while
// the three sample loggers (node, python3, Go, through the drivers of
// testdata/faults) and the load generator (devsmith-loadgen sequenced)
// keep sending numbered entries: the ingestion process killed, PostgreSQL
// stopped (fast and immediate) and frozen, the gateway killed. After each
// fault every client's acknowledged sequences are in the database exactly
// once, no sequence twice, and every answer the platform gave was a 2xx, a
// 429 or a 503 with Retry-After; only while the gateway is dead may a
// request get no answer at all. docs/reliability.md has the figures.
func TestFaults(t *testing.T) {
	f := startFaultPlatform(t)
	goDriver := filepath.Join(binDir, "faultdriver-go")
	build := exec.Command("go", "build", "-o", goDriver, ".")
	build.Dir = "testdata/faults/go"
	build.Env = append(os.Environ(), "GOWORK=off")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the Go fault driver: %s", out)

	faults := []struct {
		name     string
		noAnswer bool // requests may get no answer (the gateway is dead)
		inject   func(t *testing.T)
	}{
		{"ingestion kill -9", false, func(t *testing.T) {
			f.kill(t, "ingestion")
			f.start(t, "ingestion")
		}},
		{"postgres fast shutdown", false, func(t *testing.T) {
			require.NoError(t, f.pg.Stop(context.Background()))
			time.Sleep(2 * time.Second) // the outage itself
			f.startPG(t)
		}},
		{"postgres immediate shutdown", false, func(t *testing.T) {
			require.NoError(t, f.pg.StopImmediate(context.Background()))
			time.Sleep(2 * time.Second) // the outage itself
			f.startPG(t)                // crash recovery: replays the WAL
		}},
		{"postgres SIGSTOP 10s", false, func(t *testing.T) {
			require.NoError(t, f.pg.Freeze())
			// Frozen for real: the database answers nothing.
			qctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := f.db.Exec(qctx, "SELECT 1")
			cancel()
			require.Error(t, err, "PostgreSQL answered while frozen")
			time.Sleep(9 * time.Second) // the rest of the 10 s freeze
			require.NoError(t, f.pg.Thaw())
		}},
		{"gateway kill -9", true, func(t *testing.T) {
			f.kill(t, "gateway")
			time.Sleep(time.Second) // the outage itself
			f.start(t, "gateway")
		}},
	}
	var rows []faultRow
	for _, fault := range faults {
		ok := t.Run(fault.name, func(t *testing.T) {
			slug := strings.NewReplacer(" ", "-", "-9", "", "10s", "").Replace(fault.name)
			clients := f.startClients(t, slug, goDriver)
			// Load runs: every client has entries stored before the fault.
			f.waitStored(t, clients, nil)
			before := f.storedCounts(t, clients)
			start := time.Now()
			fault.inject(t)
			f.waitReady(t)
			// And after it: every client's entries arrive again.
			f.waitStored(t, clients, before)
			elapsed := time.Since(start)
			reports := f.stopClients(t, clients)
			for _, c := range clients {
				rows = append(rows, f.check(t, fault.name, c, reports[c.name], fault.noAnswer, elapsed))
			}
		})
		if !ok {
			break // the platform may be left broken: later faults would only repeat it
		}
	}
	t.Log("fault table (docs/reliability.md):\n" + faultTable(rows))
}

// faultPlatform is the platform's processes and its PostgreSQL, each of
// which a fault can stop and start again where it was.
type faultPlatform struct {
	*platform
	pgDir string
	pg    *pgembed.Server
	env   map[string][]string // per target
	procs map[string]*proc
	// top is the whole test: the processes a subtest restarts outlive it.
	top *testing.T
	// projectID and key of the project every client sends to.
	projectID int64
	key       string
}

var faultTargets = []string{"projects", "ingestion", "query", "analysis", "gateway"}

func startFaultPlatform(t *testing.T) *faultPlatform {
	f := &faultPlatform{platform: &platform{grpcAddrs: map[string]string{}}, pgDir: newDataDir(t),
		env: map[string][]string{}, procs: map[string]*proc{}, top: t}
	f.startPG(t)
	// Registered first, so it runs last: after every process has stopped.
	t.Cleanup(func() {
		_ = f.pg.Thaw()
		_ = f.pg.Stop(context.Background())
	})
	addrs := map[string]string{}
	for _, s := range faultTargets {
		addrs[s] = freeAddr(t)
	}
	common := []string{
		"DATABASE_URL=" + f.pg.DSN(),
		"DEVSMITH_SERVICE_TOKEN=fault-service-token",
		"DEVSMITH_ADMIN_EMAIL=" + adminEmail,
		"DEVSMITH_ADMIN_PASSWORD=" + adminPassword,
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY=0",
		"DEVSMITH_PROJECTS_ADDR=" + addrs["projects"],
		"DEVSMITH_INGESTION_ADDR=" + addrs["ingestion"],
		"DEVSMITH_QUERY_ADDR=" + addrs["query"],
		"DEVSMITH_ANALYSIS_ADDR=" + addrs["analysis"],
		"DEVSMITH_TRUSTED_PROXIES=127.0.0.1",
		// The clients send as fast as the faults let them: no limits.
		"DEVSMITH_RATE_LIMIT_REQUESTS_PER_MINUTE=0",
		"DEVSMITH_RATE_LIMIT_LOGS_PER_SECOND=0",
	}
	for _, s := range faultTargets {
		f.env[s] = append(append([]string{}, common...), "DEVSMITH_GRPC_ADDR="+addrs[s])
	}
	f.env["gateway"] = append(f.env["gateway"], "DEVSMITH_HTTP_ADDR="+addrs["gateway"])
	for _, s := range faultTargets {
		f.start(t, s)
	}
	f.baseURL = "http://" + addrs["gateway"]
	db, err := pgxpool.New(context.Background(), f.pg.DSN())
	require.NoError(t, err)
	t.Cleanup(db.Close)
	f.db = db
	f.waitReady(t)

	admin := f.login(t, adminEmail, adminPassword)
	r := f.do(t, "POST", "/api/logs/projects", map[string]string{"name": "faults", "slug": "faults"}, bearer(admin)).expect(t, 201)
	f.key = r.JSON["api_key"].(string)
	require.NoError(t, f.db.QueryRow(context.Background(), "SELECT id FROM logs.projects WHERE slug = 'faults'").Scan(&f.projectID))
	return f
}

// startPG starts PostgreSQL on the platform's data folder (again).
func (f *faultPlatform) startPG(t *testing.T) {
	srv, err := pgembed.Start(context.Background(), zap.NewNop(), pgembed.Config{DataDir: f.pgDir})
	require.NoError(t, err, "starting PostgreSQL")
	f.pg = srv
}

// start runs one target of bin/devsmith and waits until it serves.
func (f *faultPlatform) start(t *testing.T, target string) {
	p := startProc(f.top, "devsmith", f.env[target], "--target="+target)
	if target == "gateway" {
		p.waitLog(t, "gateway listening", nil)
	} else {
		serviceAddr(t, p, target)
	}
	f.procs[target] = p
}

// kill ends one target with SIGKILL: no shutdown, no flush.
func (f *faultPlatform) kill(t *testing.T, target string) {
	p := f.procs[target]
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.done
}

func (f *faultPlatform) waitReady(t *testing.T) {
	require.Eventually(t, func() bool {
		res, err := noKeepAlive.Get(f.baseURL + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	}, 60*time.Second, 50*time.Millisecond, "the platform never became ready again")
}

// faultClient is one sending client: a sample logger's driver or the load
// generator.
type faultClient struct {
	name, runID string
	cmd         *exec.Cmd
	stdout      bytes.Buffer
	stderr      bytes.Buffer
	stopFile    string        // drivers stop when it exists; the load generator at SIGTERM
	exited      chan struct{} // closed once it has exited, err set
	err         error
	started     time.Time
}

func (f *faultPlatform) startClients(t *testing.T, fault, goDriver string) []*faultClient {
	dir := t.TempDir()
	argvs := map[string][]string{
		"javascript": {"node", "testdata/faults/driver.js"},
		"python":     {"/usr/bin/python3", "testdata/faults/driver.py"},
		"go":         {goDriver},
	}
	var clients []*faultClient
	for _, name := range []string{"javascript", "python", "go", "loadgen"} {
		c := &faultClient{name: name, runID: fmt.Sprintf("%s-%s-%d", fault, name, time.Now().UnixNano()),
			stopFile: filepath.Join(dir, name+".stop"), exited: make(chan struct{})}
		if name == "loadgen" {
			c.cmd = exec.Command(filepath.Join(binDir, "devsmith-loadgen"), "sequenced", "--url", f.baseURL,
				"--run-id", c.runID, "--service", "fault-loadgen", "--rate", "1000", "--batch", "50", "--drain", "90s", "--timeout", "30s")
			c.cmd.Env = append(os.Environ(), "DEVSMITH_API_KEY="+f.key)
		} else {
			argv := argvs[name]
			c.cmd = exec.Command(argv[0], argv[1:]...)
			c.cmd.Env = append(os.Environ(),
				"DEVSMITH_URL="+f.baseURL+"/api/logs", "DEVSMITH_API_KEY="+f.key, "DEVSMITH_SERVICE=fault-"+name,
				"DEVSMITH_FLUSH_INTERVAL=200ms", "DRIVER_RUN_ID="+c.runID, "DRIVER_STOP_FILE="+c.stopFile,
				"DRIVER_INTERVAL=5ms", "DRIVER_CLOSE_TIMEOUT=90s")
		}
		c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
		require.NoError(t, c.cmd.Start(), "starting the %s client", name)
		c.started = time.Now()
		go func() {
			c.err = c.cmd.Wait()
			close(c.exited)
		}()
		t.Cleanup(func() {
			select {
			case <-c.exited:
			default:
				_ = c.cmd.Process.Kill()
				<-c.exited
			}
		})
		clients = append(clients, c)
	}
	return clients
}

// clientReport is what a client printed at exit: the acknowledged
// sequences and every answer it saw.
type clientReport struct {
	Numbered          int64            `json:"numbered"`
	Acked             [][2]int64       `json:"acked"`
	Statuses          map[string]int64 `json:"statuses"`
	MissingRetryAfter int64            `json:"missing_retry_after"`
	Unexpected        []string         `json:"unexpected"`
	MaxLatencyMS      int64            `json:"max_latency_ms"` // the load generator's
	elapsed           time.Duration
}

func (f *faultPlatform) stopClients(t *testing.T, clients []*faultClient) map[string]clientReport {
	for _, c := range clients {
		if c.name == "loadgen" {
			require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
		} else {
			require.NoError(t, os.WriteFile(c.stopFile, nil, 0o644))
		}
	}
	reports := map[string]clientReport{}
	deadline := time.After(100 * time.Second)
	for _, c := range clients {
		select {
		case <-c.exited:
			require.NoError(t, c.err, "the %s client failed:\n%s\n%s", c.name, c.stdout.String(), c.stderr.String())
		case <-deadline:
			t.Fatalf("the %s client did not finish its final flush in time:\n%s", c.name, c.stderr.String())
		}
		var rep clientReport
		found := false
		sc := bufio.NewScanner(&c.stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := strings.TrimPrefix(sc.Text(), "FAULTDRIVER ")
			if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &rep) == nil {
				found = true
			}
		}
		require.True(t, found, "the %s client printed no report:\n%s\n%s", c.name, c.stdout.String(), c.stderr.String())
		rep.elapsed = time.Since(c.started)
		reports[c.name] = rep
	}
	return reports
}

// storedCounts counts each client's entries in the database.
func (f *faultPlatform) storedCounts(t *testing.T, clients []*faultClient) map[string]int64 {
	out := map[string]int64{}
	for _, c := range clients {
		var n int64
		err := f.db.QueryRow(context.Background(),
			"SELECT count(*) FROM logs.entries WHERE project_id = $1 AND context->>'run_id' = $2", f.projectID, c.runID).Scan(&n)
		if err != nil {
			return nil
		}
		out[c.name] = n
	}
	return out
}

// waitStored waits until every client has more entries stored than in
// before (nil: any).
func (f *faultPlatform) waitStored(t *testing.T, clients []*faultClient, before map[string]int64) {
	t.Helper()
	require.Eventually(t, func() bool {
		now := f.storedCounts(t, clients)
		if now == nil {
			return false
		}
		for _, c := range clients {
			if now[c.name] <= before[c.name] {
				return false
			}
		}
		return true
	}, 60*time.Second, 100*time.Millisecond, "a client's entries stopped arriving")
}

// faultRow is one line of the fault table.
type faultRow struct {
	fault, client                  string
	rate                           float64
	numbered, acked, stored, dupes int64
	answers                        map[string]int64
}

// check compares a client's report with the database: every acknowledged
// sequence stored exactly once, none twice, none that was never logged,
// and only the answers a degraded platform may give.
func (f *faultPlatform) check(t *testing.T, fault string, c *faultClient, rep clientReport, noAnswer bool, elapsed time.Duration) faultRow {
	t.Helper()
	rows, err := f.db.Query(context.Background(),
		"SELECT (context->>'seq')::bigint, count(*) FROM logs.entries WHERE project_id = $1 AND context->>'run_id' = $2 GROUP BY 1",
		f.projectID, c.runID)
	require.NoError(t, err)
	stored := map[int64]int64{}
	for rows.Next() {
		var seq, n int64
		require.NoError(t, rows.Scan(&seq, &n))
		stored[seq] = n
	}
	require.NoError(t, rows.Err())
	row := faultRow{fault: fault, client: c.name, numbered: rep.Numbered, stored: int64(len(stored)), answers: rep.Statuses,
		rate: float64(rep.Numbered) / rep.elapsed.Seconds()}
	var twice []int64
	for seq, n := range stored {
		if n > 1 {
			twice = append(twice, seq)
			row.dupes += n - 1
		}
		require.True(t, seq >= 0 && seq < rep.Numbered, "%s: sequence %d stored but never logged", c.name, seq)
	}
	sort.Slice(twice, func(i, j int) bool { return twice[i] < twice[j] })
	require.Empty(t, twice, "%s: sequences stored more than once (first: %v)", c.name, twice[:min(len(twice), 10)])
	var lost []int64
	for _, r := range rep.Acked {
		for seq := r[0]; seq <= r[1]; seq++ {
			row.acked++
			if stored[seq] != 1 && len(lost) < 10 {
				lost = append(lost, seq)
			}
		}
	}
	require.Empty(t, lost, "%s: acknowledged but not stored (first ten)", c.name)
	require.Positive(t, row.acked, "%s: nothing acknowledged", c.name)
	for code, n := range rep.Statuses {
		switch {
		case strings.HasPrefix(code, "2"), code == "429", code == "503":
		case code == "no answer" && noAnswer:
		default:
			t.Errorf("%s: %d answers %q during %s (first unexpected: %v)", c.name, n, code, fault, rep.Unexpected)
		}
	}
	require.Zero(t, rep.MissingRetryAfter, "%s: 429/503 answers without Retry-After", c.name)
	t.Logf("%s: %d logged (%.0f/s), %d acknowledged, %d stored, %d duplicates, answers %v, slowest answer %d ms (fault to recovery %s)",
		c.name, rep.Numbered, row.rate, row.acked, row.stored, row.dupes, rep.Statuses, rep.MaxLatencyMS, elapsed.Round(100*time.Millisecond))
	return row
}

func faultTable(rows []faultRow) string {
	var b strings.Builder
	b.WriteString("| fault | client | logs/s | logged | acknowledged | stored | duplicates | answers |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		var codes []string
		for code, n := range r.answers {
			codes = append(codes, fmt.Sprintf("%s ×%d", code, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(&b, "| %s | %s | %.0f | %d | %d | %d | %d | %s |\n", r.fault, r.client, r.rate, r.numbered, r.acked, r.stored, r.dupes, strings.Join(codes, ", "))
	}
	return b.String()
}

// noKeepAlive asks on a fresh connection every time: a killed gateway's
// kept-alive connection says nothing about the new one.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
