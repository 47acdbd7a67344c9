package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// batchResult is what one client got for one batch.
type batchResult struct {
	id            string
	status        int   // 0: no answer
	err           error // transport error: connection refused or reset
	beforeSIGTERM bool
}

// startOnDatabase runs the all-in-one on dsn (a database that outlives it).
func startOnDatabase(t *testing.T, dsn string, extra ...string) (*platform, *proc) {
	env := append([]string{
		"DATABASE_URL=" + dsn,
		"DEVSMITH_HTTP_ADDR=127.0.0.1:0",
		"DEVSMITH_PROJECTS_ADDR=127.0.0.1:0",
		"DEVSMITH_INGESTION_ADDR=127.0.0.1:0",
		"DEVSMITH_QUERY_ADDR=127.0.0.1:0",
		"DEVSMITH_ANALYSIS_ADDR=127.0.0.1:0",
		"DEVSMITH_ADMIN_EMAIL=" + adminEmail,
		"DEVSMITH_ADMIN_PASSWORD=" + adminPassword,
		"DEVSMITH_SHUTDOWN_DRAIN_DELAY=0",
	}, extra...)
	p := startProc(t, "devsmith", env)
	pl := &platform{baseURL: "http://" + p.waitLog(t, "gateway listening", nil)["addr"].(string), procs: []*proc{p}}
	pl.waitReady(t)
	return pl, p
}

func sigtermBatch(id string, n int) []byte {
	logs := make([]map[string]any, n)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range logs {
		logs[i] = map[string]any{"level": "INFO", "message": fmt.Sprintf("%s #%d", id, i), "timestamp": now}
	}
	b, _ := json.Marshal(map[string]any{"service_name": "sigterm", "batch_id": id, "logs": logs})
	return b
}

func postBatch(c *http.Client, baseURL, key string, body []byte) (int, error) {
	req, err := http.NewRequest("POST", baseURL+"/api/logs/batch", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

// SIGTERM during load loses nothing: N clients post batches with batch_ids
// to the all-in-one on a database that outlives it; SIGTERM arrives
// mid-load. The process exits 0; every batch sent before the signal was
// acknowledged; every acknowledged batch is stored exactly; every other one
// got a retryable answer (connection refused or reset, or 503), and sent
// again with its batch_id to the restarted platform it is stored once.
func TestSIGTERMDuringLoadLosesNothing(t *testing.T) {
	t.Parallel()
	dsn := cluster.NewDatabase(t)
	const drain = 1500 * time.Millisecond
	// The clients send as fast as they are answered, with one key: no rate
	// limit, so that every refusal is the shutdown's.
	pl, p := startOnDatabase(t, dsn, "DEVSMITH_SHUTDOWN_DRAIN_DELAY="+drain.String(),
		"DEVSMITH_RATE_LIMIT_REQUESTS_PER_MINUTE=0", "DEVSMITH_RATE_LIMIT_LOGS_PER_SECOND=0")
	admin := pl.login(t, adminEmail, adminPassword)
	key := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "SIGTERM", "slug": "sigterm"}, bearer(admin)).
		expect(t, 201).JSON["api_key"].(string)

	const clients, size = 8, 100
	var (
		mu      sync.Mutex
		results []batchResult
		termed  = make(chan struct{})
		wg      sync.WaitGroup
	)
	acked := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, r := range results {
			if r.status == http.StatusCreated {
				n++
			}
		}
		return n
	}
	for w := range clients {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
		wg.Go(func() {
			for i := 0; ; i++ {
				before := true
				select {
				case <-termed:
					before = false
				default:
				}
				id := fmt.Sprintf("c%d-b%d", w, i)
				st, err := postBatch(c, pl.baseURL, key, sigtermBatch(id, size))
				mu.Lock()
				results = append(results, batchResult{id: id, status: st, err: err, beforeSIGTERM: before})
				mu.Unlock()
				if err != nil {
					return // the platform stopped accepting
				}
			}
		})
	}
	require.Eventually(t, func() bool { return acked() >= 5*clients }, 60*time.Second, 10*time.Millisecond, "load never got going")

	close(termed)
	signalled := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("devsmith did not exit within 60s of SIGTERM:\n%s", p.output())
	}
	require.Equal(t, 0, p.cmd.ProcessState.ExitCode(), "exit code after SIGTERM:\n%s", p.output())
	require.GreaterOrEqual(t, time.Since(signalled), drain, "the drain delay was served")
	p.waitLog(t, "not ready; draining before stopping", nil)
	p.waitLog(t, "stopped", nil)
	wg.Wait()

	db, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	defer db.Close()
	stored := func() map[string]int {
		rows, err := db.Query(context.Background(), `SELECT split_part(message, ' #', 1), count(*)::int FROM logs.entries WHERE service_name = 'sigterm' GROUP BY 1`)
		require.NoError(t, err)
		out := map[string]int{}
		for rows.Next() {
			var id string
			var n int
			require.NoError(t, rows.Scan(&id, &n))
			out[id] = n
		}
		require.NoError(t, rows.Err())
		return out
	}
	got := stored()
	var ackedN, afterSignal int
	var retry []string
	for _, r := range results {
		switch {
		case r.status == http.StatusCreated:
			ackedN++
			require.Equal(t, size, got[r.id], "acknowledged batch %s is stored exactly", r.id)
			if !r.beforeSIGTERM {
				afterSignal++
			}
		case r.beforeSIGTERM:
			t.Errorf("batch %s, sent before SIGTERM, got %d %v", r.id, r.status, r.err)
		default:
			require.True(t, r.err != nil || r.status == http.StatusServiceUnavailable, "batch %s: %d is not a retryable answer", r.id, r.status)
			require.Contains(t, []int{0, size}, got[r.id], "batch %s is stored whole or not at all", r.id)
			retry = append(retry, r.id)
		}
	}
	require.Positive(t, afterSignal, "batches were still acknowledged during the drain delay")
	require.GreaterOrEqual(t, len(retry), clients, "each client's last batch found the platform gone")
	t.Logf("%d batches acknowledged (%d after SIGTERM), %d refused", ackedN, afterSignal, len(retry))

	// The refused batches, sent again with their batch_ids, are stored once.
	pl2, _ := startOnDatabase(t, dsn)
	c := &http.Client{Timeout: 60 * time.Second}
	for _, id := range retry {
		st, err := postBatch(c, pl2.baseURL, key, sigtermBatch(id, size))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, st, "retry of %s", id)
	}
	got = stored()
	for _, r := range results {
		require.Equal(t, size, got[r.id], "batch %s stored exactly once in the end", r.id)
	}
	require.Len(t, got, len(results))
}
