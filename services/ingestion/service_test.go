package ingestion

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/grpctest"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/partition"
)

// fakeIdentity stands in for the projects service: dsk_alpha is project 1
// "alpha", dsk_beta project 2 "beta".
type fakeIdentity struct {
	identityv1.IdentityServiceClient
}

func (fakeIdentity) ResolveApiKey(_ context.Context, in *identityv1.ResolveApiKeyRequest, _ ...grpc.CallOption) (*identityv1.ResolveApiKeyResponse, error) {
	for _, p := range testProjects {
		if in.GetApiKey() == p.key {
			return &identityv1.ResolveApiKeyResponse{ProjectId: p.id, ProjectSlug: p.slug, KeyId: p.id, Scopes: []string{"ingest"}}, nil
		}
	}
	return nil, status.Error(codes.Unauthenticated, "invalid API key")
}

// RecordKeyUse accepts the uses ingestion reports (the projects service's
// own tests check what it stores).
func (fakeIdentity) RecordKeyUse(context.Context, *identityv1.RecordKeyUseRequest, ...grpc.CallOption) (*identityv1.RecordKeyUseResponse, error) {
	return &identityv1.RecordKeyUseResponse{}, nil
}

// testProjects are the projects fakeIdentity resolves, with their default
// keys as the rows of logs.api_keys that the writers verify every batch's
// key against (key id = project id).
var testProjects = []struct {
	id        int64
	slug, key string
}{{1, "alpha", "dsk_alpha"}, {2, "beta", "dsk_beta"}}

// seedProjects inserts testProjects.
func seedProjects(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	for _, p := range testProjects {
		d := authn.Digest(p.key)
		if _, err := pool.Exec(context.Background(), `WITH p AS (INSERT INTO logs.projects (id, name, slug) VALUES ($1, $2, $2) RETURNING id)
			INSERT INTO logs.api_keys (id, project_id, name, key_hash, prefix, scopes, is_default)
			SELECT id, id, 'default', $3, 'dsk_', '{ingest}', true FROM p`,
			p.id, p.slug, d[:]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(context.Background(), `SELECT setval('logs.api_keys_id_seq', 100)`); err != nil {
		t.Fatal(err)
	}
}

// testRetention keeps the partitions a test database needs few (each one
// costs a few fsyncs to create).
const testRetention = 3 * 24 * time.Hour

type env struct {
	svc    *Service
	pool   *pgxpool.Pool
	conn   *grpc.ClientConn // the server's, for other clients (OTLP)
	client logsv1.IngestionServiceClient
}

type envOptions struct {
	cfg       Config
	noRun     bool                            // do not start Run (tests drive the writers)
	beforeRun func(*testing.T, *pgxpool.Pool) // runs on the database before Run
}

// newEnv starts the service (Run) behind a real gRPC server with the authn
// interceptors, on a fresh database.
func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	pool := cluster.NewPool(t)
	seedProjects(t, pool)
	if o.beforeRun != nil {
		o.beforeRun(t, pool)
	}
	if o.cfg.Retention == 0 {
		o.cfg.Retention = testRetention
	}
	svc := New(zaptest.NewLogger(t), pool, authn.NewIdentityClient(fakeIdentity{}), o.cfg)
	if !o.noRun {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-done)
		})
		require.Eventually(t, svc.Ready, 30*time.Second, 10*time.Millisecond)
	}

	auth := svc.Authenticator()
	srv := grpc.NewServer(append(apierr.ServerOptions(svc.log, authn.UnaryServerInterceptor(auth), authn.StreamServerInterceptor(auth)),
		grpc.MaxRecvMsgSize(16<<20))...)
	svc.Register(srv)
	conn := grpctest.Serve(t, srv, grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(16<<20)))
	return &env{svc: svc, pool: pool, conn: conn, client: logsv1.NewIngestionServiceClient(conn)}
}

func keyCtx(key string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "x-api-key", key)
}

func alpha() context.Context { return keyCtx("dsk_alpha") }

// entry is a stored row, read back.
type entry struct {
	ProjectID int64
	ID        int64
	TS        time.Time
	Service   string
	Level     int16
	Message   string
	Context   map[string]any
}

