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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Keys that fit the job (docs/keys.md), through the REST API of the real
// all-in-one: a new user makes an ingest-only key for production and a
// read-only key for a script; each does its job and nothing else; an
// expired or revoked key is refused; revocation under concurrent writers
// lets nothing commit after it returned; the default key still rotates;
// the list never shows a secret; the changes are audited.
func TestProjectKeys(t *testing.T) {
	t.Parallel()
	pl := startAllInOne(t)
	admin := pl.login(t, adminEmail, adminPassword)
	pl.do(t, "POST", "/api/users", map[string]string{"email": "dev@example.com", "password": "dev-password", "role": "member"}, bearer(admin)).expect(t, 201)
	dev := pl.login(t, "dev@example.com", "dev-password")

	created := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Shop", "slug": "shop"}, bearer(dev)).expect(t, 201)
	projectID := num(t, created.JSON["project_id"])
	defaultKey := created.JSON["api_key"].(string)
	pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Not yours", "slug": "other"}, bearer(admin)).expect(t, 201)
	keysPath := fmt.Sprintf("/api/logs/projects/%d/keys", projectID)

	newKey := func(body map[string]any) (key string, id int64, shown map[string]any) {
		t.Helper()
		r := pl.do(t, "POST", keysPath, body, bearer(dev)).expect(t, 201)
		k := r.JSON["key"].(map[string]any)
		return r.JSON["api_key"].(string), num(t, k["id"]), k
	}
	ingestKey, ingestID, shown := newKey(map[string]any{"name": "production", "scopes": []string{"ingest"}})
	require.Equal(t, []any{"ingest"}, shown["scopes"])
	require.Equal(t, ingestKey[:8], shown["prefix"])
	require.Equal(t, ingestKey[len(ingestKey)-4:], shown["last_four"])
	require.Nil(t, shown["expire_time"])
	require.Nil(t, shown["last_used_at"])
	readKey, readID, _ := newKey(map[string]any{"name": "script", "scopes": []string{"read"}})
	pl.do(t, "POST", keysPath, map[string]any{"name": "x", "scopes": []string{"admin"}}, bearer(dev)).
		expectError(t, 400, "INVALID_ARGUMENT", `scopes: "admin" is not one of ingest, read`)

	// The ingest key sends logs, from a client behind the test's proxy.
	client := header("X-Forwarded-For", "203.0.113.50")
	now := time.Now().UTC()
	batch := map[string]any{"service_name": "checkout", "logs": []map[string]any{
		{"level": "INFO", "message": "order placed", "context": map[string]any{"route": "/pay", "duration_ms": 12}},
		{"level": "ERROR", "message": "payment failed: card declined", "context": map[string]any{"route": "/pay", "duration_ms": 80}},
		{"timestamp": now.Add(-time.Minute).Format(time.RFC3339Nano), "level": "WARN", "message": "slow payment provider"},
	}}
	r := pl.do(t, "POST", "/api/logs/batch", batch, bearer(ingestKey), client).expect(t, 201)
	require.EqualValues(t, 3, num(t, r.JSON["count"]))

	// The read key reads its own project: entries, stats, services,
	// patterns, error groups, metrics; as Bearer or X-API-Key; with or
	// without naming the project.
	for _, auth := range []reqOpt{bearer(readKey), header("X-API-Key", readKey)} {
		for _, q := range []string{"", "project=shop&"} {
			e := pl.do(t, "GET", "/api/logs/entries?"+q+"page_size=10", nil, auth).expect(t, 200)
			require.Len(t, e.JSON["entries"], 3, "body: %s", e.Raw)
		}
	}
	read := func(path string) map[string]any {
		t.Helper()
		return pl.do(t, "GET", path, nil, header("X-API-Key", readKey)).expect(t, 200).JSON
	}
	require.EqualValues(t, 3, num(t, read("/api/logs/stats")["total"]))
	require.Equal(t, "checkout", read("/api/logs/services")["services"].([]any)[0].(map[string]any)["name"])
	require.NotEmpty(t, read("/api/logs/patterns?project=shop")["patterns"])
	groups := read("/api/logs/errors")["groups"].([]any)
	require.Len(t, groups, 1, "the ERROR")
	groupID := groups[0].(map[string]any)["id"].(string)
	require.Equal(t, groupID, read("/api/logs/errors/" + groupID)["group"].(map[string]any)["id"])
	require.EqualValues(t, 2, num(t, read("/api/logs/metrics?field=duration_ms")["series"].([]any)[0].(map[string]any)["count"]))
	export := pl.do(t, "GET", "/api/logs/export", nil, header("X-API-Key", readKey)).expect(t, 200)
	zr, err := gzip.NewReader(bytes.NewReader(export.Raw))
	require.NoError(t, err)
	lines, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Len(t, strings.Split(strings.TrimSpace(string(lines)), "\n"), 3, "the export of the key's project: %s", lines)

	// The tail, with the key through the hand-written SSE route.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tail := openTail(t, ctx, pl, "/api/logs/tail?level=ERROR", header("X-API-Key", readKey))
	pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "checkout", "logs": []map[string]any{
		{"level": "ERROR", "message": "tailed through a read key"},
	}}, bearer(ingestKey), client).expect(t, 201)
	select {
	case e := <-tail:
		require.Equal(t, "tailed through a read key", e["message"])
	case <-ctx.Done():
		t.Fatal("no tail event within the deadline")
	}

	// Nothing else: a read key cannot ingest, read another project or
	// change an error group; an ingest key cannot read. Naming another
	// project answers exactly what a user who cannot read it gets.
	pl.do(t, "POST", "/api/logs/batch", batch, bearer(readKey)).expectError(t, 403, "PERMISSION_DENIED", "lacks the ingest scope")
	asUser := pl.do(t, "GET", "/api/logs/entries?project=other", nil, bearer(dev))
	asKey := pl.do(t, "GET", "/api/logs/entries?project=other", nil, header("X-API-Key", readKey))
	asUser.expectError(t, 403, "PERMISSION_DENIED", `project "other" is not yours`)
	require.Equal(t, asUser.Status, asKey.Status)
	require.Equal(t, asUser.JSON, asKey.JSON)
	pl.do(t, "GET", "/api/logs/stats?project=other", nil, bearer(readKey)).expectError(t, 403, "PERMISSION_DENIED", `project "other" is not yours`)
	pl.do(t, "PATCH", "/api/logs/errors/"+groupID, map[string]string{"status": "resolved"}, bearer(readKey)).
		expectError(t, 403, "PERMISSION_DENIED", "this method needs a signed-in user")
	pl.do(t, "GET", "/api/logs/projects", nil, bearer(readKey)).expectError(t, 401, "UNAUTHENTICATED", "not a project API key")
	pl.do(t, "GET", "/api/logs/entries", nil, bearer(ingestKey)).expectError(t, 403, "PERMISSION_DENIED", "lacks the read scope")
	pl.do(t, "GET", "/api/logs/tail", nil, header("X-API-Key", ingestKey)).expectError(t, 403, "PERMISSION_DENIED", "lacks the read scope")

	// An expired key is refused, for reading and for writing.
	expiring, _, _ := newKey(map[string]any{"name": "short-lived", "scopes": []string{"ingest", "read"},
		"expire_time": time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)})
	pl.do(t, "GET", "/api/logs/stats", nil, bearer(expiring)).expect(t, 200)
	pl.do(t, "POST", "/api/logs/batch", batch, bearer(expiring)).expect(t, 201)
	require.Eventually(t, func() bool {
		return pl.do(t, "GET", "/api/logs/stats", nil, bearer(expiring)).Status == 401
	}, 15*time.Second, 100*time.Millisecond, "the key never expired")
	pl.do(t, "GET", "/api/logs/stats", nil, bearer(expiring)).expectError(t, 401, "UNAUTHENTICATED", "API key expired at")
	pl.do(t, "POST", "/api/logs/batch", batch, bearer(expiring)).expectError(t, 401, "UNAUTHENTICATED", "API key expired at")

	// Revoked under concurrent writers: every batch acknowledged is stored,
	// none sent after DELETE returned is, and the read key is refused at
	// its next request.
	loadKey, loadID, _ := newKey(map[string]any{"name": "load", "scopes": []string{"ingest"}})
	revokeUnderLoad(t, pl, dev, keysPath, loadKey, loadID)
	pl.do(t, "DELETE", fmt.Sprintf("%s/%d", keysPath, readID), nil, bearer(dev)).expect(t, 200)
	pl.do(t, "GET", "/api/logs/entries", nil, bearer(readKey)).expectError(t, 401, "UNAUTHENTICATED", "invalid or revoked API key")
	pl.do(t, "DELETE", fmt.Sprintf("%s/%d", keysPath, readID), nil, bearer(dev)).expectError(t, 404, "NOT_FOUND", "")

	// The default key still rotates with regenerate-key.
	rot := pl.do(t, "PUT", fmt.Sprintf("/api/logs/projects/%d/regenerate-key", projectID), map[string]any{}, bearer(dev)).expect(t, 200)
	rotated := rot.JSON["api_key"].(string)
	pl.do(t, "POST", "/api/logs/batch", batch, bearer(defaultKey)).expectError(t, 401, "UNAUTHENTICATED", "invalid or revoked API key")
	pl.do(t, "POST", "/api/logs/batch", batch, bearer(rotated)).expect(t, 201)

	// The list: live keys only, recognisable, never a secret; the
	// production key's last use to the minute and where from (reported
	// within a second or so, not per batch).
	var list response
	require.Eventually(t, func() bool {
		list = pl.do(t, "GET", keysPath, nil, bearer(dev)).expect(t, 200)
		for _, k := range list.JSON["keys"].([]any) {
			k := k.(map[string]any)
			if num(t, k["id"]) == ingestID {
				return k["last_used_at"] != nil
			}
		}
		return false
	}, 15*time.Second, 100*time.Millisecond, "the production key's use was never recorded")
	byName := map[string]map[string]any{}
	for _, k := range list.JSON["keys"].([]any) {
		byName[k.(map[string]any)["name"].(string)] = k.(map[string]any)
	}
	require.ElementsMatch(t, []string{"default", "production", "short-lived"}, keysOf(byName))
	prod := byName["production"]
	require.Equal(t, "203.0.113.50", prod["last_used_address"])
	usedAt, err := time.Parse(time.RFC3339, prod["last_used_at"].(string))
	require.NoError(t, err)
	require.Zero(t, usedAt.Second(), "to the minute")
	require.WithinDuration(t, time.Now(), usedAt, 2*time.Minute)
	require.Equal(t, true, byName["default"]["is_default"])
	require.Equal(t, rotated[:8], byName["default"]["prefix"])
	for _, secret := range []string{defaultKey, rotated, ingestKey, readKey, expiring, loadKey} {
		require.NotContains(t, string(list.Raw), secret[8:len(secret)-4])
	}
	var stored int
	require.NoError(t, pl.db.QueryRow(context.Background(), `SELECT count(*) FROM logs.api_keys
		WHERE position(convert_to($1, 'UTF8') in key_hash) > 0 OR name = $1 OR prefix = $1`, ingestKey).Scan(&stored))
	require.Zero(t, stored, "the key is stored only as its digest")

	// Audit: who created, revoked and rotated which key, and from where;
	// the key's first use from a new address; never a secret.
	rows, err := pl.db.Query(context.Background(), `SELECT action, actor_email, actor_key_prefix, client_ip, details::text
		FROM logs.audit_events WHERE project_id = $1 ORDER BY id`, projectID)
	require.NoError(t, err)
	defer rows.Close()
	count := map[string]int{}
	for rows.Next() {
		var action, email, prefix, ip, details string
		require.NoError(t, rows.Scan(&action, &email, &prefix, &ip, &details))
		count[action]++
		for _, secret := range []string{defaultKey, rotated, ingestKey, readKey, expiring, loadKey} {
			require.NotContains(t, details, secret[8:])
		}
		switch action {
		case "project.key_create", "project.key_revoke", "project.key_rotate":
			require.Equal(t, "dev@example.com", email)
			require.NotEmpty(t, ip)
		case "key.new_address":
			if strings.Contains(details, "203.0.113.50") {
				require.Equal(t, ingestKey[:8], prefix)
				require.Equal(t, "203.0.113.50", ip)
				count["new address of production"]++
			}
		}
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 1, count["project.create"])
	require.Equal(t, 4, count["project.key_create"])
	require.Equal(t, 2, count["project.key_revoke"])
	require.Equal(t, 1, count["project.key_rotate"])
	require.Equal(t, 1, count["new address of production"], "a new address is audited once")
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// revokeUnderLoad revokes key (id) while writers send batches with it
// until refused, then checks that every acknowledged batch is stored and
// none sent after the revocation returned was acknowledged.
func revokeUnderLoad(t *testing.T, pl *platform, tok, keysPath, key string, id int64) {
	t.Helper()
	const writers, perBatch = 4, 5
	var acked atomic.Int64
	var revokedAt atomic.Int64 // unix nanos once DELETE returned
	var lateAcks atomic.Int64  // acknowledged batches sent after that
	var wg sync.WaitGroup
	errs := make(chan string, writers)
	for w := range writers {
		wg.Go(func() {
			for seq := 0; ; seq++ {
				logs := make([]map[string]any, perBatch)
				for i := range logs {
					logs[i] = map[string]any{"level": "INFO", "message": fmt.Sprintf("writer %d batch %d entry %d", w, seq, i)}
				}
				body, _ := json.Marshal(map[string]any{"service_name": "load", "logs": logs})
				sent := time.Now().UnixNano()
				req, _ := http.NewRequest("POST", pl.baseURL+"/api/logs/batch", strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				res.Body.Close()
				switch res.StatusCode {
				case 201:
					acked.Add(perBatch)
					if r := revokedAt.Load(); r != 0 && sent > r {
						lateAcks.Add(1)
					}
				case 401:
					return
				default:
					errs <- fmt.Sprintf("status %d", res.StatusCode)
					return
				}
			}
		})
	}
	require.Eventually(t, func() bool { return acked.Load() >= 100 }, 20*time.Second, 5*time.Millisecond, "the writers never got going")
	pl.do(t, "DELETE", fmt.Sprintf("%s/%d", keysPath, id), nil, bearer(tok)).expect(t, 200)
	revokedAt.Store(time.Now().UnixNano())
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("writer: %s", e)
	}
	require.Zero(t, lateAcks.Load(), "a batch sent after the revocation returned was acknowledged")
	var stored int64
	require.NoError(t, pl.db.QueryRow(context.Background(),
		`SELECT count(*) FROM logs.entries WHERE service_name = 'load'`).Scan(&stored))
	require.Equal(t, acked.Load(), stored, "every acknowledged entry is stored, and nothing else")
}

// openTail opens an SSE tail and returns its entries.
func openTail(t *testing.T, ctx context.Context, pl *platform, path string, opts ...reqOpt) <-chan map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", pl.baseURL+path, nil)
	require.NoError(t, err)
	for _, o := range opts {
		o(req)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	require.True(t, sc.Scan())
	require.Equal(t, ": tail started", sc.Text(), "the subscription is in place")
	out := make(chan map[string]any)
	go func() {
		defer res.Body.Close()
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e map[string]any
				if json.Unmarshal([]byte(v), &e) == nil {
					select {
					case out <- e:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()
	return out
}
