package ingestion

import (
	"time"

	"github.com/devsmith/logs/internal/logstore"
)

// Each entry's signature is computed with the entry (normalize); the writer
// also inserts a logs.pattern_signatures row for each (project, signature)
// its transaction writes that has none (logstore.QueueCommitted). A writer
// remembers the pairs it has committed, so that in the steady state a
// group inserts no such row at all. A pair sent again (another writer or
// replica, a forgotten pair) costs a lookup in the table's primary key, and
// moves the row's first_seen back when its entry is older.

// maxKnownSignatures bounds a writer's memory of committed pairs; past it
// the writer forgets them all and relearns (about 5 MiB at the bound).
const maxKnownSignatures = 1 << 16

type sigKey struct{ project, sig int64 }

// knownSignatures is one writer's memory of committed pairs.
type knownSignatures struct {
	m       map[sigKey]struct{}
	pending []sigKey // pairs of the transaction in progress
	out     logstore.Signatures
}

// collect returns the pairs of the group's written rows the writer does not
// know to have a row, each once, with its first message and ts.
func (k *knownSignatures) collect(group []*batch) *logstore.Signatures {
	if k.m == nil {
		k.m = make(map[sigKey]struct{})
	}
	k.out.Reset()
	k.pending = k.pending[:0]
	for _, b := range group {
		if !b.write {
			continue
		}
		for i := range b.rows {
			r := &b.rows[i]
			key := sigKey{b.projectID, r.sig}
			if _, ok := k.m[key]; ok {
				continue
			}
			k.m[key] = struct{}{}
			k.pending = append(k.pending, key)
			k.out.Add(b.projectID, r.sig, r.msg, time.UnixMicro(r.ts).UTC())
		}
	}
	return &k.out
}

// done records the outcome of the transaction the last collect was for:
// its pairs are known once it committed.
func (k *knownSignatures) done(committed bool) {
	if !committed {
		for _, key := range k.pending {
			delete(k.m, key)
		}
	}
	k.pending = k.pending[:0]
	if len(k.m) > maxKnownSignatures {
		clear(k.m)
	}
	k.out.Reset() // drop the messages it referenced
}
