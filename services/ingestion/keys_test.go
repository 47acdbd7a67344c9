package ingestion

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/authn"
)

// rotate gives project id a new key, as the projects service's rotation
// does (an UPDATE of key_hash).
func rotate(t *testing.T, e *env, id int64, newKey string) {
	t.Helper()
	d := authn.Digest(newKey)
	_, err := e.pool.Exec(context.Background(), `UPDATE logs.projects SET key_hash = $2, updated_at = now() WHERE id = $1`, id, d[:])
	require.NoError(t, err)
}

func TestKeyRefusedOnceRotatedThoughRemembered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	one := []*logsv1.LogInput{{Message: "m"}}
	_, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one})
	require.NoError(t, err)
	_, remembered := e.svc.keys.get(authn.Digest("dsk_alpha"))
	require.True(t, remembered, "the first batch teaches ingestion the key")

	rotate(t, e, 1, "dsk_alpha_rotated")
	cases := []struct {
		name string
		req  *logsv1.IngestBatchRequest
	}{
		{"entries", &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one}},
		{"with a batch_id", &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one, BatchId: "after-rotation"}},
		{"every entry rejected", &logsv1.IngestBatchRequest{ServiceName: "api", Logs: []*logsv1.LogInput{{}}}},
		{"bad envelope", &logsv1.IngestBatchRequest{ProjectSlug: "beta", Logs: one}},
	}
	for _, tc := range cases {
		_, err := e.client.IngestBatch(alpha(), tc.req)
		requireStatus(t, err, codes.Unauthenticated, "invalid or revoked API key")
	}
	require.EqualValues(t, 1, count(t, e.pool, "SELECT count(*) FROM logs.entries"), "nothing stored with the old key")
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.ingested_batches"), "no batch_id remembered for a refused batch")

	// A stream authenticated before the rotation is cut off at its next batch.
	stream, err := e.client.IngestStream(keyCtx("dsk_beta"))
	require.NoError(t, err)
	require.NoError(t, stream.Send(&logsv1.IngestStreamRequest{ServiceName: "api", Logs: one}))
	require.Eventually(t, func() bool {
		return count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE project_id = 2") == 1
	}, 10*time.Second, 5*time.Millisecond, "the first batch of the stream is committed")
	rotate(t, e, 2, "dsk_beta_rotated")
	require.NoError(t, stream.Send(&logsv1.IngestStreamRequest{ServiceName: "api", Logs: one}))
	_, err = stream.CloseAndRecv()
	requireStatus(t, err, codes.Unauthenticated, "batch 2 of the stream (the 1 before it are committed, 1 entries): invalid or revoked API key")
	require.EqualValues(t, 1, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE project_id = 2"))
}

func TestRefusedBatchLeavesItsGroupWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noRun: true})
	s := e.svc
	readyWithoutRun(t, s)
	good := batchOf(s, 1, "api", "good", 3, "good")
	stale := batchOf(s, 2, "api", "stale", 4, "stale")
	dupOfStale := batchOf(s, 2, "api", "stale", 4, "stale again")
	rotate(t, e, 2, "dsk_beta_rotated")
	writeGroup(s, stale, good, dupOfStale)
	require.NoError(t, good.err)
	require.EqualValues(t, 3, good.res.Count)
	require.ErrorIs(t, stale.err, errKeyRefused)
	require.ErrorIs(t, dupOfStale.err, errKeyRefused)
	require.EqualValues(t, 3, count(t, e.pool, "SELECT count(*) FROM logs.entries"))
	require.EqualValues(t, 3, count(t, e.pool, "SELECT sum(count) FROM logs.entry_rollups"))
	require.EqualValues(t, 1, count(t, e.pool, "SELECT count(*) FROM logs.ingested_batches"))
	require.EqualValues(t, 1, count(t, e.pool, "SELECT count(*) FROM logs.ingested_batches WHERE batch_id = 'good'"))
}

// TestRotationWaitsForWritesInFlight shows the lock that makes the check
// exact: a rotation (an UPDATE of key_hash) waits for a write transaction
// that verified the old key, so no batch commits with a key after its
// rotation returned.
func TestRotationWaitsForWritesInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noRun: true})
	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	d := authn.Digest("dsk_alpha")
	var n int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM (`+verifyKeysSQL+`) v`, [][]byte{d[:]}).Scan(&n))
	require.Equal(t, 1, n)

	rotated := make(chan error, 1)
	go func() {
		nd := authn.Digest("dsk_alpha_rotated")
		_, err := e.pool.Exec(ctx, `UPDATE logs.projects SET key_hash = $2 WHERE id = $1`, int64(1), nd[:])
		rotated <- err
	}()
	// The rotation is seen waiting for the write's row lock.
	require.Eventually(t, func() bool {
		return count(t, e.pool, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE logs.projects%'`) == 1
	}, 10*time.Second, 5*time.Millisecond)
	select {
	case err := <-rotated:
		t.Fatalf("the rotation did not wait for the write in flight (err %v)", err)
	default:
	}
	require.NoError(t, tx.Commit(ctx))
	require.NoError(t, <-rotated)
}
