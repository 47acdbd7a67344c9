package ingestion

import (
	"context"
	"crypto/sha256"
	"sync"
)

// batch is one validated request on its way to the database.
type batch struct {
	projectID  int64
	service    string
	batchID    string
	keyDigest  [sha256.Size]byte // authn.Digest of the API key it came with
	receivedAt int64             // microseconds since the Unix epoch
	// class is the project's retention class when the batch was
	// normalised (package partition): its retention in days, 0 for the
	// platform's default. The partitions of every class in use exist.
	class   int16
	rows    []row
	arena   []byte      // the rows' context extras
	errs    []errorDesc // the rows' error groups, one per fingerprint (groups.go)
	out     outcome
	outJSON string // out as stored in logs.ingested_batches, when batchID != ""
	size    int    // approximate bytes, for the queue bound
	// metrics are the rows' values of summarised fields, with their
	// dimension values in metricDims (metrics.go).
	metrics    []sample
	metricDims []string
	// sampledOut counts, per day, the entries a sampling rule left out
	// (sampling.go); usually one day.
	sampledOut []sampledDay

	ctx  context.Context // the caller's
	done chan struct{}   // closed once res or err is set
	res  *outcome
	err  error

	// Writer-private, per transaction attempt.
	pending *outcome // the answer if the transaction commits
	write   bool     // its rows go into this transaction
	dupOf   *batch   // an earlier batch of the group with the same batch_id
	refused bool     // its key failed verification
}

func (b *batch) finish(res *outcome, err error) {
	b.res, b.err = res, err
	close(b.done)
}

// weight is what a batch counts against the queue's row bound.
func (b *batch) weight() int { return max(len(b.rows), 1) }

// queue holds batches waiting for a writer, bounded in rows and bytes.
type queue struct {
	mu       sync.Mutex
	items    []*batch
	head     int
	rows     int
	bytes    int
	maxRows  int
	maxBytes int
	closed   bool
	wake     chan struct{} // closed by close
}

// queuedRows is the rows waiting (a batch of none counts one).
func (q *queue) queuedRows() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.rows
}

func newQueue(maxRows, maxBytes, writers int) *queue {
	return &queue{maxRows: maxRows, maxBytes: maxBytes, wake: make(chan struct{}, writers)}
}

// push queues b, or refuses it at once when the queue is full or closed.
// A batch is always accepted into an empty queue.
func (q *queue) push(b *batch) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errStopping
	}
	if q.rows > 0 && (q.rows+b.weight() > q.maxRows || q.bytes+b.size > q.maxBytes) {
		return errOverloaded
	}
	q.items = append(q.items, b)
	q.rows += b.weight()
	q.bytes += b.size
	select {
	case q.wake <- struct{}{}:
	default: // writers already have wake-ups pending
	}
	return nil
}

// take moves queued batches into dst, at least one if any is queued, up to
// the group bounds.
func (q *queue) take(dst []*batch) []*batch {
	q.mu.Lock()
	defer q.mu.Unlock()
	rows, bytes := 0, 0
	for q.head < len(q.items) {
		b := q.items[q.head]
		if len(dst) > 0 && (rows+b.weight() > maxGroupRows || bytes+b.size > maxGroupBytes) {
			break
		}
		dst = append(dst, b)
		q.items[q.head] = nil
		q.head++
		rows += b.weight()
		bytes += b.size
		q.rows -= b.weight()
		q.bytes -= b.size
	}
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return dst
}

// close refuses further batches; writers drain what is queued and stop.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.wake)
	}
}

func (q *queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// submit queues b and waits for its commit, or for the caller to give up
// (the writer then skips or finishes it without anyone waiting).
func (s *Service) submit(ctx context.Context, b *batch) (*outcome, error) {
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	b.ctx = ctx
	b.done = make(chan struct{})
	if err := s.q.push(b); err != nil {
		return nil, err
	}
	select {
	case <-b.done:
		return b.res, b.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
