package ingestion

import (
	"time"

	"github.com/devsmith/logs/internal/logstore"
)

// Each entry's signature is computed with the entry (normalize); the writer
// also inserts a logs.pattern_signatures row for each (project, signature)
// its transaction writes that has none (logstore.QueueCommitted), unless
// it remembers the pair with an entry as old (pairs.go). A pair sent again
// (another writer or replica, a forgotten pair, an older entry) costs a
// lookup in the table's primary key, and moves the row's first_seen back
// when its entry is older.

type sigKey struct{ project, sig int64 }

// knownSignatures is one writer's memory of committed pairs.
type knownSignatures struct {
	mem pairMemory[sigKey]
	out logstore.Signatures
}

// collect returns the pairs of the group's written rows the writer does not
// know to have a row, or whose rows are older than the writer knows, each
// once, with its first message and oldest ts.
func (k *knownSignatures) collect(group []*batch) *logstore.Signatures {
	k.out.Reset()
	for _, b := range group {
		if !b.write {
			continue
		}
		for i := range b.rows {
			r := &b.rows[i]
			switch add, at := k.mem.offer(sigKey{b.projectID, r.sig}, r.ts, k.out.Len()); {
			case add:
				k.out.Add(b.projectID, r.sig, r.msg, time.UnixMicro(r.ts).UTC())
			case at >= 0:
				k.out.FirstSeen[at] = time.UnixMicro(r.ts).UTC()
			}
		}
	}
	return &k.out
}

// done records the outcome of the transaction the last collect was for.
func (k *knownSignatures) done(committed bool) {
	k.mem.done(committed)
	k.out.Reset() // drop the messages it referenced
}
