package ingestion

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/partition"
)

// archiveEnv is a service not Run, with an archive folder and a clock the
// test moves, with entries of both test projects stored on the clock's day.
type archiveEnv struct {
	*env
	dir   string
	day   time.Time
	clock *atomic.Int64 // the service's now, in Unix nanoseconds
}

func newArchiveEnv(t *testing.T) *archiveEnv {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "archive")
	require.NoError(t, checkArchiveDir(dir))
	e := newEnv(t, envOptions{cfg: Config{ArchiveDir: dir}, noRun: true})
	day := partition.Day(time.Now())
	clock := &atomic.Int64{}
	clock.Store(day.Add(12 * time.Hour).UnixNano())
	e.svc.now = func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	readyWithoutRun(t, e.svc)
	startWriters(t, e.svc, 1)
	at := func(d time.Duration) string { return day.Add(d).Format(time.RFC3339Nano) }
	for _, b := range []struct {
		key  string
		req  *logsv1.IngestBatchRequest
		want int32
	}{
		{"dsk_alpha", &logsv1.IngestBatchRequest{ServiceName: "api", Logs: []*logsv1.LogInput{
			{Timestamp: at(time.Hour), Level: "INFO", Message: "user 1 logged in", ContextJson: `{"userId": 9007199254740993, "name": "Zoë", "f": 1.50e3}`},
			{Timestamp: at(time.Hour), Level: "ERROR", Message: "payment failed", ContextJson: `{"error": {"type": "CardDeclined"}}`},
			{Timestamp: at(2 * time.Hour), Level: "DEBUG", Message: "cache miss"},
		}}, 3},
		{"dsk_beta", &logsv1.IngestBatchRequest{ServiceName: "worker", Logs: []*logsv1.LogInput{
			{Timestamp: at(3 * time.Hour), Level: "WARN", Message: "queue slow", ContextJson: `{"depth": 12}`},
		}}, 1},
	} {
		res, err := e.client.IngestBatch(keyCtx(b.key), b.req)
		require.NoError(t, err)
		require.Equal(t, b.want, res.GetCount())
	}
	// An entry of the day before: its own leaf, its own file.
	res, err := e.client.IngestBatch(alpha(), &logsv1.IngestBatchRequest{ServiceName: "api", Logs: []*logsv1.LogInput{
		{Timestamp: at(-time.Hour), Message: "the day before"},
	}})
	require.NoError(t, err)
	require.EqualValues(t, 1, res.GetCount())
	return &archiveEnv{env: e, dir: dir, day: day, clock: clock}
}

// expire moves the clock past the retention of the entries' day (and the
// day before; not the day after) and runs a maintenance round.
func (a *archiveEnv) expire(t *testing.T) {
	a.clock.Store(a.day.Add(testRetention + 36*time.Hour).UnixNano())
	a.svc.cleanup(context.Background())
}

func leafNames(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	leaves, err := partition.Leaves(context.Background(), pool)
	require.NoError(t, err)
	var out []string
	for _, l := range leaves {
		out = append(out, l.Name)
	}
	return out
}

// archiveFiles lists the files under dir, relative to it, in name order.
func archiveFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return err
	}))
	return files
}

