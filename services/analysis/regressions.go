package analysis

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/logstore"
)

// Regressions (docs/errors.md): the miner's leader also reopens every
// resolved error group that has an entry after it was resolved
// (logstore.ReopenRegressions), on its own connection and so under the
// miner's lock: one replica does it. It runs in the mining loop, woken by
// the same commit notifications, at most once per regressionEvery: a
// regression shows within about a second of its entry's commit.

// regressionEvery is the least time between two regression checks. Each
// check probes the error index once per resolved group.
const regressionEvery = time.Second

// regressions is the leader's regression check state.
type regressions struct {
	last time.Time // when the last check ran
}

// check reopens the regressed groups when regressionEvery has passed since
// the last check.
func (r *regressions) check(ctx context.Context, conn *pgx.Conn, log *zap.Logger) error {
	now := time.Now()
	if now.Sub(r.last) < regressionEvery {
		return nil
	}
	r.last = now
	ids, err := logstore.ReopenRegressions(ctx, conn)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		log.Info("reopened regressed error groups", zap.Int64s("error_group_ids", ids))
	}
	return nil
}
