package ingestion

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/logstore"
)

// Group commit. Handlers validate a batch, queue it and wait (queue.go);
// each of Config.Writers goroutines takes everything queued (up to
// maxGroupRows rows or maxGroupBytes) and writes it in one transaction: the
// API keys verified (keys.go), batch_id rows (dedup.go), ids from reserved
// blocks (ids.go), one binary COPY (copy.go), rollups, the tail journal rows,
// new signatures' and error groups' rows and notification (rollups.go,
// signatures.go, groups.go, logstore.QueueCommitted), the metric rollups
// (metrics.go, logstore.QueueMetricRollups), then commits and
// acknowledges every batch of the group. Batches whose key is refused are answered and the rest written
// again; if the transaction fails otherwise, each batch is retried alone so
// that only the culprit gets the error.

const (
	maxGroupRows  = 20_000
	maxGroupBytes = 32 << 20
	// txTimeout bounds one write transaction (a hung connection must not
	// hold a writer, or shutdown, forever).
	txTimeout = time.Minute
)

// writer is one group-commit loop; its state is reused between groups.
type writer struct {
	s      *Service
	log    *zap.Logger
	ids    []idRange
	group  []*batch
	cr     copyReader
	sigs   knownSignatures
	groups knownGroups
	met    metricRollups
}

func newWriter(s *Service) *writer {
	return &writer{s: s, log: s.log, met: metricRollups{spec: s.lim.metrics}}
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
		b.finish(nil, errWriteFailed(err))
	}
}

// commit writes the batches in one transaction and sets each one's pending
// answer; nothing is acknowledged here. It returns errKeyRefused, having
// written nothing, when a batch's key failed verification (that batch is
// marked refused). Three round trips: (begin, verify the keys, record the
// batch ids, reserve ids), the COPY, and (rollups, the tail journal and
// notification, metric rollups, commit); a fourth only when a batch_id was
// seen before.
func (w *writer) commit(ctx context.Context, group []*batch) (err error) {
	began := time.Now()
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

	// counted: the group's written rows or the entries its sampling rules
	// left out, which the rollups count (and metric rollups summarise).
	nrows, counted := 0, false
	for _, b := range group {
		if b.write {
			nrows += len(b.rows)
			counted = counted || len(b.rows) > 0 || len(b.sampledOut) > 0
		}
	}
	last := &pgx.Batch{}
	metrics := false
	if counted {
		if nrows > 0 {
			w.assignIDs(group)
			w.cr.reset(group)
			if _, err := conn.PgConn().CopyFrom(ctx, &w.cr, copySQL); err != nil {
				return fmt.Errorf("copying %d entries: %w", nrows, err)
			}
		}
		r, j := summarize(group)
		logstore.QueueCommitted(last, &r, &j, w.sigs.collect(group), w.groups.collect(group))
		defer func() {
			w.sigs.done(err == nil)
			w.groups.done(err == nil)
		}()
		if m := w.met.collect(group); m.Len() > 0 {
			logstore.QueueMetricRollups(last, m)
			metrics = true
		}
		defer w.met.done()
	}
	last.Queue("COMMIT")
	br := conn.SendBatch(ctx, last)
	defer func() {
		if cerr := br.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("committing: %w", cerr)
		}
	}()
	if counted {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("updating rollups and the tail journal: %w", err)
		}
	}
	if metrics {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("appending metric rollups: %w", err)
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
	w.s.tel.commitRows.Observe(float64(nrows))
	w.s.tel.commitTime.Observe(time.Since(began).Seconds())
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
			w.ids = append(w.ids, idRange{next: v, end: v + logstore.IDBlock})
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("reserving ids: %w", err)
		}
	}
	return refused, nil
}
