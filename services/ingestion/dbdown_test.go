package ingestion

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
)

// TestWriteOnATerminatedConnectionIsUnavailable: when PostgreSQL ends the
// service's connections (a fast shutdown, a restart, an administrator),
// the batch that meets a dead connection is answered Unavailable with a
// retry delay - the 503 with Retry-After a client retries - not Internal
// (a 500, found by e2e/faults_test.go's fast shutdown). The retries, with
// the same batch_id, store it once.
func TestWriteOnATerminatedConnectionIsUnavailable(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	warm := &logsv1.IngestBatchRequest{ServiceName: "api", BatchId: "warm", Logs: []*logsv1.LogInput{{Message: "warm"}}}
	_, err := e.client.IngestBatch(alpha(), warm)
	require.NoError(t, err)

	// Another session ends every connection of the service's pool; the
	// pool does not know until it uses one (idle under a second: no ping).
	cfg, err := pgx.ParseConfig(e.pool.Config().ConnConfig.ConnString())
	require.NoError(t, err)
	admin, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer admin.Close(ctx)
	var ended int
	require.NoError(t, admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&ended))
	require.Positive(t, ended)

	req := &logsv1.IngestBatchRequest{ServiceName: "api", BatchId: "after-terminate", Logs: []*logsv1.LogInput{{Message: "once"}}}
	_, err = e.client.IngestBatch(alpha(), req)
	st := requireStatus(t, err, codes.Unavailable, "retry it with the same batch_id")
	_, retry := apierr.HTTPStatus(st)
	require.Positive(t, retry, "a Retry-After for the client")

	// Each retry meets another of the pool's dead connections (expiry runs
	// beside the writers, so there may be more than one idle) until a
	// fresh one: at most one failure per connection of the pool, each
	// Unavailable.
	for range e.svc.cfg.MaxConns {
		if _, err = e.client.IngestBatch(alpha(), req); err == nil {
			break
		}
		requireStatus(t, err, codes.Unavailable, "retry it with the same batch_id")
	}
	require.NoError(t, err, "a retry meets a fresh connection")
	require.EqualValues(t, 1, count(t, e.pool, `SELECT count(*) FROM logs.entries WHERE message = 'once'`))
	_, err = e.client.IngestBatch(alpha(), req)
	require.NoError(t, err)
	require.EqualValues(t, 1, count(t, e.pool, `SELECT count(*) FROM logs.entries WHERE message = 'once'`), "a retry of a stored batch is not stored again")
}
