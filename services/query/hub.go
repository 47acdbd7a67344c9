package query

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/devsmith/logs/internal/logstore"
)

// hub follows the tail journal for the tails of this replica: one journal
// read per wake-up (a notification, the listener's (re)connection, a tail
// joining), its rows fanned out to the tails reading each project.
// Delivering never blocks: each subscriber queues what it has not read yet,
// up to its bound.
type hub struct {
	wake chan struct{} // has a value when a read is wanted

	mu        sync.Mutex
	closed    bool
	all       map[*subscriber]struct{}
	byProject map[int64]map[*subscriber]struct{}
	joining   map[*subscriber]struct{} // waiting for the next read
	// pos is where the last read left off; nil while no tail is open (a
	// tail that joins then starts from its own first read).
	pos *position
}

func newHub() *hub {
	return &hub{
		wake:      make(chan struct{}, 1),
		all:       map[*subscriber]struct{}{},
		byProject: map[int64]map[*subscriber]struct{}{},
		joining:   map[*subscriber]struct{}{},
	}
}

// poke asks for a journal read.
func (h *hub) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// join adds sub once the next journal read has been made: from then on
// every entry committed is delivered to it (and, when it resumes, those
// past its resume position first). It returns errShuttingDown once the hub
// is closed, or ctx's error.
func (h *hub) join(ctx context.Context, sub *subscriber) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return errShuttingDown
	}
	h.joining[sub] = struct{}{}
	h.mu.Unlock()
	h.poke()
	select {
	case <-sub.joined:
		return nil
	case <-sub.done:
		return errShuttingDown
	case <-ctx.Done():
		h.unsubscribe(sub)
		return ctx.Err()
	}
}

func (h *hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.joining, sub)
	delete(h.all, sub)
	for _, id := range sub.projects {
		if m := h.byProject[id]; m != nil {
			delete(m, sub)
			if len(m) == 0 {
				delete(h.byProject, id)
			}
		}
	}
	if len(h.all) == 0 && len(h.joining) == 0 {
		h.pos = nil
	}
}

// read reads the journal past the position every member needs and delivers
// the rows: to the open tails those past the last read, to each joining
// tail those past its own start (its resume position, else the last read;
// nothing on the hub's first read). Then the joining tails are in.
func (h *hub) read(ctx context.Context, pool *pgxpool.Pool, now time.Time) error {
	h.mu.Lock()
	if len(h.all) == 0 && len(h.joining) == 0 {
		h.pos = nil
		h.mu.Unlock()
		return nil
	}
	from := h.pos
	need := from
	joining := make([]*subscriber, 0, len(h.joining))
	for sub := range h.joining {
		joining = append(joining, sub)
		if sub.resume != nil {
			need = sub.start(need)
		}
	}
	h.mu.Unlock()

	rows, pos, err := readJournal(ctx, pool, need, now)
	if err != nil {
		return err
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if from != nil {
		for _, it := range gather(rows, from, nil) {
			for sub := range h.byProject[it.project] {
				sub.push(it)
			}
		}
	}
	// Those that joined during the read wait for the next one (already
	// asked for), as its start may lie before what this one read.
	for _, sub := range joining {
		if _, ok := h.joining[sub]; !ok {
			continue // gone meanwhile
		}
		if start := sub.start(from); start != nil {
			for _, it := range gather(rows, start, sub.projects) {
				sub.push(it)
			}
		}
		delete(h.joining, sub)
		h.all[sub] = struct{}{}
		for _, id := range sub.projects {
			m := h.byProject[id]
			if m == nil {
				m = map[*subscriber]struct{}{}
				h.byProject[id] = m
			}
			m[sub] = struct{}{}
		}
		close(sub.joined)
	}
	if len(h.all) > 0 {
		h.pos = pos
	}
	return nil
}

// failAll ends every tail with err.
func (h *hub) failAll(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.all {
		sub.fail(err)
	}
}

// close ends every subscription and refuses new ones.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for sub := range h.all {
		sub.stop()
	}
	for sub := range h.joining {
		sub.stop()
	}
}

// size returns how many subscribers are registered, and under how many
// projects.
func (h *hub) size() (subscribers, projects int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.all), len(h.byProject)
}

// tailItem is what one journal read found for one project: the time range
// and the id ranges of its transactions' entries (sorted, disjoint), and
// the resume token its entries are sent with. One item a read, not one a
// transaction, so that a tail reads a project's new entries with one query
// per read however many transactions committed.
type tailItem struct {
	project      int64
	minTS, maxTS time.Time
	ids          []idRange
	token        string
}

