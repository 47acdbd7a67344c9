package e2e

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAnalysisCancelledByTheClientEndsItsSQL: a browser that goes away
// mid-analysis (the dashboard's Cancel) ends the analysis's SQL in
// PostgreSQL, through the gateway, the gRPC call and pgx: with the entries
// locked, the analysis's statement waits in the database; once the HTTP
// client cancels, that statement is gone while the lock is still held.
func TestAnalysisCancelledByTheClientEndsItsSQL(t *testing.T) {
	pl := startAllInOne(t)
	admin := pl.login(t, adminEmail, adminPassword)
	key := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Cancel", "slug": "cancel"}, bearer(admin)).
		expect(t, 201).JSON["api_key"].(string)
	pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "logs": []map[string]any{{"message": "hello 1"}, {"message": "hello 2"}}}, bearer(key)).expect(t, 201)

	ctx := context.Background()
	tx, err := pl.db.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `LOCK TABLE logs.entries IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)

	waiting := func() int64 {
		var n int64
		// The analysis service's connections only: another service's
		// background work (partition upkeep, rollups) may wait on the
		// lock too, for as long as the test holds it.
		require.NoError(t, pl.db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query ILIKE '%logs.entries%' AND application_name = 'devsmith-analysis'`).Scan(&n))
		return n
	}
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, "POST", pl.baseURL+"/api/logs/analysis", bytes.NewReader([]byte(`{"project":["cancel"]}`)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return waiting() > 0 }, 30*time.Second, 20*time.Millisecond,
		"the analysis never reached the database")

	cancel()
	require.True(t, errors.Is(<-done, context.Canceled), "the client's request ends cancelled")
	require.Eventually(t, func() bool { return waiting() == 0 }, 10*time.Second, 20*time.Millisecond,
		"the analysis's statement still waits in the database after the client went away")
}
