package alerts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

func TestSealer(t *testing.T) {
	s, err := newSealer(testKey)
	require.NoError(t, err)
	a, err := s.seal("whsec-1")
	require.NoError(t, err)
	b, err := s.seal("whsec-1")
	require.NoError(t, err)
	require.NotEqual(t, a, b, "a fresh nonce each time")
	require.NotContains(t, a, "whsec")
	got, err := s.open(a)
	require.NoError(t, err)
	require.Equal(t, "whsec-1", got)

	other, err := newSealer("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=")
	require.NoError(t, err)
	_, err = other.open(a)
	require.ErrorContains(t, err, "wrong key")

	var none *sealer
	_, err = none.seal("x")
	require.ErrorIs(t, err, errNoSecretsKey)
	empty, err := none.seal("")
	require.NoError(t, err, "no secret needs no key")
	require.Empty(t, empty)

	_, err = newSealer("c2hvcnQ=")
	require.ErrorContains(t, err, "32 bytes")
}

func TestKeyFileIsKept(t *testing.T) {
	path := t.TempDir() + "/data/secrets.key"
	k1, err := KeyFile(path)
	require.NoError(t, err)
	k2, err := KeyFile(path)
	require.NoError(t, err)
	require.Equal(t, k1, k2, "the same key after a restart")
	_, err = parseKey(k1)
	require.NoError(t, err)
}

func TestSignIsHMACOfTheBody(t *testing.T) {
	body := []byte(`{"state":"firing"}`)
	m := hmac.New(sha256.New, []byte("k"))
	m.Write(body)
	require.Equal(t, "sha256="+hex.EncodeToString(m.Sum(nil)), sign("k", body))
}

func TestBackoffAndRetryable(t *testing.T) {
	s := &Service{cfg: Config{RetryBase: time.Second}}
	for n := 1; n <= 40; n++ {
		ceiling := min(retryCap, time.Second<<min(n-1, 30))
		for range 50 {
			d := s.backoff(n)
			require.Positive(t, d)
			require.LessOrEqual(t, d, ceiling, "attempt %d", n)
		}
	}
	for status, want := range map[int]bool{0: true, 500: true, 503: true, 302: true, 408: true, 429: true, 400: false, 401: false, 404: false, 410: false} {
		require.Equal(t, want, attempt{status: status, err: "x"}.retryable(), "status %d", status)
	}
}

