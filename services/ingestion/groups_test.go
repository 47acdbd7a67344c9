package ingestion

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/authn"
)

// nodeError is an ERROR entry as the Express sample logs a failed request:
// the same code path for every id, its line numbers moving with release.
func nodeError(id, line int, ts time.Time) *logsv1.LogInput {
	stack := fmt.Sprintf("PaymentError: payment %d failed: timeout after %d ms\\n"+
		"    at chargeCard (/srv/app/app.js:%d:11)\\n"+
		"    at /srv/app/app.js:%d:5\\n"+
		"    at Layer.handle [as handle_request] (/srv/app/node_modules/express/lib/router/layer.js:95:5)", id, 1000+id, line, line+10)
	return &logsv1.LogInput{
		Timestamp:   ts.UTC().Format(time.RFC3339Nano),
		Level:       "error",
		Message:     fmt.Sprintf("GET /orders/%d/pay 500: PaymentError: payment %d failed: timeout after %d ms", id, id, 1000+id),
		ContextJson: fmt.Sprintf(`{"path": "/orders/%d/pay", "status": 500, "error_type": "PaymentError", "stack": "%s"}`, id, stack),
	}
}

type groupRow struct {
	projectID           int64
	typ, title, culprit string
	firstSeen           time.Time
}

func groupRows(t *testing.T, e *env) map[int64]groupRow {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT fingerprint, project_id, exception_type, title, culprit, first_seen, status FROM logs.error_groups`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]groupRow{}
	for rows.Next() {
		var fp int64
		var g groupRow
		var status string
		require.NoError(t, rows.Scan(&fp, &g.projectID, &g.typ, &g.title, &g.culprit, &g.firstSeen, &status))
		require.Equal(t, "open", status)
		out[fp] = g
	}
	require.NoError(t, rows.Err())
	return out
}

func fingerprints(t *testing.T, e *env) map[string]int64 {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT message, error_fp FROM logs.entries`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var m string
		var fp int64
		require.NoError(t, rows.Scan(&m, &fp))
		out[m] = fp
	}
	return out
}

// TestErrorGroupsAtIngest: ERROR entries of one code path from different
// requests carry one fingerprint and make one group row with the first
// event's description; a WARN without a stack is grouped by its message;
// INFO has no fingerprint.
func TestErrorGroupsAtIngest(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := time.Now().Add(-time.Minute).UTC()
	_, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "shop", Logs: []*logsv1.LogInput{
		nodeError(17, 20, now),
		nodeError(8812, 24, now.Add(time.Second)),
		{Level: "warn", Message: "disk 91% full on /dev/sda1", Timestamp: now.Format(time.RFC3339Nano)},
		{Level: "info", Message: "GET /orders/5 200", Timestamp: now.Format(time.RFC3339Nano)},
	}})
	require.NoError(t, err)

	fps := fingerprints(t, e)
	pay17 := fps["GET /orders/17/pay 500: PaymentError: payment 17 failed: timeout after 1017 ms"]
	require.NotZero(t, pay17)
	require.Equal(t, pay17, fps["GET /orders/8812/pay 500: PaymentError: payment 8812 failed: timeout after 9812 ms"])
	require.Zero(t, fps["GET /orders/5 200"])
	warn := fps["disk 91% full on /dev/sda1"]
	require.NotZero(t, warn)
	require.NotEqual(t, pay17, warn)

	groups := groupRows(t, e)
	require.Len(t, groups, 2)
	require.Equal(t, groupRow{projectID: 1, typ: "PaymentError", title: "PaymentError: payment 17 failed: timeout after 1017 ms",
		culprit: "chargeCard (app.js)", firstSeen: now.Truncate(time.Microsecond)}, normal(groups[pay17]))
	require.Equal(t, groupRow{projectID: 1, title: "disk 91% full on /dev/sda1", culprit: "shop", firstSeen: now.Truncate(time.Microsecond)}, normal(groups[warn]))

	// The same error in another project is another group.
	_, err = e.client.IngestBatch(keyCtx("dsk_beta"), &logsv1.IngestBatchRequest{ServiceName: "shop", Logs: []*logsv1.LogInput{nodeError(5, 30, now)}})
	require.NoError(t, err)
	require.EqualValues(t, 2, count(t, e.pool, `SELECT count(*) FROM logs.error_groups WHERE fingerprint = $1`, pay17))
}

func normal(g groupRow) groupRow {
	g.firstSeen = g.firstSeen.UTC()
	return g
}

