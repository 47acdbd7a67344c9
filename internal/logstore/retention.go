package logstore

import (
	"context"
	"fmt"
	"time"

	"github.com/devsmith/logs/internal/logstore/partition"
)

// deleteExpired deletes the rows of table whose column (a timestamptz)
// falls before their project's cut-off: the UTC midnight of now minus the
// project's retention (logs.projects.retention_days, else
// defaultRetention), the day whose entries' leaf is the oldest the project
// keeps (partition.DropExpired). It returns how many rows.
func deleteExpired(ctx context.Context, db Querier, table, column string, now time.Time, defaultRetention time.Duration) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM `+table+` t USING (
			SELECT id, `+partition.CutoffSQL("retention_days", "$1", "$2")+` AS cutoff FROM logs.projects) p
		WHERE t.project_id = p.id AND t.`+column+` < p.cutoff`, now, defaultRetention.Microseconds())
	if err != nil {
		return 0, fmt.Errorf("deleting the rows of %s past their project's retention: %w", table, err)
	}
	return tag.RowsAffected(), nil
}
