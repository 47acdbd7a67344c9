package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The sample loggers and example apps of samples/, run against the real
// platform: every entry arrives exactly once, with level, service and
// context intact, also across a platform outage. The example apps and the
// Java, Ruby, PHP and shell loggers run from a copy of their folder alone,
// outside the repository, as a user who copies one folder would run them.

var samplesDir, _ = filepath.Abs("../samples")

// copies holds, per samples/ folder, its copy outside the repository, made
// (and built) once per test binary: see sampleCopy.
var copies = struct {
	mu   sync.Mutex
	dirs map[string]*sampleDir
}{dirs: map[string]*sampleDir{}}

type sampleDir struct {
	mu   sync.Mutex // held while the copy is made, so one folder's setup does not wait for another's
	path string     // set once made
}

// sampleCopy copies samples/<name> alone (without node_modules or build
// output) into an empty folder outside the repository, runs setup there
// once (npm ci, javac, ...), and returns the copy. The copy lives in the
// test binary's temporary folder, so later tests reuse it.
func sampleCopy(t *testing.T, name string, setup ...[]string) string {
	t.Helper()
	copies.mu.Lock()
	sd, ok := copies.dirs[name]
	if !ok {
		sd = &sampleDir{}
		copies.dirs[name] = sd
	}
	copies.mu.Unlock()
	sd.mu.Lock()
	defer sd.mu.Unlock()
	if sd.path != "" {
		return sd.path
	}
	dst := filepath.Join(binDir, "samples-copy", name)
	require.NoError(t, os.RemoveAll(dst))
	src := filepath.Join(samplesDir, name)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "build") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	require.NoError(t, err, "copying samples/%s", name)
	require.NotContains(t, dst, filepath.Dir(samplesDir), "the copy is outside the repository")
	for _, argv := range setup {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dst
		// GOWORK=off: no go.work above the copy anyway; -mod=mod: go.sum is
		// completed from the module proxy if the folder needs it.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "in the copy of samples/%s: %s: %s", name, strings.Join(argv, " "), out)
	}
	sd.path = dst
	return dst
}

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
	{"java", func(t *testing.T) []string {
		dir := sampleCopy(t, "java", []string{"javac", "-d", "build", "devsmith/DevSmithLogger.java", "devsmith/DevSmithHandler.java", "examples/Driver.java"})
		return []string{"java", "-cp", filepath.Join(dir, "build"), "Driver"}
	}},
	{"ruby", func(t *testing.T) []string {
		return []string{"ruby", filepath.Join(sampleCopy(t, "ruby"), "examples/driver.rb")}
	}},
	{"php", func(t *testing.T) []string {
		return []string{"php", filepath.Join(sampleCopy(t, "php"), "examples/driver.php")}
	}},
	{"shell", func(t *testing.T) []string {
		return []string{"bash", filepath.Join(sampleCopy(t, "shell"), "examples/driver.sh")}
	}},
}

