package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Error groups through the REST API of the real platform: entries sent
// with stacks group by code path at ingest, a group's entries are one
// filter away, a resolved group that fails again reopens as a regression,
// and a fingerprint shared by two projects is two groups, each also in the
// other.

// nodeStack is a Node trace of one code path: the same frames whatever the
// order id and line numbers.
func nodeStack(order, line int) string {
	return fmt.Sprintf("TypeError: Cannot read properties of undefined (reading 'total')\n"+
		"    at chargeOrder (/srv/shop/orders.js:%d:17)\n"+
		"    at /srv/shop/app.js:%d:5\n"+
		"    at Layer.handle [as handle_request] (/srv/shop/node_modules/express/lib/router/layer.js:95:5)\n"+
		"    at next (node:internal/process/task_queues:140:7)", line, 20+order%7)
}

// pythonStack is a Python traceback of another failure at another place.
func pythonStack(user int) string {
	return "Traceback (most recent call last):\n" +
		"  File \"/usr/lib/python3/dist-packages/flask/app.py\", line 1484, in full_dispatch_request\n" +
		"    rv = self.dispatch_request()\n" +
		fmt.Sprintf("  File \"/srv/shop/users.py\", line %d, in get_user\n", 30+user%3) +
		"    return USERS[user_id]\n" +
		fmt.Sprintf("KeyError: '%d'\n", user)
}

// errorEntry is one ERROR entry for the batch API.
func errorEntry(ts time.Time, msg string, ctx map[string]any) map[string]any {
	return map[string]any{"timestamp": ts.UTC().Format(time.RFC3339Nano), "level": "ERROR", "message": msg, "context": ctx}
}

func send(t *testing.T, pl *platform, key, service string, logs ...map[string]any) {
	t.Helper()
	r := pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": service, "logs": logs}, bearer(key)).expect(t, 201)
	require.EqualValues(t, len(logs), r.JSON["count"], "body: %s", r.Raw)
}

// groupsByTitle lists the groups of a query, by title.
func groupsByTitle(t *testing.T, pl *platform, tok, query string) map[string]map[string]any {
	t.Helper()
	r := pl.do(t, "GET", "/api/logs/errors?"+query, nil, bearer(tok)).expect(t, 200).JSON
	out := map[string]map[string]any{}
	for _, g := range r["groups"].([]any) {
		m := g.(map[string]any)
		out[m["title"].(string)] = m
	}
	return out
}

func groupOf(t *testing.T, pl *platform, tok, id string) map[string]any {
	t.Helper()
	return pl.do(t, "GET", "/api/logs/errors/"+id, nil, bearer(tok)).expect(t, 200).JSON["group"].(map[string]any)
}

