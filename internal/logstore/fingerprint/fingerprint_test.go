package fingerprint

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore/signature"
)

// The Node, Python and Go traces of these tests are real: the Debian
// runtimes run the programs of testdata/ (copied into a temporary
// directory, and once more with three lines inserted at the top so that
// every line number moves), failing from the same call site with different
// ids, from the same site with another exception type, and from another
// site. The Java traces are testdata/java/*.txt, printed by a JDK from
// testdata/java/App.java (gen.sh).

// shift is the number of lines the shifted copies insert.
const shift = 3

// copyTree copies dir into a new temporary directory, the file named
// main (relative) prefixed with comment lines when shifted, and ".txt"
// dropped from names.
func copyTree(t *testing.T, dir, main, comment string, shifted bool) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		// Node's dependencies are checked in as deps/ (node_modules/ is
		// ignored by git).
		if r, ok := strings.CutPrefix(rel, "deps"); ok {
			rel = "node_modules" + r
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == main && shifted {
			b = append([]byte(strings.Repeat(comment+"\n", shift)), b...)
		}
		return os.WriteFile(filepath.Join(dst, strings.TrimSuffix(rel, ".txt")), b, 0o644)
	})
	require.NoError(t, err)
	return dst
}

// output runs a command in dir and returns what it printed (stdout, then
// stderr); a non-zero exit is expected of a crash.
func output(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	_ = cmd.Run()
	s := out.String() + errOut.String()
	require.NotEmpty(t, s, "%s %v printed nothing", name, args)
	return s
}

// traces are one language's real traces by run name.
type traces map[string]string

func nodeTraces(t *testing.T) traces {
	tr := traces{}
	for _, shifted := range []bool{false, true} {
		dir := copyTree(t, "testdata/node", "app.js", "//", shifted)
		runs := [][]string{{"pay", "17"}, {"pay", "8812"}, {"paytype", "17"}, {"user", "3"}}
		if shifted {
			runs = [][]string{{"pay", "23"}}
		}
		for _, r := range runs {
			tr[name(shifted, r...)] = output(t, dir, nil, "node", "app.js", r[0], r[1])
		}
	}
	return tr
}

func pythonTraces(t *testing.T) traces {
	tr := traces{}
	for _, shifted := range []bool{false, true} {
		dir := copyTree(t, "testdata/python", "app.py", "#", shifted)
		runs := [][]string{{"pay", "17"}, {"pay", "8812"}, {"paytype", "17"}, {"user", "3"}, {"chained", "5"}, {"chained", "99"}}
		if shifted {
			runs = [][]string{{"pay", "23"}, {"chained", "23"}}
		}
		for _, r := range runs {
			tr[name(shifted, r...)] = output(t, dir, nil, "/usr/bin/python3", "app.py", r[0], r[1])
		}
	}
	return tr
}

func goTraces(t *testing.T) traces {
	tr := traces{}
	for _, shifted := range []bool{false, true} {
		dir := copyTree(t, "testdata/go", "main.go.txt", "//", shifted)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n\ngo 1.26\n"), 0o644))
		env := []string{"GOWORK=off", "GOFLAGS=-mod=mod"}
		build := exec.Command("go", "build", "-o", "app", ".")
		build.Dir, build.Env = dir, append(os.Environ(), env...)
		out, err := build.CombinedOutput()
		require.NoError(t, err, "%s", out)
		runs := [][]string{{"pay", "17"}, {"pay", "8812"}, {"paytype", "17"}, {"user", "3"}}
		if shifted {
			runs = [][]string{{"pay", "23"}}
		}
		for _, r := range runs {
			tr[name(shifted, r...)] = output(t, dir, nil, "./app", r[0], r[1])
			tr[name(shifted, r...)+" recovered"] = output(t, dir, nil, "./app", r[0], r[1], "recover")
		}
	}
	return tr
}

func javaTraces(t *testing.T) traces {
	tr := traces{}
	files, err := filepath.Glob("testdata/java/*.txt")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		n := strings.TrimSuffix(filepath.Base(f), ".txt")
		shifted := strings.HasPrefix(n, "shifted-")
		tr[name(shifted, strings.Split(strings.TrimPrefix(n, "shifted-"), "-")...)] = string(b)
	}
	require.Len(t, tr, 8)
	return tr
}