func TestParseRule(t *testing.T) {
	for _, w := range []string{"30s", "59s", "25h", "1m30.5s", "soon", ""} {
		_, err := parseWindow(w)
		require.Error(t, err, w)
	}
	for w, want := range map[string]time.Duration{"60s": time.Minute, "5m": 5 * time.Minute, "24h": 24 * time.Hour, "1d": 24 * time.Hour} {
		got, err := parseWindow(w)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	q, err := parseQuery(&logsv1.AlertQuery{Level: "error, FATAL,error", Service: "b,a"})
	require.NoError(t, err)
	require.Equal(t, []int16{5, 6}, q.Levels)
	require.Equal(t, []string{"a", "b"}, q.Services)
	_, _, err = parseCondition(&logsv1.AlertCondition{Type: "rate_change"})
	require.ErrorContains(t, err, "condition.threshold")
	typ, th, err := parseCondition(&logsv1.AlertCondition{Type: "new_error_group"})
	require.NoError(t, err)
	require.Equal(t, "new_error_group", typ)
	require.Equal(t, 1.0, th)
	_, err = parseChannels([]*logsv1.AlertChannel{{Type: "webhook", Url: "https://x.example.com", Secret: "s"}}, nil, nil)
	require.ErrorIs(t, err, errNoSecretsKey, "a secret without a key is refused, not stored in plaintext")
}

// TestConditions evaluates each condition against entries in the
// database at a fixed now.
func TestConditions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.now
	in := func(d time.Duration) time.Time { return now.Add(-d) }
	// The last minute: 3 ERROR of api (one with order 7), 1 INFO, 1 ERROR of worker matching "disk".
	f.entry(in(10*time.Second), "api", "ERROR", "payment failed", `{"order": "7"}`, 11)
	f.entry(in(20*time.Second), "api", "ERROR", "payment failed", `{}`, 11)
	f.entry(in(30*time.Second), "api", "ERROR", "timeout", `{}`, 12)
	f.entry(in(40*time.Second), "api", "INFO", "fine", `{}`, 0)
	f.entry(in(50*time.Second), "worker", "ERROR", "disk full", `{}`, 13)
	// The minute before: 1 ERROR. Exactly at now: outside [now-1m, now).
	f.entry(in(90*time.Second), "api", "ERROR", "payment failed", `{}`, 11)
	f.entry(now, "api", "ERROR", "payment failed", `{}`, 11)
	// Groups: 12 and 13 first seen in the window, 11 long before.
	for fp, first := range map[int64]time.Time{11: in(2 * time.Hour), 12: in(30 * time.Second), 13: in(50 * time.Second)} {
		_, err := f.pool.Exec(ctx, `INSERT INTO logs.error_groups (project_id, fingerprint, exception_type, title, culprit, first_seen) VALUES ($1, $2, '', 't', '', $3)`, f.project, fp, first)
		require.NoError(t, err)
	}
	errs := query{Levels: []int16{5}}
	for _, c := range []struct {
		name     string
		r        *rule
		value    float64
		holds    bool
		nsamples int
	}{
		{"count of ERROR", f.rule(condCount, 4, time.Minute, errs), 4, true, 4},
		{"count below", f.rule(condCount, 5, time.Minute, errs), 4, false, 0},
		{"count of a service", f.rule(condCount, 1, time.Minute, query{Levels: []int16{5}, Services: []string{"worker"}}), 1, true, 1},
		{"count of a text", f.rule(condCount, 1, time.Minute, query{Q: "PAYMENT"}), 2, true, 2},
		{"count of a context field", f.rule(condCount, 1, time.Minute, query{Context: map[string]string{"order": "7"}}), 1, true, 1},
		{"rise of 300%", f.rule(condRateChange, 300, time.Minute, errs), 300, true, 4},
		{"rise short of 400%", f.rule(condRateChange, 400, time.Minute, errs), 300, false, 0},
		{"a drop is not a rise", f.rule(condRateChange, -50, time.Minute, errs), 300, false, 0},
		{"new groups", f.rule(condNewErrorGroup, 1, time.Minute, errs), 2, true, 4},
		{"new groups of a service", f.rule(condNewErrorGroup, 2, time.Minute, query{Services: []string{"worker"}}), 1, false, 0},
		{"silent service", f.rule(condSilence, 0, time.Minute, query{Services: []string{"api", "billing", "worker"}}), 1, true, 0},
		{"no silence", f.rule(condSilence, 0, time.Minute, query{Services: []string{"api"}}), 0, false, 0},
		{"silence of a query", f.rule(condSilence, 0, time.Minute, query{Q: "nothing like it"}), 1, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := f.s.measure(ctx, f.pool, c.r, now)
			require.NoError(t, err)
			require.Equal(t, c.value, m.value)
			require.Equal(t, c.holds, m.holds)
			require.Len(t, m.samples, c.nsamples)
		})
	}
}

func TestSpikeAgainstTheBaseline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// 2 entries in each of the 96 minutes before the window, then 2 or 30
	// in the window.
	for k := 1; k <= 96; k++ {
		for i := range 2 {
			f.entry(f.now.Add(-time.Duration(k)*time.Minute-time.Duration(10+i)*time.Second), "api", "ERROR", "x", `{}`, 0)
		}
	}
	steady := f.rule(condSpike, 3.5, time.Minute, query{})
	for i := range 2 {
		f.entry(f.now.Add(-time.Duration(5+i)*time.Second), "api", "ERROR", "x", `{}`, 0)
	}
	m, err := f.s.measure(ctx, f.pool, steady, f.now)
	require.NoError(t, err)
	require.InDelta(t, 0, m.value, 0.01)
	require.False(t, m.holds)
	for i := range 28 {
		f.entry(f.now.Add(-time.Duration(20+i)*time.Millisecond), "api", "ERROR", "x", `{}`, 0)
	}
	m, err = f.s.measure(ctx, f.pool, steady, f.now)
	require.NoError(t, err)
	require.Greater(t, m.value, 3.5, "30 against a baseline of 2")
	require.True(t, m.holds)
}

