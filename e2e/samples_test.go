package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The sample loggers and example apps of samples/, run against the real
// platform: every entry arrives exactly once, with level, service and
// context intact, also across a platform outage.

var samplesDir, _ = filepath.Abs("../samples")

// sampleProject creates a project and returns an admin session and its key.
func sampleProject(t *testing.T, pl *platform, slug string) (string, string) {
	admin := pl.login(t, adminEmail, adminPassword)
	r := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": slug, "slug": slug}, bearer(admin)).expect(t, 201)
	return admin, r.JSON["api_key"].(string)
}

// goBinary builds a Go sample (its own module) and returns the binary.
func goBinary(t *testing.T, dir, pkg string) string {
	out := filepath.Join(t.TempDir(), filepath.Base(dir)+"-"+filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = filepath.Join(samplesDir, dir)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "building samples/%s: %s", dir, b)
	return out
}

type driver struct {
	lang string
	cmd  func(t *testing.T) []string
}

var drivers = []driver{
	{"javascript", func(*testing.T) []string {
		return []string{"node", filepath.Join(samplesDir, "javascript/examples/driver.js")}
	}},
	{"python", func(*testing.T) []string {
		return []string{"/usr/bin/python3", filepath.Join(samplesDir, "python/examples/driver.py")}
	}},
	{"go", func(t *testing.T) []string { return []string{goBinary(t, "go", "./cmd/driver")} }},
}

func runDriver(ctx context.Context, argv []string, env ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// entriesOf reads every entry of a service through the query API, all pages.
func entriesOf(t *testing.T, pl *platform, tok, query string) []map[string]any {
	var out []map[string]any
	token := ""
	for {
		q := query + "&page_size=1000"
		if token != "" {
			q += "&page_token=" + token
		}
		r := pl.do(t, "GET", "/api/logs/entries?"+q, nil, bearer(tok)).expect(t, 200).JSON
		for _, e := range r["entries"].([]any) {
			out = append(out, e.(map[string]any))
		}
		token, _ = r["next_page_token"].(string)
		if token == "" {
			return out
		}
	}
}

// requireDriverEntries checks a driver run: n entries, each i exactly once,
// levels cycling DEBUG, INFO, WARN, ERROR, service and context intact.
func requireDriverEntries(t *testing.T, pl *platform, tok, slug, lang, runID string, n int) {
	t.Helper()
	entries := entriesOf(t, pl, tok, fmt.Sprintf("project=%s&service=driver-%s&context.run_id=%s", slug, lang, runID))
	require.Len(t, entries, n, "%s: entries stored for run %s", lang, runID)
	levels := []string{"DEBUG", "INFO", "WARN", "ERROR"}
	seen := map[int]bool{}
	for _, e := range entries {
		ctx := e["context"].(map[string]any)
		i := int(ctx["i"].(float64))
		require.False(t, seen[i], "%s: entry %d stored twice", lang, i)
		seen[i] = true
		require.Equal(t, lang, ctx["lang"])
		require.Equal(t, levels[i%4], e["level"], "%s entry %d", lang, i)
		require.Equal(t, "driver-"+lang, e["service_name"])
		require.Equal(t, fmt.Sprintf("driver %s %s %d", lang, runID, i), e["message"])
	}
}

func TestSampleLoggers(t *testing.T) {
	pl := startAllInOne(t)
	admin, key := sampleProject(t, pl, "samples")
	for _, d := range drivers {
		t.Run(d.lang, func(t *testing.T) {
			runID := "run-" + d.lang + "-" + fmt.Sprint(time.Now().UnixNano())
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := runDriver(ctx, d.cmd(t),
				"DEVSMITH_URL="+pl.baseURL+"/api/logs", "DEVSMITH_API_KEY="+key, "DEVSMITH_SERVICE=driver-"+d.lang,
				"DRIVER_COUNT=250", "DRIVER_RUN_ID="+runID)
			require.NoError(t, err, "%s", out)
			require.NotContains(t, string(out), key, "the logger never prints the key")
			requireDriverEntries(t, pl, admin, "samples", d.lang, runID, 250)
		})
	}
	t.Run("a refused key fails the final flush", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := runDriver(ctx, drivers[1].cmd(t), "DEVSMITH_URL="+pl.baseURL+"/api/logs", "DEVSMITH_API_KEY=dsk_wrong",
			"DEVSMITH_SERVICE=driver-python", "DRIVER_COUNT=3")
		require.Error(t, err, "%s", out)
		require.Contains(t, string(out), "401")
		require.NotContains(t, string(out), "dsk_wrong")
	})
}