func entries(t *testing.T, pool *pgxpool.Pool, where string, args ...any) []entry {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT project_id, id, ts, service_name, level, message, context::text
		FROM logs.entries `+where+` ORDER BY project_id, id`, args...)
	require.NoError(t, err)
	var out []entry
	for rows.Next() {
		var e entry
		var ctx string
		require.NoError(t, rows.Scan(&e.ProjectID, &e.ID, &e.TS, &e.Service, &e.Level, &e.Message, &ctx))
		require.NoError(t, json.Unmarshal([]byte(ctx), &e.Context))
		out = append(out, e)
	}
	require.NoError(t, rows.Err())
	return out
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// mapped is err as a client of the service sees it (the server's
// interceptor).
func mapped(s *Service, err error) error {
	return apierr.ToStatus(context.Background(), s.log, "/test", err)
}

func requireStatus(t *testing.T, err error, code codes.Code, msg string) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	require.True(t, ok, "not a status: %v", err)
	require.Equal(t, code, st.Code(), st.Message())
	require.Contains(t, st.Message(), msg)
	return st
}

func TestIngestBatchStoresGoodEntriesAndRejectsBad(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{MaxMessageBytes: 16}})
	now := time.Now().UTC()
	res, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{
		ProjectSlug: "alpha",
		ServiceName: "api-server",
		Logs: []*logsv1.LogInput{
			{Timestamp: now.Add(-time.Minute).Format(time.RFC3339Nano), Level: "INFO", Message: "User logged in", ContextJson: `{"userId":123}`},
			{Level: "info"}, // no message
			{Timestamp: now.Add(-40 * 24 * time.Hour).Format(time.RFC3339), Message: "ancient"},
			{Level: "warning", Message: "disk 91%", ContextJson: "{\"dev\":\"sda\x00\"}"},
			{Timestamp: now.Add(2 * time.Hour).Format(time.RFC3339), Message: "from the future"},
			{Level: "LOUD", Timestamp: "soon", Message: "0123456789abcdefghij"},
			{Message: "not an object", ContextJson: `[1,2]`},
		},
	})
	require.NoError(t, err)
	require.EqualValues(t, 3, res.GetCount())
	require.Equal(t, "Successfully ingested 3 logs", res.GetMessage())
	require.EqualValues(t, 1, res.GetTruncated())
	var rejected []string
	for _, r := range res.GetRejected() {
		rejected = append(rejected, fmt.Sprintf("%d: %s", r.GetIndex(), r.GetReason()))
	}
	require.Equal(t, []string{
		"1: message is required",
		"2: timestamp is older than the retention period",
		"4: timestamp is more than 1 hour in the future",
		"6: context must be a JSON object",
	}, rejected)

	got := entries(t, e.pool, "")
	require.Len(t, got, 3)
	byMsg := map[string]entry{}
	for _, g := range got {
		require.EqualValues(t, 1, g.ProjectID)
		require.Equal(t, "api-server", g.Service)
		byMsg[g.Message] = g
	}
	login := byMsg["User logged in"]
	require.EqualValues(t, 3, login.Level)
	require.WithinDuration(t, now.Add(-time.Minute), login.TS, time.Millisecond)
	require.Equal(t, map[string]any{"userId": 123.0}, login.Context)
	disk := byMsg["disk 91%"]
	require.EqualValues(t, 4, disk.Level)
	require.Equal(t, map[string]any{"dev": "sda\uFFFD"}, disk.Context)
	loud := byMsg["0123456789abcdef"]
	require.EqualValues(t, 3, loud.Level)
	require.Equal(t, map[string]any{"_level": "LOUD", "_timestamp": "soon", "_truncated": true}, loud.Context)
	require.WithinDuration(t, time.Now(), loud.TS, time.Minute)

	// The rollup counts what was stored.
	require.EqualValues(t, 3, count(t, e.pool, `SELECT sum(count) FROM logs.entry_rollups WHERE project_id = 1 AND service_name = 'api-server'`))
	var last time.Time
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT max(last_log_at) FROM logs.entry_rollups`).Scan(&last))
	var maxTS time.Time
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT max(ts) FROM logs.entries`).Scan(&maxTS))
	require.True(t, last.Equal(maxTS))

	// All rejected is a success with count 0 and nothing stored.
	res, err = e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api-server", Logs: []*logsv1.LogInput{{}, {}}})
	require.NoError(t, err)
	require.EqualValues(t, 0, res.GetCount())
	require.Len(t, res.GetRejected(), 2)
	require.Len(t, entries(t, e.pool, ""), 3)
}

func TestStoredContextsPostgreSQLWouldRefuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	contexts := []string{
		`{"a":"\u0000"}`,
		"{\"a\":\"raw\x00nul\"}",
		"{\"a\":\"bad \xff\xfe utf8\"}",
		"{\"a\":\"raw\nnewline\x1f\"}",
		`{"a":"\ud800 lone high"}`,
		`{"a":"\udfff lone low"}`,
		`{"a":"\ud83d\ude00 pair"}`,
		`{"a":1e999999}`,
		`{"a":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`,
		`{"_level":"client's own","b":{"c":[true,null]}}`,
	}
	var logs []*logsv1.LogInput
	for i, c := range contexts {
		logs = append(logs, &logsv1.LogInput{Message: fmt.Sprint(i), Level: "x\x00y", ContextJson: c})
	}
	// Invalid UTF-8 cannot cross gRPC (proto3 strings are checked), but the
	// handler must not depend on that: call it directly.
	ctx := authn.WithPrincipal(context.Background(), &authn.Principal{Kind: authn.KindProject, ProjectID: 1, ProjectSlug: "alpha", KeyDigest: authn.Digest("dsk_alpha")})
	res, err := e.svc.IngestBatch(ctx, &logsv1.IngestBatchRequest{ServiceName: "svc\x00\xff", Logs: logs})
	require.NoError(t, err)
	require.EqualValues(t, len(contexts), res.GetCount(), res.GetRejected())
	got := entries(t, e.pool, "")
	require.Len(t, got, len(contexts))
	for _, g := range got {
		require.Equal(t, "svc\uFFFD\uFFFD", g.Service)
		require.Equal(t, "x\uFFFDy", g.Context["_level"], "the server's _level wins over the client's")
	}
	require.Equal(t, "\uFFFD", got[0].Context["a"])
	require.Equal(t, "\U0001F600 pair", got[6].Context["a"])
	require.Equal(t, "1e999999", got[7].Context["a"])
}

func TestEnvelopeErrorsStoreNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{MaxEntries: 3}})
	one := []*logsv1.LogInput{{Message: "x"}}
	cases := []struct {
		name string
		ctx  context.Context
		req  *logsv1.IngestBatchRequest
		code codes.Code
		msg  string
		http int
	}{
		{"no key", context.Background(), &logsv1.IngestBatchRequest{ServiceName: "a", Logs: one}, codes.Unauthenticated, "API key required", 401},
		{"bad key", keyCtx("dsk_nope"), &logsv1.IngestBatchRequest{ServiceName: "a", Logs: one}, codes.Unauthenticated, "invalid API key", 401},
		{"no service", alpha(), &logsv1.IngestBatchRequest{Logs: one}, codes.InvalidArgument, "service_name is required", 400},
		{"no logs", alpha(), &logsv1.IngestBatchRequest{ServiceName: "a"}, codes.InvalidArgument, "logs must contain at least one entry", 400},
		{"too many", alpha(), &logsv1.IngestBatchRequest{ServiceName: "a", Logs: []*logsv1.LogInput{{Message: "1"}, {Message: "2"}, {Message: "3"}, {Message: "4"}}},
			codes.ResourceExhausted, "batch has 4 entries; the limit is 3", 413},
		{"other project's slug", alpha(), &logsv1.IngestBatchRequest{ProjectSlug: "beta", ServiceName: "a", Logs: one}, codes.PermissionDenied,
			`project_slug "beta" does not match the API key's project`, 403},
		{"long batch id", alpha(), &logsv1.IngestBatchRequest{ServiceName: "a", Logs: one, BatchId: strings.Repeat("b", 201)}, codes.InvalidArgument, "batch_id is longer than 200 characters", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.client.IngestBatch(c.ctx, c.req)
			st := requireStatus(t, err, c.code, c.msg)
			httpStatus, _ := apierr.HTTPStatus(st)
			require.Equal(t, c.http, httpStatus)
		})
	}
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.entries"))
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.ingested_batches"))
}

