package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAllInOne(t *testing.T) {
	pl := startAllInOne(t)
	walkContract(t, pl)
}

func TestSeparateProcesses(t *testing.T) {
	t.Parallel()
	pl := startSeparate(t)
	walkContract(t, pl)
}

func walkContract(t *testing.T, pl *platform) {
	t.Run("health", func(t *testing.T) {
		pl.do(t, "GET", "/healthz", nil).expect(t, 200)
		pl.do(t, "GET", "/readyz", nil).expect(t, 200)
	})

	admin := pl.login(t, adminEmail, adminPassword)

	t.Run("sign-in", func(t *testing.T) {
		pl.do(t, "POST", "/api/auth/login", map[string]string{"email": adminEmail, "password": "wrong"}).
			expectError(t, 401, "UNAUTHENTICATED", "invalid email or password")
		pl.do(t, "GET", "/api/logs/projects", nil).expectError(t, 401, "UNAUTHENTICATED", "")
		me := pl.do(t, "GET", "/api/auth/me", nil, bearer(admin)).expect(t, 200)
		require.Equal(t, adminEmail, me.JSON["user"].(map[string]any)["email"])
		require.Equal(t, "admin", me.JSON["user"].(map[string]any)["role"])

		// The cookie works as the session too, and sign-out ends it.
		r := pl.do(t, "POST", "/api/auth/login", map[string]string{"email": adminEmail, "password": adminPassword}).expect(t, 200)
		setCookie := r.Header.Get("Set-Cookie")
		require.Contains(t, setCookie, "devsmith_session=")
		require.Contains(t, setCookie, "HttpOnly")
		require.Contains(t, setCookie, "SameSite=Lax")
		tok := r.JSON["token"].(string)
		cookie := header("Cookie", "devsmith_session="+tok)
		pl.do(t, "GET", "/api/logs/projects", nil, cookie).expect(t, 200)
		// A cookie-authenticated write from another origin is refused
		// (the CSRF cases are in transport_test.go).
		pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "x", "slug": "csrf"}, cookie, header("Origin", "https://evil.example")).
			expectError(t, 403, "csrf", "cross-origin")
		pl.do(t, "POST", "/api/auth/logout", map[string]string{}, browserSessionOf(t, pl, r).opts()...).expect(t, 200)
		pl.do(t, "GET", "/api/logs/projects", nil, cookie).expectError(t, 401, "UNAUTHENTICATED", "")
	})

	t.Run("sign-in lockout per client behind a trusted proxy", func(t *testing.T) {
		// The test is the reverse proxy (DEVSMITH_TRUSTED_PROXIES); the
		// client's own forged hops left of the proxy's are not believed.
		// The guesses name another account, so that only the address is
		// locked, not the admin's account (docs/security.md).
		from := func(client string) reqOpt { return header("X-Forwarded-For", "198.51.100.99, "+client) }
		wrong := map[string]string{"email": "guessed@example.com", "password": "wrong"}
		right := map[string]string{"email": adminEmail, "password": adminPassword}
		for range 10 {
			pl.do(t, "POST", "/api/auth/login", wrong, from("203.0.113.7")).expectError(t, 401, "UNAUTHENTICATED", "invalid email or password")
		}
		r := pl.do(t, "POST", "/api/auth/login", right, from("203.0.113.7"))
		r.expectError(t, 429, "RESOURCE_EXHAUSTED", "too many failed sign-ins")
		require.NotEmpty(t, r.Header.Get("Retry-After"))
		// Another client behind the same proxy, and the proxy itself, are not held up.
		pl.do(t, "POST", "/api/auth/login", right, from("203.0.113.8")).expect(t, 200)
		pl.login(t, adminEmail, adminPassword)
	})

	var key, slug string
	var projectID int64
	t.Run("create project", func(t *testing.T) {
		slug = "shop-api"
		r := pl.do(t, "POST", "/api/logs/projects", map[string]string{
			"name": "Shop API", "slug": slug, "description": "the shop", "repository_url": "https://git.example/shop",
		}, bearer(admin)).expect(t, 201)
		key = r.JSON["api_key"].(string)
		require.True(t, strings.HasPrefix(key, "dsk_"), key)
		projectID = num(t, r.JSON["project_id"])
		require.Equal(t, slug, r.JSON["slug"])
		require.NotEmpty(t, r.JSON["message"])

		pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Again", "slug": slug}, bearer(admin)).
			expectError(t, 409, "ALREADY_EXISTS", slug)
		pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Bad", "slug": "Bad Slug!"}, bearer(admin)).
			expectError(t, 400, "INVALID_ARGUMENT", "slug")

		list := pl.do(t, "GET", "/api/logs/projects", nil, bearer(admin)).expect(t, 200)
		projects := list.JSON["projects"].([]any)
		require.Len(t, projects, 1)
		p := projects[0].(map[string]any)
		for _, f := range []string{"id", "name", "slug", "description", "repository_url", "created_at", "log_count", "is_active", "last_log_at"} {
			require.Contains(t, p, f)
		}
		require.Equal(t, int64(0), num(t, p["log_count"]), "zero values are present and numbers")
		require.Equal(t, true, p["is_active"])
		require.Nil(t, p["last_log_at"])
		// The key is never stored in plaintext.
		var n int
		require.NoError(t, pl.db.QueryRow(context.Background(),
			`SELECT (SELECT count(*) FROM logs.api_keys WHERE position($1::bytea in key_hash) > 0 OR name = $2 OR prefix = $2)
				+ (SELECT count(*) FROM logs.projects WHERE name = $2)`, []byte(key), key).Scan(&n))
		require.Zero(t, n)
	})

	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }

	t.Run("ingest", func(t *testing.T) {
		batch := map[string]any{
			"project_slug": slug, "service_name": "api-server",
			"logs": []map[string]any{
				{"timestamp": ts(-3 * time.Minute), "level": "INFO", "message": "User logged in", "context": map[string]any{"userId": 123, "user_id": "u-1"}},
				{"timestamp": ts(-2 * time.Minute), "level": "debug", "message": "cache miss"},
				{"timestamp": ts(-2 * time.Minute), "level": "DEBUG", "message": "cache MISS again"},
				{"timestamp": ts(-1 * time.Minute), "level": "DEBUG", "message": "cache hit"},
			},
		}
		r := pl.do(t, "POST", "/api/logs/batch", batch, bearer(key)).expect(t, 201)
		require.Equal(t, int64(4), num(t, r.JSON["count"]))
		require.Equal(t, "Successfully ingested 4 logs", r.JSON["message"])
		require.Equal(t, []any{}, r.JSON["rejected"])
		require.Equal(t, int64(0), num(t, r.JSON["truncated"]))

		// X-API-Key, a gzip body, a numeric epoch timestamp and a synonym level.
		body, _ := json.Marshal(map[string]any{
			"service_name": "worker",
			"logs": []map[string]any{
				{"timestamp": now.Add(-90 * time.Second).UnixMilli(), "level": "warning", "message": "queue slow", "context": map[string]any{"user_id": 123}},
				{"timestamp": ts(-30 * time.Second), "level": "err", "message": "job failed: timeout"},
			},
		})
		r = pl.do(t, "POST", "/api/logs/batch", gzipBytes(t, body), header("X-API-Key", key), header("Content-Encoding", "gzip")).expect(t, 201)
		require.Equal(t, int64(2), num(t, r.JSON["count"]))
	})

	t.Run("per-entry rejection", func(t *testing.T) {
		r := pl.do(t, "POST", "/api/logs/batch", map[string]any{
			"service_name": "worker",
			"logs": []map[string]any{
				{"level": "INFO", "message": "kept 1", "timestamp": ts(-10 * time.Second)},
				{"level": "INFO"},
				{"level": "INFO", "message": "from the future", "timestamp": ts(3 * time.Hour)},
				{"level": "INFO", "message": "too old", "timestamp": ts(-60 * 24 * time.Hour)},
				{"level": "sparkly", "message": "kept 2", "timestamp": ts(-10 * time.Second)},
			},
		}, bearer(key)).expect(t, 201)
		require.Equal(t, int64(2), num(t, r.JSON["count"]))
		rej := r.JSON["rejected"].([]any)
		require.Len(t, rej, 3)
		idx := []int64{}
		for _, x := range rej {
			m := x.(map[string]any)
			idx = append(idx, num(t, m["index"]))
			require.NotEmpty(t, m["reason"])
		}
		require.Equal(t, []int64{1, 2, 3}, idx)
		require.Contains(t, rej[0].(map[string]any)["reason"], "message")
		// The unknown level is stored as INFO with the original kept.
		var lvl int
		var orig string
		require.NoError(t, pl.db.QueryRow(context.Background(),
			"SELECT level, context->>'_level' FROM logs.entries WHERE message = 'kept 2'").Scan(&lvl, &orig))
		require.Equal(t, 3, lvl)
		require.Equal(t, "sparkly", orig)
	})

	t.Run("envelope errors", func(t *testing.T) {
		countBefore := pl.sqlCount(t, "")
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"logs": []map[string]any{{"message": "x"}}}, bearer(key)).
			expectError(t, 400, "INVALID_ARGUMENT", "service_name")
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": []any{}}, bearer(key)).
			expectError(t, 400, "INVALID_ARGUMENT", "logs")
		pl.do(t, "POST", "/api/logs/batch", `{"service_name": "api", "logs": [`, bearer(key)).
			expectError(t, 400, "INVALID_ARGUMENT", "JSON")
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": 5, "logs": []any{}}, bearer(key)).
			expectError(t, 400, "INVALID_ARGUMENT", "service_name")
		big := make([]map[string]any, 10001)
		for i := range big {
			big[i] = map[string]any{"message": "m"}
		}
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": big}, bearer(key)).
			expectError(t, 413, "RESOURCE_EXHAUSTED", "10000")
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": []map[string]any{{"message": "x"}}}).
			expectError(t, 401, "UNAUTHENTICATED", "API key")
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": []map[string]any{{"message": "x"}}}, bearer("dsk_nope")).
			expectError(t, 401, "UNAUTHENTICATED", "")
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"project_slug": "someone-else", "service_name": "api", "logs": []map[string]any{{"message": "x"}}}, bearer(key)).
			expectError(t, 403, "PERMISSION_DENIED", "someone-else")
		huge := `{"service_name":"api","logs":[{"message":"` + strings.Repeat("a", 6<<20) + `"}]}`
		pl.do(t, "POST", "/api/logs/batch", gzipBytes(t, []byte(huge)), bearer(key), header("Content-Encoding", "gzip")).
			expectError(t, 413, "RESOURCE_EXHAUSTED", "limit")
		require.Equal(t, countBefore, pl.sqlCount(t, ""), "refused batches store nothing")
	})

	t.Run("batch_id stored once", func(t *testing.T) {
		batch := map[string]any{"service_name": "retrier", "batch_id": "6f1c-retry-1",
			"logs": []map[string]any{{"message": "once a", "timestamp": ts(-5 * time.Second)}, {"message": "once b", "timestamp": ts(-5 * time.Second)}}}
		first := pl.do(t, "POST", "/api/logs/batch", batch, bearer(key)).expect(t, 201)
		again := pl.do(t, "POST", "/api/logs/batch", batch, bearer(key)).expect(t, 201)
		require.JSONEq(t, string(first.Raw), string(again.Raw))
		require.Equal(t, int64(2), pl.sqlCount(t, "service_name = 'retrier'"))
	})

	// What the project holds now, by construction above.
	q := func(t *testing.T, query string, tok string) map[string]any {
		return pl.do(t, "GET", "/api/logs/entries?"+query, nil, bearer(tok)).expect(t, 200).JSON
	}
	messages := func(r map[string]any) []string {
		var out []string
		for _, e := range r["entries"].([]any) {
			out = append(out, e.(map[string]any)["message"].(string))
		}
		return out
	}

	t.Run("query filters", func(t *testing.T) {
		all := q(t, "project="+slug, admin)
		require.Equal(t, pl.sqlCount(t, ""), num(t, all["total_size"]))
		require.Equal(t, true, all["total_size_exact"])
		e0 := all["entries"].([]any)[0].(map[string]any)
		for _, f := range []string{"id", "project_slug", "service_name", "timestamp", "level", "message", "context"} {
			require.Contains(t, e0, f)
		}
		// Newest first.
		var prev string
		for _, e := range all["entries"].([]any) {
			ts := e.(map[string]any)["timestamp"].(string)
			if prev != "" {
				require.LessOrEqual(t, ts, prev)
			}
			prev = ts
		}

		cases := []struct {
			name, query string
			where       string
		}{
			{"level", "level=DEBUG", "level = 2"},
			{"level any case", "level=debug", "level = 2"},
			{"levels repeated", "level=DEBUG&level=ERROR", "level IN (2, 5)"},
			{"service", "service=worker", "service_name = 'worker'"},
			{"services repeated", "service=worker&service=retrier", "service_name IN ('worker','retrier')"},
			{"since", "since=" + url.QueryEscape(ts(-100*time.Second)), "ts >= '" + ts(-100*time.Second) + "'"},
			{"until", "until=" + url.QueryEscape(ts(-100*time.Second)), "ts < '" + ts(-100*time.Second) + "'"},
			{"q case-insensitive", "q=CACHE+miss", "message ILIKE '%cache miss%'"},
			{"q timeout", "q=timeout", "message ILIKE '%timeout%'"},
			{"context number", "context.userId=123", "context->>'userId' = '123'"},
			{"context string or number", "context.user_id=123", "context->>'user_id' = '123'"},
			{"combined", "service=api-server&level=DEBUG&q=miss", "service_name = 'api-server' AND level = 2 AND message ILIKE '%miss%'"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := q(t, "project="+slug+"&"+c.query, admin)
				want := pl.sqlCount(t, c.where)
				require.Equal(t, want, int64(len(r["entries"].([]any))), "entries for %s", c.query)
				require.Equal(t, want, num(t, r["total_size"]))
			})
		}
		// Three DEBUG logs show as three.
		require.Len(t, q(t, "project="+slug+"&level=DEBUG", admin)["entries"], 3)

		pl.do(t, "GET", "/api/logs/entries?level=LOUD", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "LOUD")
		pl.do(t, "GET", "/api/logs/entries?since=yesterday", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "")
		pl.do(t, "GET", "/api/logs/entries?project=nope", nil, bearer(admin)).expectError(t, 404, "NOT_FOUND", "nope")

		svcs := pl.do(t, "GET", "/api/logs/services?project="+slug, nil, bearer(admin)).expect(t, 200).JSON["services"].([]any)
		names := []string{}
		for _, s := range svcs {
			names = append(names, s.(map[string]any)["name"].(string))
			require.NotNil(t, s.(map[string]any)["last_log_at"])
		}
		require.ElementsMatch(t, []string{"api-server", "worker", "retrier"}, names)
		// A page at a time, the same services in order.
		var paged []string
		token := ""
		for range len(names) + 1 {
			r := pl.do(t, "GET", "/api/logs/services?project="+slug+"&page_size=1&page_token="+url.QueryEscape(token), nil, bearer(admin)).expect(t, 200)
			for _, s := range r.JSON["services"].([]any) {
				paged = append(paged, s.(map[string]any)["name"].(string))
			}
			if token, _ = r.JSON["next_page_token"].(string); token == "" {
				break
			}
		}
		require.Equal(t, names, paged)
		pl.do(t, "GET", "/api/logs/services?page_size=-1", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "page_size")
		pl.do(t, "GET", "/api/logs/services?page_token=garbage", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "page_token")

		list := pl.do(t, "GET", "/api/logs/projects", nil, bearer(admin)).expect(t, 200)
		p := list.JSON["projects"].([]any)[0].(map[string]any)
		require.Equal(t, pl.sqlCount(t, ""), num(t, p["log_count"]))
		require.NotNil(t, p["last_log_at"])
	})

	t.Run("stats equal SQL counts", func(t *testing.T) {
		r := pl.do(t, "GET", "/api/logs/stats?project="+slug, nil, bearer(admin)).expect(t, 200).JSON
		total := num(t, r["total"])
		require.Equal(t, pl.sqlCount(t, "ts >= now() - interval '24 hours'"), total)
		byLevel := r["by_level"].(map[string]any)
		require.Len(t, byLevel, 6)
		for name, lvl := range map[string]int{"TRACE": 1, "DEBUG": 2, "INFO": 3, "WARN": 4, "ERROR": 5, "FATAL": 6} {
			require.Equal(t, pl.sqlCount(t, fmt.Sprintf("level = %d AND ts >= now() - interval '24 hours'", lvl)), num(t, byLevel[name]), name)
		}
		var sum int64
		for _, b := range r["histogram"].([]any) {
			for _, c := range b.(map[string]any)["counts"].(map[string]any) {
				sum += num(t, c)
			}
		}
		require.Equal(t, total, sum, "histogram adds up to the total")
		require.Greater(t, num(t, r["bucket_seconds"]), int64(0))
		require.InDelta(t, 60, len(r["histogram"].([]any)), 30)
		bySvc := r["by_service"].(map[string]any)
		require.Equal(t, pl.sqlCount(t, "service_name='worker' AND ts >= now() - interval '24 hours'"), num(t, bySvc["worker"]))
	})

	t.Run("pagination while ingesting", func(t *testing.T) {
		// 250 entries at 5 distinct timestamps (ties broken by id).
		base := now.Add(-10 * time.Minute)
		logs := []map[string]any{}
		for i := 0; i < 250; i++ {
			logs = append(logs, map[string]any{"message": fmt.Sprintf("page %03d", i), "level": "INFO",
				"timestamp": base.Add(time.Duration(i%5) * time.Second).Format(time.RFC3339Nano)})
		}
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "pager", "logs": logs}, bearer(key)).expect(t, 201)

		stop := make(chan struct{})
		var wg sync.WaitGroup
		var extra atomic.Int64
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// New entries, newer and older than the page cursor.
				body := map[string]any{"service_name": "pager", "logs": []map[string]any{
					{"message": fmt.Sprintf("page late %d", i), "timestamp": time.Now().UTC().Format(time.RFC3339Nano)},
				}}
				res := pl.do(t, "POST", "/api/logs/batch", body, bearer(key))
				if res.Status == 201 {
					extra.Add(1)
				}
			}
		}()
		seen := map[string]int{}
		token := ""
		pages := 0
		for {
			qs := "project=" + slug + "&service=pager&q=page&page_size=40"
			if token != "" {
				qs += "&page_token=" + url.QueryEscape(token)
			}
			r := q(t, qs, admin)
			for _, m := range messages(r) {
				seen[m]++
			}
			pages++
			token, _ = r["next_page_token"].(string)
			if token == "" {
				break
			}
		}
		close(stop)
		wg.Wait()
		require.Greater(t, extra.Load(), int64(0), "ingestion ran during paging")
		for i := 0; i < 250; i++ {
			m := fmt.Sprintf("page %03d", i)
			require.Equal(t, 1, seen[m], "entry %q seen %d times", m, seen[m])
		}
		for m, n := range seen {
			require.Equal(t, 1, n, "entry %q seen %d times", m, n)
		}
		require.GreaterOrEqual(t, pages, 7)
		pl.do(t, "GET", "/api/logs/entries?project="+slug+"&page_size=-1", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "page_size")
	})

	t.Run("live tail", func(t *testing.T) {
		// tail opens the SSE stream and returns its events: each entry with
		// its `id:` (the resume token) under "_id".
		tail := func(ctx context.Context, lastEventID string) <-chan map[string]any {
			req, err := http.NewRequestWithContext(ctx, "GET", pl.baseURL+"/api/logs/tail?project="+slug+"&level=ERROR", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+admin)
			if lastEventID != "" {
				req.Header.Set("Last-Event-ID", lastEventID)
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			require.Equal(t, 200, res.StatusCode)
			require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
			events := make(chan map[string]any, 10)
			go func() {
				defer res.Body.Close()
				defer close(events)
				sc := bufio.NewScanner(res.Body)
				id := ""
				for sc.Scan() {
					if v, ok := strings.CutPrefix(sc.Text(), ": tail "); ok {
						events <- map[string]any{"_comment": v}
					}
					if v, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
						id = v
					}
					if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
						var m map[string]any
						if json.Unmarshal([]byte(d), &m) == nil {
							m["_id"] = id
							events <- m
						}
					}
				}
			}()
			return events
		}
		next := func(ctx context.Context, events <-chan map[string]any) map[string]any {
			select {
			case e := <-events:
				return e
			case <-ctx.Done():
				t.Fatal("no tail event within the deadline")
				return nil
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		first, closeFirst := context.WithCancel(ctx)
		events := tail(first, "")
		require.Equal(t, "started", next(ctx, events)["_comment"])
		sent := time.Now()
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "tailer", "logs": []map[string]any{
			{"level": "INFO", "message": "not for this tail"},
			{"level": "ERROR", "message": "tail me <script>alert(1)</script>"},
		}}, bearer(key)).expect(t, 201)
		e := next(ctx, events)
		require.Equal(t, "tail me <script>alert(1)</script>", e["message"])
		require.Equal(t, "ERROR", e["level"])
		require.Equal(t, slug, e["project_slug"])
		require.Less(t, time.Since(sent), 2*time.Second)
		lastID := e["_id"].(string)
		require.NotEmpty(t, lastID)
		closeFirst()

		// Disconnected, an entry is sent; reconnecting with Last-Event-ID
		// (as EventSource does) streams it, after the last one seen again.
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "tailer", "logs": []map[string]any{
			{"level": "ERROR", "message": "while away"},
		}}, bearer(key)).expect(t, 201)
		events = tail(ctx, lastID)
		require.Equal(t, "resumed", next(ctx, events)["_comment"])
		require.Equal(t, "tail me <script>alert(1)</script>", next(ctx, events)["message"])
		require.Equal(t, "while away", next(ctx, events)["message"])

		pl.do(t, "GET", "/api/logs/tail?project="+slug, nil).expectError(t, 401, "UNAUTHENTICATED", "")
		pl.do(t, "GET", "/api/logs/tail?project="+slug+"&resume_token=garbage", nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "resume_token")
	})

	t.Run("context numbers read back exactly", func(t *testing.T) {
		walkExactContext(t, pl, slug, key, admin)
	})

	t.Run("tenancy and sharing", func(t *testing.T) {
		pl.do(t, "POST", "/api/users", map[string]string{"email": "member@example.com", "password": "member-password", "role": "member"}, bearer(admin)).expect(t, 201)
		member := pl.login(t, "member@example.com", "member-password")
		pl.do(t, "GET", "/api/users", nil, bearer(member)).expectError(t, 403, "PERMISSION_DENIED", "admin")

		require.Empty(t, pl.do(t, "GET", "/api/logs/projects", nil, bearer(member)).expect(t, 200).JSON["projects"])
		require.Empty(t, q(t, "", member)["entries"])
		require.Equal(t, int64(0), num(t, q(t, "", member)["total_size"]))
		pl.do(t, "GET", "/api/logs/entries?project="+slug, nil, bearer(member)).expectError(t, 403, "PERMISSION_DENIED", slug)
		pl.do(t, "GET", fmt.Sprintf("/api/logs/projects/%d", projectID), nil, bearer(member)).expectError(t, 403, "PERMISSION_DENIED", "")
		pl.do(t, "PUT", fmt.Sprintf("/api/logs/projects/%d/regenerate-key", projectID), map[string]any{}, bearer(member)).expectError(t, 403, "PERMISSION_DENIED", "")
		require.Equal(t, int64(0), num(t, pl.do(t, "GET", "/api/logs/stats", nil, bearer(member)).expect(t, 200).JSON["total"]))

		users := pl.do(t, "GET", "/api/users", nil, bearer(admin)).expect(t, 200).JSON["users"].([]any)
		var memberID int64
		for _, u := range users {
			if u.(map[string]any)["email"] == "member@example.com" {
				memberID = num(t, u.(map[string]any)["id"])
			}
		}
		require.NotZero(t, memberID)

		// Shared as viewer: reads, cannot rotate.
		pl.do(t, "POST", fmt.Sprintf("/api/logs/projects/%d/members", projectID), map[string]string{"email": "member@example.com", "role": "viewer"}, bearer(admin)).expect(t, 201)
		members := pl.do(t, "GET", fmt.Sprintf("/api/logs/projects/%d/members?page_size=1", projectID), nil, bearer(admin)).expect(t, 200).JSON
		require.Len(t, members["members"], 1)
		require.Equal(t, "member@example.com", members["members"].([]any)[0].(map[string]any)["email"])
		require.Equal(t, "", members["next_page_token"], "one member fits one page")
		pl.do(t, "GET", fmt.Sprintf("/api/logs/projects/%d/members?page_size=-1", projectID), nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "page_size")
		pl.do(t, "GET", fmt.Sprintf("/api/logs/projects/%d/members?page_token=garbage", projectID), nil, bearer(admin)).expectError(t, 400, "INVALID_ARGUMENT", "page_token")
		require.Len(t, pl.do(t, "GET", "/api/logs/projects", nil, bearer(member)).expect(t, 200).JSON["projects"], 1)
		require.Equal(t, pl.sqlCount(t, ""), num(t, q(t, "project="+slug, member)["total_size"]))
		pl.do(t, "PUT", fmt.Sprintf("/api/logs/projects/%d/regenerate-key", projectID), map[string]any{}, bearer(member)).expectError(t, 403, "PERMISSION_DENIED", "")

		// As maintainer: rotates.
		pl.do(t, "POST", fmt.Sprintf("/api/logs/projects/%d/members", projectID), map[string]string{"email": "member@example.com", "role": "maintainer"}, bearer(admin)).expect(t, 201)
		r := pl.do(t, "PUT", fmt.Sprintf("/api/logs/projects/%d/regenerate-key", projectID), map[string]any{}, bearer(member)).expect(t, 200)
		newKey := r.JSON["api_key"].(string)
		require.NotEqual(t, key, newKey)
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": []map[string]any{{"message": "old key"}}}, bearer(key)).
			expectError(t, 401, "UNAUTHENTICATED", "")
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": []map[string]any{{"message": "new key"}}}, bearer(newKey)).expect(t, 201)
		key = newKey

		// Maintainers cannot delete; unsharing takes reads away.
		pl.do(t, "DELETE", fmt.Sprintf("/api/logs/projects/%d", projectID), nil, bearer(member)).expectError(t, 403, "PERMISSION_DENIED", "")
		pl.do(t, "DELETE", fmt.Sprintf("/api/logs/projects/%d/members/%d", projectID, memberID), nil, bearer(admin)).expect(t, 200)
		require.Empty(t, pl.do(t, "GET", "/api/logs/projects", nil, bearer(member)).expect(t, 200).JSON["projects"])
	})

	t.Run("rotation by owner", func(t *testing.T) {
		r := pl.do(t, "PUT", fmt.Sprintf("/api/logs/projects/%d/regenerate-key", projectID), map[string]any{}, bearer(admin)).expect(t, 200)
		newKey := r.JSON["api_key"].(string)
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": []map[string]any{{"message": "x"}}}, bearer(key)).expectError(t, 401, "UNAUTHENTICATED", "")
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": []map[string]any{{"message": "x"}}}, header("X-API-Key", newKey)).expect(t, 201)
		key = newKey
	})

	t.Run("patterns and analysis", func(t *testing.T) {
		// Every signature the project sent has its pattern within 5 s (the
		// analysis service mines them, its own process in a separate
		// deployment).
		ctx := context.Background()
		require.Eventually(t, func() bool {
			var unmined, all int
			err := pl.db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE s.pattern_id IS NULL), count(*)
				FROM logs.pattern_signatures s JOIN logs.projects p ON p.id = s.project_id WHERE p.slug = $1`, slug).Scan(&unmined, &all)
			return err == nil && all > 0 && unmined == 0
		}, 5*time.Second, 20*time.Millisecond, "signatures without a pattern after 5 s")
		r := pl.do(t, "POST", "/api/logs/analysis", map[string]any{"project": []string{slug}, "since": ts(-time.Hour)}, bearer(admin)).expect(t, 200)
		require.Contains(t, r.JSON, "report")
		pl.do(t, "POST", "/api/logs/analysis", map[string]any{"project": []string{"no-such-project"}}, bearer(admin)).
			expectError(t, 404, "NOT_FOUND", "no-such-project")
		pl.do(t, "POST", "/api/logs/analysis", map[string]any{}).expectError(t, 401, "UNAUTHENTICATED", "")
	})

	t.Run("retention drops an expired partition", func(t *testing.T) {
		ctx := context.Background()
		_, err := pl.db.Exec(ctx, `CREATE TABLE logs.entries_20200101 PARTITION OF logs.entries FOR VALUES FROM ('2020-01-01T00:00:00Z') TO ('2020-01-02T00:00:00Z')`)
		require.NoError(t, err)
		_, err = pl.db.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message) VALUES ($1, '2020-01-01T12:00:00Z', 'old', 3, 'ancient')`, projectID)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			var n int
			err := pl.db.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname = 'entries_20200101'").Scan(&n)
			return err == nil && n == 0
		}, 30*time.Second, 100*time.Millisecond, "maintenance should drop the expired partition")
		require.Equal(t, int64(0), pl.sqlCount(t, "message = 'ancient'"))
	})

	t.Run("grpcurl reaches the services", func(t *testing.T) {
		grpcurl, err := exec.LookPath("grpcurl")
		require.NoError(t, err, "grpcurl is installed by `make tools`")
		out, err := exec.Command(grpcurl, "-plaintext", pl.grpcAddrs["query"], "list").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "devsmith.logs.v1.QueryService")
		out, err = exec.Command(grpcurl, "-plaintext", "-H", "authorization: Bearer "+admin,
			"-d", `{"project": ["`+slug+`"], "level": ["DEBUG"]}`, pl.grpcAddrs["query"], "devsmith.logs.v1.QueryService/ListEntries").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "cache hit")
		out, err = exec.Command(grpcurl, "-plaintext", "-H", "x-api-key: "+key,
			"-d", `{"service_name": "grpcurl", "logs": [{"message": "via grpc", "level": "warn"}]}`, pl.grpcAddrs["ingestion"], "devsmith.logs.v1.IngestionService/IngestBatch").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, int64(1), pl.sqlCount(t, "message = 'via grpc' AND level = 4"))
		// The internal identity service refuses callers without the service credential.
		out, err = exec.Command(grpcurl, "-plaintext", "-d", `{"api_key": "`+key+`"}`, pl.grpcAddrs["projects"], "devsmith.identity.v1.IdentityService/ResolveApiKey").CombinedOutput()
		require.Error(t, err, "%s", out)
		require.Contains(t, string(out), "this method is internal", "the service is there and refuses")
	})

	t.Run("deletion", func(t *testing.T) {
		countBefore := pl.sqlCount(t, "")
		pl.do(t, "DELETE", fmt.Sprintf("/api/logs/projects/%d", projectID), nil, bearer(admin)).expect(t, 200)
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": []map[string]any{{"message": "after delete"}}}, bearer(key)).
			expectError(t, 401, "UNAUTHENTICATED", "")
		r := q(t, "project="+slug, admin)
		require.Equal(t, countBefore, num(t, r["total_size"]), "logs stay readable")
		p := pl.do(t, "GET", "/api/logs/projects", nil, bearer(admin)).expect(t, 200).JSON["projects"].([]any)[0].(map[string]any)
		require.Equal(t, false, p["is_active"])
	})

	t.Run("unknown endpoint", func(t *testing.T) {
		pl.do(t, "GET", "/api/nothing-here", nil, bearer(admin)).expectError(t, 404, "NOT_FOUND", "")
	})
}

// sqlCount counts the project's entries with an extra condition, straight
// from the database: the independent check of every count the API gives.
func (pl *platform) sqlCount(t *testing.T, where string) int64 {
	t.Helper()
	sql := "SELECT count(*) FROM logs.entries e JOIN logs.projects p ON p.id = e.project_id WHERE p.slug = 'shop-api'"
	if where != "" {
		sql += " AND (" + where + ")"
	}
	var n int64
	require.NoError(t, pl.db.QueryRow(context.Background(), sql).Scan(&n))
	return n
}
