package analysis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/services/analysis/patterns"
)

// Mining (README.md): one replica per database mines, the one that holds
// the session advisory lock minerLock on its own connection. Everything
// the miner reads and writes goes through that connection, so a write is
// made under the lock or not at all (a lost connection releases the lock
// and fails the write). The leader keeps one patterns.Miner per project in
// memory, equal to what the database holds: on becoming leader it replays
// each project's mined signature rows in mined_seq order (the miner is
// deterministic, so it rebuilds the same patterns and ids), and then each
// chunk of new rows is mined and written in one transaction. Any failure
// drops the connection, the lock and the in-memory miners; the next leader
// (this replica or another) replays again.

// minerLock is the key of the advisory lock held by the database's miner.
const minerLock int64 = 0x64657673_6d697468 // "devsmith"

// minPass is the least time between two mining passes woken by commit
// notifications: a busy ingestion commits hundreds of times a second, and
// each notification need not cost a query.
const minPass = 100 * time.Millisecond

// mine runs the leader election and, while leader, the mining loop, until
// ctx ends.
func (s *Service) mine(ctx context.Context) {
	for {
		err := s.lead(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("pattern miner stopped; retrying", zap.Error(err), zap.Duration("retry", s.cfg.LeaderRetry))
		if !wait(ctx, s.cfg.LeaderRetry) {
			return
		}
	}
}

// wait waits d or until ctx ends, and reports whether ctx is still alive.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// lead connects, takes the miner's lock when it is free (trying every
// LeaderRetry), and mines while it holds it. It returns when ctx ends (nil)
// or the connection or a write fails.
func (s *Service) lead(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connecting the pattern miner: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	for {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, minerLock).Scan(&got); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("trying the pattern miner's lock: %w", err)
		}
		if got {
			break
		}
		if !wait(ctx, s.cfg.LeaderRetry) {
			return nil
		}
	}
	s.leading.Store(true)
	defer s.leading.Store(false)

	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{logstore.JournalChannel}.Sanitize()); err != nil {
		return unlessDone(ctx, fmt.Errorf("starting LISTEN: %w", err))
	}
	started := time.Now()
	st := newMinerState(patterns.Config{MaxPatterns: s.cfg.MaxPatterns})
	n, err := st.replay(ctx, conn, s.log)
	if err != nil {
		return unlessDone(ctx, err)
	}
	s.log.Info("pattern miner leading", zap.Int("replayed_signatures", n), zap.Int("projects", len(st.projects)),
		zap.Duration("replay", time.Since(started)))
	var reg regressions
	for {
		passStart := time.Now()
		n, err := st.mineChunk(ctx, conn, s.cfg.MineBatch, s.log)
		if err != nil {
			return unlessDone(ctx, err)
		}
		if err := reg.check(ctx, conn, s.log); err != nil {
			return unlessDone(ctx, err)
		}
		if n == s.cfg.MineBatch {
			continue // more are waiting
		}
		if err := waitForCommits(ctx, conn, min(s.cfg.MineInterval, regressionEvery)); err != nil {
			return unlessDone(ctx, err)
		}
		if !wait(ctx, minPass-time.Since(passStart)) {
			return nil
		}
		drainNotifications(conn)
	}
}

// unlessDone is err, or nil once ctx has ended (the error is then the
// stop itself).
func unlessDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// waitForCommits waits for a commit notification, at most d.
func waitForCommits(ctx context.Context, conn *pgx.Conn, d time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := conn.WaitForNotification(wctx)
	if err != nil && ctx.Err() == nil && (pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)) {
		return nil // the interval passed: poll
	}
	if err != nil {
		return fmt.Errorf("waiting for commit notifications: %w", err)
	}
	return nil
}

// drainNotifications drops the notifications already received: the pass
// about to run sees every commit they announce.
func drainNotifications(conn *pgx.Conn) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		if n, _ := conn.WaitForNotification(done); n == nil {
			return
		}
	}
}

// projectMiner is the leader's state of one project.
type projectMiner struct {
	m       *patterns.Miner
	nextSeq int64 // mined_seq of the next row mined
	// founded holds the first_seen of the patterns founded in the chunk
	// being mined (the founding row's), for their logs.patterns rows.
	founded map[patterns.ID]time.Time
	// overflowAt is the first_seen of the chunk's first row mined into the
	// overflow pattern (zero if none).
	overflowAt time.Time
}

// minerState is the leader's in-memory miners, equal to the database's
// mined rows.
type minerState struct {
	cfg      patterns.Config
	projects map[int64]*projectMiner
}

func newMinerState(cfg patterns.Config) *minerState {
	return &minerState{cfg: cfg, projects: map[int64]*projectMiner{}}
}

func (st *minerState) project(id int64) *projectMiner {
	pm := st.projects[id]
	if pm == nil {
		pm = &projectMiner{m: patterns.New(st.cfg), founded: map[patterns.ID]time.Time{}}
		pm.m.TrackChanges()
		st.projects[id] = pm
	}
	return pm
}

