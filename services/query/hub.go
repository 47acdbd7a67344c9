package query

import (
	"sync"

	"github.com/devsmith/logs/services/ingestion/tailnotify"
)

// hub fans the listener's notifications out to the tails reading each
// project. Publishing never blocks: each subscriber queues what it has not
// read yet, up to its bound.
type hub struct {
	mu        sync.Mutex
	closed    bool
	all       map[*subscriber]struct{}
	byProject map[int64]map[*subscriber]struct{}
}

func newHub() *hub {
	return &hub{all: map[*subscriber]struct{}{}, byProject: map[int64]map[*subscriber]struct{}{}}
}

// subscribe adds sub for its projects; false once the hub is closed.
func (h *hub) subscribe(sub *subscriber) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.all[sub] = struct{}{}
	for _, id := range sub.projects {
		m := h.byProject[id]
		if m == nil {
			m = map[*subscriber]struct{}{}
			h.byProject[id] = m
		}
		m[sub] = struct{}{}
	}
	return true
}

func (h *hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.all, sub)
	for _, id := range sub.projects {
		if m := h.byProject[id]; m != nil {
			delete(m, sub)
			if len(m) == 0 {
				delete(h.byProject, id)
			}
		}
	}
}

// publish queues n for every subscriber reading its project.
func (h *hub) publish(n tailnotify.Payload) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.byProject[n.ProjectID] {
		sub.push(n)
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
}

// size returns how many subscribers are registered, and under how many
// projects.
func (h *hub) size() (subscribers, projects int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.all), len(h.byProject)
}

// subscriber is one tail's queue of notifications not read yet.
type subscriber struct {
	projects []int64
	limit    int

	mu      sync.Mutex
	pending []tailnotify.Payload
	behind  bool

	wake     chan struct{} // has a value when pending changed
	done     chan struct{} // closed when the hub closes
	stopOnce sync.Once
}

func newSubscriber(projects []int64, limit int) *subscriber {
	return &subscriber{
		projects: projects,
		limit:    limit,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
}

// push queues n. Past the limit the subscriber is marked behind and its
// queue dropped: it will end its stream instead of reading on.
func (s *subscriber) push(n tailnotify.Payload) {
	s.mu.Lock()
	switch {
	case s.behind:
	case len(s.pending) >= s.limit:
		s.behind = true
		s.pending = nil
	default:
		s.pending = append(s.pending, n)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next pops the oldest pending notification. behind reports that the
// subscriber fell too far behind.
func (s *subscriber) next() (n tailnotify.Payload, ok, behind bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.behind {
		return n, false, true
	}
	if len(s.pending) == 0 {
		return n, false, false
	}
	n = s.pending[0]
	s.pending = s.pending[1:]
	if len(s.pending) == 0 {
		s.pending = nil // release the backing array
	}
	return n, true, false
}

func (s *subscriber) stop() { s.stopOnce.Do(func() { close(s.done) }) }

// recentIDs remembers the ids of the last entries a tail sent, so an entry
// that falls in the ranges of two notifications (concurrent transactions'
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
