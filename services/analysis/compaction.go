package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/logstore"
)

// Metric rollup compaction (docs/metrics.md). Every CompactInterval, one
// replica per database (the one whose transaction takes the advisory lock
// compactorLock) merges each key's rollup rows of every minute before the
// previous one into one compacted row (logstore.CompactMetricMinutes), a
// chunk of minutes per transaction, and, for the minutes older than
// logstore.MetricCoarseAfter, each key's rows of a ten-minute slot into one
// (logstore.CompactMetricSlots): a 24 h query then reads about keys × (120
// + 132) rows, not keys × 1440. Rows appended meanwhile, even for a minute being compacted,
// are not in the transaction's snapshot and wait for the next pass, so no
// value is lost or counted twice. The pass then deletes the rows of minutes
// before each project's cut-off (the first UTC day its retention keeps,
// Config.Retention for projects without their own), and the error groups'
// hourly counts of those days likewise.

// compactorLock is the key of the transaction advisory lock of a
// compaction pass.
const compactorLock int64 = 0x6d657472_69637321 // "metrics!"

// compactChunk is how many (project, minute) pairs one transaction merges.
const compactChunk = 200

// compactLoop runs a pass every CompactInterval until ctx ends.
func (s *Service) compactLoop(ctx context.Context) {
	for wait(ctx, s.cfg.CompactInterval) {
		if _, _, err := s.compactMetrics(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("metric rollup compaction failed; retrying at the next pass", zap.Error(err))
		}
	}
}

// compactMetrics runs one pass and returns the rows merged and written; 0,
// 0 when another replica holds the lock.
func (s *Service) compactMetrics(ctx context.Context) (in, out int, err error) {
	now := s.now().UTC()
	before := now.Truncate(time.Minute).Add(-time.Minute)
	// Minutes before coarse are merged into slots (a slot boundary).
	coarse := now.Add(-logstore.MetricCoarseAfter).Truncate(logstore.MetricCoarseWidth)
	for _, stage := range []func(pgx.Tx) (int, int, error){
		func(tx pgx.Tx) (int, int, error) {
			return logstore.CompactMetricMinutes(ctx, tx, coarse, before, compactChunk)
		},
		func(tx pgx.Tx) (int, int, error) { return logstore.CompactMetricSlots(ctx, tx, coarse, compactChunk) },
	} {
		for {
			n, m, locked, err := s.compactChunk(ctx, stage)
			if err != nil || !locked {
				return in, out, err
			}
			in, out = in+n, out+m
			if n == 0 {
				break
			}
		}
	}
	return in, out, s.expireMetrics(ctx)
}

// compactChunk runs one chunk of a stage in one transaction, under the
// lock.
func (s *Service) compactChunk(ctx context.Context, stage func(pgx.Tx) (int, int, error)) (in, out int, locked bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, compactorLock).Scan(&locked); err != nil {
			return fmt.Errorf("trying the compactor's lock: %w", err)
		}
		if !locked {
			return nil
		}
		in, out, err = stage(tx)
		return err
	})
	return in, out, locked, err
}

// expireMetrics deletes the metric rollups and the error groups' hourly
// counts of the days before each project's cut-off (its retention, else
// the platform's default: docs/retention.md).
func (s *Service) expireMetrics(ctx context.Context) error {
	now := s.now()
	if _, err := logstore.DeleteMetricRollupsExpired(ctx, s.pool, now, s.cfg.Retention); err != nil {
		return err
	}
	_, err := logstore.DeleteErrorHoursExpired(ctx, s.pool, now, s.cfg.Retention)
	return err
}
