package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/devsmith/logs/internal/pgtest"
	"github.com/devsmith/logs/migrations"
)

var cluster *pgtest.Cluster

// TestMain checks, once every test has ended and the cluster is stopped,
// that no goroutine of a stopped Process is left.
func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.WithCluster(m, &cluster)) }

const (
	testEmail    = "admin@example.com"
	testPassword = "admin-password-1"
)

// startPlatform runs the all-in-one in this process on dsn, on loopback
// ports, with env's settings over the test defaults; the test stops it
// (Stop) itself or at cleanup.
func startPlatform(t *testing.T, dsn string, env map[string]string) (*Process, *client) {
	t.Helper()
	all := map[string]string{
		"DATABASE_URL":                  dsn,
		"DEVSMITH_HTTP_ADDR":            "127.0.0.1:0",
		"DEVSMITH_PROJECTS_ADDR":        "127.0.0.1:0",
		"DEVSMITH_INGESTION_ADDR":       "127.0.0.1:0",
		"DEVSMITH_QUERY_ADDR":           "127.0.0.1:0",
		"DEVSMITH_ANALYSIS_ADDR":        "127.0.0.1:0",
		"DEVSMITH_ADMIN_EMAIL":          testEmail,
		"DEVSMITH_ADMIN_PASSWORD":       testPassword,
		"DEVSMITH_BCRYPT_COST":          "4",
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY": "0",
	}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := parse(all)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := Start(ctx, zaptest.NewLogger(t), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { p.Stop(context.Background()) })
	c := newClient(t, "http://"+p.HTTPAddr)
	require.Eventually(t, func() bool { return c.status("GET", "/readyz", nil, "") == http.StatusOK },
		30*time.Second, 20*time.Millisecond, "never ready")
	return p, c
}

// client is an HTTP client of one platform with its own connections, closed
// at cleanup (goleak counts idle connections' goroutines).
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, base: base, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// do sends a request and returns the status and the body; err is a
// transport error (connection refused, reset).
func (c *client) do(method, path string, body any, bearer string) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out, nil
}

func (c *client) status(method, path string, body any, bearer string) int {
	st, _, err := c.do(method, path, body, bearer)
	if err != nil {
		return 0
	}
	return st
}

// projectKey signs in as the admin and creates a project; it returns its
// API key and the admin's session token.
func (c *client) projectKey(slug string) (key, session string) {
	t := c.t
	st, res, err := c.do("POST", "/api/auth/login", map[string]string{"email": testEmail, "password": testPassword}, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st, "%v", res)
	session = res["token"].(string)
	st, res, err = c.do("POST", "/api/logs/projects", map[string]string{"name": slug, "slug": slug}, session)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, st, "%v", res)
	return res["api_key"].(string), session
}

// batch is a batch of n entries whose messages name it ("<id> #<i>").
func batch(id string, n int) map[string]any {
	logs := make([]map[string]any, n)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range logs {
		logs[i] = map[string]any{"level": "INFO", "message": fmt.Sprintf("%s #%d", id, i), "timestamp": now}
	}
	return map[string]any{"service_name": "drain", "batch_id": id, "logs": logs}
}

