package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// rlPerMinute is the platform's request limit in TestRateLimits: small, so
// that a test floods a key in a few requests (one refills every 3 s).
const rlPerMinute = 20

// rlProject creates a project and returns its id and key.
func rlProject(t *testing.T, pl *platform, admin, slug string) (int64, string) {
	t.Helper()
	r := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": slug, "slug": slug}, bearer(admin)).expect(t, 201)
	return num(t, r.JSON["project_id"]), r.JSON["api_key"].(string)
}

func rlBatch(pl *platform, t *testing.T, key, service string, entries int) response {
	logs := make([]map[string]any, entries)
	for i := range logs {
		logs[i] = map[string]any{"level": "INFO", "message": fmt.Sprintf("entry %d", i)}
	}
	return pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": service, "logs": logs}, bearer(key))
}

func (pl *platform) projectEntries(t *testing.T, projectID int64) int64 {
	t.Helper()
	var n int64
	require.NoError(t, pl.db.QueryRow(context.Background(), `SELECT count(*) FROM logs.entries WHERE project_id = $1`, projectID).Scan(&n))
	return n
}

func headerInt(t *testing.T, r response, name string) int {
	t.Helper()
	v, err := strconv.Atoi(r.Header.Get(name))
	require.NoError(t, err, "%s: %q", name, r.Header.Get(name))
	return v
}

