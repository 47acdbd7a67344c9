package projects

import (
	"container/list"
	"sync"
	"time"
)

// maxTrackedAddresses caps the sign-in failure table; past it the address
// whose window started first is forgotten.
const maxTrackedAddresses = 10_000

// loginLimiter counts failed sign-ins per client address in a fixed window.
// It lives in memory, so each replica counts on its own: behind N replicas
// an address gets up to N times the limit per window. That is enough to
// make password guessing slow (every attempt also costs a bcrypt
// comparison) without a shared store.
type loginLimiter struct {
	limit  int
	window time.Duration
	max    int

	mu      sync.Mutex
	entries map[string]*list.Element // of *failures
	order   *list.List               // by window start, oldest in front
}

type failures struct {
	addr  string
	count int
	start time.Time
}

func newLoginLimiter(limit int, window time.Duration, maxAddresses int) *loginLimiter {
	return &loginLimiter{
		limit:   limit,
		window:  window,
		max:     maxAddresses,
		entries: make(map[string]*list.Element),
		order:   list.New(),
	}
}

// attempt asks whether addr may try to sign in now. If it may, the attempt
// counts as a failure until succeed says otherwise, so that concurrent
// guesses cannot all slip past the limit before any of them fails. If it
// may not, attempt returns how long to wait.
func (l *loginLimiter) attempt(addr string, now time.Time) (wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.entries[addr]; ok {
		f := el.Value.(*failures)
		end := f.start.Add(l.window)
		if now.Before(end) {
			if f.count >= l.limit {
				return end.Sub(now)
			}
			f.count++
			return 0
		}
		l.remove(el)
	}
	l.prune(now)
	for l.order.Len() >= l.max {
		l.remove(l.order.Front())
	}
	l.entries[addr] = l.order.PushBack(&failures{addr: addr, count: 1, start: now})
	return 0
}

// succeed forgets the failures of addr: it signed in.
func (l *loginLimiter) succeed(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.entries[addr]; ok {
		l.remove(el)
	}
}

// prune drops the windows that have ended; the caller holds mu.
func (l *loginLimiter) prune(now time.Time) {
	for el := l.order.Front(); el != nil; el = l.order.Front() {
		if now.Before(el.Value.(*failures).start.Add(l.window)) {
			return
		}
		l.remove(el)
	}
}

// tracked returns how many addresses the table holds.
func (l *loginLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

func (l *loginLimiter) remove(el *list.Element) {
	delete(l.entries, el.Value.(*failures).addr)
	l.order.Remove(el)
}
