// Package partition keeps the daily partitions of logs.entries: created
// ahead of the data, dropped whole once past retention (never row by row).
// Its lock and listing (Locked, Children) serve other partitioned tables'
// maintenance too (the projects service's monthly logs.audit_events).
package partition

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey serialises maintenance across replicas.
const lockKey = 7_411_200_119

// Ahead is how many days past today partitions exist.
const Ahead = 2

// Name is the partition that holds entries of the UTC day of t.
func Name(t time.Time) string { return "entries_" + t.UTC().Format("20060102") }

// Day truncates t to its UTC day.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Ensure creates the partitions for every day from the retention cut-off
// (now - retention) to Ahead days after now.
func Ensure(ctx context.Context, pool *pgxpool.Pool, now time.Time, retention time.Duration) error {
	return withLock(ctx, pool, func(conn *pgxpool.Conn) error {
		for d := Day(now.Add(-retention)); !d.After(Day(now).AddDate(0, 0, Ahead)); d = d.AddDate(0, 0, 1) {
			if err := Create(ctx, conn, d); err != nil {
				return err
			}
		}
		return nil
	})
}

// Create makes the partition for the UTC day d if it does not exist.
func Create(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, d time.Time) error {
	d = Day(d)
	sql := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS logs.%s PARTITION OF logs.entries FOR VALUES FROM ('%s') TO ('%s')`,
		Name(d), d.Format(time.RFC3339), d.AddDate(0, 0, 1).Format(time.RFC3339))
	if _, err := db.Exec(ctx, sql); err != nil {
		return fmt.Errorf("creating partition %s: %w", Name(d), err)
	}
	return nil
}

// DropExpired drops every partition whose whole day ends at or before the
// retention cut-off, with the rollup rows of those days, and returns the
// names dropped.
func DropExpired(ctx context.Context, pool *pgxpool.Pool, now time.Time, retention time.Duration) ([]string, error) {
	cutoff := Day(now.Add(-retention)) // partitions of days before this one are wholly expired
	var dropped []string
	err := withLock(ctx, pool, func(conn *pgxpool.Conn) error {
		names, err := List(ctx, conn)
		if err != nil {
			return err
		}
		for _, n := range names {
			day, err := time.Parse("20060102", strings.TrimPrefix(n, "entries_"))
			if err != nil || !day.Before(cutoff) {
				continue
			}
			err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "DROP TABLE logs."+pgx.Identifier{n}.Sanitize()); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, "DELETE FROM logs.entry_rollups WHERE day = $1", day)
				return err
			})
			if err != nil {
				return fmt.Errorf("dropping partition %s: %w", n, err)
			}
			dropped = append(dropped, n)
		}
		return nil
	})
	return dropped, err
}

// List returns the names of the partitions of logs.entries, oldest first.
func List(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]string, error) {
	return Children(ctx, db, "entries")
}

// Children returns the names of the partitions of the partitioned table
// logs.<table>, in name order.
func Children(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, table string) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_class p ON p.oid = i.inhparent
		JOIN pg_namespace n ON n.oid = p.relnamespace
		WHERE n.nspname = 'logs' AND p.relname = $1 ORDER BY c.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("listing partitions of %s: %w", table, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing partitions of %s: %w", table, err)
	}
	return names, nil
}

func withLock(ctx context.Context, pool *pgxpool.Pool, fn func(*pgxpool.Conn) error) error {
	return Locked(ctx, pool, lockKey, fn)
}

// Locked runs fn on a connection of pool that holds the session advisory
// lock key for as long as fn runs, so that replicas maintaining the same
// partitions take turns.
func Locked(ctx context.Context, pool *pgxpool.Pool, key int64, fn func(*pgxpool.Conn) error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring connection for partition maintenance: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("taking partition lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) //nolint:errcheck
	return fn(conn)
}
