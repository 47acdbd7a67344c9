package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSampling: a project with the rule {service "", debug 0.1, info 0.1}
// (inserted into logs.sampling_rules: the PATCH that sets it belongs to the
// projects service) receives 2,000 INFO and 50 ERROR entries over REST.
// The answers count what was left out; the rollups too; the stats count the
// stored entries exactly and estimate the sent ones: ERROR exactly, the
// total within 4.5 standard deviations of 2,050 (each INFO kept with
// probability 0.1 stands for 10: sd = 10·√(2000·0.1·0.9) ≈ 134); exports
// carry each kept entry's sample_rate.
func TestSampling(t *testing.T) {
	t.Parallel()
	dsn := cluster.NewDatabase(t)
	pl, _ := startOnDatabase(t, dsn)
	pl.db = openDB(t, dsn)
	admin := pl.login(t, adminEmail, adminPassword)
	key := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Sampled", "slug": "smp"}, bearer(admin)).
		expect(t, 201).JSON["api_key"].(string)
	ctx := context.Background()
	_, err := pl.db.Exec(ctx, `INSERT INTO logs.sampling_rules (project_id, service_name, debug_rate, info_rate)
		SELECT id, '', 0.1, 0.1 FROM logs.projects WHERE slug = 'smp'`)
	require.NoError(t, err)

	var stored, sampledOut int64
	for b := 0; b < 5; b++ {
		var logs []map[string]any
		for i := 0; i < 400; i++ {
			logs = append(logs, map[string]any{"level": "info", "message": fmt.Sprintf("GET /items/%d ok", b*400+i)})
		}
		for i := 0; i < 10; i++ {
			logs = append(logs, map[string]any{"level": "error", "message": "payment failed"})
		}
		r := pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "api", "batch_id": fmt.Sprint("smp-", b), "logs": logs}, bearer(key)).expect(t, 201).JSON
		n, out := num(t, r["count"]), num(t, r["sampled_out"])
		require.EqualValues(t, 410, n+out)
		require.Equal(t, fmt.Sprintf("Successfully ingested %d logs (%d sampled out)", n, out), r["message"])
		stored += n
		sampledOut += out
	}
	kept := stored - 50
	require.Positive(t, kept)

	st := pl.do(t, "GET", "/api/logs/stats?project=smp", nil, bearer(admin)).expect(t, 200).JSON
	require.Equal(t, true, st["sampled"])
	require.EqualValues(t, stored, num(t, st["total"]))
	est := num(t, st["estimated_total"])
	require.InDelta(t, 2050, float64(est), 4.5*10*math.Sqrt(2000*0.1*0.9), "estimated %d from %d kept", est, kept)
	require.EqualValues(t, 50+10*kept, est, "each kept INFO stands for 10")
	byLevel := st["estimated_by_level"].(map[string]any)
	require.EqualValues(t, 50, num(t, byLevel["ERROR"]), "ERROR is never sampled: exact")
	require.EqualValues(t, 50, num(t, st["by_level"].(map[string]any)["ERROR"]))

	var rolled, left int64
	require.NoError(t, pl.db.QueryRow(ctx, `SELECT sum(count), sum(sampled_out) FROM logs.entry_rollups r
		JOIN logs.projects p ON p.id = r.project_id WHERE p.slug = 'smp'`).Scan(&rolled, &left))
	require.Equal(t, stored, rolled)
	require.Equal(t, sampledOut, left)

	since := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	lines := exportLines(t, pl.do(t, "GET", "/api/logs/export?project=smp&since="+since, nil, bearer(admin)).expect(t, 200).Raw)
	require.Len(t, lines, int(stored))
	for _, e := range lines {
		if e["level"] == "INFO" {
			require.Equal(t, json.Number("0.1"), e["sample_rate"])
		} else {
			require.Nil(t, e["sample_rate"])
			require.Contains(t, e, "sample_rate")
		}
	}
}