func TestBatchIDDedup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	first := &logsv1.IngestBatchRequest{ServiceName: "api", BatchId: "batch-1", Logs: []*logsv1.LogInput{{Message: "a"}, {}, {Message: "b"}}}
	r1, err := e.client.IngestBatch(alpha(), first)
	require.NoError(t, err)
	require.EqualValues(t, 2, r1.GetCount())

	// A retry, even with other content, gets the first answer and stores
	// nothing.
	retry := &logsv1.IngestBatchRequest{ServiceName: "api", BatchId: "batch-1", Logs: []*logsv1.LogInput{{Message: "c"}}}
	r2, err := e.client.IngestBatch(alpha(), retry)
	require.NoError(t, err)
	require.EqualValues(t, 2, r2.GetCount())
	require.Equal(t, "Successfully ingested 2 logs", r2.GetMessage())
	require.Len(t, r2.GetRejected(), 1)
	require.EqualValues(t, 1, r2.GetRejected()[0].GetIndex())
	require.Len(t, entries(t, e.pool, ""), 2)

	// The same id in another project is another batch.
	r3, err := e.client.IngestBatch(keyCtx("dsk_beta"), retry)
	require.NoError(t, err)
	require.EqualValues(t, 1, r3.GetCount())
	require.EqualValues(t, 1, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE project_id = 2"))

	// A batch_id whose batch stored nothing is remembered too.
	r4, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", BatchId: "empty", Logs: []*logsv1.LogInput{{}}})
	require.NoError(t, err)
	require.EqualValues(t, 0, r4.GetCount())
	r5, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", BatchId: "empty", Logs: []*logsv1.LogInput{{Message: "now with a message"}}})
	require.NoError(t, err)
	require.EqualValues(t, 0, r5.GetCount())
	require.Len(t, entries(t, e.pool, "WHERE project_id = 1"), 2)
	require.EqualValues(t, 2, count(t, e.pool, "SELECT sum(count) FROM logs.entry_rollups WHERE project_id = 1"))
}

func TestBatchIDDedupConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	const callers = 16
	var wg sync.WaitGroup
	results := make([]*logsv1.IngestBatchResponse, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			// Each caller's batch differs, so the answers tell whose batch
			// was stored: all must get that one's answer.
			logs := make([]*logsv1.LogInput, i+1)
			for j := range logs {
				logs[j] = &logsv1.LogInput{Message: fmt.Sprintf("caller %d entry %d", i, j)}
			}
			results[i], errs[i] = e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", BatchId: "same", Logs: logs})
		})
	}
	wg.Wait()
	for i := range callers {
		require.NoError(t, errs[i])
		require.Equal(t, results[0].GetCount(), results[i].GetCount())
	}
	stored := entries(t, e.pool, "")
	require.Len(t, stored, int(results[0].GetCount()))
	for _, s := range stored {
		require.True(t, strings.HasPrefix(s.Message, fmt.Sprintf("caller %d ", results[0].GetCount()-1)), s.Message)
	}
}

