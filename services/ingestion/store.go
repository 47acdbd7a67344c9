package ingestion

import (
	"context"
	"fmt"
	"time"

	"github.com/devsmith/logs/internal/logstore"
)

// The service's SQL. The write transaction's statements are queued by the
// writers (writer.go) in the round trips commit describes; the statement
// that adds the rollups and the tail journal rows is logstore's
// (logstore.QueueCommitted), as is the entries' column list.

// --- write transaction ---

// activeKeysSQL returns the projects of the live, unexpired keys with the
// ingest scope among the given digests (keys.go). A revoked key has no
// digest; a deleted project's keys are revoked with it.
const activeKeysSQL = `SELECT key_hash, project_id FROM logs.api_keys
WHERE key_hash = ANY($1::bytea[]) AND 'ingest' = ANY(scopes) AND (expire_time IS NULL OR expire_time > now())`

// verifyKeysSQL is activeKeysSQL locking the key rows against a revocation
// or rotation until the transaction ends.
const verifyKeysSQL = activeKeysSQL + `
FOR KEY SHARE`

// reserveIDsSQL reserves $1 blocks of logstore.IDBlock ids.
const reserveIDsSQL = `SELECT nextval('logs.entries_id_seq') FROM generate_series(1, $1::int)`

// copySQL writes a group's entries in PostgreSQL's binary COPY format (no
// text parsing of numbers and timestamps on the server, no per-value
// encoding plans on ours); appendCopyRow encodes the fields in
// logstore.Columns order.
const copySQL = `COPY logs.entries (` + logstore.Columns + `) FROM STDIN (FORMAT binary)`

// --- batch ids ---

// dedupSQL records a group's batch ids with their answers ($1 projects,
// $2 batch ids, $3 answers as JSON) and returns those it recorded: the
// others were committed before.
const dedupSQL = `INSERT INTO logs.ingested_batches (project_id, batch_id, response)
SELECT p, b, r::jsonb FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(p, b, r) ORDER BY p, b
ON CONFLICT (project_id, batch_id) DO NOTHING
RETURNING project_id, batch_id`

// firstResponseSQL reads the answers stored with batch ids ($1 projects,
// $2 batch ids).
const firstResponseSQL = `SELECT project_id, batch_id, response::text FROM logs.ingested_batches
WHERE (project_id, batch_id) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))`

// --- maintenance ---

// forgetBatchIDs deletes logs.ingested_batches rows past the dedup window,
// in bounded chunks.
func (s *Service) forgetBatchIDs(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-dedupWindow)
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM logs.ingested_batches WHERE ctid = ANY (ARRAY(
			SELECT ctid FROM logs.ingested_batches WHERE created_at < $1 LIMIT 10000))`, cutoff)
		if err != nil {
			return total, fmt.Errorf("deleting batch ids before %s: %w", cutoff.Format(time.RFC3339), err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < 10000 {
			return total, nil
		}
	}
}
