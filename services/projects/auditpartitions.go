package projects

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/devsmith/logs/internal/logstore/partition"
)

// The monthly partitions of logs.audit_events (migration 0010): named
// audit_events_YYYYMM for the UTC month they hold, created for this month
// and auditMonthsAhead after it, dropped whole once the month ended more
// than AuditRetention ago. Dropping a partition is the only way events go:
// the table's triggers refuse UPDATE, DELETE and TRUNCATE.
const (
	auditPartitionPrefix = "audit_events_"
	auditMonthsAhead     = 2
	// auditPartitionLockKey serialises the maintenance across replicas.
	auditPartitionLockKey = 7_411_200_212
)

// month truncates t to the start of its UTC month.
func month(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

func auditPartitionName(m time.Time) string { return auditPartitionPrefix + m.Format("200601") }

// maintainAuditPartitions creates the partitions of this month and the
// next auditMonthsAhead, and drops those whose month ended at or before
// now - retention. It returns the partitions dropped.
func maintainAuditPartitions(ctx context.Context, pool *pgxpool.Pool, now time.Time, retention time.Duration) ([]string, error) {
	var dropped []string
	err := partition.Locked(ctx, pool, auditPartitionLockKey, func(conn *pgxpool.Conn) error {
		for i := range auditMonthsAhead + 1 {
			m := month(now).AddDate(0, i, 0)
			sql := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS logs.%s PARTITION OF logs.audit_events FOR VALUES FROM ('%s') TO ('%s')`,
				pgx.Identifier{auditPartitionName(m)}.Sanitize(), m.Format(time.RFC3339), m.AddDate(0, 1, 0).Format(time.RFC3339))
			if _, err := conn.Exec(ctx, sql); err != nil {
				return fmt.Errorf("creating audit partition %s: %w", auditPartitionName(m), err)
			}
		}
		names, err := partition.Children(ctx, conn, "audit_events")
		if err != nil {
			return err
		}
		cutoff := now.Add(-retention)
		for _, n := range names {
			m, err := time.Parse("200601", strings.TrimPrefix(n, auditPartitionPrefix))
			if err != nil || m.AddDate(0, 1, 0).After(cutoff) {
				continue // not ours, or holds events still kept
			}
			if _, err := conn.Exec(ctx, "DROP TABLE logs."+pgx.Identifier{n}.Sanitize()); err != nil {
				return fmt.Errorf("dropping audit partition %s: %w", n, err)
			}
			dropped = append(dropped, n)
		}
		return nil
	})
	return dropped, err
}