func TestErrorGroupsThroughTheAPI(t *testing.T) {
	pl := startAllInOne(t)
	admin, shop := sampleProject(t, pl, "shop")
	worker := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "worker", "slug": "worker"}, bearer(admin)).expect(t, 201).JSON["api_key"].(string)

	now := time.Now()
	var logs []map[string]any
	for i, order := range []int{8812, 17, 40001, 5, 731} {
		logs = append(logs, errorEntry(now.Add(time.Duration(i-10)*time.Second), fmt.Sprintf("payment %d failed", order),
			map[string]any{"order_id": order, "stack": nodeStack(order, 41+i%2), "release": "1.4.2", "route": "/orders/:id/pay"}))
	}
	for i, user := range []int{3, 99} {
		logs = append(logs, errorEntry(now.Add(time.Duration(i-20)*time.Second), fmt.Sprintf("user %d lookup failed", user),
			map[string]any{"traceback": pythonStack(user), "version": "0.9"}))
	}
	logs = append(logs, map[string]any{"level": "INFO", "message": "order 5 paid"})
	send(t, pl, shop, "api", logs...)
	// A client fingerprint, in both projects.
	client := map[string]any{"fingerprint": []string{"checkout", "timeout"}}
	send(t, pl, shop, "api", errorEntry(now.Add(-30*time.Second), "checkout timed out after 30012 ms", client))
	send(t, pl, worker, "jobs", errorEntry(now.Add(-31*time.Second), "checkout timed out after 5001 ms", client))

	groups := groupsByTitle(t, pl, admin, "project=shop")
	require.Len(t, groups, 3, "one group per code path: %v", groups)
	var pay, users, checkout map[string]any
	for title, g := range groups {
		switch g["exception_type"] {
		case "TypeError":
			pay = g
		case "KeyError":
			users = g
		default:
			checkout = g
		}
		require.Equal(t, "shop", g["project_slug"], title)
		require.Equal(t, "open", g["status"], title)
	}
	require.NotNil(t, pay, "%v", groups)
	require.NotNil(t, users, "%v", groups)
	require.NotNil(t, checkout, "%v", groups)
	require.EqualValues(t, 5, pay["count"])
	require.EqualValues(t, 2, users["count"])
	require.EqualValues(t, 1, checkout["count"])
	require.Equal(t, []any{"api"}, pay["services"])
	require.Equal(t, "ERROR", pay["level"])
	require.Contains(t, pay["culprit"], "chargeOrder")
	require.Equal(t, []any{"worker"}, checkout["also_in"], "the same fingerprint in another project")
	require.Empty(t, pay["also_in"])
	example := pay["example"].(map[string]any)
	require.Equal(t, "payment 731 failed", example["message"], "the newest entry")
	require.Equal(t, pay["id"], example["error_group_id"])
	var trend int64
	for _, b := range pay["trend"].([]any) {
		trend += num(t, b.(map[string]any)["count"])
	}
	require.EqualValues(t, 5, trend)

	// The other project's group is its own, also in shop.
	w := groupsByTitle(t, pl, admin, "project=worker")
	require.Len(t, w, 1)
	for _, g := range w {
		require.NotEqual(t, checkout["id"], g["id"])
		require.Equal(t, []any{"shop"}, g["also_in"])
	}
	// Across every project: four groups; by count, the payment first.
	all := pl.do(t, "GET", "/api/logs/errors?sort=count", nil, bearer(admin)).expect(t, 200).JSON["groups"].([]any)
	require.Len(t, all, 4)
	require.Equal(t, pay["id"], all[0].(map[string]any)["id"])
	pl.do(t, "GET", "/api/logs/errors?level=info", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", `level "INFO"`)
	pl.do(t, "GET", "/api/logs/errors?sort=worst", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", `sort "worst"`)

	// The group's page and its entries.
	g := groupOf(t, pl, admin, pay["id"].(string))
	require.Equal(t, nodeStack(731, 41), g["stack"])
	require.Equal(t, map[string]any{"api": float64(5)}, g["counts_by_service"])
	require.Equal(t, map[string]any{"1.4.2": float64(5)}, g["counts_by_release"])
	require.Equal(t, map[string]any{"0.9": float64(2)}, groupOf(t, pl, admin, users["id"].(string))["counts_by_release"])
	entries := entriesOf(t, pl, admin, "error_group="+pay["id"].(string))
	require.Len(t, entries, 5)
	for _, e := range entries {
		require.Equal(t, pay["id"], e["error_group_id"])
	}
	stats := pl.do(t, "GET", "/api/logs/stats?error_group="+users["id"].(string), nil, bearer(admin)).expect(t, 200).JSON
	require.EqualValues(t, 2, stats["total"])
	pl.do(t, "GET", "/api/logs/errors/424242", nil, bearer(admin)).expectError(t, 404, "NOT_FOUND", `error group "424242" not found`)

	// Resolve through the dashboard's session cookie; a cross-origin
	// request is refused.
	browser := browserLogin(t, pl, adminEmail, adminPassword)
	resolve := map[string]string{"status": "resolved"}
	pl.do(t, "PATCH", "/api/logs/errors/"+users["id"].(string), resolve, browser.cookie(), browser.csrfHeader(), header("Origin", "https://evil.example")).
		expectError(t, 403, "csrf", "cross-origin")
	r := pl.do(t, "PATCH", "/api/logs/errors/"+users["id"].(string), resolve, browser.opts()...).expect(t, 200).JSON["group"].(map[string]any)
	require.Equal(t, "resolved", r["status"])
	require.NotEmpty(t, r["resolve_time"])
	pl.do(t, "PATCH", "/api/logs/errors/"+users["id"].(string), map[string]string{"status": "done"}, browser.opts()...).
		expectError(t, 400, "INVALID_ARGUMENT", `status "done"`)
	// An entry older than the resolution does not reopen it.
	send(t, pl, shop, "api", errorEntry(now.Add(-time.Minute), "user 3 lookup failed", map[string]any{"traceback": pythonStack(3)}))

	r = pl.do(t, "PATCH", "/api/logs/errors/"+pay["id"].(string), resolve, bearer(admin)).expect(t, 200).JSON["group"].(map[string]any)
	require.Equal(t, "resolved", r["status"])
	resolved := groupsByTitle(t, pl, admin, "project=shop&status=resolved&q="+url.QueryEscape("TYPEERROR: cannot"))
	require.Len(t, resolved, 1)
	require.Equal(t, pay["id"], resolved[pay["title"].(string)]["id"])
	// It fails again: open again, a regression, within seconds.
	send(t, pl, shop, "api", errorEntry(time.Now().Add(time.Second), "payment 9 failed", map[string]any{"order_id": 9, "stack": nodeStack(9, 43)}))
	require.Eventually(t, func() bool {
		g := groupOf(t, pl, admin, pay["id"].(string))
		return g["status"] == "open" && g["regression"] == true
	}, 10*time.Second, 50*time.Millisecond, "the resolved group that failed again is not reopened")
	u := groupOf(t, pl, admin, users["id"].(string))
	require.Equal(t, "resolved", u["status"], "an older entry does not reopen")
	require.EqualValues(t, 3, u["count"])
}

// startExampleApp runs one of samples' example apps against pl with key
// and returns its base URL; stop ends it (SIGTERM: it flushes and exits 0).
func startExampleApp(t *testing.T, pl *platform, app exampleApp, key string) (base string, stop func()) {
	t.Helper()
	argv := app.argv(t)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PORT=0", "DEVSMITH_URL="+pl.baseURL+"/api/logs", "DEVSMITH_API_KEY="+key,
		"DEVSMITH_SERVICE="+app.service, "DEVSMITH_FLUSH_INTERVAL=200ms")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var output []string
	timeout := time.After(60 * time.Second)
	for base == "" {
		select {
		case l, ok := <-lines:
			require.True(t, ok, "%s exited before listening: %s", app.name, strings.Join(output, "\n"))
			output = append(output, l)
			if m := listening.FindStringSubmatch(l); m != nil {
				base = m[1]
			}
		case <-timeout:
			_ = cmd.Process.Kill()
			t.Fatalf("%s never listened: %s", app.name, strings.Join(output, "\n"))
		}
	}
	go func() {
		for range lines {
		}
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, cmd.Wait(), "%s exits 0 after flushing", app.name)
	}
	t.Cleanup(func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return base, stop
}

