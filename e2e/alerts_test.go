package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Alerts through the real platform (docs/alerts.md): a new user's rule
// "count >= 5 ERROR in 1 minute" fires to a signed webhook within the
// evaluation interval and resolves when the window has passed; a receiver
// that fails twice gets the same firing again until it answers, every
// attempt recorded; two analysis replicas on one database deliver exactly
// one notification per state change; secrets never come back.
//
// The entries are timestamped 50 s in the past, so that they leave the
// rule's 1-minute window about 10 s after they are sent and the resolution
// comes without waiting a minute.

// alertInterval is the evaluation interval the tests run with.
const alertInterval = time.Second

// received is one POST a receiver got.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
	json   map[string]any
}

// receiver is a webhook endpoint outside the platform: it records every
// POST and answers with the next status of its script (200 once the
// script is used up).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	script []int
	wake   chan struct{}
}

func newReceiver(t *testing.T, script ...int) *receiver {
	rv := &receiver{script: script, wake: make(chan struct{}, 1)}
	rv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := received{at: time.Now(), header: r.Header.Clone(), body: body}
		_ = json.Unmarshal(body, &rec.json)
		rv.mu.Lock()
		rv.got = append(rv.got, rec)
		status := http.StatusOK
		if len(rv.script) > 0 {
			status, rv.script = rv.script[0], rv.script[1:]
		}
		rv.mu.Unlock()
		select {
		case rv.wake <- struct{}{}:
		default:
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"answered":%d}`, status)
	}))
	t.Cleanup(rv.srv.Close)
	return rv
}

// waitFor waits until the receiver has got n POSTs and returns them.
func (rv *receiver) waitFor(t *testing.T, n int, within time.Duration) []received {
	t.Helper()
	deadline := time.After(within)
	for {
		rv.mu.Lock()
		got := slices.Clone(rv.got)
		rv.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-rv.wake:
		case <-deadline:
			t.Fatalf("the receiver got %d POSTs, want %d within %s", len(got), n, within)
		}
	}
}

func (rv *receiver) all() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return slices.Clone(rv.got)
}

// alertEnv is what the alert tests add to a platform's environment.
func alertEnv() []string {
	return []string{
		"DEVSMITH_ALERT_INTERVAL=" + alertInterval.String(),
		"DEVSMITH_ALERT_RETRY_BASE=200ms",
		"DEVSMITH_DASHBOARD_URL=https://logs.example.com",
	}
}

// startAlertPlatform is the all-in-one (startAllInOneAt's settings) with
// the alert settings of the tests.
func startAlertPlatform(t *testing.T) *platform {
	dataDir := newDataDir(t)
	env := append([]string{
		"DEVSMITH_DATA_DIR=" + dataDir,
		"DATABASE_URL=",
		"DEVSMITH_HTTP_ADDR=127.0.0.1:0",
		"DEVSMITH_PROJECTS_ADDR=127.0.0.1:0",
		"DEVSMITH_INGESTION_ADDR=127.0.0.1:0",
		"DEVSMITH_QUERY_ADDR=127.0.0.1:0",
		"DEVSMITH_ANALYSIS_ADDR=127.0.0.1:0",
		"DEVSMITH_ADMIN_EMAIL=" + adminEmail,
		"DEVSMITH_ADMIN_PASSWORD=" + adminPassword,
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY=0",
		"DEVSMITH_SECRETS_KEY=",
	}, alertEnv()...)
	p := startProc(t, "devsmith", env)
	pl := &platform{grpcAddrs: map[string]string{}, procs: []*proc{p}}
	pl.baseURL = "http://" + p.waitLog(t, "gateway listening", nil)["addr"].(string)
	pl.db = openDB(t, fmt.Sprintf("host=%s user=devsmith dbname=devsmith sslmode=disable", filepath.Join(dataDir, "pg")))
	pl.waitReady(t)
	return pl
}

// newUserWithProject makes a member user (as the admin), signs them in and
// has them create a project: their session and the project's key.
func newUserWithProject(t *testing.T, pl *platform, admin, slug string) (tok, key string) {
	t.Helper()
	email := slug + "@example.com"
	pl.do(t, "POST", "/api/users", map[string]any{"email": email, "password": "password-of-" + slug, "role": "member"}, bearer(admin)).expect(t, 201)
	tok = pl.login(t, email, "password-of-"+slug)
	r := pl.do(t, "POST", "/api/logs/projects", map[string]any{"name": slug, "slug": slug}, bearer(tok)).expect(t, 201)
	key, _ = r.JSON["api_key"].(string)
	require.NotEmpty(t, key)
	return tok, key
}

// createAlert creates a rule and returns it.
func createAlert(t *testing.T, pl *platform, tok string, body map[string]any) map[string]any {
	t.Helper()
	r := pl.do(t, "POST", "/api/alerts", body, bearer(tok)).expect(t, 201)
	return r.JSON["alert"].(map[string]any)
}

func errorsAt(ts time.Time, n int, msg string) []map[string]any {
	var out []map[string]any
	for i := range n {
		out = append(out, errorEntry(ts.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("%s %d", msg, i), map[string]any{"order": i}))
	}
	return out
}

// requireSigned checks a POST's signature with secret, and its timestamp.
func requireSigned(t *testing.T, got received, secret string) {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(got.body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	require.Equal(t, want, got.header.Get("X-DevSmith-Signature"), "the signature is the HMAC-SHA256 of the exact body")
	sec, err := strconv.ParseInt(got.header.Get("X-DevSmith-Timestamp"), 10, 64)
	require.NoError(t, err, "X-DevSmith-Timestamp is Unix seconds")
	require.InDelta(t, float64(got.at.Unix()), float64(sec), 5)
}

func TestAlerts(t *testing.T) {
	t.Parallel()
	pl := startAlertPlatform(t)
	admin := pl.login(t, adminEmail, adminPassword)

	t.Run("FiresSignedAndResolves", func(t *testing.T) {
		t.Parallel()
		tok, key := newUserWithProject(t, pl, admin, "alerting-shop")
		rv := newReceiver(t)
		const secret = "whsec-e2e-0123456789"
		a := createAlert(t, pl, tok, map[string]any{
			"name": "more than 5 errors", "project": "alerting-shop",
			"query": map[string]any{"level": "ERROR"}, "window": "1m",
			"condition": map[string]any{"type": "count", "threshold": 5},
			"channels":  []any{map[string]any{"type": "webhook", "url": rv.srv.URL + "/hook", "secret": secret}},
		})
		id := int64(a["id"].(float64))
		require.Equal(t, "ok", a["state"])
		require.Equal(t, "1m", a["window"])
		ch := a["channels"].([]any)[0].(map[string]any)
		require.Equal(t, true, ch["has_secret"])
		require.Empty(t, ch["secret"])

		// Four ERROR entries and INFO ones: the condition does not hold.
		sent := time.Now().Add(-50 * time.Second)
		send(t, pl, key, "api", errorsAt(sent, 4, "payment failed")...)
		send(t, pl, key, "api", map[string]any{"level": "INFO", "message": "fine", "timestamp": sent.UTC().Format(time.RFC3339Nano)})
		require.Eventually(t, func() bool {
			g := pl.do(t, "GET", fmt.Sprintf("/api/alerts/%d", id), nil, bearer(tok)).expect(t, 200).JSON["alert"].(map[string]any)
			return g["last_value"] == 4.0
		}, 10*time.Second, 20*time.Millisecond, "the rule is evaluated and counts the 4 ERROR entries")
		require.Empty(t, rv.all(), "4 entries do not fire count >= 5")

		// Two more: 6 in the window. The firing POST arrives within the
		// interval (and the time to evaluate and send).
		send(t, pl, key, "api", errorsAt(sent.Add(time.Second), 2, "payment failed again")...)
		acked := time.Now()
		got := rv.waitFor(t, 1, 3*alertInterval+5*time.Second)
		latency := got[0].at.Sub(acked)
		t.Logf("alert latency: ingest acknowledged -> webhook received: %s (interval %s)", latency.Round(time.Millisecond), alertInterval)
		require.Less(t, latency, alertInterval+3*time.Second)
		fire := got[0]
		requireSigned(t, fire, secret)
		require.Equal(t, "application/json", fire.header.Get("Content-Type"))
		require.Equal(t, "firing", fire.json["state"])
		require.Equal(t, "alerting-shop", fire.json["project"])
		require.EqualValues(t, 6, fire.json["value"])
		require.EqualValues(t, 5, fire.json["threshold"])
		require.Equal(t, "1m", fire.json["window"])
		require.Equal(t, "more than 5 errors", fire.json["alert"].(map[string]any)["name"])
		samples := fire.json["sample_entries"].([]any)
		require.Len(t, samples, 5, "the newest 5 matching entries")
		for _, e := range samples {
			require.Equal(t, "ERROR", e.(map[string]any)["level"])
		}
		require.Contains(t, samples[0].(map[string]any)["message"], "payment failed again")
		require.Contains(t, fire.json["url"], "https://logs.example.com/?")
		require.Contains(t, fire.json["url"], "project=alerting-shop")
		require.Contains(t, fire.json["url"], "level=ERROR")
		since, err := time.Parse(time.RFC3339Nano, fire.json["since"].(string))
		require.NoError(t, err)
		until, err := time.Parse(time.RFC3339Nano, fire.json["until"].(string))
		require.NoError(t, err)
		require.Equal(t, time.Minute, until.Sub(since))
		g := pl.do(t, "GET", fmt.Sprintf("/api/alerts/%d", id), nil, bearer(tok)).expect(t, 200).JSON["alert"].(map[string]any)
		require.Equal(t, "firing", g["state"])

		// The entries leave the window ~10 s after they were sent: resolved.
		got = rv.waitFor(t, 2, 30*time.Second)
		res := got[1]
		requireSigned(t, res, secret)
		require.Equal(t, "resolved", res.json["state"])
		require.Less(t, res.json["value"], 5.0, "the first four left the window; the two later ones remain")
		require.Equal(t, fire.json["alert"], res.json["alert"])

		// The firings, newest first, each delivered at the first attempt.
		// (The answer is recorded just after the receiver got the POST.)
		var fs response
		require.Eventually(t, func() bool {
			fs = pl.do(t, "GET", fmt.Sprintf("/api/alerts/%d/firings", id), nil, bearer(tok)).expect(t, 200)
			for _, f := range fs.JSON["firings"].([]any) {
				for _, d := range f.(map[string]any)["deliveries"].([]any) {
					if d.(map[string]any)["status"] == "pending" {
						return false
					}
				}
			}
			return true
		}, 5*time.Second, 20*time.Millisecond, "both deliveries recorded")
		firings := fs.JSON["firings"].([]any)
		require.Len(t, firings, 2)
		for i, state := range []string{"resolved", "firing"} {
			f := firings[i].(map[string]any)
			require.Equal(t, state, f["state"])
			require.Equal(t, true, f["notified"])
			ds := f["deliveries"].([]any)
			require.Len(t, ds, 1)
			d := ds[0].(map[string]any)
			require.Equal(t, "delivered", d["status"])
			require.Equal(t, rv.srv.URL+"/hook", d["url"])
			at := d["attempts"].([]any)
			require.Len(t, at, 1)
			require.EqualValues(t, 200, at[0].(map[string]any)["http_status"])
			require.Equal(t, `{"answered":200}`, at[0].(map[string]any)["response_snippet"])
		}
		require.Len(t, firings[1].(map[string]any)["sample_entries"].([]any), 5)
		require.Len(t, rv.all(), 2, "one POST per state change")

		// Test notification: sent now, signed, recorded as a firing "test".
		tr := pl.do(t, "POST", fmt.Sprintf("/api/alerts/%d/test", id), map[string]any{}, bearer(tok)).expect(t, 200)
		td := tr.JSON["deliveries"].([]any)[0].(map[string]any)
		require.Equal(t, "delivered", td["status"])
		got = rv.waitFor(t, 3, 5*time.Second)
		requireSigned(t, got[2], secret)
		require.Equal(t, "test", got[2].json["state"])

		// The secret is in no answer: create, get, list, update, firings, test.
		upd := pl.do(t, "PATCH", fmt.Sprintf("/api/alerts/%d", id), map[string]any{"name": "renamed",
			"channels": []any{map[string]any{"type": "webhook", "url": rv.srv.URL + "/hook"}}}, bearer(tok)).expect(t, 200)
		ua := upd.JSON["alert"].(map[string]any)
		require.Equal(t, "renamed", ua["name"])
		require.Equal(t, "1m", ua["window"], "absent fields keep their values")
		require.Equal(t, true, ua["channels"].([]any)[0].(map[string]any)["has_secret"], "the same channel without a secret keeps its secret")
		for _, raw := range [][]byte{
			upd.Raw, fs.Raw, tr.Raw,
			pl.do(t, "GET", fmt.Sprintf("/api/alerts/%d", id), nil, bearer(tok)).expect(t, 200).Raw,
			pl.do(t, "GET", "/api/alerts", nil, bearer(tok)).expect(t, 200).Raw,
			pl.do(t, "GET", "/api/alerts?project=alerting-shop", nil, bearer(admin)).expect(t, 200).Raw,
		} {
			require.NotContains(t, string(raw), secret)
		}
		var stored string
		require.NoError(t, pl.db.QueryRow(context.Background(), `SELECT channels::text FROM logs.alert_rules WHERE id = $1`, id).Scan(&stored))
		require.NotContains(t, stored, secret, "stored encrypted")
		require.NotContains(t, pl.procs[0].output(), secret, "never logged")
	})

	// The latency from an entry's acknowledged ingest to the webhook's
	// receipt, over several firings (docs/alerts.md): at most an interval
	// of waiting for the next evaluation, then the evaluation and the POST.
	t.Run("Latency", func(t *testing.T) {
		t.Parallel()
		tok, key := newUserWithProject(t, pl, admin, "latency")
		rv := newReceiver(t)
		const runs = 7
		var ids []int64
		for i := range runs {
			a := createAlert(t, pl, tok, map[string]any{
				"name": fmt.Sprintf("latency %d", i), "project": "latency",
				"query": map[string]any{"q": fmt.Sprintf("lat-%d-end", i)}, "window": "1m",
				"condition": map[string]any{"type": "count", "threshold": 1},
				"channels":  []any{map[string]any{"type": "webhook", "url": rv.srv.URL}},
			})
			ids = append(ids, int64(a["id"].(float64)))
		}
		var lat, work []time.Duration
		for i := range runs {
			send(t, pl, key, "api", errorEntry(time.Now(), fmt.Sprintf("lat-%d-end", i), nil))
			acked := time.Now()
			got := rv.waitFor(t, i+1, 3*alertInterval+5*time.Second)
			lat = append(lat, got[i].at.Sub(acked))
			require.Less(t, lat[i], alertInterval+3*time.Second)
			// The evaluation's own time (the firing's create_time) to the
			// receipt: what the latency adds to the wait for the next pass.
			f := pl.do(t, "GET", fmt.Sprintf("/api/alerts/%d/firings", ids[i]), nil, bearer(tok)).expect(t, 200).JSON["firings"].([]any)[0].(map[string]any)
			evaluated, err := time.Parse(time.RFC3339Nano, f["create_time"].(string))
			require.NoError(t, err)
			work = append(work, got[i].at.Sub(evaluated))
		}
		slices.Sort(lat)
		slices.Sort(work)
		t.Logf("alert latency over %d firings (interval %s): ingest -> receipt min %s, median %s, max %s; evaluation -> receipt median %s, max %s", runs, alertInterval,
			lat[0].Round(time.Millisecond), lat[runs/2].Round(time.Millisecond), lat[runs-1].Round(time.Millisecond),
			work[runs/2].Round(time.Millisecond), work[runs-1].Round(time.Millisecond))
	})

	t.Run("RetriesTheSameFiring", func(t *testing.T) {
		t.Parallel()
		tok, key := newUserWithProject(t, pl, admin, "flaky-receiver")
		rv := newReceiver(t, 500, 500)
		a := createAlert(t, pl, tok, map[string]any{
			"name": "any fatal", "project": "flaky-receiver",
			"query": map[string]any{"level": "ERROR,FATAL", "service": "worker"}, "window": "5m",
			"condition": map[string]any{"type": "count", "threshold": 1}, "cooldown": "10m",
			"channels": []any{map[string]any{"type": "webhook", "url": rv.srv.URL, "secret": "s"}},
		})
		id := int64(a["id"].(float64))
		send(t, pl, key, "worker", errorsAt(time.Now(), 1, "disk full")...)
		got := rv.waitFor(t, 3, 20*time.Second)
		for _, g := range got[1:] {
			require.Equal(t, got[0].body, g.body, "every attempt sends the same body")
			requireSigned(t, g, "s")
		}
		require.Eventually(t, func() bool {
			fs := pl.do(t, "GET", fmt.Sprintf("/api/alerts/%d/firings", id), nil, bearer(tok)).expect(t, 200).JSON["firings"].([]any)
			if len(fs) != 1 {
				return false
			}
			d := fs[0].(map[string]any)["deliveries"].([]any)[0].(map[string]any)
			at := d["attempts"].([]any)
			if d["status"] != "delivered" || len(at) != 3 {
				return false
			}
			for i, want := range []float64{500, 500, 200} {
				m := at[i].(map[string]any)
				if m["http_status"] != want {
					return false
				}
				if want == 500 && !strings.Contains(m["error"].(string), "500") {
					return false
				}
			}
			return true
		}, 10*time.Second, 50*time.Millisecond, "one firing, one delivery, attempts 500, 500, 200")
		require.Len(t, rv.all(), 3)
	})

	t.Run("Permissions", func(t *testing.T) {
		t.Parallel()
		tok, _ := newUserWithProject(t, pl, admin, "guarded")
		a := createAlert(t, pl, tok, map[string]any{
			"name": "silence of the api", "project": "guarded",
			"query": map[string]any{"service": "api"}, "window": "10m",
			"condition": map[string]any{"type": "silence"},
			"channels":  []any{map[string]any{"type": "slack", "url": "https://hooks.slack.example.com/services/T/B/X"}},
		})
		id := int64(a["id"].(float64))
		pid := int64(pl.do(t, "GET", "/api/logs/projects", nil, bearer(tok)).expect(t, 200).JSON["projects"].([]any)[0].(map[string]any)["id"].(float64))
		for _, u := range []string{"viewer-guarded", "stranger"} {
			pl.do(t, "POST", "/api/users", map[string]any{"email": u + "@example.com", "password": "password-of-" + u, "role": "member"}, bearer(admin)).expect(t, 201)
		}
		pl.do(t, "POST", fmt.Sprintf("/api/logs/projects/%d/members", pid), map[string]any{"email": "viewer-guarded@example.com", "role": "viewer"}, bearer(tok)).expect(t, 201)
		viewer := pl.login(t, "viewer-guarded@example.com", "password-of-viewer-guarded")
		stranger := pl.login(t, "stranger@example.com", "password-of-stranger")
		path := fmt.Sprintf("/api/alerts/%d", id)

		pl.do(t, "GET", path, nil, bearer(viewer)).expect(t, 200)
		pl.do(t, "GET", path+"/firings", nil, bearer(viewer)).expect(t, 200)
		require.Len(t, pl.do(t, "GET", "/api/alerts", nil, bearer(viewer)).expect(t, 200).JSON["alerts"], 1)
		pl.do(t, "PATCH", path, map[string]any{"name": "x"}, bearer(viewer)).expectError(t, 403, "PERMISSION_DENIED", "maintainers")
		pl.do(t, "DELETE", path, nil, bearer(viewer)).expectError(t, 403, "PERMISSION_DENIED", "maintainers")
		pl.do(t, "POST", path+"/test", map[string]any{}, bearer(viewer)).expectError(t, 403, "PERMISSION_DENIED", "maintainers")
		pl.do(t, "POST", "/api/alerts", map[string]any{"name": "v", "project": "guarded", "window": "1m",
			"condition": map[string]any{"type": "silence"}, "channels": []any{map[string]any{"type": "slack", "url": "https://x.example.com"}}},
			bearer(viewer)).expectError(t, 403, "PERMISSION_DENIED", "maintainers")
		for _, p := range []string{path, path + "/firings"} {
			pl.do(t, "GET", p, nil, bearer(stranger)).expectError(t, 404, "NOT_FOUND", "not found")
		}
		pl.do(t, "PATCH", path, map[string]any{"name": "x"}, bearer(stranger)).expectError(t, 404, "NOT_FOUND", "not found")
		require.Empty(t, pl.do(t, "GET", "/api/alerts", nil, bearer(stranger)).expect(t, 200).JSON["alerts"])
		pl.do(t, "GET", path, nil).expect(t, 401)

		// Bad input names the field.
		for _, c := range []struct {
			body map[string]any
			want string
		}{
			{map[string]any{"window": "30s"}, "window"},
			{map[string]any{"window": "25h"}, "window"},
			{map[string]any{"condition": map[string]any{"type": "often"}}, "condition.type"},
			{map[string]any{"condition": map[string]any{"type": "count", "threshold": 0}}, "condition.threshold"},
			{map[string]any{"channels": []any{map[string]any{"type": "email", "url": "https://x.example.com"}}}, "channels[0].type"},
			{map[string]any{"channels": []any{map[string]any{"type": "webhook", "url": "ftp://x"}}}, "channels[0].url"},
			{map[string]any{"query": map[string]any{"level": "LOUD"}}, "query.level"},
			{map[string]any{"project": "nope"}, "not found"},
		} {
			body := map[string]any{"name": "n", "project": "guarded", "window": "1m", "condition": map[string]any{"type": "count", "threshold": 1},
				"channels": []any{map[string]any{"type": "webhook", "url": "https://x.example.com"}}}
			for k, v := range c.body {
				body[k] = v
			}
			r := pl.do(t, "POST", "/api/alerts", body, bearer(tok))
			require.Contains(t, []int{400, 404}, r.Status, "body: %s", r.Raw)
			require.Contains(t, r.JSON["error"], c.want, "body: %s", r.Raw)
		}

		// The owner deletes it.
		pl.do(t, "DELETE", path, nil, bearer(tok)).expect(t, 200)
		pl.do(t, "GET", path, nil, bearer(tok)).expectError(t, 404, "NOT_FOUND", "not found")
	})
}

// TestAlertsTwoReplicas runs two analysis services on one database (the
// rest as separate processes too): each rule's evaluation is claimed by
// one of them, so every rule fires once and each receiver gets one POST,
// however the replicas' passes interleave.
func TestAlertsTwoReplicas(t *testing.T) {
	t.Parallel()
	dsn := cluster.NewDatabase(t)
	token := "e2e-service-token"
	common := []string{
		"DATABASE_URL=" + dsn,
		"DEVSMITH_SERVICE_TOKEN=" + token,
		"DEVSMITH_ADMIN_EMAIL=" + adminEmail,
		"DEVSMITH_ADMIN_PASSWORD=" + adminPassword,
		"DEVSMITH_GRPC_ADDR=127.0.0.1:0",
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY=0",
		// One key for both replicas: each opens what the other sealed.
		"DEVSMITH_SECRETS_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
	pl := &platform{grpcAddrs: map[string]string{}}
	projects := startProc(t, "devsmith-projects", common)
	pl.grpcAddrs["projects"] = serviceAddr(t, projects, "projects")
	withProjects := append(slices.Clone(common), "DEVSMITH_PROJECTS_ADDR="+pl.grpcAddrs["projects"])
	ingestion := startProc(t, "devsmith-ingestion", withProjects)
	query := startProc(t, "devsmith-query", withProjects)
	analysisEnv := append(slices.Clone(withProjects), alertEnv()...)
	analysisEnv = append(analysisEnv, "DEVSMITH_METRICS_ADDR=127.0.0.1:0")
	a1 := startProc(t, "devsmith-analysis", analysisEnv)
	a2 := startProc(t, "devsmith-analysis", analysisEnv)
	for name, p := range map[string]*proc{"ingestion": ingestion, "query": query, "analysis": a1} {
		pl.grpcAddrs[name] = serviceAddr(t, p, name)
	}
	serviceAddr(t, a2, "analysis")
	gw := startProc(t, "devsmith-gateway", []string{
		"DEVSMITH_HTTP_ADDR=127.0.0.1:0",
		"DEVSMITH_SERVICE_TOKEN=" + token,
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY=0",
		"DEVSMITH_PROJECTS_ADDR=" + pl.grpcAddrs["projects"],
		"DEVSMITH_INGESTION_ADDR=" + pl.grpcAddrs["ingestion"],
		"DEVSMITH_QUERY_ADDR=" + pl.grpcAddrs["query"],
		"DEVSMITH_ANALYSIS_ADDR=" + pl.grpcAddrs["analysis"],
	})
	pl.baseURL = "http://" + gw.waitLog(t, "gateway listening", nil)["addr"].(string)
	pl.procs = []*proc{projects, ingestion, query, a1, a2, gw}
	pl.db = openDB(t, dsn)
	pl.waitReady(t)

	admin := pl.login(t, adminEmail, adminPassword)
	tok, key := newUserWithProject(t, pl, admin, "two-replicas")
	rv := newReceiver(t)
	const rules = 30
	for i := range rules {
		createAlert(t, pl, tok, map[string]any{
			"name": fmt.Sprintf("rule %d", i), "project": "two-replicas",
			"query": map[string]any{"q": fmt.Sprintf("marker-%d-end", i)}, "window": "10m",
			"condition": map[string]any{"type": "count", "threshold": 1},
			"channels":  []any{map[string]any{"type": "webhook", "url": fmt.Sprintf("%s/rule/%d", rv.srv.URL, i), "secret": "shared"}},
		})
	}
	var logs []map[string]any
	for i := range rules {
		logs = append(logs, errorEntry(time.Now(), fmt.Sprintf("marker-%d-end boom", i), nil))
	}
	send(t, pl, key, "api", logs...)
	rv.waitFor(t, rules, 20*time.Second)
	fired := time.Now()

	// Every rule evaluated three more times since (by either replica):
	// a second firing would have been made by then.
	require.Eventually(t, func() bool {
		var oldest time.Time
		err := pl.db.QueryRow(context.Background(), `SELECT min(last_evaluated_at) FROM logs.alert_rules`).Scan(&oldest)
		return err == nil && oldest.After(fired.Add(3*alertInterval))
	}, 20*time.Second, 50*time.Millisecond)
	var firings, rulesFired int
	require.NoError(t, pl.db.QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT rule_id) FROM logs.alert_firings`).Scan(&firings, &rulesFired))
	require.Equal(t, rules, firings, "one firing per rule")
	require.Equal(t, rules, rulesFired)
	got := rv.waitFor(t, rules, time.Second)
	paths := map[string]int{}
	for _, g := range got {
		requireSigned(t, g, "shared")
		paths[g.json["url"].(string)]++
	}
	require.Len(t, got, rules, "one POST per rule")
	require.Len(t, paths, rules)

	// How the evaluations split between the replicas (one may take most:
	// whichever pass comes first after the rules are due takes them;
	// services/analysis/alerts TestReplicasClaimEachRuleOnce has two
	// replicas race for the same rules).
	var split []string
	for _, a := range []*proc{a1, a2} {
		addr := a.waitLog(t, "metrics listening", nil)["addr"].(string)
		res, err := http.Get("http://" + addr + "/metrics")
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var n float64
		for line := range strings.SplitSeq(string(body), "\n") {
			if strings.HasPrefix(line, "devsmith_alert_evaluations_total{") {
				v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
				n += v
			}
		}
		split = append(split, strconv.FormatFloat(n, 'f', 0, 64))
	}
	t.Logf("evaluations by replica: %s", strings.Join(split, " / "))
}
