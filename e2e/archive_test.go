package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore/partition"
)

// TestScheduledArchive: a platform with DEVSMITH_ARCHIVE_DIR archives an
// expired day partition before dropping it, into
// <dir>/<slug>/<day>.r0.ndjson.gz, and the file holds exactly what
// `devsmith logs export` wrote of that project and day, line for line (the
// same format, read by the same reader).
func TestScheduledArchive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := cluster.NewDatabase(t)
	pool := openDB(t, dsn)

	// First a platform with the default retention (30d): the day five days
	// ago is kept, and exported.
	pl, first := startOnDatabase(t, dsn)
	admin := pl.login(t, adminEmail, adminPassword)
	pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "arc", "slug": "arc"}, bearer(admin)).expect(t, 201)
	day := partition.Day(time.Now()).AddDate(0, 0, -5)
	require.NoError(t, partition.Create(ctx, pool, day))
	// 1,200 entries, three per second (ties broken by id), every level,
	// contexts with numbers float64 cannot hold, some errors.
	_, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, context, error_fp)
		SELECT p.id, $1::timestamptz + (i / 3) * interval '1 second', 'svc-' || (i % 2), 1 + i % 6, 'archived entry ' || i,
			('{"i": ' || i || ', "big": 9007199254740993, "s": "caf\u00e9"}')::jsonb, 0
		FROM logs.projects p, generate_series(1, 1200) i WHERE p.slug = 'arc'`, day.Add(time.Hour))
	require.NoError(t, err)

	c := newCLI(t, pl.baseURL)
	c.mustRun(t, adminPassword+"\n", "login", "--email", adminEmail)
	exported := filepath.Join(t.TempDir(), "arc.ndjson.gz")
	c.mustRun(t, "", "logs", "export", "--project", "arc", "--since", day.Format(time.RFC3339),
		"--until", day.AddDate(0, 0, 1).Format(time.RFC3339), "--output-file", exported)
	first.stop(t)

	// Then with a retention of 2 days, a short maintenance interval and an
	// archive folder: the day is archived, then dropped.
	dir := filepath.Join(t.TempDir(), "archive")
	pl, _ = startOnDatabase(t, dsn, "DEVSMITH_RETENTION=2d", "DEVSMITH_MAINTENANCE_INTERVAL=1s", "DEVSMITH_ARCHIVE_DIR="+dir)
	file := filepath.Join(dir, "arc", day.Format(time.DateOnly)+".r0.ndjson.gz")
	leaf := partition.LeafName(day, partition.DefaultClass)
	require.Eventually(t, func() bool {
		var gone bool
		require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass('logs.'||$1) IS NULL`, leaf).Scan(&gone))
		_, err := os.Stat(file)
		return gone && err == nil
	}, 60*time.Second, 50*time.Millisecond, "the archive file is written and the partition dropped")

	want, err := os.ReadFile(exported)
	require.NoError(t, err)
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	wantLines, gotLines := exportLines(t, want), exportLines(t, got)
	require.Len(t, wantLines, 1200)
	require.Equal(t, wantLines, gotLines)
	// The context is written byte for byte as export writes it.
	require.Equal(t, json.Number("9007199254740993"), gotLines[0]["context"].(map[string]any)["big"])

	res, err := http.Get(pl.baseURL + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(body), "devsmith_archive_entries_total 1200\n")
	require.False(t, strings.Contains(string(body), `devsmith_archive_partitions_total{outcome="failed"}`), "no archive failed")
}
