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

// rotate gives project id's default key a new secret, as the projects
// service's rotation does (an UPDATE of key_hash).
func rotate(t *testing.T, e *env, id int64, newKey string) {
	t.Helper()
	d := authn.Digest(newKey)
	_, err := e.pool.Exec(context.Background(), `UPDATE logs.api_keys SET key_hash = $2 WHERE project_id = $1 AND is_default`, id, d[:])
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
		_, err := e.pool.Exec(ctx, `UPDATE logs.api_keys SET key_hash = $2 WHERE id = $1`, int64(1), nd[:])
		rotated <- err
	}()
	// The rotation is seen waiting for the write's row lock.
	require.Eventually(t, func() bool {
		return count(t, e.pool, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE logs.api_keys%'`) == 1
	}, 10*time.Second, 5*time.Millisecond)
	select {
	case err := <-rotated:
		t.Fatalf("the rotation did not wait for the write in flight (err %v)", err)
	default:
	}
	require.NoError(t, tx.Commit(ctx))
	require.NoError(t, <-rotated)
}

// TestRevocationWaitsForWritesInFlight is the same lock for
// DeleteProjectKey: a revocation (key_hash set to NULL) waits for the
// write transaction that verified the key, and the next one refuses it.
func TestRevocationWaitsForWritesInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	one := []*logsv1.LogInput{{Message: "m"}}
	_, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one})
	require.NoError(t, err)

	tx, err := e.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	d := authn.Digest("dsk_alpha")
	var n int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM (`+verifyKeysSQL+`) v`, [][]byte{d[:]}).Scan(&n))
	require.Equal(t, 1, n)
	revoked := make(chan error, 1)
	go func() {
		_, err := e.pool.Exec(ctx, `UPDATE logs.api_keys SET key_hash = NULL, revoked_at = now() WHERE id = $1`, int64(1))
		revoked <- err
	}()
	require.Eventually(t, func() bool {
		return count(t, e.pool, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE logs.api_keys%'`) == 1
	}, 10*time.Second, 5*time.Millisecond)
	select {
	case err := <-revoked:
		t.Fatalf("the revocation did not wait for the write in flight (err %v)", err)
	default:
	}
	require.NoError(t, tx.Commit(ctx))
	require.NoError(t, <-revoked)

	_, err = e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one})
	requireStatus(t, err, codes.Unauthenticated, "invalid or revoked API key")
	require.EqualValues(t, 1, count(t, e.pool, "SELECT count(*) FROM logs.entries"))
}

// TestKeyScopeAndExpiry: a key without the ingest scope is refused with
// PermissionDenied naming the scope; an expired key is refused, whether it
// expired before it was first seen, while remembered, or in the database
// between the check and the write.
func TestKeyScopeAndExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	one := []*logsv1.LogInput{{Message: "m"}}

	// A read-only key: the hint says so, and so does the write's check.
	e.svc.keys.put(authn.Digest("dsk_reader"), keyHint{projectID: 1, slug: "alpha", keyID: 7, scopes: []string{"read"}})
	_, err := e.client.IngestBatch(keyCtx("dsk_reader"), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one})
	requireStatus(t, err, codes.PermissionDenied, "this API key lacks the ingest scope: it may not send logs")

	// Remembered with an expiry that has passed.
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	e.svc.keys.put(authn.Digest("dsk_alpha"), keyHint{projectID: 1, slug: "alpha", keyID: 1, scopes: []string{"ingest"}, expires: past})
	_, err = e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one})
	requireStatus(t, err, codes.Unauthenticated, "API key expired at "+past.Format(time.RFC3339))
	_, remembered := e.svc.keys.get(authn.Digest("dsk_alpha"))
	require.False(t, remembered, "an expired key is forgotten")

	// Expired in the database while the hint still says it is valid: the
	// write transaction refuses it.
	_, err = e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one})
	require.NoError(t, err)
	_, err = e.pool.Exec(context.Background(), `UPDATE logs.api_keys SET expire_time = now() - interval '1 second' WHERE id = 1`)
	require.NoError(t, err)
	_, err = e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one})
	requireStatus(t, err, codes.Unauthenticated, "invalid or revoked API key")

	// Without the ingest scope in the database, likewise.
	_, err = e.client.IngestBatch(keyCtx("dsk_beta"), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one})
	require.NoError(t, err)
	_, err = e.pool.Exec(context.Background(), `UPDATE logs.api_keys SET scopes = '{read}' WHERE id = 2`)
	require.NoError(t, err)
	_, err = e.client.IngestBatch(keyCtx("dsk_beta"), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: one})
	requireStatus(t, err, codes.Unauthenticated, "invalid or revoked API key")
	require.EqualValues(t, 2, count(t, e.pool, "SELECT count(*) FROM logs.entries"))
}