// TestSampleLoggersSurviveAnOutage stops the platform for 10 s while all
// three drivers log, starts it again on the same data and address, and
// finds every entry exactly once.
func TestSampleLoggersSurviveAnOutage(t *testing.T) {
	dataDir := newDataDir(t)
	addr := freeAddr(t)
	pl := startAllInOneAt(t, dataDir, addr)
	admin, key := sampleProject(t, pl, "outage")

	const n = 300
	runID := fmt.Sprint("outage-", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	outs := make([][]byte, len(drivers))
	errs := make([]error, len(drivers))
	for i, d := range drivers {
		argv := d.cmd(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = runDriver(ctx, argv,
				"DEVSMITH_URL="+pl.baseURL+"/api/logs", "DEVSMITH_API_KEY="+key, "DEVSMITH_SERVICE=driver-"+d.lang,
				fmt.Sprint("DRIVER_COUNT=", n), "DRIVER_RUN_ID="+runID, "DRIVER_INTERVAL=50ms",
				"DEVSMITH_FLUSH_INTERVAL=500ms", "DRIVER_CLOSE_TIMEOUT=120s")
		}()
	}
	// Once entries of every driver have arrived, take the platform down.
	require.Eventually(t, func() bool {
		for _, d := range drivers {
			r := pl.do(t, "GET", "/api/logs/entries?page_size=1&project=outage&service=driver-"+d.lang, nil, bearer(admin))
			if r.Status != 200 || num(t, r.JSON["total_size"]) == 0 {
				return false
			}
		}
		return true
	}, time.Minute, 100*time.Millisecond)
	pl.procs[0].stop(t)
	time.Sleep(10 * time.Second) // the outage itself, not a wait for an event
	pl2 := startAllInOneAt(t, dataDir, addr)
	wg.Wait()
	for i, d := range drivers {
		require.NoError(t, errs[i], "%s driver: %s", d.lang, outs[i])
	}
	admin = pl2.login(t, adminEmail, adminPassword)
	for _, d := range drivers {
		requireDriverEntries(t, pl2, admin, "outage", d.lang, runID, n)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

type exampleApp struct {
	name, service string
	argv          func(t *testing.T) []string
}

var exampleApps = []exampleApp{
	{"express", "app-express", func(*testing.T) []string { return []string{"node", filepath.Join(samplesDir, "express/app.js")} }},
	{"flask", "app-flask", func(*testing.T) []string {
		return []string{"/usr/bin/python3", filepath.Join(samplesDir, "flask/app.py")}
	}},
	{"gin", "app-gin", func(t *testing.T) []string { return []string{goBinary(t, "gin", ".")} }},
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

func TestExampleApps(t *testing.T) {
	if _, err := os.Stat(filepath.Join(samplesDir, "express/node_modules")); err != nil {
		t.Fatalf("samples/express has no node_modules: run `make deps` first (%v)", err)
	}
	pl := startAllInOne(t)
	admin, key := sampleProject(t, pl, "apps")
	for _, app := range exampleApps {
		t.Run(app.name, func(t *testing.T) {
			base, stop := startExampleApp(t, pl, app, key)
			for path, want := range map[string]int{"/": 200, "/error": 500, "/health": 200} {
				res, err := http.Get(base + path)
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, want, res.StatusCode, path)
			}
			stop() // SIGTERM: it flushes and exits 0

			byPath := map[string][]map[string]any{}
			for _, e := range entriesOf(t, pl, admin, "project=apps&service="+app.service) {
				if p, ok := e["context"].(map[string]any)["path"].(string); ok {
					byPath[p] = append(byPath[p], e)
				}
			}
			require.Len(t, byPath["/"], 1)
			require.Len(t, byPath["/error"], 1)
			require.Empty(t, byPath["/health"], "health checks are skipped")
			ok := byPath["/"][0]
			require.Equal(t, "INFO", ok["level"])
			c := ok["context"].(map[string]any)
			require.Equal(t, "GET", c["method"])
			require.EqualValues(t, 200, c["status"])
			require.Contains(t, c, "duration_ms")
			require.Contains(t, c, "ip")
			bad := byPath["/error"][0]
			require.Equal(t, "ERROR", bad["level"])
			require.EqualValues(t, 500, bad["context"].(map[string]any)["status"])
			require.NotEmpty(t, bad["context"].(map[string]any)["stack"])
		})
	}
}