// storedByBatch counts the stored entries of each batch.
func storedByBatch(t *testing.T, dsn string) map[string]int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT split_part(message, ' #', 1), count(*) FROM logs.entries GROUP BY 1`)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		out[id] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// A process that cannot bind its HTTP port fails with an error naming the
// address, and undoes what it had started.
func TestStartFailsCleanlyWhenThePortIsTaken(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cfg, err := parse(map[string]string{
		"DATABASE_URL":            cluster.NewDatabase(t),
		"DEVSMITH_HTTP_ADDR":      busy.Addr().String(),
		"DEVSMITH_PROJECTS_ADDR":  "127.0.0.1:0",
		"DEVSMITH_INGESTION_ADDR": "127.0.0.1:0",
		"DEVSMITH_QUERY_ADDR":     "127.0.0.1:0",
		"DEVSMITH_ANALYSIS_ADDR":  "127.0.0.1:0",
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := Start(ctx, zaptest.NewLogger(t), cfg)
	require.ErrorContains(t, err, busy.Addr().String())
	require.Nil(t, p)
}

// A gRPC server whose Serve fails reaches Failed, so Main exits non-zero.
func TestServeFailureIsReported(t *testing.T) {
	t.Parallel()
	p, _ := startPlatform(t, cluster.NewDatabase(t), nil)
	var query *grpcServer
	for _, s := range p.servers {
		if s.name == TargetQuery {
			query = s
		}
	}
	require.NoError(t, query.lis.Close())
	select {
	case err := <-p.Failed():
		require.ErrorContains(t, err, "query service: serving gRPC")
	case <-time.After(30 * time.Second):
		t.Fatal("the failed Serve was not reported")
	}
}

// Each service has its own pool, of its configured size: a burst of
// queries that takes every connection of the query service's pool leaves
// ingestion writing.
func TestEachServiceHasItsOwnPool(t *testing.T) {
	t.Parallel()
	dsn := cluster.NewDatabase(t)
	p, c := startPlatform(t, dsn, map[string]string{
		"DEVSMITH_QUERY_MAX_CONNS": "3", "DEVSMITH_PROJECTS_MAX_CONNS": "2", "DEVSMITH_INGESTION_WRITERS": "2", "DEVSMITH_INGESTION_MAX_CONNS": "5",
	})
	require.EqualValues(t, 3, p.pools[TargetQuery].Config().MaxConns)
	require.EqualValues(t, 2, p.pools[TargetProjects].Config().MaxConns)
	require.EqualValues(t, 5, p.pools[TargetIngestion].Config().MaxConns)
	key, _ := c.projectKey("pools")

	ctx := context.Background()
	var held []*pgxpool.Conn
	for range 3 {
		conn, err := p.pools[TargetQuery].Acquire(ctx)
		require.NoError(t, err)
		held = append(held, conn)
	}
	defer func() {
		for _, conn := range held {
			conn.Release()
		}
	}()
	// The query service has no connection left: its calls wait.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err := p.pools[TargetQuery].Acquire(short)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	sentAt := time.Now()
	st, res, err := c.do("POST", "/api/logs/batch", batch("while-queries-wait", 10), key)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, st, "%v", res)
	t.Logf("a batch with the query pool exhausted: acknowledged in %v", time.Since(sentAt).Round(time.Millisecond))
	// Nor is the query service unready because its pool is busy (for
	// longer than a readiness probe waits for its answer).
	require.Never(t, func() bool { return healthOf(t, p.GRPCAddr[TargetQuery]) != healthpb.HealthCheckResponse_SERVING },
		6*readinessEvery, 25*time.Millisecond, "the query service went unready with its pool busy")
	require.Equal(t, http.StatusOK, c.status("GET", "/readyz", nil, ""))
	require.Equal(t, 10, storedByBatch(t, dsn)["while-queries-wait"])

	// The connections are named for their service.
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var names []string
	rows, err := conn.Query(ctx, `SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'devsmith-%' ORDER BY 1`)
	require.NoError(t, err)
	names, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Subset(t, names, []string{"devsmith-ingestion", "devsmith-platform", "devsmith-projects", "devsmith-query"})
}

// healthOf asks a server's gRPC health about its readiness ("") or its
// liveness.
func healthOf(t *testing.T, addr string, service ...string) healthpb.HealthCheckResponse_ServingStatus {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: strings.Join(service, "")})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	return res.GetStatus()
}

// gRPC health and /readyz follow the database: refused connections make
// projects and query NOT_SERVING and /readyz 503 (the liveness service
// stays SERVING), and they come back.
func TestReadinessFollowsTheDatabase(t *testing.T) {
	t.Parallel()
	dsn := cluster.NewDatabase(t)
	p, c := startPlatform(t, dsn, nil)
	for _, name := range []string{TargetProjects, TargetIngestion, TargetQuery} {
		require.Equal(t, healthpb.HealthCheckResponse_SERVING, healthOf(t, p.GRPCAddr[name]), name)
	}
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	db := cfg.Database
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, cluster.DSN("postgres"))
	require.NoError(t, err)
	defer admin.Close(ctx)
	allow := func(on bool) {
		_, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", pgx.Identifier{db}.Sanitize(), on))
		require.NoError(t, err)
	}
	allow(false) // (the database is dropped at cleanup however it is left)
	_, err = admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, db)
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		return healthOf(t, p.GRPCAddr[TargetQuery]) == healthpb.HealthCheckResponse_NOT_SERVING &&
			healthOf(t, p.GRPCAddr[TargetProjects]) == healthpb.HealthCheckResponse_NOT_SERVING
	}, 30*time.Second, 50*time.Millisecond, "query and projects stay SERVING without their database")
	require.Equal(t, http.StatusServiceUnavailable, c.status("GET", "/readyz", nil, ""))
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, healthOf(t, p.GRPCAddr[TargetQuery], livenessService), "alive all the same")

	allow(true)
	require.Eventually(t, func() bool { return c.status("GET", "/readyz", nil, "") == http.StatusOK },
		30*time.Second, 50*time.Millisecond, "never ready again")
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, healthOf(t, p.GRPCAddr[TargetQuery]))
}

type sent struct {
	id            string
	status        int
	err           error
	beforeStopped bool // sent before Stop began
}

// Stop first reports not ready while it goes on serving for the drain
// delay, then stops accepting; every batch sent before Stop began is
// acknowledged, every acknowledged batch is stored whole, and every other
// one was refused in a way a client retries (a transport error or 503).
func TestStopDrainsInFlightBatches(t *testing.T) {
	t.Parallel()
	dsn := cluster.NewDatabase(t)
	const drain = 1500 * time.Millisecond
	// The clients send as fast as they are answered, with one key: no rate
	// limit, so that every refusal is the stop's.
	p, c := startPlatform(t, dsn, map[string]string{"DEVSMITH_SHUTDOWN_DRAIN_DELAY": drain.String(),
		"DEVSMITH_RATE_LIMIT_REQUESTS_PER_MINUTE": "0", "DEVSMITH_RATE_LIMIT_LOGS_PER_SECOND": "0"})
	key, session := c.projectKey("drain")

	// A live tail open through the stop: it must end, not hold Stop up.
	req, err := http.NewRequest("GET", c.base+"/api/logs/tail", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+session)
	tail, err := c.http.Transport.RoundTrip(req)
	require.NoError(t, err)
	defer tail.Body.Close()
	require.Equal(t, http.StatusOK, tail.StatusCode)
	tailEnded := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(tail.Body)
		tailEnded <- string(b)
	}()

	var (
		mu       sync.Mutex
		results  []sent
		stopping = make(chan struct{})
		wg       sync.WaitGroup
	)
	acked := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, r := range results {
			if r.status == http.StatusCreated {
				n++
			}
		}
		return n
	}
	const clients, size = 6, 50
	for w := range clients {
		wg.Go(func() {
			for i := 0; ; i++ {
				before := true
				select {
				case <-stopping:
					before = false
				default:
				}
				id := fmt.Sprintf("c%d-b%d", w, i)
				st, _, err := c.do("POST", "/api/logs/batch", batch(id, size), key)
				mu.Lock()
				results = append(results, sent{id: id, status: st, err: err, beforeStopped: before})
				mu.Unlock()
				if err != nil {
					return // the server stopped accepting
				}
			}
		})
	}
	require.Eventually(t, func() bool { return acked() >= 3*clients }, 30*time.Second, 10*time.Millisecond)

	stopped := make(chan struct{})
	close(stopping)
	began := time.Now()
	go func() {
		defer close(stopped)
		p.Stop(context.Background())
	}()
	// Not ready at once, and still serving meanwhile.
	require.Eventually(t, func() bool { return c.status("GET", "/readyz", nil, "") == http.StatusServiceUnavailable },
		drain/2, 5*time.Millisecond, "/readyz stayed 200 while draining")
	ackedAtUnready := acked()
	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, healthOf(t, p.GRPCAddr[TargetIngestion]), "gRPC health not serving while draining")
	require.Eventually(t, func() bool { return acked() > ackedAtUnready }, drain/2, 5*time.Millisecond,
		"no batch was acknowledged while not ready")
	select {
	case <-stopped:
	case <-time.After(drain + 8*time.Second):
		t.Fatal("Stop is held up (by the open tail?)")
	}
	require.GreaterOrEqual(t, time.Since(began), drain, "Stop waited for the drain delay")
	select {
	case body := <-tailEnded:
		require.Contains(t, body, ": tail started")
		require.NotContains(t, body, "event: error", "the tail ended cleanly")
	case <-time.After(10 * time.Second):
		t.Fatal("the live tail did not end")
	}
	wg.Wait()

	stored := storedByBatch(t, dsn)
	var ok, refused int
	for _, r := range results {
		switch {
		case r.status == http.StatusCreated:
			ok++
			require.Equal(t, size, stored[r.id], "acknowledged batch %s stored whole", r.id)
		case r.beforeStopped:
			t.Errorf("batch %s, sent before Stop, got %d %v", r.id, r.status, r.err)
		default:
			refused++
			// In process nothing else refuses: an answered batch was
			// acknowledged (a cancelled one used to get 503).
			require.Error(t, r.err, "batch %s, answered %d after Stop began", r.id, r.status)
			require.Contains(t, []int{0, size}, stored[r.id], "batch %s stored whole or not at all", r.id)
		}
	}
	require.GreaterOrEqual(t, refused, clients, "each client's last batch found the server closed")
	t.Logf("%d batches acknowledged and stored, %d refused after the drain", ok, refused)
	for _, s := range p.servers {
		require.Equal(t, healthpb.HealthCheckResponse_UNKNOWN, healthOf(t, s.lis.Addr().String()), "%s gRPC server closed", s.name)
	}
	require.True(t, strings.HasPrefix(p.HTTPAddr, "127.0.0.1:"))
	_, _, err = c.do("GET", "/healthz", nil, "")
	require.Error(t, err, "the gateway no longer accepts")
}

// --target=migrate applies every migration to an empty database and exits
// 0 (a deployment's migration job); without a database it is a usage error.
func TestMigrateTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := cluster.NewDatabase(t)
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	defer pool.Close()
	_, err = pool.Exec(ctx, "DROP SCHEMA logs CASCADE; TRUNCATE public.devsmith_schema_migrations")
	require.NoError(t, err)

	env := map[string]string{"DATABASE_URL": dsn, "DEVSMITH_LOG_FORMAT": "json"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"--target=migrate"}, "", lookup, &stdout, &stderr), stderr.String())
	pending, err := migrations.Pending(ctx, pool)
	require.NoError(t, err)
	require.Zero(t, pending)
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM logs.error_group_hours").Scan(&n))

	stderr.Reset()
	require.Equal(t, 2, run([]string{"--target=migrate"}, "", func(string) (string, bool) { return "", false }, &stdout, &stderr))
	require.Contains(t, stderr.String(), "--target=migrate")
}
