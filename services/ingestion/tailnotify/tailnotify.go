// Package tailnotify is the contract between the ingestion service, which
// announces committed entries, and the query service's live tail, which
// follows them: the journal table, its rows, and the NOTIFY channel.
//
// In every transaction that writes entries the ingestion service inserts,
// per project it wrote to, one row into logs.tail_journal whose ranges
// cover every entry of that project written by the transaction
// (MinID <= id <= MaxID and MinTS <= ts <= MaxTS), tagged with the
// transaction's id (xid8), and sends one NOTIFY on Channel. The row becomes
// visible, and the notification is delivered, only when the transaction
// commits. Ranges of concurrent transactions may overlap and commit out of
// order; ids inside a range are not contiguous (other transactions' ids may
// fall between them).
//
// The notification carries nothing: it only wakes the readers, who read the
// journal from where their last read's snapshot left off. A reader that
// missed notifications (a lost connection) catches up by reading, as long
// as the rows are kept: the ingestion service deletes rows older than
// JournalRetention.
package tailnotify

import "time"

// Channel is the NOTIFY channel: LISTEN devsmith_entries.
const Channel = "devsmith_entries"

// JournalRetention is how long journal rows are kept: how long a tail can
// be disconnected (a listener reconnecting, a client resuming) and still be
// given every entry committed meanwhile.
const JournalRetention = 10 * time.Minute

// Span is one journal row: the entries of one project written by one
// transaction.
type Span struct {
	ProjectID int64
	MinID     int64
	MaxID     int64
	MinTS     time.Time
	MaxTS     time.Time
}