// driverOf is the driver of lang.
func driverOf(t *testing.T, lang string) driver {
	for _, d := range drivers {
		if d.lang == lang {
			return d
		}
	}
	t.Fatalf("no driver %q", lang)
	return driver{}
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
	// Every subtest has its own service or run id: they run side by side.
	for _, d := range drivers {
		t.Run(d.lang, func(t *testing.T) {
			t.Parallel()
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
	for _, lang := range []string{"python", "java", "ruby", "php", "shell"} {
		t.Run(lang+": a refused key fails the final flush", func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := runDriver(ctx, driverOf(t, lang).cmd(t), "DEVSMITH_URL="+pl.baseURL+"/api/logs", "DEVSMITH_API_KEY=dsk_wrong",
				"DEVSMITH_SERVICE=driver-"+lang, "DRIVER_COUNT=3")
			require.Error(t, err, "%s", out)
			require.Contains(t, string(out), "401")
			require.NotContains(t, string(out), "dsk_wrong")
		})
	}
	// Nothing sent before the exit: a batch of 1000 and an hour's interval
	// hold every entry until the exit hook (shutdown hook, at_exit, shutdown
	// function) flushes them; the driver does not call close.
	for _, lang := range []string{"java", "ruby", "php"} {
		t.Run(lang+": pending entries are flushed at exit", func(t *testing.T) {
			t.Parallel()
			runID := "exit-" + lang + "-" + fmt.Sprint(time.Now().UnixNano())
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := runDriver(ctx, driverOf(t, lang).cmd(t),
				"DEVSMITH_URL="+pl.baseURL+"/api/logs", "DEVSMITH_API_KEY="+key, "DEVSMITH_SERVICE=driver-"+lang,
				"DRIVER_COUNT=7", "DRIVER_RUN_ID="+runID, "DRIVER_EXIT_FLUSH=1",
				"DEVSMITH_BATCH_SIZE=1000", "DEVSMITH_FLUSH_INTERVAL=1h")
			require.NoError(t, err, "%s", out)
			require.Contains(t, string(out), "flushing at exit")
			requireDriverEntries(t, pl, admin, "samples", lang, runID, 7)
		})
	}
	t.Run("java: from SLF4J through slf4j-jdk14 and logging.properties", func(t *testing.T) {
		t.Parallel()
		// SLF4J's API and JUL binding from Debian's libslf4j-java (.ci/run installs it).
		api, binding := "/usr/share/java/slf4j-api.jar", "/usr/share/java/slf4j-jdk14.jar"
		for _, jar := range []string{api, binding} {
			_, err := os.Stat(jar)
			require.NoError(t, err, "SLF4J from Debian: apt-get install libslf4j-java")
		}
		dir := sampleCopy(t, "java", []string{"javac", "-d", "build", "devsmith/DevSmithLogger.java", "devsmith/DevSmithHandler.java", "examples/Driver.java"})
		classes := t.TempDir()
		javac := exec.Command("javac", "-d", classes, "-cp", filepath.Join(dir, "build")+":"+api, filepath.Join(dir, "examples/slf4j/Slf4jExample.java"))
		b, err := javac.CombinedOutput()
		require.NoError(t, err, "%s", b)
		runID := "slf4j-" + fmt.Sprint(time.Now().UnixNano())
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := runDriver(ctx, []string{"java", "-cp", strings.Join([]string{classes, filepath.Join(dir, "build"), api, binding}, ":"),
			"-Djava.util.logging.config.file=" + filepath.Join(dir, "examples/slf4j/logging.properties"), "Slf4jExample", "9", runID},
			"DEVSMITH_URL="+pl.baseURL+"/api/logs", "DEVSMITH_API_KEY="+key, "DEVSMITH_SERVICE=slf4j-app")
		require.NoError(t, err, "%s", out)
		entries := entriesOf(t, pl, admin, "project=samples&service=slf4j-app&q="+runID)
		require.Len(t, entries, 9, "every SLF4J call arrives once, flushed when LogManager closes the handler at exit")
		byMsg := map[string]map[string]any{}
		for _, e := range entries {
			byMsg[e["message"].(string)] = e
		}
		for i := 0; i < 9; i++ {
			e := byMsg[fmt.Sprintf("slf4j %s %d", runID, i)]
			require.NotNil(t, e, "entry %d: SLF4J's {} placeholders filled", i)
			want := map[bool]string{true: "WARN", false: "INFO"}[i%3 == 2]
			if i == 8 {
				want = "ERROR"
			}
			require.Equal(t, want, e["level"], "entry %d", i)
			require.Equal(t, "Slf4jExample", e["context"].(map[string]any)["logger"])
		}
		last := byMsg[fmt.Sprintf("slf4j %s 8", runID)]["context"].(map[string]any)
		require.Equal(t, "java.lang.IllegalStateException: boom", last["exception"])
		require.Contains(t, last["stack"], "at Slf4jExample.main")
	})
	t.Run("shell: stdin lines, batched, each once", func(t *testing.T) {
		t.Parallel()
		runID := "stdin-" + fmt.Sprint(time.Now().UnixNano())
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := runDriver(ctx, driverOf(t, "shell").cmd(t),
			"DEVSMITH_URL="+pl.baseURL+"/api/logs", "DEVSMITH_API_KEY="+key, "DEVSMITH_SERVICE=driver-shell",
			"DRIVER_COUNT=250", "DRIVER_RUN_ID="+runID, "DRIVER_STDIN=1")
		require.NoError(t, err, "%s", out)
		entries := entriesOf(t, pl, admin, "project=samples&service=driver-shell&context.run_id="+runID)
		require.Len(t, entries, 250)
		seen := map[string]bool{}
		for _, e := range entries {
			msg := e["message"].(string)
			require.False(t, seen[msg], "%q stored twice", msg)
			seen[msg] = true
			require.Equal(t, "INFO", e["level"])
			require.Equal(t, "shell", e["context"].(map[string]any)["lang"])
		}
		require.True(t, seen["driver shell "+runID+" 0"] && seen["driver shell "+runID+" 249"])
	})
}

// TestSampleLoggersSurviveAnOutage stops the platform for 10 s while every
// driver logs, starts it again on the same data and address, and finds
// every entry exactly once: the batches that failed were retried with
// their batch_id, and none was stored twice.
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
		// The shell driver's calls take about 40 ms each already, and each
		// one blocks through the outage retrying: no pause needed to span it.
		interval := map[bool]string{true: "0", false: "50ms"}[d.lang == "shell"]
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = runDriver(ctx, argv,
				"DEVSMITH_URL="+pl.baseURL+"/api/logs", "DEVSMITH_API_KEY="+key, "DEVSMITH_SERVICE=driver-"+d.lang,
				fmt.Sprint("DRIVER_COUNT=", n), "DRIVER_RUN_ID="+runID, "DRIVER_INTERVAL="+interval,
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

// TestSampleLoggersSplitOn413WithGzip runs every batching logger, gzip on,
// against a platform that takes at most 40 entries a batch: their batches
// of 100 get 413, are split in halves with new batch ids (50: 413 again,
// 25: stored), and every entry arrives once. (The shell's devsmith-log
// sends one entry per call here, uncompressed: it has neither.)
func TestSampleLoggersSplitOn413WithGzip(t *testing.T) {
	t.Setenv("DEVSMITH_MAX_BATCH_ENTRIES", "40") // read by the platform started below
	pl := startAllInOne(t)
	admin, key := sampleProject(t, pl, "split")
	logs := make([]map[string]any, 41)
	for i := range logs {
		logs[i] = map[string]any{"message": "over the limit"}
	}
	pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "probe", "logs": logs}, bearer(key)).expect(t, 413)

	const n = 120 // a batch of 100 (split twice) and one of 20
	runID := fmt.Sprint("split-", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var batching []driver
	for _, d := range drivers {
		if d.lang != "shell" {
			batching = append(batching, d)
		}
	}
	var wg sync.WaitGroup
	outs := make([][]byte, len(batching))
	errs := make([]error, len(batching))
	for i, d := range batching {
		argv := d.cmd(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = runDriver(ctx, argv,
				"DEVSMITH_URL="+pl.baseURL+"/api/logs", "DEVSMITH_API_KEY="+key, "DEVSMITH_SERVICE=driver-"+d.lang,
				fmt.Sprint("DRIVER_COUNT=", n), "DRIVER_RUN_ID="+runID, "DEVSMITH_GZIP=1")
		}()
	}
	wg.Wait()
	for i, d := range batching {
		require.NoError(t, errs[i], "%s driver: %s", d.lang, outs[i])
		requireDriverEntries(t, pl, admin, "split", d.lang, runID, n)
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

// exampleApps run from a copy of their folder alone: express after npm ci
// in the copy, gin built there with GOWORK=off and GOFLAGS=-mod=mod.
var exampleApps = []exampleApp{
	{"express", "app-express", func(t *testing.T) []string {
		dir := sampleCopy(t, "express", []string{"npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"})
		return []string{"node", filepath.Join(dir, "app.js")}
	}},
	{"flask", "app-flask", func(t *testing.T) []string {
		return []string{"/usr/bin/python3", filepath.Join(sampleCopy(t, "flask"), "app.py")}
	}},
	{"gin", "app-gin", func(t *testing.T) []string {
		dir := sampleCopy(t, "gin", []string{"go", "build", "-o", "gin-app", "."})
		return []string{filepath.Join(dir, "gin-app")}
	}},
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

func TestExampleApps(t *testing.T) {
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

// TestSetupSnippets runs every setup snippet the dashboard shows for a new
// project's key, as a user pasting it into a terminal would (bash, in an
// empty folder): the snippets download the sample loggers from the
// platform's own /samples/ and send their hello entries, which arrive.
func TestSetupSnippets(t *testing.T) {
	pl := startAllInOne(t)
	admin, key := sampleProject(t, pl, "snippets")
	// The files the dashboard's build serves, per language, as build.mjs lists them for the page.
	files := map[string][]string{}
	served := filepath.Join(samplesDir, "../gateway/web/dist/_samples")
	require.NoError(t, filepath.WalkDir(served, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(served, path)
		lang, file, _ := strings.Cut(filepath.ToSlash(rel), "/")
		files[lang] = append(files[lang], file)
		return nil
	}))
	filesJSON, err := json.Marshal(files)
	require.NoError(t, err)
	script := fmt.Sprintf(`import { buildSnippets } from %q;
process.stdout.write(JSON.stringify(buildSnippets({ origin: %q, apiKey: %q, slug: 'snippets', service: 'hello', files: %s })));`,
		"file://"+filepath.Join(samplesDir, "../gateway/web/src/lib/snippets.js"), pl.baseURL, key, filesJSON)
	out, err := exec.Command("node", "--input-type=module", "-e", script).Output()
	require.NoError(t, err)
	var snippets []struct{ ID, Code string }
	require.NoError(t, json.Unmarshal(out, &snippets))

	want := map[string][]string{ // what each snippet logs, level and message
		"curl": {"INFO", "Hello from curl"}, "node": {"INFO", "Hello from Node.js"}, "python": {"INFO", "Hello from Python"},
		"go": {"INFO", "Hello from Go"}, "java": {"INFO", "Hello from Java"}, "ruby": {"INFO", "Hello from Ruby"},
		"php": {"INFO", "Hello from PHP"}, "shell": {"INFO", "Hello from the shell", "WARN", "one entry per line"},
	}
	require.Len(t, snippets, len(want), "a check for every snippet on the page")
	for _, sn := range snippets {
		t.Run(sn.ID, func(t *testing.T) {
			w, ok := want[sn.ID]
			require.True(t, ok, "no expectation for the %s snippet", sn.ID)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", sn.Code)
			cmd.Dir = t.TempDir() // an empty folder outside the repository
			cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "the %s snippet:\n%s\n%s", sn.ID, sn.Code, b)
			for i := 0; i < len(w); i += 2 {
				entries := entriesOf(t, pl, admin, "project=snippets&service=hello&q="+strings.ReplaceAll(w[i+1], " ", "+"))
				var found []map[string]any
				for _, e := range entries {
					if e["message"] == w[i+1] {
						found = append(found, e)
					}
				}
				require.Len(t, found, 1, "%s snippet: %q arrives once", sn.ID, w[i+1])
				require.Equal(t, w[i], found[0]["level"])
			}
		})
	}
}