// retryInfo returns the RetryInfo delay of a status, or 0.
func retryInfo(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// TestRateLimits runs the all-in-one with a request limit of 20 a minute
// per key and checks every way in that takes a key: REST batch (429 with
// Retry-After, X-RateLimit-* and the body {error, code: rate_limited,
// limit, window}; the headers on success too), OTLP/HTTP and Loki (their
// own bodies, the same status and headers), gRPC IngestBatch, IngestStream
// (each batch a request) and OTLP Export (RESOURCE_EXHAUSTED with
// RetryInfo and the figures in the metadata); a noisy neighbour; and a
// project's own logs-per-second limit set with PATCH.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	pl := startAllInOneEnv(t, newDataDir(t), "127.0.0.1:0", []string{
		"DEVSMITH_RATE_LIMIT_REQUESTS_PER_MINUTE=" + strconv.Itoa(rlPerMinute),
		"DEVSMITH_RATE_LIMIT_LOGS_PER_SECOND=10000"}, nil)
	admin := pl.login(t, adminEmail, adminPassword)
	idA, keyA := rlProject(t, pl, admin, "rl-noisy")
	idB, keyB := rlProject(t, pl, admin, "rl-quiet")

	t.Run("REST: 429 past the key's limit, headers, body; the neighbour is not slowed", func(t *testing.T) {
		// A floods from several clients at once; B sends one batch every
		// few of A's, all in the same interval.
		start := time.Now()
		var mu sync.Mutex
		var okA []response
		var refused []response
		var flood sync.WaitGroup
		for range 4 {
			flood.Go(func() {
				for range 15 {
					r := rlBatch(pl, t, keyA, "api", 1)
					mu.Lock()
					if r.Status == 201 {
						okA = append(okA, r)
					} else {
						refused = append(refused, r)
					}
					mu.Unlock()
				}
			})
		}
		var quiet []response
		for range 10 {
			quiet = append(quiet, rlBatch(pl, t, keyB, "api", 5))
		}
		flood.Wait()
		elapsed := time.Since(start)

		// The bucket starts full (20) and refills one every 3 s.
		refill := int(elapsed / (time.Minute / rlPerMinute))
		require.GreaterOrEqual(t, len(okA), rlPerMinute, "the first 20 requests pass")
		require.LessOrEqual(t, len(okA), rlPerMinute+refill+1, "no more than the limit and what refilled in %s", elapsed)
		require.Len(t, refused, 60-len(okA))
		for _, r := range okA {
			require.Equal(t, strconv.Itoa(rlPerMinute), r.Header.Get("X-RateLimit-Limit"))
			require.Less(t, headerInt(t, r, "X-RateLimit-Remaining"), rlPerMinute)
			require.Positive(t, headerInt(t, r, "X-RateLimit-Reset"))
		}
		for _, r := range refused {
			r.expect(t, 429)
			require.Equal(t, "rate_limited", r.JSON["code"], "body: %s", r.Raw)
			require.Contains(t, r.JSON["error"], "20 requests a minute")
			require.Equal(t, float64(rlPerMinute), r.JSON["limit"])
			require.Equal(t, "1m", r.JSON["window"])
			require.Positive(t, headerInt(t, r, "Retry-After"))
			require.LessOrEqual(t, headerInt(t, r, "Retry-After"), 3, "a token refills within 3 s")
			require.Equal(t, strconv.Itoa(rlPerMinute), r.Header.Get("X-RateLimit-Limit"))
			require.Equal(t, "0", r.Header.Get("X-RateLimit-Remaining"))
			require.Positive(t, headerInt(t, r, "X-RateLimit-Reset"))
		}
		for i, r := range quiet {
			require.Equal(t, 201, r.Status, "B's batch %d while A floods: %s", i, r.Raw)
			require.Equal(t, strconv.Itoa(rlPerMinute-1-i), r.Header.Get("X-RateLimit-Remaining"), "B's own budget")
		}
		// 2xx means stored; a 429 stored nothing.
		require.Equal(t, int64(len(okA)), pl.projectEntries(t, idA))
		require.Equal(t, int64(50), pl.projectEntries(t, idB))
	})

	t.Run("OTLP/HTTP and Loki: their own bodies, the same status and headers", func(t *testing.T) {
		otlp := pl.do(t, "POST", "/v1/logs", `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}}]}]}]}`, bearer(keyA))
		require.Equal(t, 429, otlp.Status, "body: %s", otlp.Raw)
		require.Positive(t, headerInt(t, otlp, "Retry-After"))
		require.Equal(t, strconv.Itoa(rlPerMinute), otlp.Header.Get("X-RateLimit-Limit"))
		require.Equal(t, "0", otlp.Header.Get("X-RateLimit-Remaining"))
		var st map[string]any
		require.NoError(t, json.Unmarshal(otlp.Raw, &st), "a google.rpc.Status in JSON")
		require.Equal(t, float64(codes.ResourceExhausted), st["code"])
		require.Contains(t, st["message"], "requests a minute")

		loki := pl.do(t, "POST", "/loki/api/v1/push", `{"streams":[{"stream":{"service_name":"api"},"values":[["`+strconv.FormatInt(time.Now().UnixNano(), 10)+`","x"]]}]}`, bearer(keyA))
		require.Equal(t, 429, loki.Status, "body: %s", loki.Raw)
		require.Contains(t, loki.Header.Get("Content-Type"), "text/plain")
		require.Contains(t, string(loki.Raw), "requests a minute")
		require.Positive(t, headerInt(t, loki, "Retry-After"))
		require.Equal(t, strconv.Itoa(rlPerMinute), loki.Header.Get("X-RateLimit-Limit"))

		// B's key still passes both, with its headers.
		ok := pl.do(t, "POST", "/v1/logs", `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}}]}]}]}`, bearer(keyB))
		require.Equal(t, 200, ok.Status, "body: %s", ok.Raw)
		require.Equal(t, strconv.Itoa(rlPerMinute), ok.Header.Get("X-RateLimit-Limit"))
		okLoki := pl.do(t, "POST", "/loki/api/v1/push", `{"streams":[{"stream":{"service_name":"api"},"values":[["`+strconv.FormatInt(time.Now().UnixNano(), 10)+`","x"]]}]}`, bearer(keyB))
		require.Equal(t, 204, okLoki.Status, "body: %s", okLoki.Raw)
		require.Equal(t, strconv.Itoa(rlPerMinute), okLoki.Header.Get("X-RateLimit-Limit"))
		require.Less(t, headerInt(t, okLoki, "X-RateLimit-Remaining"), headerInt(t, ok, "X-RateLimit-Remaining"))
	})

	conn, err := grpc.NewClient(pl.grpcAddrs["ingestion"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	ingestion := logsv1.NewIngestionServiceClient(conn)
	withKey := func(key string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
	}
	entry := []*logsv1.LogInput{{Level: "INFO", Message: "over gRPC"}}

	t.Run("gRPC: RESOURCE_EXHAUSTED with RetryInfo and the figures in the metadata", func(t *testing.T) {
		var hdr, trl metadata.MD
		_, err := ingestion.IngestBatch(withKey(keyA), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: entry}, grpc.Header(&hdr), grpc.Trailer(&trl))
		st := status.Convert(err)
		require.Equal(t, codes.ResourceExhausted, st.Code(), "%v", err)
		require.Contains(t, st.Message(), "20 requests a minute")
		require.Positive(t, retryInfo(st))
		require.LessOrEqual(t, retryInfo(st), 3*time.Second)
		md := metadata.Join(hdr, trl)
		require.Equal(t, []string{strconv.Itoa(rlPerMinute)}, md.Get("x-ratelimit-limit"), "metadata: %v", md)
		require.Equal(t, []string{"0"}, md.Get("x-ratelimit-remaining"))
		require.NotEmpty(t, md.Get("x-ratelimit-reset"))

		_, err = collogspb.NewLogsServiceClient(conn).Export(withKey(keyA), &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
			ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{{SeverityText: "INFO"}}}}}}})
		require.Equal(t, codes.ResourceExhausted, status.Code(err), "OTLP/gRPC Export: %v", err)
		require.Positive(t, retryInfo(status.Convert(err)))

		hdr = nil
		_, err = ingestion.IngestBatch(withKey(keyB), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: entry}, grpc.Header(&hdr))
		require.NoError(t, err, "B's key is not A's")
		require.Equal(t, []string{strconv.Itoa(rlPerMinute)}, hdr.Get("x-ratelimit-limit"))
	})

	t.Run("gRPC IngestStream: every batch is a request", func(t *testing.T) {
		idC, keyC := rlProject(t, pl, admin, "rl-stream")
		stream, err := ingestion.IngestStream(withKey(keyC))
		require.NoError(t, err)
		var sendErr error
		for i := 0; i < 3*rlPerMinute && sendErr == nil; i++ {
			sendErr = stream.Send(&logsv1.IngestStreamRequest{ServiceName: "api", Logs: entry})
		}
		_, err = stream.CloseAndRecv()
		if sendErr != nil && sendErr != io.EOF {
			require.NoError(t, sendErr)
		}
		st := status.Convert(err)
		require.Equal(t, codes.ResourceExhausted, st.Code(), "%v", err)
		require.Positive(t, retryInfo(st))
		stored := pl.projectEntries(t, idC)
		require.GreaterOrEqual(t, stored, int64(rlPerMinute), "the batches within the limit are committed")
		require.LessOrEqual(t, stored, int64(rlPerMinute+2))
		require.Contains(t, st.Message(), fmt.Sprintf("the %d before it are committed", stored), "the message says what was committed before")
		hdr, err := stream.Header()
		require.NoError(t, err)
		require.Equal(t, []string{strconv.Itoa(rlPerMinute)}, hdr.Get("x-ratelimit-limit"))
	})

	t.Run("the query API with a read key: the same budget, headers and 429", func(t *testing.T) {
		r := pl.do(t, "POST", fmt.Sprintf("/api/logs/projects/%d/keys", idB), map[string]any{"name": "grafana", "scopes": []string{"read"}}, bearer(admin)).expect(t, 201)
		readKey := r.JSON["api_key"].(string)
		var last response
		for i := range rlPerMinute {
			last = pl.do(t, "GET", "/api/logs/entries?project=rl-quiet&page_size=1", nil, bearer(readKey))
			require.Equal(t, 200, last.Status, "read %d: %s", i, last.Raw)
			require.Equal(t, strconv.Itoa(rlPerMinute), last.Header.Get("X-RateLimit-Limit"))
		}
		require.LessOrEqual(t, headerInt(t, last, "X-RateLimit-Remaining"), 1)
		over := pl.do(t, "GET", "/api/logs/stats?project=rl-quiet", nil, bearer(readKey))
		if over.Status == 200 { // one token refilled meanwhile (one every 3 s)
			over = pl.do(t, "GET", "/api/logs/stats?project=rl-quiet", nil, bearer(readKey))
		}
		over.expect(t, 429)
		require.Equal(t, "rate_limited", over.JSON["code"])
		require.Equal(t, float64(rlPerMinute), over.JSON["limit"])
		require.Equal(t, "1m", over.JSON["window"])
		require.Positive(t, headerInt(t, over, "Retry-After"))
		require.Equal(t, "0", over.Header.Get("X-RateLimit-Remaining"))
		// Signed-in users are not held to key budgets.
		pl.do(t, "GET", "/api/logs/stats?project=rl-quiet", nil, bearer(admin)).expect(t, 200)
	})

	t.Run("a project's own logs limit, set with PATCH, holds its entries", func(t *testing.T) {
		idD, keyD := rlProject(t, pl, admin, "rl-volume")
		r := pl.do(t, "PATCH", fmt.Sprintf("/api/logs/projects/%d", idD),
			map[string]any{"rate_limit": map[string]any{"requests_per_minute": 100000, "logs_per_second": 50}}, bearer(admin)).expect(t, 200)
		require.Equal(t, map[string]any{"requests_per_minute": float64(100000), "logs_per_second": float64(50), "is_default": false},
			r.JSON["project"].(map[string]any)["rate_limit"])
		// The limiter reads the project's limits in the background, every
		// 5 s: until then the defaults hold (and the key's 20 requests a
		// minute may refuse first).
		var over response
		require.Eventually(t, func() bool {
			rlBatch(pl, t, keyD, "api", 50)
			over = rlBatch(pl, t, keyD, "api", 50)
			return over.Status == 429 && over.JSON["limit"] == float64(50)
		}, 15*time.Second, 250*time.Millisecond, "a second batch of 50 within the second is over 50 a second")
		require.Equal(t, "rate_limited", over.JSON["code"])
		require.Equal(t, float64(50), over.JSON["limit"])
		require.Equal(t, "1s", over.JSON["window"])
		require.Contains(t, over.JSON["error"], "50 log entries a second")
		require.Equal(t, "50", over.Header.Get("X-RateLimit-Limit"), "the headers name the budget that refused")
		require.Positive(t, headerInt(t, over, "Retry-After"))

		r = pl.do(t, "PATCH", fmt.Sprintf("/api/logs/projects/%d", idD),
			map[string]any{"rate_limit": map[string]any{"requests_per_minute": 0, "logs_per_second": 0}}, bearer(admin)).expect(t, 200)
		require.Equal(t, map[string]any{"requests_per_minute": float64(rlPerMinute), "logs_per_second": float64(10000), "is_default": true},
			r.JSON["project"].(map[string]any)["rate_limit"], "0 returns each limit to the platform's default")
		g := pl.do(t, "GET", fmt.Sprintf("/api/logs/projects/%d", idD), nil, bearer(admin)).expect(t, 200)
		require.Equal(t, true, g.JSON["project"].(map[string]any)["rate_limit"].(map[string]any)["is_default"])
	})
}