// maxIDRanges bounds the id ranges of one item (each is two query
// parameters).
const maxIDRanges = 64

// idRange is an inclusive range of entry ids.
type idRange struct{ lo, hi int64 }

// gather groups the rows past start by project (only projects, unless
// nil), tokened with start, in project order.
func gather(rows []logstore.JournalRow, start *position, projects []int64) []tailItem {
	byProject := map[int64]tailItem{}
	tok := ""
	for _, r := range rows {
		sp := r.Span
		if !start.includes(r.XID) || (projects != nil && !slices.Contains(projects, sp.ProjectID)) {
			continue
		}
		if tok == "" {
			tok = start.token()
		}
		it, ok := byProject[sp.ProjectID]
		if !ok {
			it = tailItem{project: sp.ProjectID, minTS: sp.MinTS, maxTS: sp.MaxTS, token: tok}
		}
		it.minTS, it.maxTS = minTime(it.minTS, sp.MinTS), maxTime(it.maxTS, sp.MaxTS)
		it.ids = append(it.ids, idRange{sp.MinID, sp.MaxID})
		byProject[sp.ProjectID] = it
	}
	out := make([]tailItem, 0, len(byProject))
	for _, it := range byProject {
		it.ids = mergeRanges(it.ids)
		if n := len(it.ids); n > maxIDRanges {
			// A long backlog (a resume): one range spanning them all, so the
			// query stays small. It may cover entries sent before, which
			// the tail's recent ids or the client (by id) drop.
			it.ids = []idRange{{it.ids[0].lo, it.ids[n-1].hi}}
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b tailItem) int { return cmp.Compare(a.project, b.project) })
	return out
}

// mergeRanges sorts rs and merges those that overlap or touch.
func mergeRanges(rs []idRange) []idRange {
	slices.SortFunc(rs, func(a, b idRange) int { return cmp.Compare(a.lo, b.lo) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// subscriber is one tail's queue of journal reads not read yet.
type subscriber struct {
	projects []int64
	limit    int
	resume   *position // where it resumes; nil: from its first read

	mu      sync.Mutex
	pending []tailItem
	err     error // once set, the tail ends with it

	wake     chan struct{} // has a value when pending changed
	joined   chan struct{} // closed once the hub delivers to it
	done     chan struct{} // closed when the hub closes
	stopOnce sync.Once
}

func newSubscriber(projects []int64, limit int, resume *position) *subscriber {
	return &subscriber{
		projects: projects,
		limit:    limit,
		resume:   resume,
		wake:     make(chan struct{}, 1),
		joined:   make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// start is where a joining subscriber's first read begins: its resume
// position together with last (the hub's), or last alone.
func (s *subscriber) start(last *position) *position {
	switch {
	case s.resume == nil:
		return last
	case last == nil:
		return s.resume
	}
	return last.union(s.resume)
}

// push queues it. Past the limit the subscriber fails with errFellBehind:
// it will end its stream instead of reading on.
func (s *subscriber) push(it tailItem) {
	s.mu.Lock()
	switch {
	case s.err != nil:
	case len(s.pending) >= s.limit:
		s.err = errFellBehind
		s.pending = nil
	default:
		s.pending = append(s.pending, it)
	}
	s.mu.Unlock()
	s.signal()
}

// fail drops the queue and makes next report err.
func (s *subscriber) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err, s.pending = err, nil
	}
	s.mu.Unlock()
	s.signal()
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next pops the oldest pending row; err is set once the tail must end.
func (s *subscriber) next() (it tailItem, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return it, false, s.err
	}
	if len(s.pending) == 0 {
		return it, false, nil
	}
	it = s.pending[0]
	s.pending = s.pending[1:]
	if len(s.pending) == 0 {
		s.pending = nil // release the backing array
	}
	return it, true, nil
}

func (s *subscriber) stop() { s.stopOnce.Do(func() { close(s.done) }) }

// recentIDs remembers the ids of the last entries a tail sent, so an entry
// that falls in the ranges of two journal rows (concurrent transactions'
// ranges may overlap) is sent once.
type recentIDs struct {
	ring []int64
	next int
	set  map[int64]struct{}
}

func newRecentIDs(capacity int) *recentIDs {
	return &recentIDs{ring: make([]int64, 0, capacity), set: make(map[int64]struct{}, capacity)}
}

// add records id and reports whether it was new.
func (r *recentIDs) add(id int64) bool {
	if _, ok := r.set[id]; ok {
		return false
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % len(r.ring)
	}
	r.set[id] = struct{}{}
	return true
}