func name(shifted bool, run ...string) string {
	n := strings.Join(run, " ")
	if shifted {
		n += " shifted"
	}
	return n
}

// entry is an ERROR entry as a logger sends it: the message, and a context
// holding the stack (and whatever else).
func entry(t *testing.T, message string, ctx map[string]any) Input {
	t.Helper()
	b, err := json.Marshal(ctx)
	require.NoError(t, err)
	var h signature.Hasher
	return Input{Message: message, Context: b, Signature: h.Of(message), Service: "api"}
}

func fp(t *testing.T, in Input) Result {
	t.Helper()
	var f Fingerprinter
	return f.Compute(in)
}

func stackEntry(t *testing.T, trace string) Input {
	return entry(t, "request failed", map[string]any{"stack": trace})
}

// frames are the in-app frames the parser keeps of trace, "fn (file)".
func appFrames(trace string) []string {
	var f Fingerprinter
	f.parse(trace)
	var out []string
	for _, fr := range f.frames {
		if fr.app {
			out = append(out, fr.fn+" ("+fr.file+")")
		}
	}
	return out
}

// TestGroupingOfRealTraces: per language, the same code path with
// different ids, numbers and line numbers is one fingerprint; another
// exception type at the same place, or another place, is another; the
// kept frames are the application's (no runtime, standard library or
// dependency frames), without line numbers.
func TestGroupingOfRealTraces(t *testing.T) {
	for _, tc := range []struct {
		lang      string
		traces    func(*testing.T) traces
		same      [][]string // run names with one fingerprint
		differ    []string   // run names with pairwise different fingerprints
		frames    map[string][]string
		typ       map[string]string
		title     map[string]string
		culprit   map[string]string
		recovered bool
	}{{
		lang:   "node",
		traces: nodeTraces,
		same:   [][]string{{"pay 17", "pay 8812", "pay 23 shifted"}},
		differ: []string{"pay 17", "paytype 17", "user 3"},
		frames: map[string][]string{
			// Array.map (<anonymous>), node_modules/runner, node:internal: dropped.
			"pay 17":   {"charge (app.js)", "pay (app.js)", " (app.js)", " (app.js)"},
			"user 3":   {"loadUser (app.js)", " (app.js)", " (app.js)"},
			"pay 8812": {"charge (app.js)", "pay (app.js)", " (app.js)", " (app.js)"},
		},
		typ:     map[string]string{"pay 17": "PaymentError", "paytype 17": "TypeError", "user 3": "TypeError"},
		title:   map[string]string{"pay 17": "PaymentError: payment 17 failed: timeout after 1119 ms", "user 3": "TypeError: Cannot read properties of undefined (reading 'name')"},
		culprit: map[string]string{"pay 17": "charge (app.js)", "user 3": "loadUser (app.js)"},
	}, {
		lang:   "python",
		traces: pythonTraces,
		same:   [][]string{{"pay 17", "pay 8812", "pay 23 shifted"}, {"chained 5", "chained 99", "chained 23 shifted"}},
		differ: []string{"pay 17", "paytype 17", "user 3", "chained 5"},
		frames: map[string][]string{
			// site-packages/runner.py: dropped; innermost first.
			"pay 17": {"charge (app.py)", "pay (app.py)", "<lambda> (app.py)", "main (app.py)"},
			// The last exception of the chain (json's, in the standard library, is the first).
			"chained 5": {"charge (app.py)", "pay (app.py)", "chained (app.py)", "<lambda> (app.py)", "main (app.py)"},
			"user 3":    {"load_user (app.py)", "<lambda> (app.py)", "main (app.py)"},
		},
		typ:     map[string]string{"pay 17": "PaymentError", "paytype 17": "ValueError", "user 3": "KeyError", "chained 5": "PaymentError"},
		title:   map[string]string{"pay 17": "PaymentError: payment 17 failed: timeout after 1119 ms", "user 3": "KeyError: 'u3'"},
		culprit: map[string]string{"pay 17": "charge (app.py)", "user 3": "load_user (app.py)"},
	}, {
		lang:   "go",
		traces: goTraces,
		same:   [][]string{{"pay 17", "pay 8812", "pay 23 shifted"}, {"pay 17 recovered", "pay 8812 recovered", "pay 23 shifted recovered"}},
		differ: []string{"pay 17 recovered", "paytype 17 recovered", "user 3 recovered"},
		frames: map[string][]string{
			// runtime/debug.Stack, the recovering deferred function, panic and
			// the sort package: dropped.
			"pay 17":           {"main.charge (main.go)", "main.pay (main.go)", "main.main.func2 (main.go)", "main.main (main.go)"},
			"pay 17 recovered": {"main.charge (main.go)", "main.pay (main.go)", "main.main.func2 (main.go)", "main.main (main.go)"},
			"user 3":           {"main.loadUser (main.go)", "main.main.func2 (main.go)", "main.main (main.go)"},
			"user 3 recovered": {"main.loadUser (main.go)", "main.main.func2 (main.go)", "main.main (main.go)"},
		},
		typ:     map[string]string{"pay 17": "panic", "user 3": "runtime error"},
		title:   map[string]string{"pay 17": "panic: payment 17 failed: timeout after 1119 ms", "user 3": "runtime error: index out of range [3] with length 1"},
		culprit: map[string]string{"pay 17": "main.charge (main.go)", "user 3": "main.loadUser (main.go)", "user 3 recovered": "main.loadUser (main.go)"},
	}, {
		lang:   "java",
		traces: javaTraces,
		same:   [][]string{{"pay 17", "pay 8812", "pay 23 shifted"}, {"caused 5", "caused 99", "caused 23 shifted"}},
		differ: []string{"pay 17", "paytype 17", "user 3", "caused 5"},
		frames: map[string][]string{
			// java.base/, jdk.compiler/ (com.sun.): dropped.
			"pay 17": {"com.acme.shop.App.charge (App.java)", "com.acme.shop.App.pay (App.java)", "com.acme.shop.App.lambda$main$0 (App.java)", "com.acme.shop.App.main (App.java)"},
			// The root cause's whole stack: its own frames and the 10 it shares.
			"caused 5": {"com.acme.shop.App.connect (App.java)", "com.acme.shop.App.lambda$main$0 (App.java)", "com.acme.shop.App.main (App.java)"},
		},
		typ:     map[string]string{"pay 17": "com.acme.shop.App$PaymentException", "paytype 17": "java.lang.IllegalStateException", "user 3": "java.lang.NullPointerException", "caused 5": "java.lang.NumberFormatException"},
		title:   map[string]string{"caused 5": `java.lang.NumberFormatException: For input string: "port-5"`},
		culprit: map[string]string{"pay 17": "com.acme.shop.App.charge (App.java)", "caused 5": "com.acme.shop.App.connect (App.java)"},
	}} {
		t.Run(tc.lang, func(t *testing.T) {
			t.Parallel()
			tr := tc.traces(t)
			res := map[string]Result{}
			for n, trace := range tr {
				in := stackEntry(t, trace)
				if strings.HasSuffix(n, "recovered") && tc.lang == "go" {
					// As the Gin sample's middleware logs a recovered panic.
					typ := "*main.PaymentError"
					if strings.HasPrefix(n, "user") {
						typ = "runtime.boundsError"
					} else if strings.HasPrefix(n, "paytype") {
						typ = "*main.TimeoutError"
					}
					in = entry(t, "GET /x 500: panic: boom", map[string]any{"stack": trace, "error_type": typ, "error": "boom " + n})
				}
				res[n] = fp(t, in)
				require.Equal(t, SourceStack, res[n].Source, "%s:\n%s", n, trace)
			}
			for _, same := range tc.same {
				for _, n := range same[1:] {
					require.Equal(t, res[same[0]].Fingerprint, res[n].Fingerprint, "%q and %q:\n%s\n%s", same[0], n, tr[same[0]], tr[n])
				}
			}
			for i, a := range tc.differ {
				for _, b := range tc.differ[i+1:] {
					require.NotEqual(t, res[a].Fingerprint, res[b].Fingerprint, "%q and %q", a, b)
				}
			}
			for n, want := range tc.frames {
				require.Equal(t, want, appFrames(tr[n]), "%s:\n%s", n, tr[n])
			}
			for n, want := range tc.typ {
				require.Equal(t, want, res[n].ExceptionType, n)
			}
			for n, want := range tc.title {
				require.Equal(t, want, res[n].Title, n)
			}
			for n, want := range tc.culprit {
				require.Equal(t, want, res[n].Culprit, n)
			}
		})
	}
}
