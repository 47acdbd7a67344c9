package ingestion

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/devsmith/logs/services/ingestion/tailnotify"
)

// Group commit. Handlers validate a batch, queue it and wait; each of
// Config.Writers goroutines takes everything queued (up to maxGroupRows rows
// or maxGroupBytes) and writes it in one transaction: the API keys verified
// (keys.go), batch_id rows, one COPY, rollups, the tail journal rows and
// notification (tailnotify), then commits and acknowledges every batch of
// the group. Batches whose key is refused are answered and the rest written
// again; if the transaction fails otherwise, each batch is retried alone so
// that only the culprit gets the error.

const (
	maxGroupRows  = 20_000
	maxGroupBytes = 32 << 20
	// txTimeout bounds one write transaction (a hung connection must not
	// hold a writer, or shutdown, forever).
	txTimeout = time.Minute
	// idBlock is the INCREMENT BY of logs.entries_id_seq: one nextval
	// reserves the ids [v, v+idBlock).
	idBlock = 1024
)

// batch is one validated request on its way to the database.
type batch struct {
	projectID  int64
	service    string
	batchID    string
	keyDigest  [sha256.Size]byte // authn.Digest of the API key it came with
	receivedAt int64             // microseconds since the Unix epoch
	rows       []row
	arena      []byte // the rows' context extras
	out        outcome
	outJSON    string // out as stored in logs.ingested_batches, when batchID != ""
	size       int    // approximate bytes, for the queue bound

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

type idRange struct{ next, end int64 }

// writer is one group-commit loop; its state is reused between groups.
type writer struct {
	s     *Service
	log   *zap.Logger
	ids   []idRange
	group []*batch
	cr    copyReader
}

func newWriter(s *Service) *writer {
	return &writer{s: s, log: s.log}
}

// run writes groups until the queue is closed and empty.
func (w *writer) run(ctx context.Context) {
	for {
		w.group = w.s.q.take(w.group[:0])
		if len(w.group) == 0 {
			if w.s.q.isClosed() {
				return
			}
			<-w.s.q.wake
			continue
		}
		w.process(ctx, w.group)
		clear(w.group)
	}
}

// process writes a group and acknowledges each batch.
func (w *writer) process(ctx context.Context, group []*batch) {
	live := group[:0]
	for _, b := range group {
		if err := b.ctx.Err(); err != nil {
			b.finish(nil, err) // the caller has gone; nothing was written
			continue
		}
		live = append(live, b)
	}
	for len(live) > 0 {
		err := w.commit(ctx, live)
		if errors.Is(err, errKeyRefused) {
			// Rolled back: answer the batches whose key was refused and
			// write the others again.
			kept := live[:0]
			for _, b := range live {
				if b.refused {
					b.answer(err)
				} else {
					kept = append(kept, b)
				}
			}
			live = kept
			continue
		}
		if err == nil || len(live) == 1 {
			for _, b := range live {
				b.answer(err)
			}
			return
		}
		w.log.Warn("group commit failed; retrying batch by batch", zap.Int("batches", len(live)), zap.Error(err))
		for _, b := range live {
			b.answer(w.commit(ctx, []*batch{b}))
		}
		return
	}
}

// answer finishes b with the outcome of the transaction that wrote it
// alone or in its group.
func (b *batch) answer(err error) {
	switch {
	case err == nil:
		b.finish(b.pending, nil)
	case errors.Is(err, errKeyRefused):
		b.finish(nil, errKeyRefused)
	default:
		b.finish(nil, &writeError{err})
	}
}

// commit writes the batches in one transaction and sets each one's pending
// answer; nothing is acknowledged here. It returns errKeyRefused, having
// written nothing, when a batch's key failed verification (that batch is
// marked refused). Three round trips: (begin, verify the keys, record the
// batch ids, reserve ids), the COPY, and (rollups, the tail journal and
// notification, commit); a fourth only when a batch_id was seen before.
func (w *writer) commit(ctx context.Context, group []*batch) (err error) {
	ctx, cancel := context.WithTimeout(ctx, txTimeout)
	defer cancel()
	pc, err := w.s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring connection: %w", err)
	}
	// A connection released inside a transaction (an error, or a rollback
	// that failed) is closed by the pool, not reused.
	defer pc.Release()
	conn := pc.Conn()
	defer func() {
		if err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_, _ = conn.Exec(rctx, "ROLLBACK")
		}
	}()

	for _, b := range group {
		b.pending, b.write, b.dupOf, b.refused = &b.out, true, nil, false
	}
	dd := planDedup(group)
	blocks := w.idBlocksNeeded(group)
	first := &pgx.Batch{}
	first.Queue("BEGIN")
	first.Queue(verifyKeysSQL, keyDigests(group))
	if dd != nil {
		first.Queue(dedupSQL, dd.pids, dd.bids, dd.resps)
	}
	if blocks > 0 {
		first.Queue(reserveIDsSQL, blocks)
	}
	refused, err := w.readFirst(conn.SendBatch(ctx, first), group, dd, blocks > 0)
	if err != nil {
		return err
	}
	if refused {
		return errKeyRefused
	}
	if dd != nil {
		if err := w.firstResponses(ctx, conn, dd, group); err != nil {
			return err
		}
	}

	nrows := 0
	for _, b := range group {
		if b.write {
			nrows += len(b.rows)
		}
	}
	last := &pgx.Batch{}
	if nrows > 0 {
		w.assignIDs(group)
		w.cr.reset(group)
		if _, err := conn.PgConn().CopyFrom(ctx, &w.cr, copySQL); err != nil {
			return fmt.Errorf("copying %d entries: %w", nrows, err)
		}
		last.Queue(rollupsSQL, rollupArgs(group)...)
	}
	last.Queue("COMMIT")
	br := conn.SendBatch(ctx, last)
	defer func() {
		if cerr := br.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("committing: %w", cerr)
		}
	}()
	if nrows > 0 {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("updating rollups and the tail journal: %w", err)
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	if tag.String() != "COMMIT" {
		return fmt.Errorf("committing: the server answered %q", tag.String())
	}
	w.s.commits.Add(1)
	return nil
}