// queued submits b the way a handler does, without waiting, and returns a
// function that waits for its answer.
func queued(t *testing.T, s *Service, b *batch) func() (*outcome, error) {
	t.Helper()
	type result struct {
		out *outcome
		err error
	}
	ch := make(chan result, 1)
	go func() {
		out, err := s.submit(context.Background(), b)
		ch <- result{out, err}
	}()
	return func() (*outcome, error) {
		select {
		case r := <-ch:
			return r.out, r.err
		case <-time.After(30 * time.Second):
			t.Fatal("no answer in 30s")
			return nil, nil
		}
	}
}

func batchOf(s *Service, project int64, service, batchID string, n int, prefix string) *batch {
	logs := make([]*logsv1.LogInput, n)
	for i := range logs {
		logs[i] = &logsv1.LogInput{Message: fmt.Sprintf("%s %d", prefix, i), Level: "debug"}
	}
	b := normalize(project, service, batchID, logs, time.Now(), s.lim)
	b.keyDigest = authn.Digest(testProjects[project-1].key)
	return b
}

func queueRows(s *Service) int {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	return s.q.rows
}

// startWriters runs n writers until the test ends (for services not Run).
func startWriters(t *testing.T, s *Service, n int) {
	var wg sync.WaitGroup
	for range n {
		w := newWriter(s)
		wg.Go(func() { w.run(context.Background()) })
	}
	t.Cleanup(func() {
		s.stop()
		wg.Wait()
	})
}

// writeGroup has one writer write the batches as one group and waits for
// every answer.
func writeGroup(s *Service, group ...*batch) {
	for _, b := range group {
		b.ctx, b.done = context.Background(), make(chan struct{})
	}
	newWriter(s).process(context.Background(), group)
	for _, b := range group {
		<-b.done
	}
}

func readyWithoutRun(t *testing.T, s *Service) {
	require.NoError(t, s.ensure(context.Background()))
	s.markReady()
}

func TestGroupCommitOneTransactionAndInGroupDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noRun: true})
	s := e.svc
	readyWithoutRun(t, s)

	// Queue batches before any writer runs: the first writer takes them all
	// as one group.
	var waits []func() (*outcome, error)
	want := 0
	for i := range 30 {
		b := batchOf(s, int64(1+i%2), fmt.Sprintf("svc-%d", i%3), "", 1+i, fmt.Sprintf("b%d", i))
		want += 1 + i
		waits = append(waits, queued(t, s, b))
		require.Eventually(t, func() bool { return queueRows(s) == want }, 10*time.Second, time.Millisecond)
	}
	// Two batches with one batch_id in the group: only the first is stored.
	dupA := queued(t, s, batchOf(s, 1, "svc-0", "dup", 3, "dupA"))
	require.Eventually(t, func() bool { return queueRows(s) == want+3 }, 10*time.Second, time.Millisecond)
	dupB := queued(t, s, batchOf(s, 1, "svc-0", "dup", 5, "dupB"))
	require.Eventually(t, func() bool { return queueRows(s) == want+8 }, 10*time.Second, time.Millisecond)

	startWriters(t, s, 1)
	for i, wait := range waits {
		out, err := wait()
		require.NoError(t, err)
		require.EqualValues(t, 1+i, out.Count, "batch %d gets its own count", i)
	}
	a, err := dupA()
	require.NoError(t, err)
	b, err := dupB()
	require.NoError(t, err)
	require.EqualValues(t, 3, a.Count)
	require.Equal(t, a, b, "the second batch with the id gets the first one's answer")

	require.EqualValues(t, want+3, count(t, e.pool, "SELECT count(*) FROM logs.entries"))
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE message LIKE 'dupB%'"))
	require.EqualValues(t, want+3, count(t, e.pool, "SELECT count(DISTINCT id) FROM logs.entries"))
	require.Zero(t, count(t, e.pool, `SELECT count(*) FROM (
		SELECT project_id, service_name, (ts AT TIME ZONE 'UTC')::date AS day, count(*) AS n, max(ts) AS last FROM logs.entries GROUP BY 1, 2, 3) c
		FULL JOIN logs.entry_rollups r USING (project_id, service_name, day)
		WHERE c.n IS DISTINCT FROM r.count OR c.last IS DISTINCT FROM r.last_log_at`), "rollups equal SQL counts")
	// Ids come in blocks: 2 blocks serve the 468 rows.
	require.LessOrEqual(t, count(t, e.pool, "SELECT max(id) - min(id) FROM logs.entries"), int64(2*logstore.IDBlock))
	require.EqualValues(t, 1, s.commits.Load(), "32 batches were written in one transaction")
}

func TestGroupCommitManyConcurrentBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{Writers: 3}})
	const callers, perCaller = 12, 15
	type sent struct{ project, count int64 }
	var mu sync.Mutex
	var total [3]int64
	var wg sync.WaitGroup
	errs := make(chan error, callers*perCaller)
	for c := range callers {
		wg.Go(func() {
			ctx := alpha()
			project := int64(1)
			if c%2 == 1 {
				ctx, project = keyCtx("dsk_beta"), 2
			}
			for i := range perCaller {
				n := 1 + (c*7+i*13)%40
				logs := make([]*logsv1.LogInput, n+1)
				for j := range n {
					logs[j] = &logsv1.LogInput{Message: fmt.Sprintf("c%d b%d e%d", c, i, j), Level: "error",
						Timestamp: time.Now().Add(-time.Duration(j) * time.Minute).Format(time.RFC3339Nano)}
				}
				logs[n] = &logsv1.LogInput{} // rejected
				res, err := e.client.IngestBatch(ctx, &logsv1.IngestBatchRequest{ServiceName: fmt.Sprintf("svc-%d", i%4), Logs: logs})
				if err != nil {
					errs <- err
					return
				}
				if res.GetCount() != int32(n) || len(res.GetRejected()) != 1 || res.GetRejected()[0].GetIndex() != int32(n) {
					errs <- fmt.Errorf("caller %d batch %d: got %v, want count %d", c, i, res, n)
					return
				}
				mu.Lock()
				total[project] += int64(n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for p := int64(1); p <= 2; p++ {
		require.Equal(t, total[p], count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE project_id = $1", p))
		require.Equal(t, total[p], count(t, e.pool, "SELECT count(DISTINCT message) FROM logs.entries WHERE project_id = $1", p), "every entry stored once")
	}
	require.Equal(t, total[1]+total[2], count(t, e.pool, "SELECT count(DISTINCT id) FROM logs.entries"))
	require.Zero(t, count(t, e.pool, `SELECT count(*) FROM (
		SELECT project_id, service_name, (ts AT TIME ZONE 'UTC')::date AS day, count(*) AS n, max(ts) AS last FROM logs.entries GROUP BY 1, 2, 3) c
		FULL JOIN logs.entry_rollups r USING (project_id, service_name, day)
		WHERE c.n IS DISTINCT FROM r.count OR c.last IS DISTINCT FROM r.last_log_at`), "rollups equal SQL counts")
}

func TestCulpritFailsAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noRun: true})
	s := e.svc
	readyWithoutRun(t, s)
	good1 := batchOf(s, 1, "api", "g1", 5, "good1")
	culprit := batchOf(s, 1, "api", "bad", 5, "culprit")
	culprit.rows[3].ts = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() // no partition holds it
	good2 := batchOf(s, 2, "web", "", 7, "good2")
	writeGroup(s, good1, culprit, good2)
	require.NoError(t, good1.err)
	require.EqualValues(t, 5, good1.res.Count)
	require.NoError(t, good2.err)
	require.EqualValues(t, 7, good2.res.Count)
	require.ErrorIs(t, culprit.err, apierr.ErrInternal)
	require.Contains(t, culprit.err.Error(), "partition", "the cause is kept for the log")
	st := requireStatus(t, mapped(s, culprit.err), codes.Internal, "storing the batch failed; it was not stored, retry it")
	require.NotContains(t, st.Message(), "partition", "no SQL detail reaches the client")

	require.EqualValues(t, 12, count(t, e.pool, "SELECT count(*) FROM logs.entries"))
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE message LIKE 'culprit%'"))
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.ingested_batches WHERE batch_id = 'bad'"), "the culprit's batch_id is not remembered")
	require.EqualValues(t, 1, count(t, e.pool, "SELECT count(*) FROM logs.ingested_batches WHERE batch_id = 'g1'"))
	require.EqualValues(t, 12, count(t, e.pool, "SELECT sum(count) FROM logs.entry_rollups"))
}

func TestOverloadRefusesAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noRun: true, cfg: Config{QueueRows: 10}})
	s := e.svc
	readyWithoutRun(t, s)
	six := func(prefix string) []*logsv1.LogInput {
		logs := make([]*logsv1.LogInput, 6)
		for i := range logs {
			logs[i] = &logsv1.LogInput{Message: fmt.Sprintf("%s %d", prefix, i)}
		}
		return logs
	}
	firstDone := make(chan error, 1)
	go func() {
		_, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: six("first")})
		firstDone <- err
	}()
	require.Eventually(t, func() bool { return queueRows(s) == 6 }, 10*time.Second, time.Millisecond)

	// No writer runs: the queue is full, the next batch is refused at once.
	start := time.Now()
	_, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: six("second"), BatchId: "second"})
	require.Less(t, time.Since(start), 5*time.Second)
	st := requireStatus(t, err, codes.Unavailable, "ingestion is overloaded; retry later")
	httpStatus, retry := apierr.HTTPStatus(st)
	require.Equal(t, 503, httpStatus)
	require.Equal(t, time.Second, retry)
	var sawRetryInfo bool
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			sawRetryInfo = ri.GetRetryDelay().AsDuration() == time.Second
		}
	}
	require.True(t, sawRetryInfo)
	require.Equal(t, 6, queueRows(s), "the refused batch was not queued")

	startWriters(t, s, 1)
	require.NoError(t, <-firstDone)
	require.EqualValues(t, 6, count(t, e.pool, "SELECT count(*) FROM logs.entries"))
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE message LIKE 'second%'"))
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.ingested_batches"), "the refused batch_id is not remembered: its retry will be stored")
}