func get(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// The example apps' failing routes, many ids each: one group per code path
// and app (the same failure with other ids, numbers and paths is one
// group); a resolved group whose route fails again is open again, a
// regression.
func TestExampleAppsErrorGroups(t *testing.T) {
	if _, err := os.Stat(filepath.Join(samplesDir, "express/node_modules")); err != nil {
		t.Fatalf("samples/express has no node_modules: run `make deps` first (%v)", err)
	}
	// What each app's two failures are, as grouping names them.
	want := map[string]struct{ payType, payCulprit, userType, userCulprit string }{
		"express": {"PaymentError", "chargeCard (app.js)", "TypeError", "loadUser (app.js)"},
		"flask":   {"PaymentError", "charge_card (app.py)", "KeyError", "load_user (app.py)"},
		"gin":     {"*main.PaymentError", "main.chargeCard (main.go)", "runtime.plainError", "main.loadUser (main.go)"},
	}
	pl := startAllInOne(t)
	admin, key := sampleProject(t, pl, "apps")
	for _, app := range exampleApps {
		t.Run(app.name, func(t *testing.T) {
			base, stop := startExampleApp(t, pl, app, key)
			defer stop()
			for _, id := range []string{"8812", "17", "40001", "5"} {
				require.Equal(t, 500, get(t, base+"/orders/"+id+"/pay"), "order %s", id)
			}
			for _, id := range []string{"3", "99"} {
				require.Equal(t, 500, get(t, base+"/users/"+id), "user %s", id)
			}
			// The groups of the app's service: one per route, once its
			// entries are flushed.
			var pay, users map[string]any
			require.Eventually(t, func() bool {
				r := pl.do(t, "GET", "/api/logs/errors?project=apps&service="+app.service, nil, bearer(admin)).expect(t, 200).JSON
				pay, users = nil, nil
				gs := r["groups"].([]any)
				for _, g := range gs {
					m := g.(map[string]any)
					path, _ := m["example"].(map[string]any)["context"].(map[string]any)["path"].(string)
					switch {
					case strings.HasPrefix(path, "/orders/"):
						pay = m
					case strings.HasPrefix(path, "/users/"):
						users = m
					}
				}
				return len(gs) == 2 && pay != nil && users != nil && num(t, pay["count"]) == 4 && num(t, users["count"]) == 2
			}, 30*time.Second, 100*time.Millisecond, "%s: want one group of 4 for /orders/:id/pay and one of 2 for /users/:id", app.name)
			w := want[app.name]
			require.Equal(t, []any{w.payType, w.payCulprit, w.userType, w.userCulprit},
				[]any{pay["exception_type"], pay["culprit"], users["exception_type"], users["culprit"]}, "%v / %v", pay["title"], users["title"])
			require.Regexp(t, `^`+regexp.QuoteMeta(w.payType)+`: payment \d+ failed: timeout after \d+ ms$`, pay["title"])
			require.NotEmpty(t, groupOf(t, pl, admin, pay["id"].(string))["stack"])

			pl.do(t, "PATCH", "/api/logs/errors/"+pay["id"].(string), map[string]string{"status": "resolved"}, bearer(admin)).expect(t, 200)
			require.Equal(t, 500, get(t, base+"/orders/77/pay"))
			require.Eventually(t, func() bool {
				g := groupOf(t, pl, admin, pay["id"].(string))
				return g["status"] == "open" && g["regression"] == true && num(t, g["count"]) == 5
			}, 30*time.Second, 100*time.Millisecond, "%s: the resolved group that failed again is not reopened", app.name)
		})
	}
}
