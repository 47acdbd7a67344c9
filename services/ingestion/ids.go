package ingestion

import (
	"github.com/devsmith/logs/internal/logstore"
)

// idRange is ids [next, end) a writer reserved and has not assigned yet.
type idRange struct{ next, end int64 }

// idBlocksNeeded is how many blocks of logs.entries_id_seq the writer must
// reserve so that its leftover ids cover every row of the group.
func (w *writer) idBlocksNeeded(group []*batch) int64 {
	have, n := int64(0), int64(0)
	for _, r := range w.ids {
		have += r.end - r.next
	}
	for _, b := range group {
		n += int64(len(b.rows))
	}
	if n <= have {
		return 0
	}
	return (n - have + logstore.IDBlock - 1) / logstore.IDBlock
}

// assignIDs gives every row written in this transaction an id from the
// writer's reserved blocks (idBlocksNeeded made them enough).
func (w *writer) assignIDs(group []*batch) {
	for _, b := range group {
		if !b.write {
			continue
		}
		for i := range b.rows {
			for w.ids[0].next == w.ids[0].end {
				w.ids = w.ids[1:]
			}
			b.rows[i].id = w.ids[0].next
			w.ids[0].next++
		}
	}
	if len(w.ids) > 0 && w.ids[0].next == w.ids[0].end {
		w.ids = w.ids[1:]
	}
}