func TestCancelledCallerDoesNotBlockWriters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noRun: true})
	s := e.svc
	readyWithoutRun(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	b := batchOf(s, 1, "api", "", 3, "gone")
	errCh := make(chan error, 1)
	go func() {
		_, err := s.submit(ctx, b)
		errCh <- err
	}()
	require.Eventually(t, func() bool { return queueRows(s) == 3 }, 10*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errCh, context.Canceled)
	st := requireStatus(t, mapped(s, context.Canceled), codes.Canceled, "canceled")
	require.NotNil(t, st)

	startWriters(t, s, 1)
	wait := queued(t, s, batchOf(s, 1, "api", "", 2, "kept"))
	out, err := wait()
	require.NoError(t, err)
	require.EqualValues(t, 2, out.Count)
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE message LIKE 'gone%'"), "the abandoned batch was skipped")
}

func TestNotStartedAndStopped(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedProjects(t, pool)
	s := New(zaptest.NewLogger(t), pool, nil, Config{Retention: testRetention})
	require.False(t, s.Ready())
	// Before Run: a batch waits for readiness, bounded by its context.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.submit(ctx, batchOf(s, 1, "api", "", 1, "x"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// A caller whose deadline passes while its batch waits is told the
	// batch may be stored (its project's settings already read).
	_, err = s.settings.get(context.Background(), 1)
	require.NoError(t, err)
	_, err = s.ingest(ctx, &authn.Principal{Kind: authn.KindProject, ProjectID: 1, ProjectSlug: "alpha"}, "", "api", []*logsv1.LogInput{{Message: "x"}}, "b1")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	requireStatus(t, mapped(s, err), codes.DeadlineExceeded, "request deadline exceeded; the batch may or may not be stored: retry it with the same batch_id")

	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	require.Eventually(t, s.Ready, 30*time.Second, 10*time.Millisecond)
	out, err := s.submit(context.Background(), batchOf(s, 1, "api", "", 2, "x"))
	require.NoError(t, err)
	require.EqualValues(t, 2, out.Count)
	stopRun()
	require.NoError(t, <-done)
	require.False(t, s.Ready())
	_, err = s.submit(context.Background(), batchOf(s, 1, "api", "", 1, "x"))
	require.ErrorIs(t, err, errStopping)
	requireStatus(t, mapped(s, err), codes.Unavailable, "shutting down")
}

func TestShutdownDrainsQueuedBatches(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedProjects(t, pool)
	s := New(zaptest.NewLogger(t), pool, nil, Config{Writers: 1, Retention: testRetention})
	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	require.Eventually(t, s.Ready, 30*time.Second, 10*time.Millisecond)
	var waits []func() (*outcome, error)
	for i := range 20 {
		waits = append(waits, queued(t, s, batchOf(s, 1, "api", "", 50, fmt.Sprint(i))))
	}
	stopRun()
	require.NoError(t, <-done)
	// Every batch got an answer: stored (acknowledged) or refused, and the
	// acknowledged ones are exactly the stored ones.
	var acked int64
	for _, wait := range waits {
		out, err := wait()
		if err != nil {
			require.ErrorIs(t, err, errStopping)
			continue
		}
		acked += int64(out.Count)
	}
	require.Equal(t, acked, count(t, pool, "SELECT count(*) FROM logs.entries"))
}