// readFirst reads the answers of the first round trip: the keys verified,
// the batch ids recorded, the ids reserved.
func (w *writer) readFirst(br pgx.BatchResults, group []*batch, dd *dedupPlan, reserved bool) (refused bool, err error) {
	defer func() {
		if cerr := br.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("beginning transaction: %w", cerr)
		}
	}()
	if _, err := br.Exec(); err != nil {
		return false, fmt.Errorf("beginning transaction: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return false, fmt.Errorf("verifying API keys: %w", err)
	}
	if refused, err = w.s.readVerifiedKeys(rows, group); err != nil {
		return false, err
	}
	if dd != nil {
		rows, err := br.Query()
		if err != nil {
			return false, fmt.Errorf("recording batch ids: %w", err)
		}
		if err := dd.readInserted(rows); err != nil {
			return false, err
		}
	}
	if reserved {
		rows, err := br.Query()
		if err != nil {
			return false, fmt.Errorf("reserving ids: %w", err)
		}
		var v int64
		_, err = pgx.ForEachRow(rows, []any{&v}, func() error {
			w.ids = append(w.ids, idRange{next: v, end: v + idBlock})
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("reserving ids: %w", err)
		}
	}
	return refused, nil
}

type dedupKey struct {
	project int64
	batchID string
}

// dedupPlan is a group's batch_ids to record: the first batch of each id
// (its leader) and the arguments of dedupSQL.
type dedupPlan struct {
	leaders  map[dedupKey]*batch
	inserted map[dedupKey]bool
	pids     []int64
	bids     []string
	resps    []string
}

const dedupSQL = `INSERT INTO logs.ingested_batches (project_id, batch_id, response)
SELECT p, b, r::jsonb FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(p, b, r) ORDER BY p, b
ON CONFLICT (project_id, batch_id) DO NOTHING
RETURNING project_id, batch_id`

const firstResponseSQL = `SELECT project_id, batch_id, response::text FROM logs.ingested_batches
WHERE (project_id, batch_id) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))`

// planDedup finds the group's batch_ids, or returns nil when it has none. A
// batch whose id arrives a second time in the group is not written and gets
// the first one's answer. Inserts go in key order, so two writers never
// wait on each other's ids in opposite orders.
func planDedup(group []*batch) *dedupPlan {
	var d *dedupPlan
	for _, b := range group {
		if b.batchID == "" {
			continue
		}
		k := dedupKey{b.projectID, b.batchID}
		if d == nil {
			d = &dedupPlan{leaders: make(map[dedupKey]*batch)}
		}
		if l, ok := d.leaders[k]; ok {
			b.dupOf, b.write = l, false
			continue
		}
		d.leaders[k] = b
		d.pids, d.bids, d.resps = append(d.pids, b.projectID), append(d.bids, b.batchID), append(d.resps, b.outJSON)
	}
	return d
}

// readInserted reads which batch_ids dedupSQL recorded: the others were
// committed before.
func (d *dedupPlan) readInserted(rows pgx.Rows) error {
	d.inserted = make(map[dedupKey]bool, len(d.leaders))
	var k dedupKey
	_, err := pgx.ForEachRow(rows, []any{&k.project, &k.batchID}, func() error {
		d.inserted[k] = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording batch ids: %w", err)
	}
	return nil
}

// firstResponses gives each batch whose id was committed before the answer
// stored with it (and writes nothing of it), and each in-group duplicate
// its leader's answer.
func (w *writer) firstResponses(ctx context.Context, conn *pgx.Conn, d *dedupPlan, group []*batch) error {
	if len(d.inserted) < len(d.leaders) {
		var pids []int64
		var bids []string
		for k, l := range d.leaders {
			if !d.inserted[k] {
				l.write = false
				pids, bids = append(pids, k.project), append(bids, k.batchID)
			}
		}
		rows, err := conn.Query(ctx, firstResponseSQL, pids, bids)
		if err != nil {
			return fmt.Errorf("reading first responses: %w", err)
		}
		var k dedupKey
		var resp string
		found := 0
		_, err = pgx.ForEachRow(rows, []any{&k.project, &k.batchID, &resp}, func() error {
			l := d.leaders[k]
			if l == nil {
				return nil
			}
			var first outcome
			if err := json.Unmarshal([]byte(resp), &first); err != nil {
				return fmt.Errorf("decoding first response of a batch: %w", err)
			}
			if first.Rejected == nil {
				first.Rejected = []rejection{}
			}
			l.pending = &first
			found++
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading first responses: %w", err)
		}
		if found < len(pids) {
			return fmt.Errorf("reading first responses: %d of %d batch ids vanished", len(pids)-found, len(pids))
		}
	}
	for _, b := range group {
		if b.dupOf != nil {
			b.pending = b.dupOf.pending
		}
	}
	return nil
}

const reserveIDsSQL = `SELECT nextval('logs.entries_id_seq') FROM generate_series(1, $1::int)`

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
	return (n - have + idBlock - 1) / idBlock
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

const rollupsSQL = `WITH r AS (
	INSERT INTO logs.entry_rollups AS e (project_id, service_name, day, count, last_log_at)
	SELECT p, s, d, c, l FROM unnest($1::bigint[], $2::text[], $3::date[], $4::bigint[], $5::timestamptz[]) AS u(p, s, d, c, l)
	ORDER BY p, s, d
	ON CONFLICT (project_id, service_name, day) DO UPDATE
	SET count = e.count + EXCLUDED.count, last_log_at = greatest(e.last_log_at, EXCLUDED.last_log_at)
), j AS (
	INSERT INTO logs.tail_journal (project_id, min_id, max_id, min_ts, max_ts)
	SELECT * FROM unnest($6::bigint[], $7::bigint[], $8::bigint[], $9::timestamptz[], $10::timestamptz[])
)
SELECT pg_notify('` + tailnotify.Channel + `', '')`

type rollupKey struct {
	project int64
	service string
	day     int64 // days since the Unix epoch (UTC)
}

type rollup struct {
	count int64
	last  int64 // microseconds
}

type span struct{ minID, maxID, minTS, maxTS int64 }

const microsPerDay = 86_400_000_000

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// rollupArgs are the arguments of rollupsSQL: the written rows added to the
// per-day rollups, and one tail journal row per project.
func rollupArgs(group []*batch) []any {
	rolls := make(map[rollupKey]rollup)
	spans := make(map[int64]span)
	for _, b := range group {
		if !b.write || len(b.rows) == 0 {
			continue
		}
		sp, ok := spans[b.projectID]
		if !ok {
			r0 := &b.rows[0]
			sp = span{minID: r0.id, maxID: r0.id, minTS: r0.ts, maxTS: r0.ts}
		}
		cur := rollupKey{b.projectID, b.service, floorDiv(b.rows[0].ts, microsPerDay)}
		var acc rollup
		flush := func() {
			r := rolls[cur]
			r.count += acc.count
			r.last = max(r.last, acc.last)
			rolls[cur] = r
		}
		for i := range b.rows {
			r := &b.rows[i]
			sp.minID, sp.maxID = min(sp.minID, r.id), max(sp.maxID, r.id)
			sp.minTS, sp.maxTS = min(sp.minTS, r.ts), max(sp.maxTS, r.ts)
			if d := floorDiv(r.ts, microsPerDay); d != cur.day {
				flush()
				cur.day, acc = d, rollup{}
			}
			acc.count++
			acc.last = max(acc.last, r.ts)
		}
		flush()
		spans[b.projectID] = sp
	}
	keys := make([]rollupKey, 0, len(rolls))
	for k := range rolls {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b rollupKey) int {
		return cmp.Or(cmp.Compare(a.project, b.project), cmp.Compare(a.service, b.service), cmp.Compare(a.day, b.day))
	})
	pids := make([]int64, len(keys))
	svcs := make([]string, len(keys))
	days := make([]time.Time, len(keys))
	counts := make([]int64, len(keys))
	lasts := make([]time.Time, len(keys))
	for i, k := range keys {
		r := rolls[k]
		pids[i], svcs[i], counts[i] = k.project, k.service, r.count
		days[i] = time.UnixMicro(k.day * microsPerDay).UTC()
		lasts[i] = time.UnixMicro(r.last).UTC()
	}
	// The tail journal: one row per project (tailnotify).
	projects := make([]int64, 0, len(spans))
	minIDs := make([]int64, 0, len(spans))
	maxIDs := make([]int64, 0, len(spans))
	minTS := make([]time.Time, 0, len(spans))
	maxTS := make([]time.Time, 0, len(spans))
	for p, sp := range spans {
		projects, minIDs, maxIDs = append(projects, p), append(minIDs, sp.minID), append(maxIDs, sp.maxID)
		minTS, maxTS = append(minTS, time.UnixMicro(sp.minTS).UTC()), append(maxTS, time.UnixMicro(sp.maxTS).UTC())
	}
	return []any{pids, svcs, days, counts, lasts, projects, minIDs, maxIDs, minTS, maxTS}
}

// COPY in PostgreSQL's binary format: no text parsing of numbers and
// timestamps on the server, and no per-value encoding plans on ours.
const copySQL = `COPY logs.entries (project_id, ts, id, service_name, level, message, context, received_at) FROM STDIN (FORMAT binary)`

// pgEpochMicros is 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in
// Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

// copyHeader is the signature, no flags and no header extension.
const copyHeader = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// copyReader streams the rows of a group as COPY binary data, encoding them
// a chunk at a time into a reused buffer.
type copyReader struct {
	group   []*batch
	bi, ri  int
	buf     []byte
	off     int
	started bool
	ended   bool
}

func (c *copyReader) reset(group []*batch) {
	c.group, c.bi, c.ri, c.off, c.started, c.ended = group, 0, 0, 0, false, false
	c.buf = c.buf[:0]
}

const copyChunk = 64 << 10

func (c *copyReader) Read(p []byte) (int, error) {
	for c.off == len(c.buf) {
		if c.ended {
			return 0, io.EOF
		}
		c.fill()
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

func (c *copyReader) fill() {
	buf := c.buf[:0]
	c.off = 0
	if !c.started {
		buf = append(buf, copyHeader...)
		c.started = true
	}
	for len(buf) < copyChunk && c.bi < len(c.group) {
		b := c.group[c.bi]
		if !b.write || c.ri >= len(b.rows) {
			c.bi, c.ri = c.bi+1, 0
			continue
		}
		buf = appendCopyRow(buf, b, &b.rows[c.ri])
		c.ri++
	}
	if c.bi == len(c.group) {
		buf = binary.BigEndian.AppendUint16(buf, 0xFFFF) // trailer: -1
		c.ended = true
	}
	c.buf = buf
}

// appendCopyRow appends one tuple in COPY binary format.
func appendCopyRow(buf []byte, b *batch, r *row) []byte {
	be := binary.BigEndian
	buf = be.AppendUint16(buf, 8) // fields
	buf = be.AppendUint32(buf, 8)
	buf = be.AppendUint64(buf, uint64(b.projectID))
	buf = be.AppendUint32(buf, 8)
	buf = be.AppendUint64(buf, uint64(r.ts-pgEpochMicros))
	buf = be.AppendUint32(buf, 8)
	buf = be.AppendUint64(buf, uint64(r.id))
	buf = be.AppendUint32(buf, uint32(len(b.service)))
	buf = append(buf, b.service...)
	buf = be.AppendUint32(buf, 2)
	buf = be.AppendUint16(buf, uint16(r.level))
	buf = be.AppendUint32(buf, uint32(len(r.msg)))
	buf = append(buf, r.msg...)
	buf = be.AppendUint32(buf, uint32(1+r.contextLen()))
	buf = append(buf, 1) // jsonb format version
	buf = r.appendContext(buf, b.arena)
	buf = be.AppendUint32(buf, 8)
	buf = be.AppendUint64(buf, uint64(b.receivedAt-pgEpochMicros))
	return buf
}