// wantLines are the lines export would write for project's entries of the
// day, built from the rows (context as PostgreSQL's text of the jsonb, the
// pattern and error group ids looked up by signature and fingerprint).
func wantLines(t *testing.T, pool *pgxpool.Pool, project int64, slug string, day time.Time) []map[string]any {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT e.id, e.ts, e.service_name, e.level, e.message, e.context::text,
			coalesce((SELECT s.pattern_id FROM logs.pattern_signatures s WHERE s.project_id = e.project_id AND s.signature = e.signature AND s.pattern_id IS NOT NULL), e.signature),
			coalesce((SELECT g.id FROM logs.error_groups g WHERE g.project_id = e.project_id AND g.fingerprint = e.error_fp AND e.error_fp <> 0), 0)
		FROM logs.entries e WHERE e.project_id = $1 AND e.ts >= $2 AND e.ts < $3 ORDER BY e.ts, e.id`, project, day, day.AddDate(0, 0, 1))
	require.NoError(t, err)
	var out []map[string]any
	for rows.Next() {
		var (
			id, pattern, group int64
			ts                 time.Time
			service, msg, ctx  string
			level              logstore.Level
		)
		require.NoError(t, rows.Scan(&id, &ts, &service, &level, &msg, &ctx, &pattern, &group))
		out = append(out, map[string]any{
			"id": json.Number(strconv.FormatInt(id, 10)), "project_slug": slug, "service_name": service,
			"timestamp": ts.UTC().Format(time.RFC3339Nano), "level": level.String(), "message": msg,
			"context": json.RawMessage(ctx), "pattern_id": logstore.FormatPatternID(pattern),
			"error_group_id": logstore.FormatErrorGroupID(group), "sample_rate": nil,
		})
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out)
	return out
}

// readArchive decodes an archive file: gzip (complete, with its trailer),
// then one JSON object per line, each field's value kept as its JSON text
// for the context.
func readArchive(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	var out []map[string]any
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var raw map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &raw), "line %q", sc.Text())
		m := map[string]any{}
		for k, v := range raw {
			if k == "context" {
				m[k] = v
				continue
			}
			d := json.NewDecoder(bytes.NewReader(v))
			d.UseNumber()
			var x any
			require.NoError(t, d.Decode(&x))
			m[k] = x
		}
		out = append(out, m)
	}
	require.NoError(t, sc.Err(), "the file is complete")
	return out
}

// An expired leaf with entries of two projects is archived, a file per
// project holding exactly its entries of that day and class in export's
// line format (context byte for byte), then dropped; the day before has
// its own file, the day after (not expired) stays.
func TestArchiveExpiredLeaf(t *testing.T) {
	t.Parallel()
	a := newArchiveEnv(t)
	leaf := partition.LeafName(a.day, partition.DefaultClass)
	want := map[string][]map[string]any{}
	for _, p := range testProjects {
		want[p.slug] = wantLines(t, a.pool, p.id, p.slug, a.day)
	}
	require.Len(t, want["alpha"], 3)
	require.Len(t, want["beta"], 1)
	require.NotEmpty(t, want["alpha"][1]["error_group_id"], "the ERROR entry has its group")
	require.NotEmpty(t, want["alpha"][0]["pattern_id"], "entries have their pattern")

	a.expire(t)

	require.NotContains(t, leafNames(t, a.pool), leaf, "the archived leaf is dropped")
	require.Contains(t, leafNames(t, a.pool), partition.LeafName(a.day.AddDate(0, 0, 1), partition.DefaultClass))
	files := archiveFiles(t, a.dir)
	name := a.day.Format(time.DateOnly) + ".r0.ndjson.gz"
	before := a.day.AddDate(0, 0, -1).Format(time.DateOnly) + ".r0.ndjson.gz"
	require.Equal(t, []string{filepath.Join("alpha", before), filepath.Join("alpha", name), filepath.Join("beta", name)}, files,
		"one file per project and leaf with entries, no temporary file left")
	prev := readArchive(t, filepath.Join(a.dir, "alpha", before))
	require.Len(t, prev, 1)
	require.Equal(t, "the day before", prev[0]["message"])
	for slug, lines := range want {
		got := readArchive(t, filepath.Join(a.dir, slug, name))
		require.Equal(t, len(lines), len(got))
		for i := range lines {
			require.Equal(t, string(lines[i]["context"].(json.RawMessage)), string(got[i]["context"].(json.RawMessage)), "context byte for byte")
			require.Equal(t, lines[i], got[i])
		}
	}
	tel := a.svc.tel
	// Every expired leaf is archived, empty ones included (no file).
	require.Equal(t, float64(testRetention/(24*time.Hour))+1, testutil.ToFloat64(tel.archiveLeaves.WithLabelValues("archived")))
	require.Equal(t, 0.0, testutil.ToFloat64(tel.archiveLeaves.WithLabelValues("failed")))
	require.Equal(t, 5.0, testutil.ToFloat64(tel.archiveEntries))
	var size int64
	for _, f := range files {
		st, err := os.Stat(filepath.Join(a.dir, f))
		require.NoError(t, err)
		size += st.Size()
	}
	require.Equal(t, float64(size), testutil.ToFloat64(tel.archiveBytes))
}

// A file that cannot be written (its name taken by a folder) fails the
// archive: the leaf and its entries are kept, the error names the leaf and
// the project, no temporary file is left, and the next round, once the
// folder is gone, archives and drops it.
func TestArchiveFailureKeepsLeaf(t *testing.T) {
	t.Parallel()
	a := newArchiveEnv(t)
	leaf := partition.LeafName(a.day, partition.DefaultClass)
	name := a.day.Format(time.DateOnly) + ".r0.ndjson.gz"
	blocker := filepath.Join(a.dir, "beta", name)
	require.NoError(t, os.MkdirAll(filepath.Join(blocker, "x"), 0o750))

	a.clock.Store(a.day.Add(testRetention + 36*time.Hour).UnixNano())
	dropped, err := partition.DropExpired(context.Background(), a.pool, a.svc.now(), a.svc.cfg.Retention, a.svc.archive)
	require.ErrorContains(t, err, "archiving partition "+leaf)
	require.ErrorContains(t, err, "project beta")
	require.NotContains(t, dropped, leaf)
	require.Contains(t, leafNames(t, a.pool), leaf)
	require.EqualValues(t, 4, count(t, a.pool, "SELECT count(*) FROM logs."+pgx.Identifier{leaf}.Sanitize()))
	tmp, err := filepath.Glob(filepath.Join(a.dir, "*", "*.tmp"))
	require.NoError(t, err)
	require.Empty(t, tmp, "the temporary file is removed")
	require.Equal(t, 1.0, testutil.ToFloat64(a.svc.tel.archiveLeaves.WithLabelValues("failed")))

	require.NoError(t, os.RemoveAll(blocker))
	a.svc.cleanup(context.Background())
	require.NotContains(t, leafNames(t, a.pool), leaf)
	require.Len(t, readArchive(t, blocker), 1)
	require.Len(t, readArchive(t, filepath.Join(a.dir, "alpha", name)), 3, "the rerun rewrote the file already written")
}

// A cancelled archive (shutdown) keeps the leaf, leaves no file and is not
// counted as a failure.
func TestArchiveCancelled(t *testing.T) {
	t.Parallel()
	a := newArchiveEnv(t)
	leaves, err := partition.Leaves(context.Background(), a.pool)
	require.NoError(t, err)
	i := slices.IndexFunc(leaves, func(l partition.Leaf) bool { return l.Day.Equal(a.day) && l.Class == 0 })
	require.GreaterOrEqual(t, i, 0)
	conn, err := a.pool.Acquire(context.Background())
	require.NoError(t, err)
	defer conn.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, a.svc.archive(ctx, conn, leaves[i]), context.Canceled)
	require.Empty(t, archiveFiles(t, a.dir))
	require.Contains(t, leafNames(t, a.pool), leaves[i].Name)
	require.Zero(t, testutil.ToFloat64(a.svc.tel.archiveLeaves.WithLabelValues("failed")), "a shutdown is no failure")
}