// replaySQL reads every mined row, each project's in the order it was
// mined.
const replaySQL = `SELECT project_id, mined_seq, message, pattern_id FROM logs.pattern_signatures
WHERE pattern_id IS NOT NULL ORDER BY project_id, mined_seq`

// replay rebuilds the miners from the mined rows and returns how many it
// read. It checks that the rebuilt live patterns are those the rows point
// at; they differ only when the miner's configuration changed since the
// rows were mined (the rows then keep their patterns, and new rows are
// mined against the rebuilt ones).
func (st *minerState) replay(ctx context.Context, conn *pgx.Conn, log *zap.Logger) (int, error) {
	rows, err := conn.Query(ctx, replaySQL)
	if err != nil {
		return 0, fmt.Errorf("replaying the mined signatures: %w", err)
	}
	stored := map[int64]map[patterns.ID]struct{}{}
	var project, seq, pattern int64
	var msg string
	n := 0
	_, err = pgx.ForEachRow(rows, []any{&project, &seq, &msg, &pattern}, func() error {
		pm := st.project(project)
		pm.m.Add(msg)
		pm.nextSeq = seq + 1
		ids := stored[project]
		if ids == nil {
			ids = map[patterns.ID]struct{}{}
			stored[project] = ids
		}
		ids[patterns.ID(uint64(pattern))] = struct{}{}
		n++
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("replaying the mined signatures: %w", err)
	}
	for id, pm := range st.projects {
		pm.m.Changes() // what the database holds already
		live := 0
		same := true
		for _, p := range pm.m.Patterns() {
			live++
			if _, ok := stored[id][p.ID]; !ok {
				same = false
			}
		}
		if !same || live != len(stored[id]) {
			log.Warn("replayed patterns differ from the stored ones (the miner's configuration changed?)",
				zap.Int64("project_id", id), zap.Int("replayed", live), zap.Int("stored", len(stored[id])))
		}
	}
	return n, nil
}

// unminedSQL takes the oldest rows not mined yet (the partial index on
// created_at WHERE pattern_id IS NULL).
const unminedSQL = `SELECT project_id, signature, message, first_seen FROM logs.pattern_signatures
WHERE pattern_id IS NULL ORDER BY created_at, project_id, signature LIMIT $1`

// Statements of a chunk's transaction. Each takes parallel arrays.
const (
	// setMinedSQL sets the new rows' patterns. A row someone else mined
	// meanwhile is not touched, and the count tells (which the advisory
	// lock rules out).
	setMinedSQL = `UPDATE logs.pattern_signatures s SET pattern_id = u.pid, mined_seq = u.seq
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(p, g, pid, seq)
WHERE s.project_id = u.p AND s.signature = u.g AND s.pattern_id IS NULL`
	// repointSQL moves the rows of patterns merged away to their live
	// pattern.
	repointSQL = `UPDATE logs.pattern_signatures s SET pattern_id = u.t
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(p, f, t)
WHERE s.project_id = u.p AND s.pattern_id = u.f`
	// upsertLiveSQL writes the created and changed live patterns.
	upsertLiveSQL = `INSERT INTO logs.patterns AS p (project_id, id, template, merged_into, first_seen)
SELECT u.p, u.i, u.t, NULL, u.f FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[]) AS u(p, i, t, f)
ON CONFLICT (project_id, id) DO UPDATE SET template = EXCLUDED.template, merged_into = NULL, updated_at = now()`
	// mergedSQL marks the patterns merged away as merged into their live
	// pattern. A pattern founded and merged away within the chunk gets its
	// row too (its id, which entries showed while unmined, still
	// resolves), with the live one's template.
	mergedSQL = `INSERT INTO logs.patterns AS p (project_id, id, template, merged_into, first_seen)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $4::text[], $3::bigint[], $5::timestamptz[])
ON CONFLICT (project_id, id) DO UPDATE SET merged_into = EXCLUDED.merged_into, updated_at = now()`
	// mergedEarlierSQL moves the patterns merged before into a pattern
	// merged away now to its live pattern.
	mergedEarlierSQL = `UPDATE logs.patterns p SET merged_into = u.t, updated_at = now()
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(p, f, t)
WHERE p.project_id = u.p AND p.merged_into = u.f`
	// overflowSQL writes each project's overflow pattern row once.
	overflowSQL = `INSERT INTO logs.patterns (project_id, id, template, first_seen)
SELECT u.p, 0, $3, u.f FROM unnest($1::bigint[], $2::timestamptz[]) AS u(p, f)
ON CONFLICT (project_id, id) DO NOTHING`
)

// chunkWrite is one chunk's statements' arguments.
type chunkWrite struct {
	rowP, rowG, rowPID, rowSeq []int64
	mergeP, mergeF, mergeT     []int64
	mergeTmpl                  []string
	mergeFS                    []time.Time
	liveP, liveID              []int64
	liveTmpl                   []string
	liveFS                     []time.Time
	overP                      []int64
	overFS                     []time.Time
}

// mineChunk mines up to limit unmined rows and writes the outcome in one
// transaction; it returns how many rows it mined. On an error the
// in-memory miners are ahead of the database: the caller must drop them.
func (st *minerState) mineChunk(ctx context.Context, conn *pgx.Conn, limit int, log *zap.Logger) (int, error) {
	rows, err := conn.Query(ctx, unminedSQL, limit)
	if err != nil {
		return 0, fmt.Errorf("reading unmined signatures: %w", err)
	}
	type mined struct {
		project int64
		sig     int64
		id      patterns.ID
		seq     int64
	}
	var batch []mined
	touched := map[int64]*projectMiner{}
	var order []int64 // touched projects, in first-touch order
	var project, sig int64
	var msg string
	var firstSeen time.Time
	_, err = pgx.ForEachRow(rows, []any{&project, &sig, &msg, &firstSeen}, func() error {
		pm := st.project(project)
		if _, ok := touched[project]; !ok {
			touched[project] = pm
			order = append(order, project)
		}
		id, created := pm.m.Mine(msg)
		if created {
			pm.founded[id] = firstSeen
		}
		if id == patterns.OverflowID && pm.overflowAt.IsZero() {
			pm.overflowAt = firstSeen
		}
		batch = append(batch, mined{project: project, sig: sig, id: id, seq: pm.nextSeq})
		pm.nextSeq++
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading unmined signatures: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}

	var w chunkWrite
	merged := map[int64]map[patterns.ID]patterns.ID{}
	now := time.Now()
	for _, p := range order {
		pm := touched[p]
		ch := pm.m.Changes()
		merged[p] = ch.Merged
		templates := make(map[patterns.ID]string, len(ch.Patterns))
		for _, pt := range ch.Patterns {
			templates[pt.ID] = pt.Template
			fs, ok := pm.founded[pt.ID]
			if !ok {
				fs = now // the row exists: its first_seen is kept
			}
			w.liveP, w.liveID, w.liveTmpl, w.liveFS = append(w.liveP, p), append(w.liveID, int64(pt.ID)), append(w.liveTmpl, pt.Template), append(w.liveFS, fs)
		}
		for from, to := range ch.Merged {
			fs, ok := pm.founded[from]
			if !ok {
				fs = now // the row exists: its first_seen is kept
			}
			w.mergeP, w.mergeF, w.mergeT = append(w.mergeP, p), append(w.mergeF, int64(from)), append(w.mergeT, int64(to))
			w.mergeTmpl, w.mergeFS = append(w.mergeTmpl, templates[to]), append(w.mergeFS, fs)
		}
		if !pm.overflowAt.IsZero() {
			w.overP, w.overFS = append(w.overP, p), append(w.overFS, pm.overflowAt)
		}
		clear(pm.founded)
		pm.overflowAt = time.Time{}
	}
	for _, r := range batch {
		id := r.id
		if to, ok := merged[r.project][id]; ok {
			id = to
		}
		w.rowP, w.rowG, w.rowPID, w.rowSeq = append(w.rowP, r.project), append(w.rowG, r.sig), append(w.rowPID, int64(id)), append(w.rowSeq, r.seq)
	}
	if err := w.write(ctx, conn); err != nil {
		return 0, err
	}
	log.Debug("mined signatures", zap.Int("signatures", len(batch)), zap.Int("projects", len(order)),
		zap.Int("patterns_written", len(w.liveID)), zap.Int("merges", len(w.mergeF)), zap.Int("overflow_projects", len(w.overP)))
	return len(batch), nil
}

// write runs a chunk's statements in one transaction.
func (w *chunkWrite) write(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("writing mined patterns: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	tag, err := tx.Exec(ctx, setMinedSQL, w.rowP, w.rowG, w.rowPID, w.rowSeq)
	if err != nil {
		return fmt.Errorf("writing mined signatures: %w", err)
	}
	if n := tag.RowsAffected(); n != int64(len(w.rowG)) {
		return fmt.Errorf("writing mined signatures: %d of %d rows were still unmined: another miner runs", n, len(w.rowG))
	}
	if len(w.mergeF) > 0 {
		if _, err := tx.Exec(ctx, repointSQL, w.mergeP, w.mergeF, w.mergeT); err != nil {
			return fmt.Errorf("re-pointing the signatures of merged patterns: %w", err)
		}
	}
	if len(w.liveID) > 0 {
		if _, err := tx.Exec(ctx, upsertLiveSQL, w.liveP, w.liveID, w.liveTmpl, w.liveFS); err != nil {
			return fmt.Errorf("writing patterns: %w", err)
		}
	}
	if len(w.mergeF) > 0 {
		if _, err := tx.Exec(ctx, mergedEarlierSQL, w.mergeP, w.mergeF, w.mergeT); err != nil {
			return fmt.Errorf("writing merged patterns: %w", err)
		}
		if _, err := tx.Exec(ctx, mergedSQL, w.mergeP, w.mergeF, w.mergeT, w.mergeTmpl, w.mergeFS); err != nil {
			return fmt.Errorf("writing merged patterns: %w", err)
		}
	}
	if len(w.overP) > 0 {
		if _, err := tx.Exec(ctx, overflowSQL, w.overP, w.overFS, logstore.OverflowTemplate); err != nil {
			return fmt.Errorf("writing overflow patterns: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("committing mined patterns: %w", err)
	}
	return nil
}
