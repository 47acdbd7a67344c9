package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/signature"
)

// CeilingConfig is the raw-COPY measurement: pgx CopyFrom of the generated
// rows into a scratch table with the columns, primary key and indexes of
// logs.entries, range-partitioned like it (one partition holds the run), one transaction (commit) per RowsPerTx rows, from Conns
// connections at once.
type CeilingConfig struct {
	Conns     int
	RowsPerTx int
	Duration  time.Duration
	ProjectID int64
}

// CeilingResult is what the raw COPY achieved.
type CeilingResult struct {
	Rows    int64
	Elapsed time.Duration
}

// RowsPerSec is the ceiling.
func (c *CeilingResult) RowsPerSec() float64 { return float64(c.Rows) / c.Elapsed.Seconds() }

const ceilingTable = "loadgen_ceiling"

// Ceiling measures raw COPY into loadgen.loadgen_ceiling (made from
// logs.entries' definition, dropped afterwards) with the rows of batches.
func Ceiling(ctx context.Context, pool *pgxpool.Pool, batches []*Batch, cfg CeilingConfig) (*CeilingResult, error) {
	if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS loadgen;
		DROP TABLE IF EXISTS loadgen.`+ceilingTable+`;
		CREATE TABLE loadgen.`+ceilingTable+` (LIKE logs.entries INCLUDING DEFAULTS INCLUDING INDEXES) PARTITION BY RANGE (ts);
		CREATE TABLE loadgen.`+ceilingTable+`_now PARTITION OF loadgen.`+ceilingTable+`
			FOR VALUES FROM (now() - interval '1 day') TO (now() + interval '1 day')`); err != nil {
		return nil, fmt.Errorf("creating the scratch table: %w", err)
	}
	defer pool.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS loadgen."+ceilingTable) //nolint:errcheck
	var check int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'loadgen' AND tablename = $1`, ceilingTable).Scan(&check); err != nil {
		return nil, fmt.Errorf("checking the scratch table: %w", err)
	}
	var want int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'logs' AND tablename = 'entries'`).Scan(&want); err != nil {
		return nil, fmt.Errorf("checking logs.entries: %w", err)
	}
	if check != want {
		return nil, fmt.Errorf("the scratch table has %d indexes, logs.entries %d", check, want)
	}

	// The rows, as pgx values, built before the clock starts.
	var rows [][]any
	recv := time.Now()
	var sigs signature.Hasher
	var groups seedGroups
	for _, b := range batches {
		for _, e := range b.Entries {
			sig, level := sigs.Of(e.Message), levelNumber(e.Level)
			fp := groups.add(cfg.ProjectID, e.Service, level, e.Message, e.Context, sig, e.TS)
			rows = append(rows, []any{cfg.ProjectID, e.TS, int64(0), e.Service, level, e.Message, e.Context, recv, sig, fp, int16(0), nil})
		}
	}
	cols := logstore.ColumnNames()
	var nextID, total atomic.Int64
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for w := range cfg.Conns {
		wg.Go(func() {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				errOnce.Do(func() { firstErr = err })
				return
			}
			defer conn.Release()
			off := (w * len(rows) / cfg.Conns)
			chunk := make([][]any, cfg.RowsPerTx)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				base := nextID.Add(int64(cfg.RowsPerTx)) - int64(cfg.RowsPerTx)
				for i := range chunk {
					r := rows[(off+i)%len(rows)]
					c := make([]any, len(r))
					copy(c, r)
					c[2] = base + int64(i)
					chunk[i] = c
				}
				off = (off + cfg.RowsPerTx) % len(rows)
				err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					_, err := tx.CopyFrom(ctx, pgx.Identifier{"loadgen", ceilingTable}, cols, pgx.CopyFromRows(chunk))
					return err
				})
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				total.Add(int64(cfg.RowsPerTx))
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("copying into the scratch table: %w", firstErr)
	}
	return &CeilingResult{Rows: total.Load(), Elapsed: time.Since(start)}, nil
}

// levelNumber is the stored level of a generated level name (INFO for one
// it does not know).
func levelNumber(l string) logstore.Level {
	if n, ok := logstore.ParseLevel(l); ok {
		return n
	}
	return logstore.LevelInfo
}