// TestEvaluationStateAndCooldown walks one rule through fire, resolve and
// a second fire within its cooldown: the state survives in the database,
// each change is one firing, and the cooldown holds back the second
// notification (and so its resolution's).
func TestEvaluationStateAndCooldown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var received int
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { received++ }))
	t.Cleanup(hook.Close)
	chs, err := json.Marshal([]channel{{Type: chanWebhook, URL: hook.URL}})
	require.NoError(t, err)
	var id int64
	require.NoError(t, f.pool.QueryRow(ctx, `INSERT INTO logs.alert_rules (project_id, name, window_seconds, condition_type, threshold, channels, cooldown_seconds, next_evaluation_at)
		VALUES ($1, 'r', 60, 'count', 1, $2, 3600, $3) RETURNING id`, f.project, chs, f.now).Scan(&id))
	eval := func() {
		t.Helper()
		ok, err := f.s.evaluateOne(ctx, f.now.Add(time.Second))
		require.NoError(t, err)
		require.True(t, ok, "the rule is due")
		ok, err = f.s.evaluateOne(ctx, f.now.Add(time.Second))
		require.NoError(t, err)
		require.False(t, ok, "evaluated once per pass")
		f.now = f.now.Add(time.Second)
	}
	firings := func() (out []string) {
		rows, err := f.pool.Query(ctx, `SELECT state || ':' || notified || ':' || (SELECT count(*) FROM logs.alert_deliveries d WHERE d.firing_id = f.id)
			FROM logs.alert_firings f WHERE rule_id = $1 ORDER BY id`, id)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out = append(out, s)
		}
		return out
	}
	eval()
	require.Empty(t, firings())
	f.entry(f.now.Add(-time.Second), "api", "ERROR", "boom", `{}`, 0)
	eval()
	eval() // still firing: no new firing
	require.Equal(t, []string{"firing:true:1"}, firings())
	f.now = f.now.Add(time.Minute)
	eval()
	require.Equal(t, []string{"firing:true:1", "resolved:true:1"}, firings())
	f.entry(f.now.Add(-time.Second), "api", "ERROR", "boom again", `{}`, 0)
	eval()
	f.now = f.now.Add(time.Minute)
	eval()
	require.Equal(t, []string{"firing:true:1", "resolved:true:1", "firing:false:0", "resolved:false:0"}, firings(), "within the cooldown: recorded, not notified")
	var state string
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT state FROM logs.alert_rules WHERE id = $1`, id).Scan(&state))
	require.Equal(t, "ok", state)

	// The two queued deliveries go out (the worker's pass), once each.
	f.now = f.now.Add(time.Second)
	n, err := f.s.deliverDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 2, received)
	n, err = f.s.deliverDue(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "delivered: not due again")
}

// TestSlackAndWebhookDeliveries sends one firing to a Slack channel and a
// signed webhook through the delivery pass: Slack gets its
// incoming-webhook shape unsigned, the webhook the signed JSON.
func TestSlackAndWebhookDeliveries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	type got struct {
		header http.Header
		body   []byte
	}
	bodies := make(chan got, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, r.ContentLength)
		_, _ = r.Body.Read(b)
		bodies <- got{r.Header.Clone(), b}
	}))
	t.Cleanup(hook.Close)
	sealed, err := f.s.sealer.seal("k")
	require.NoError(t, err)
	r := f.rule(condCount, 1, time.Minute, query{})
	r.Name = "<b>checkout</b> & co"
	r.Channels = []channel{{Type: chanSlack, URL: hook.URL + "/slack"}, {Type: chanWebhook, URL: hook.URL + "/hook", Secret: sealed}}
	chs, err := json.Marshal(r.Channels)
	require.NoError(t, err)
	require.NoError(t, f.pool.QueryRow(ctx, `INSERT INTO logs.alert_rules (project_id, name, window_seconds, condition_type, threshold, channels)
		VALUES ($1, $2, 60, 'count', 1, $3) RETURNING id`, f.project, r.Name, chs).Scan(&r.ID))
	m := measurement{value: 3, holds: true, samples: []sampleEntry{{ID: 1, Timestamp: f.now, ServiceName: "api", Level: "ERROR", Message: "x <y>", Context: json.RawMessage(`{"n": 12345678901234567890}`)}}}
	_, err = f.s.recordFiring(ctx, f.pool, r, "firing", m, f.now.Add(-time.Minute), f.now, true)
	require.NoError(t, err)
	n, err := f.s.deliverDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for range 2 {
		g := <-bodies
		var v map[string]any
		require.NoError(t, json.Unmarshal(g.body, &v))
		if _, slack := v["blocks"]; slack {
			require.Empty(t, g.header.Get(SignatureHeader), "Slack bodies are not signed")
			require.Contains(t, v["text"], "[FIRING] &lt;b&gt;checkout&lt;/b&gt; &amp; co (shop): 3 entries in 1m (threshold 1)")
			require.Len(t, v["blocks"], 3, "headline, window with the link, sample entries")
			continue
		}
		require.Equal(t, sign("k", g.body), g.header.Get(SignatureHeader))
		require.Contains(t, string(g.body), `"context":{"n":12345678901234567890}`, "every digit of the stored context")
		require.Contains(t, string(g.body), `"name":"<b>checkout</b> & co"`, "no HTML escaping")
		require.NotContains(t, string(g.body), "\n")
		require.Equal(t, "firing", v["state"])
	}
}

// TestReplicasClaimEachRuleOnce has two services, each with its own pool
// on one database, run their evaluation passes at the same time over 40
// due rules that all hold: every rule is claimed by one of them (both
// claim some), and each fires exactly once.
func TestReplicasClaimEachRuleOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other, err := pgxpool.New(ctx, f.pool.Config().ConnString())
	require.NoError(t, err)
	t.Cleanup(other.Close)
	s2 := New(zaptest.NewLogger(t), other, Config{Interval: time.Second, SecretsKey: testKey})
	s2.now = f.s.now
	chs, err := json.Marshal([]channel{{Type: chanWebhook, URL: "http://127.0.0.1:9/"}})
	require.NoError(t, err)
	const rules = 40
	for range rules {
		_, err := f.pool.Exec(ctx, `INSERT INTO logs.alert_rules (project_id, name, window_seconds, condition_type, threshold, channels, next_evaluation_at)
			VALUES ($1, 'r', 60, 'count', 1, $2, $3)`, f.project, chs, f.now)
		require.NoError(t, err)
	}
	f.entry(f.now.Add(-time.Second), "api", "ERROR", "boom", `{}`, 0)
	claims := make([]int, 2)
	var wg sync.WaitGroup
	for i, s := range []*Service{f.s, s2} {
		wg.Go(func() {
			for {
				ok, err := s.evaluateOne(ctx, f.now.Add(time.Second))
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				claims[i]++
			}
		})
	}
	wg.Wait()
	t.Logf("claims by replica: %d / %d", claims[0], claims[1])
	require.Equal(t, rules, claims[0]+claims[1], "each rule evaluated once in the pass")
	require.Positive(t, claims[0])
	require.Positive(t, claims[1])
	var firings, distinct, deliveries int
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT rule_id), (SELECT count(*) FROM logs.alert_deliveries) FROM logs.alert_firings`).Scan(&firings, &distinct, &deliveries))
	require.Equal(t, rules, firings)
	require.Equal(t, rules, distinct)
	require.Equal(t, rules, deliveries)
}