func TestTailJournal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.pool.Config().ConnConfig.ConnString())
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "LISTEN "+logstore.JournalChannel)
	require.NoError(t, err)

	now := time.Now()
	for i := range 4 {
		key := "dsk_alpha"
		if i%2 == 1 {
			key = "dsk_beta"
		}
		logs := make([]*logsv1.LogInput, 30)
		for j := range logs {
			logs[j] = &logsv1.LogInput{Message: "m", Timestamp: now.Add(-time.Duration(j*i) * time.Minute).Format(time.RFC3339Nano)}
		}
		_, err := e.client.IngestBatch(keyCtx(key), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: logs})
		require.NoError(t, err)
		// Each commit wakes the listeners.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		require.NoError(t, err, "no notification for batch %d", i)
		require.Equal(t, logstore.JournalChannel, n.Channel)
	}
	stored := entries(t, e.pool, "")
	require.Len(t, stored, 120)

	// One journal row per project and transaction, whose ranges are tight
	// (the min and max of what was written) and cover every stored entry.
	rows, err := e.pool.Query(ctx, `SELECT xid::text, project_id, min_id, max_id, min_ts, max_ts FROM logs.tail_journal ORDER BY xid`)
	require.NoError(t, err)
	var spans []logstore.Span
	xids := map[string]bool{}
	for rows.Next() {
		var xid string
		var sp logstore.Span
		require.NoError(t, rows.Scan(&xid, &sp.ProjectID, &sp.MinID, &sp.MaxID, &sp.MinTS, &sp.MaxTS))
		xids[xid] = true
		spans = append(spans, sp)
	}
	require.NoError(t, rows.Err())
	require.Len(t, spans, 4)
	require.Len(t, xids, 4, "one transaction each")
	for _, en := range stored {
		covered := slices.ContainsFunc(spans, func(p logstore.Span) bool {
			return p.ProjectID == en.ProjectID && p.MinID <= en.ID && en.ID <= p.MaxID && !en.TS.Before(p.MinTS) && !en.TS.After(p.MaxTS)
		})
		require.True(t, covered, "no journal row covers entry %d of project %d", en.ID, en.ProjectID)
	}
	for _, p := range spans {
		var minID, maxID int64
		var minTS, maxTS time.Time
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT min(id), max(id), min(ts), max(ts) FROM logs.entries
			WHERE project_id = $1 AND id BETWEEN $2 AND $3`, p.ProjectID, p.MinID, p.MaxID).Scan(&minID, &maxID, &minTS, &maxTS))
		require.Equal(t, p.MinID, minID)
		require.Equal(t, p.MaxID, maxID)
		require.True(t, p.MinTS.Equal(minTS), "%s vs %s", p.MinTS, minTS)
		require.True(t, p.MaxTS.Equal(maxTS), "%s vs %s", p.MaxTS, maxTS)
	}
	// (Pruning is logstore's: TestPruneJournal.)
}

func TestMaintenanceAtStart(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	oldDay := partition.Day(now.AddDate(0, 0, -40))
	e := newEnv(t, envOptions{beforeRun: func(t *testing.T, pool *pgxpool.Pool) {
		ctx := context.Background()
		require.NoError(t, partition.Create(ctx, pool, oldDay))
		_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message) VALUES (1, $1, 'api', 3, 'old')`, oldDay.Add(time.Hour))
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `INSERT INTO logs.ingested_batches (project_id, batch_id, response, created_at)
			VALUES (1, 'stale', '{}', now() - interval '25 hours'), (1, 'fresh', '{}', now() - interval '23 hours')`)
		require.NoError(t, err)
	}})
	// Expiry runs once ready, beside the writers.
	var names []string
	require.Eventually(t, func() bool {
		var err error
		names, err = partition.List(context.Background(), e.pool)
		require.NoError(t, err)
		return !slices.Contains(names, partition.Name(oldDay))
	}, 30*time.Second, 10*time.Millisecond, "the expired partition was dropped")
	require.Contains(t, names, partition.Name(now.Add(-testRetention)))
	require.NotContains(t, names, partition.Name(now.Add(-testRetention-24*time.Hour)))
	require.Contains(t, names, partition.Name(now))
	require.Contains(t, names, partition.Name(now.AddDate(0, 0, partition.Ahead)))
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.entries"))
	require.Eventually(t, func() bool {
		rows, err := e.pool.Query(context.Background(), "SELECT batch_id FROM logs.ingested_batches")
		require.NoError(t, err)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return slices.Equal([]string{"fresh"}, ids)
	}, 30*time.Second, 10*time.Millisecond, "the old batch id was forgotten")

	// A batch for the oldest accepted moment has a partition to land in.
	res, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: []*logsv1.LogInput{
		{Message: "edge", Timestamp: time.Now().Add(-testRetention + time.Minute).Format(time.RFC3339)},
		{Message: "ahead", Timestamp: time.Now().Add(59 * time.Minute).Format(time.RFC3339)},
	}})
	require.NoError(t, err)
	require.EqualValues(t, 2, res.GetCount())
}

func TestIngestStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	stream, err := e.client.IngestStream(alpha())
	require.NoError(t, err)
	require.NoError(t, stream.Send(&logsv1.IngestStreamRequest{ServiceName: "api", Logs: []*logsv1.LogInput{{Message: "a"}, {}, {Message: "b"}}}))
	require.NoError(t, stream.Send(&logsv1.IngestStreamRequest{ProjectSlug: "alpha", ServiceName: "web", BatchId: "s-2",
		Logs: []*logsv1.LogInput{{}, {Message: "c", Level: "nope"}, {Message: strings.Repeat("x", 40<<10)}}}))
	require.NoError(t, stream.Send(&logsv1.IngestStreamRequest{ServiceName: "web", BatchId: "s-2", Logs: []*logsv1.LogInput{{Message: "dup"}}}))
	res, err := stream.CloseAndRecv()
	require.NoError(t, err)
	require.EqualValues(t, 6, res.GetCount(), "2 + 2 + the duplicate's first answer (2)")
	require.EqualValues(t, 3, res.GetBatches())
	require.EqualValues(t, 2, res.GetTruncated())
	var idx []int32
	for _, r := range res.GetRejected() {
		idx = append(idx, r.GetIndex())
	}
	require.Equal(t, []int32{1, 3, 6}, idx, "indexes count across the stream; the duplicate repeats its first answer's")
	require.Equal(t, "Successfully ingested 6 logs in 3 batches", res.GetMessage())
	require.EqualValues(t, 4, count(t, e.pool, "SELECT count(*) FROM logs.entries"))

	// An envelope error ends the stream; earlier batches stay committed.
	stream, err = e.client.IngestStream(keyCtx("dsk_beta"))
	require.NoError(t, err)
	require.NoError(t, stream.Send(&logsv1.IngestStreamRequest{ServiceName: "api", Logs: []*logsv1.LogInput{{Message: "kept"}}}))
	require.NoError(t, stream.Send(&logsv1.IngestStreamRequest{ServiceName: "api", Logs: []*logsv1.LogInput{{Message: "kept too"}}}))
	require.NoError(t, stream.Send(&logsv1.IngestStreamRequest{Logs: []*logsv1.LogInput{{Message: "lost"}}}))
	_, err = stream.CloseAndRecv()
	requireStatus(t, err, codes.InvalidArgument, "batch 3 of the stream (the 2 before it are committed, 2 entries): service_name is required")
	require.EqualValues(t, 2, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE project_id = 2"))

	// No key: refused before any batch.
	stream, err = e.client.IngestStream(context.Background())
	require.NoError(t, err)
	_, err = stream.CloseAndRecv()
	requireStatus(t, err, codes.Unauthenticated, "API key required")

	// An empty stream answers zeros.
	stream, err = e.client.IngestStream(alpha())
	require.NoError(t, err)
	res, err = stream.CloseAndRecv()
	require.NoError(t, err)
	require.Zero(t, res.GetCount())
	require.Zero(t, res.GetBatches())
}

