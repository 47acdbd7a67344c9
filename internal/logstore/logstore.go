// Package logstore is the store of log entries as code: the shape of
// logs.entries, the per-day rollups that count them (logs.entry_rollups),
// and the live tail's journal (logs.tail_journal) with its NOTIFY channel.
// Every service that writes or reads entries does so through the names and
// statements here (the ingestion service writes, the query service reads);
// the tables themselves are created by migrations/.
//
// # logs.entries
//
// One row per stored log entry, range-partitioned by the UTC day of ts
// (package partition creates the partitions ahead and drops them past
// retention, whole):
//
//   - project_id: the project the entry was sent to with its API key.
//   - ts: the entry's own time, as the client gave it (microseconds; the
//     server's receive time when it gave none or none that parsed).
//   - id: unique among all entries, not dense and not in commit order. Ids
//     come from logs.entries_id_seq, which increments by IDBlock: each
//     nextval v reserves the ids [v, v+IDBlock) for the writer that drew
//     it. (project_id, ts, id) is the primary key, so a reader pages by
//     (ts, id) within a project.
//   - service_name: the sending service, trimmed, never empty.
//   - level: a Level, stored as its number (smallint 1..6).
//   - message: the message text.
//   - context: a JSON object (jsonb), never another JSON value; '{}' when
//     the client sent none. Keys starting with '_' may be the server's own
//     (an original level or timestamp it could not read, truncation marks).
//   - received_at: when the server received the batch.
//   - signature: the hash of the message's masked tokens (package
//     signature), which names the entry's pattern (patterns.go); 0 for
//     entries stored before migration 0004.
//   - error_fp: the fingerprint of a WARN, ERROR or FATAL entry (package
//     fingerprint), which names its error group with project_id
//     (groups.go); 0 for other levels and entries stored before migration
//     0006.
//
// EntryColumns and ScanEntry are how a reader selects and reads a row,
// Entry.Proto how it hands one to a client; Columns is every column in
// table order, how a writer supplies one.
//
// # logs.entry_rollups
//
// Exact per-(project, service, UTC day) counts and the newest ts, written
// in the same transaction as the entries they count (QueueCommitted), and
// deleted with their day's partition: a reader may sum them instead of
// counting entries.
//
// # logs.tail_journal
//
// In every transaction that writes entries, the writer records, per project
// it wrote to, one Span whose ranges cover every entry of that project
// written by the transaction (MinID <= id <= MaxID and MinTS <= ts <=
// MaxTS), tagged with the transaction's id (xid8), and sends one NOTIFY on
// JournalChannel (QueueCommitted does both). The row becomes visible, and
// the notification is delivered, only when the transaction commits. Ranges
// of concurrent transactions may overlap and commit out of order; ids
// inside a range are not contiguous (other transactions' ids may fall
// between them).
//
// The notification carries nothing: it only wakes the readers, who read
// the journal past the Snapshot their last read left off at (ReadJournal).
// Every transaction below that snapshot's xmax and not in its in-progress
// list had ended when it was taken, so each committed row is read exactly
// once however commits interleave, and a reader that missed notifications
// (a lost connection) catches up by reading, as long as the rows are kept:
// rows older than JournalRetention are deleted (PruneJournal).
package logstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// IDBlock is the INCREMENT BY of logs.entries_id_seq: one nextval reserves
// the ids [v, v+IDBlock).
const IDBlock = 1024

// Querier is a pool, a connection or a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}