// TestUpdateProject checks PATCH /api/logs/projects/{id}: the fields set
// change and the others stay, bad values are refused naming the field,
// viewers and strangers may not, and project.update is audited with the
// fields set.
func TestUpdateProject(t *testing.T) {
	t.Parallel()
	pl := startAllInOne(t)
	admin := pl.login(t, adminEmail, adminPassword)
	for _, u := range []string{"owner@example.com", "maint@example.com", "viewer@example.com", "stranger@example.com"} {
		pl.do(t, "POST", "/api/users", map[string]string{"email": u, "password": "password-123"}, bearer(admin)).expect(t, 201)
	}
	owner := pl.login(t, "owner@example.com", "password-123")
	r := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Shop", "slug": "shop", "description": "the shop",
		"repository_url": "https://git.example.com/shop"}, bearer(owner)).expect(t, 201)
	id := num(t, r.JSON["project_id"])
	path := fmt.Sprintf("/api/logs/projects/%d", id)
	pl.do(t, "POST", path+"/members", map[string]string{"email": "maint@example.com", "role": "maintainer"}, bearer(owner)).expect(t, 201)
	pl.do(t, "POST", path+"/members", map[string]string{"email": "viewer@example.com", "role": "viewer"}, bearer(owner)).expect(t, 201)
	maint := pl.login(t, "maint@example.com", "password-123")
	viewer := pl.login(t, "viewer@example.com", "password-123")
	stranger := pl.login(t, "stranger@example.com", "password-123")

	got := pl.do(t, "GET", path, nil, bearer(owner)).expect(t, 200).JSON["project"].(map[string]any)
	require.Equal(t, map[string]any{"requests_per_minute": float64(1000), "logs_per_second": float64(10000), "is_default": true}, got["rate_limit"],
		"every project carries its effective limits: the defaults")

	r = pl.do(t, "PATCH", path, map[string]any{"name": "  Shop API  ", "rate_limit": map[string]any{"requests_per_minute": 300}},
		bearer(maint), header("User-Agent", "e2e-update")).expect(t, 200)
	p := r.JSON["project"].(map[string]any)
	require.Equal(t, "Shop API", p["name"])
	require.Equal(t, "the shop", p["description"], "absent fields keep their value")
	require.Equal(t, "https://git.example.com/shop", p["repository_url"])
	require.Equal(t, "maintainer", p["role"])
	require.Equal(t, map[string]any{"requests_per_minute": float64(300), "logs_per_second": float64(10000), "is_default": false}, p["rate_limit"])

	r = pl.do(t, "PATCH", path, map[string]any{"description": "", "repository_url": ""}, bearer(admin)).expect(t, 200)
	require.Equal(t, "", r.JSON["project"].(map[string]any)["description"])
	require.Equal(t, "", r.JSON["project"].(map[string]any)["repository_url"])
	list := pl.do(t, "GET", "/api/logs/projects", nil, bearer(owner)).expect(t, 200).JSON["projects"].([]any)
	require.Equal(t, float64(300), list[0].(map[string]any)["rate_limit"].(map[string]any)["requests_per_minute"], "lists carry the limits too")

	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "   "}, "name"},
		{map[string]any{"repository_url": "ftp://example.com/x"}, "repository_url"},
		{map[string]any{"description": string(make([]byte, 2001))}, "description"},
		{map[string]any{"rate_limit": map[string]any{"requests_per_minute": -1}}, "rate_limit.requests_per_minute"},
		{map[string]any{"rate_limit": map[string]any{"logs_per_second": -5}}, "rate_limit.logs_per_second"},
	} {
		pl.do(t, "PATCH", path, c.body, bearer(owner)).expectError(t, 400, "INVALID_ARGUMENT", c.field)
	}
	pl.do(t, "PATCH", path, map[string]any{"name": "x"}, bearer(viewer)).expectError(t, 403, "PERMISSION_DENIED", "viewers")
	pl.do(t, "PATCH", path, map[string]any{"name": "x"}, bearer(stranger)).expectError(t, 403, "PERMISSION_DENIED", "not yours")
	pl.do(t, "PATCH", "/api/logs/projects/999999", map[string]any{"name": "x"}, bearer(admin)).expectError(t, 404, "NOT_FOUND", "999999")
	pl.do(t, "PATCH", path, map[string]any{"name": "x"}).expectError(t, 401, "UNAUTHENTICATED", "")
	require.Equal(t, "Shop API", pl.do(t, "GET", path, nil, bearer(owner)).JSON["project"].(map[string]any)["name"], "refused changes changed nothing")

	// Audited in the change's transaction: exactly the two changes made.
	rows, err := pl.db.Query(context.Background(), `SELECT actor_email, client_ip, user_agent, details::text FROM logs.audit_events
		WHERE action = 'project.update' AND project_id = $1 ORDER BY id`, id)
	require.NoError(t, err)
	type event struct{ email, ip, agent, details string }
	var events []event
	for rows.Next() {
		var e event
		require.NoError(t, rows.Scan(&e.email, &e.ip, &e.agent, &e.details))
		events = append(events, e)
	}
	require.NoError(t, rows.Err())
	require.Len(t, events, 2)
	require.Equal(t, "maint@example.com", events[0].email)
	require.Equal(t, "e2e-update", events[0].agent)
	require.NotEmpty(t, events[0].ip)
	require.JSONEq(t, `{"name": "Shop API", "rate_limit": {"requests_per_minute": 300}}`, events[0].details)
	require.Equal(t, adminEmail, events[1].email)
	require.JSONEq(t, `{"description": "", "repository_url": ""}`, events[1].details)
}
