package platform

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// The all-in-one runs the analysis service: every signature of an ingested
// batch gets its pattern within 5 s, and POST /api/logs/analysis answers a
// signed-in user through the gateway, with the service's own errors.
func TestAllInOneMinesPatternsAndAnalyzes(t *testing.T) {
	t.Parallel()
	dsn := cluster.NewDatabase(t)
	p, c := startPlatform(t, dsn, map[string]string{"DEVSMITH_PATTERN_MINE_INTERVAL": "100ms"})
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, healthOf(t, p.GRPCAddr[TargetAnalysis]))
	key, session := c.projectKey("mined")

	st, res, err := c.do("POST", "/api/logs/batch", batch("patterns", 20), key)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, st, "%v", res)
	sentAt := time.Now()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	require.Eventually(t, func() bool {
		var unmined, all int
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pattern_id IS NULL), count(*) FROM logs.pattern_signatures`).Scan(&unmined, &all))
		return all > 0 && unmined == 0
	}, 5*time.Second, 20*time.Millisecond, "the batch's signatures have no pattern within 5 s")
	t.Logf("patterns mined %v after the batch was acknowledged", time.Since(sentAt).Round(time.Millisecond))
	var patterns int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM logs.patterns WHERE merged_into IS NULL`).Scan(&patterns))
	require.Equal(t, 1, patterns, `"patterns #<i>": one pattern`)

	// Through the query service: every entry carries the pattern, the
	// pattern filter returns exactly them, and the pattern is listed.
	st, res, err = c.do("GET", "/api/logs/entries?project=mined&page_size=100", nil, session)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st, "%v", res)
	entries := res["entries"].([]any)
	require.Len(t, entries, 20)
	id := entries[0].(map[string]any)["pattern_id"].(string)
	require.Len(t, id, 16)
	for _, e := range entries {
		require.Equal(t, id, e.(map[string]any)["pattern_id"])
	}
	st, res, err = c.do("GET", "/api/logs/entries?project=mined&pattern="+id, nil, session)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st, "%v", res)
	require.Len(t, res["entries"].([]any), 20)
	st, res, err = c.do("GET", "/api/logs/patterns?project=mined", nil, session)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st, "%v", res)
	listed := res["patterns"].([]any)
	require.Len(t, listed, 1)
	require.Equal(t, id, listed[0].(map[string]any)["id"])
	require.Equal(t, "patterns <id>", listed[0].(map[string]any)["template"])

	st, res, err = c.do("POST", "/api/logs/analysis", map[string]any{"project": []string{"mined"}}, session)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st, "%v", res)
	require.Contains(t, res, "report")
	for _, tc := range []struct {
		body   map[string]any
		bearer string
		status int
	}{
		{map[string]any{}, "", http.StatusUnauthorized},
		{map[string]any{"project": []string{"nope"}}, session, http.StatusNotFound},
		{map[string]any{"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, session, http.StatusBadRequest},
	} {
		st, res, err := c.do("POST", "/api/logs/analysis", tc.body, tc.bearer)
		require.NoError(t, err)
		require.Equal(t, tc.status, st, "%v: %v", tc.body, res)
	}
}
