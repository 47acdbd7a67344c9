package patterns

import "sort"

// Changes are what mining did to a miner's patterns between two calls of
// Miner.Changes: enough for a store that keeps the patterns to stay equal
// to the miner by applying them.
type Changes struct {
	// Patterns are the live patterns created, or whose template or id (a
	// merge keeps the oldest id) changed, oldest first, with their current
	// template and count.
	Patterns []Pattern
	// Merged maps every pattern id merged away to the live pattern that
	// holds its lines now (never to another merged id), whether the merged
	// pattern was created before the previous call or since.
	Merged map[ID]ID
}

// changeLog accumulates Changes. It holds at most the live patterns (dirty
// is emptied of the clusters merged away) and the merges since the last
// Changes call.
type changeLog struct {
	dirty  map[*cluster]struct{}
	merges map[ID]ID
}

// TrackChanges starts recording what mining does, for Changes. A miner
// that is never asked for its changes need not record them.
func (m *Miner) TrackChanges() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changes == nil {
		m.changes = &changeLog{dirty: map[*cluster]struct{}{}, merges: map[ID]ID{}}
	}
}

// Changes returns what mining did since the previous call (or since
// TrackChanges), and starts recording afresh. Without TrackChanges it
// returns nothing.
func (m *Miner) Changes() Changes {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changes == nil {
		return Changes{}
	}
	cs := make([]*cluster, 0, len(m.changes.dirty))
	for c := range m.changes.dirty {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].seq < cs[j].seq })
	out := Changes{Patterns: make([]Pattern, len(cs)), Merged: m.changes.merges}
	for i, c := range cs {
		out.Patterns[i] = Pattern{ID: c.id, Template: render(c), Count: c.count}
	}
	m.changes.dirty = make(map[*cluster]struct{}, len(cs))
	m.changes.merges = map[ID]ID{}
	return out
}

// changed records that c was created or its template changed. Its id is
// live, even if an earlier pattern had it (an id is reused only once its
// alias was dropped).
func (m *Miner) changed(c *cluster) {
	if m.changes != nil {
		m.changes.dirty[c] = struct{}{}
		delete(m.changes.merges, c.id)
	}
}

// merged records that from was merged into the live pattern to: merges
// recorded earlier into from now lead to to.
func (l *changeLog) merged(from, to ID) {
	for k, v := range l.merges {
		if v == from {
			l.merges[k] = to
		}
	}
	l.merges[from] = to
	// A survivor that took an older id (absorb) is live under to: the id it
	// had is from, which is recorded above.
	delete(l.merges, to)
}
