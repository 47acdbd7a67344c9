package fingerprint

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore/signature"
)

// TestSampleAppsGroupByCodePath runs the Express, Flask and Gin example
// apps (samples/) against a stand-in platform, requests their failing
// routes with different ids, and groups the ERROR entries their middleware
// sent: per app, the payment route's failures are one group and the user
// route's another, each with its exception type and its culprit.
func TestSampleAppsGroupByCodePath(t *testing.T) {
	samples, err := filepath.Abs("../../../samples")
	require.NoError(t, err)
	for _, tc := range []struct {
		app                   string
		prepare               func(t *testing.T) []string // the command
		payType, payCulprit   string
		userType, userCulprit string
	}{{
		app: "express",
		prepare: func(t *testing.T) []string {
			dir := filepath.Join(samples, "express")
			if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
				cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "%s", out)
			}
			return []string{"node", filepath.Join(dir, "app.js")}
		},
		payType: "PaymentError", payCulprit: "chargeCard (app.js)",
		userType: "TypeError", userCulprit: "loadUser (app.js)",
	}, {
		app: "flask",
		prepare: func(*testing.T) []string {
			return []string{"/usr/bin/python3", filepath.Join(samples, "flask", "app.py")}
		},
		payType: "PaymentError", payCulprit: "charge_card (app.py)",
		userType: "KeyError", userCulprit: "load_user (app.py)",
	}, {
		app: "gin",
		prepare: func(t *testing.T) []string {
			bin := filepath.Join(t.TempDir(), "gin-example")
			cmd := exec.Command("go", "build", "-o", bin, ".")
			cmd.Dir = filepath.Join(samples, "gin")
			cmd.Env = append(os.Environ(), "GOWORK=off")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			return []string{bin}
		},
		payType: "*main.PaymentError", payCulprit: "main.chargeCard (main.go)",
		userType: "runtime.plainError", userCulprit: "main.loadUser (main.go)",
	}} {
		t.Run(tc.app, func(t *testing.T) {
			t.Parallel()
			entries := runSample(t, tc.prepare(t), []string{"/orders/17/pay", "/orders/8812/pay", "/users/3", "/users/42"})
			byPath := map[string]Result{}
			var f Fingerprinter
			var h signature.Hasher
			for _, e := range entries {
				if e.Level != "ERROR" {
					continue
				}
				var ctx struct {
					Path string `json:"path"`
				}
				require.NoError(t, json.Unmarshal(e.Context, &ctx))
				byPath[ctx.Path] = f.Compute(Input{Message: e.Message, Context: e.Context, Signature: h.Of(e.Message), Service: tc.app})
			}
			require.Len(t, byPath, 4, "%v", entries)
			pay, user := byPath["/orders/17/pay"], byPath["/users/3"]
			require.Equal(t, SourceStack, pay.Source)
			require.Equal(t, pay.Fingerprint, byPath["/orders/8812/pay"].Fingerprint)
			require.Equal(t, user.Fingerprint, byPath["/users/42"].Fingerprint)
			require.NotEqual(t, pay.Fingerprint, user.Fingerprint)
			require.Equal(t, tc.payType, pay.ExceptionType)
			require.Equal(t, tc.payCulprit, pay.Culprit)
			require.Equal(t, tc.userType, user.ExceptionType)
			require.Equal(t, tc.userCulprit, user.Culprit)
			require.Regexp(t, `^`+regexp.QuoteMeta(tc.payType)+`: payment 17 failed: timeout after \d+ ms$`, pay.Title)
		})
	}
}

type sentEntry struct {
	Level   string          `json:"level"`
	Message string          `json:"message"`
	Context json.RawMessage `json:"context"`
}

// runSample starts an example app (PORT=0) logging to a stand-in
// platform, requests paths, stops it with SIGTERM (it flushes its logs
// and exits) and returns the entries it sent.
func runSample(t *testing.T, command []string, paths []string) []sentEntry {
	t.Helper()
	var mu sync.Mutex
	var got []sentEntry
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Logs []sentEntry `json:"logs"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, body.Logs...)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"count":1,"message":"ok","rejected":[],"truncated":0}`))
	}))
	defer platform.Close()

	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(), "PORT=0", "HOST=127.0.0.1", "DEVSMITH_API_KEY=dsk_sample",
		"DEVSMITH_URL="+platform.URL+"/api/logs", "DEVSMITH_FLUSH_INTERVAL=100ms")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`listening on (http://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	var base string
	select {
	case base = <-addr:
	case err := <-exited:
		t.Fatalf("%v exited before listening: %v\n%s", command, err, stderr.String())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%v did not start\n%s", command, stderr.String())
	}
	for _, p := range paths {
		res, err := http.Get(base + p)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusInternalServerError, res.StatusCode, p)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoError(t, err, "%s", stderr.String())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%v did not stop\n%s", command, stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}
