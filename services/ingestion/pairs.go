package ingestion

// A writer inserts a row for each (project, key) pair its transaction
// writes that it does not know to have one: pattern signatures
// (signatures.go) and error groups (groups.go), in the commit's one
// statement. pairMemory is its memory of the pairs it committed, with the
// oldest ts it committed for each, so that in the steady state a group
// sends no such row at all, and an entry older than that sends its pair
// again, moving the row's first_seen back.

// maxKnownPairs bounds a writer's memory of committed pairs per kind; past
// it the writer forgets them all and relearns (about 5 MiB at the bound).
const maxKnownPairs = 1 << 16

// pairState is what a writer knows of a pair: the oldest ts it committed
// (first), and its index in the transaction's rows while one is in
// progress (at, else -1).
type pairState struct {
	first int64
	at    int32
}

// pendingPair is a pair of the transaction in progress and what the writer
// knew of it before (prev, when known).
type pendingPair[K comparable] struct {
	key   K
	prev  pairState
	known bool
}

type pairMemory[K comparable] struct {
	m       map[K]pairState
	pending []pendingPair[K]
}

// offer tells what the transaction in progress, with n rows so far, sends
// for a pair written with ts (microseconds): add a row for it (add, as row
// n); or move the first_seen of its row at back to ts (at >= 0); or
// nothing.
func (p *pairMemory[K]) offer(key K, ts int64, n int) (add bool, at int32) {
	if p.m == nil {
		p.m = make(map[K]pairState)
	}
	st, known := p.m[key]
	switch {
	case known && st.at >= 0: // already in this transaction
		if ts < st.first {
			st.first = ts
			p.m[key] = st
			return false, st.at
		}
		return false, -1
	case known && ts >= st.first:
		return false, -1
	}
	p.pending = append(p.pending, pendingPair[K]{key: key, prev: st, known: known})
	p.m[key] = pairState{first: ts, at: int32(n)}
	return true, -1
}

// done records the outcome of the transaction the offers were for: its
// pairs are known, with their oldest ts, once it committed.
func (p *pairMemory[K]) done(committed bool) {
	for _, q := range p.pending {
		switch {
		case committed:
			p.m[q.key] = pairState{first: p.m[q.key].first, at: -1}
		case q.known:
			p.m[q.key] = pairState{first: q.prev.first, at: -1}
		default:
			delete(p.m, q.key)
		}
	}
	p.pending = p.pending[:0]
	if len(p.m) > maxKnownPairs {
		clear(p.m)
	}
}