func TestLargeBatchOverGRPC(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	logs := make([]*logsv1.LogInput, 10_000)
	for i := range logs {
		logs[i] = &logsv1.LogInput{Message: fmt.Sprintf("entry %d %s", i, strings.Repeat("p", 300)), Level: "info", ContextJson: `{"i":` + fmt.Sprint(i) + `}`,
			Timestamp: time.Now().Format(time.RFC3339Nano)}
	}
	res, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "bulk", Logs: logs})
	require.NoError(t, err)
	require.EqualValues(t, 10_000, res.GetCount())
	require.EqualValues(t, 10_000, count(t, e.pool, "SELECT count(DISTINCT id) FROM logs.entries"))
	require.EqualValues(t, 10_000, count(t, e.pool, "SELECT sum(count) FROM logs.entry_rollups"))
}

// TestProjectRetention: a project's own retention, read by the settings
// cache, bounds the entries it accepts (the reason names it) and classes
// its rows; a shortened one purges what its former class kept.
func TestProjectRetention(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	// beta's old entry: the day before its new cut-off's day, under the
	// default class (written before its retention was shortened to 2 days).
	stale := partition.Day(now.Add(-2 * 24 * time.Hour)).Add(-time.Hour)
	e := newEnv(t, envOptions{beforeRun: func(t *testing.T, pool *pgxpool.Pool) {
		ctx := context.Background()
		require.NoError(t, partition.Ensure(ctx, pool, now, testRetention))
		_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message) VALUES (2, $1, 'api', 3, 'stale'), (2, $2, 'api', 3, 'recent')`,
			stale, now.Add(-time.Hour))
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `UPDATE logs.projects SET retention_days = CASE id WHEN 1 THEN 7 ELSE 2 END, retention_changed_at = now()`)
		require.NoError(t, err)
		require.NoError(t, partition.EnsureClass(ctx, pool, now, 7))
		require.NoError(t, partition.EnsureClass(ctx, pool, now, 2))
	}})

	messages := func(project int64) []string {
		var out []string
		for _, g := range entries(t, e.pool, "WHERE project_id = $1", project) {
			out = append(out, g.Message)
		}
		return out
	}
	require.Eventually(t, func() bool { return slices.Equal(messages(2), []string{"recent"}) }, 30*time.Second, 20*time.Millisecond,
		"the entry kept under the default class before the retention was shortened is purged")

	ago := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339Nano) }
	day := 24 * time.Hour
	for _, c := range []struct {
		ctx      context.Context
		project  int64
		accepted time.Duration // within the project's retention (alpha: past the default)
		rejected time.Duration // past it (beta: within the default)
		reason   string
		leaf     string
	}{
		{alpha(), 1, 5 * day, 8 * day, "timestamp is older than the project's retention of 7 days", partition.LeafName(now.Add(-5*day), 7)},
		{keyCtx("dsk_beta"), 2, 36 * time.Hour, 50 * time.Hour, "timestamp is older than the project's retention of 2 days", partition.LeafName(now.Add(-36*time.Hour), 2)},
	} {
		res, err := e.client.IngestBatch(c.ctx, &logsv1.IngestBatchRequest{ServiceName: "api", Logs: []*logsv1.LogInput{
			{Timestamp: ago(c.accepted), Message: "kept"},
			{Timestamp: ago(c.rejected), Message: "too old"},
		}})
		require.NoError(t, err)
		require.EqualValues(t, 1, res.GetCount())
		require.Len(t, res.GetRejected(), 1)
		require.EqualValues(t, 1, res.GetRejected()[0].GetIndex())
		require.Equal(t, c.reason, res.GetRejected()[0].GetReason())
		var leaf string
		require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT tableoid::regclass::text FROM logs.entries WHERE project_id = $1 AND message = 'kept'`, c.project).Scan(&leaf))
		require.Equal(t, "logs."+c.leaf, leaf)
	}
}