// TestErrorGroupsAcrossWritersAndOrder: a pair another writer (or this one)
// already recorded is not recorded twice and keeps its first description;
// an older entry moves first_seen back, whichever writer writes it, and a
// newer one does not.
func TestErrorGroupsAcrossWritersAndOrder(t *testing.T) {
	e := newEnv(t, envOptions{noRun: true})
	readyWithoutRun(t, e.svc)
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Microsecond).UTC()
	one := newWriter(e.svc)
	write := func(w *writer, in ...*logsv1.LogInput) {
		t.Helper()
		b := normalize(1, "shop", "", in, time.Now(), e.svc.lim)
		b.keyDigest = authn.Digest(testProjects[0].key)
		b.ctx, b.done = context.Background(), make(chan struct{})
		w.process(context.Background(), []*batch{b})
		<-b.done
		require.NoError(t, b.err)
	}
	firstSeen := func() time.Time {
		groups := groupRows(t, e)
		require.Len(t, groups, 1)
		for _, g := range groups {
			require.Equal(t, "PaymentError: payment 17 failed: timeout after 1017 ms", g.title)
			return g.firstSeen.UTC()
		}
		return time.Time{}
	}

	write(one, nodeError(17, 20, t0))
	require.Equal(t, t0, firstSeen())
	write(newWriter(e.svc), nodeError(18, 21, t0.Add(time.Minute))) // another writer, newer
	require.Equal(t, t0, firstSeen())
	write(newWriter(e.svc), nodeError(19, 22, t0.Add(-time.Minute))) // another writer, older
	require.Equal(t, t0.Add(-time.Minute), firstSeen())
	write(one, nodeError(20, 23, t0.Add(-30*time.Minute))) // the first writer, which knows the pair, older
	require.Equal(t, t0.Add(-30*time.Minute), firstSeen())
	// The messages' one signature row moved back the same way (pairs.go
	// serves both).
	require.EqualValues(t, 1, count(t, e.pool, `SELECT count(DISTINCT signature) FROM logs.entries`))
	var sigFirst time.Time
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT s.first_seen FROM logs.pattern_signatures s
		JOIN (SELECT DISTINCT project_id, signature FROM logs.entries) e USING (project_id, signature)`).Scan(&sigFirst))
	require.Equal(t, t0.Add(-30*time.Minute), sigFirst.UTC())
	write(one, nodeError(21, 23, t0.Add(time.Hour))) // known and newer: no row sent
	require.Equal(t, t0.Add(-30*time.Minute), firstSeen())
	require.Zero(t, one.groups.collect(nil).Len())

	// In one transaction, several batches with the pair: one row, the oldest ts.
	b1 := normalize(1, "shop", "", []*logsv1.LogInput{nodeError(30, 20, t0.Add(-50*time.Minute)), nodeError(31, 20, t0.Add(-55*time.Minute))}, time.Now(), e.svc.lim)
	b2 := normalize(1, "shop", "", []*logsv1.LogInput{nodeError(32, 20, t0.Add(-59*time.Minute))}, time.Now(), e.svc.lim)
	for _, b := range []*batch{b1, b2} {
		b.keyDigest = authn.Digest(testProjects[0].key)
	}
	writeGroup(e.svc, b1, b2)
	require.NoError(t, b1.err)
	require.NoError(t, b2.err)
	require.Equal(t, t0.Add(-59*time.Minute), firstSeen())
	require.EqualValues(t, 8, count(t, e.pool, `SELECT count(*) FROM logs.entries WHERE error_fp <> 0`))
	requireHoursMatchEntries(t, e)
}

// requireHoursMatchEntries checks that logs.error_group_hours holds exactly
// the hourly counts of the entries with a fingerprint.
func requireHoursMatchEntries(t *testing.T, e *env) {
	t.Helper()
	const fromEntries = `SELECT project_id, error_fp, date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00') AS hour, level, service_name,
		count(*) AS count, min(ts) AS first_ts, max(ts) AS last_ts FROM logs.entries WHERE error_fp <> 0 GROUP BY 1, 2, 3, 4, 5`
	const rollup = `SELECT project_id, error_fp, hour, level, service_name, count, first_ts, last_ts FROM logs.error_group_hours`
	require.NotZero(t, count(t, e.pool, `SELECT count(*) FROM logs.error_group_hours`))
	require.Zero(t, count(t, e.pool, `SELECT count(*) FROM ((`+fromEntries+` EXCEPT `+rollup+`) UNION ALL (`+rollup+` EXCEPT `+fromEntries+`)) d`),
		"the hourly counts differ from the entries")
	const levelsFromEntries = `SELECT project_id, date_bin('1 hour', ts, timestamptz '1970-01-01 00:00:00+00') AS hour, error_fp, level,
		count(*) AS count, min(ts) AS first_ts, max(ts) AS last_ts FROM logs.entries WHERE error_fp <> 0 GROUP BY 1, 2, 3, 4`
	const levelRollup = `SELECT project_id, hour, error_fp, level, count, first_ts, last_ts FROM logs.error_group_level_hours`
	require.Zero(t, count(t, e.pool, `SELECT count(*) FROM ((`+levelsFromEntries+` EXCEPT `+levelRollup+`) UNION ALL (`+levelRollup+` EXCEPT `+levelsFromEntries+`)) d`),
		"the hourly counts without services differ from the entries")
}

// TestErrorHoursUnderConcurrentWriters: clients sending errors of a few
// groups, services and hours at once through every writer leave hourly
// counts that are exactly the entries' (writers upsert the same rows; none
// waits on another in the opposite order).
func TestErrorHoursUnderConcurrentWriters(t *testing.T) {
	e := newEnv(t, envOptions{cfg: Config{Writers: 4}})
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	errs := make(chan error, 8)
	for c := range 8 {
		go func() {
			var err error
			for i := range 20 {
				var logs []*logsv1.LogInput
				for j := range 50 {
					n := c*1000 + i*50 + j
					in := nodeError(n%4, 20, base.Add(time.Duration(n%240)*time.Minute+time.Duration(n)*time.Millisecond))
					if n%3 == 0 {
						in.Level = "warn"
					}
					logs = append(logs, in)
				}
				if _, err = e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: fmt.Sprintf("svc-%d", c%3), Logs: logs}); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	require.EqualValues(t, 8000, count(t, e.pool, `SELECT count(*) FROM logs.entries WHERE error_fp <> 0`))
	requireHoursMatchEntries(t, e)
}
