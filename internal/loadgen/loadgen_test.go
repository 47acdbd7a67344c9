package loadgen

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBatchesHaveTheIssueShape(t *testing.T) {
	batches := Shape{RunID: "peak-0123abcd", Services: []string{"api", "worker"}}.NewBatches(7, 50, 100, true)
	require.Len(t, batches, 50)
	var msgBytes, ctxBytes, n int
	levels := map[string]int{}
	for _, b := range batches {
		var body struct {
			ServiceName string `json:"service_name"`
			Logs        []struct {
				Timestamp string         `json:"timestamp"`
				Level     string         `json:"level"`
				Message   string         `json:"message"`
				Context   map[string]any `json:"context"`
			} `json:"logs"`
		}
		require.NoError(t, json.Unmarshal(b.JSON, &body))
		require.Contains(t, []string{"api", "worker"}, body.ServiceName)
		require.Len(t, body.Logs, 100)
		require.NotEmpty(t, b.Gzip)
		require.Len(t, b.Proto.GetLogs(), 100)
		for i, e := range body.Logs {
			_, err := time.Parse(time.RFC3339Nano, e.Timestamp)
			require.NoError(t, err)
			require.Equal(t, "peak-0123abcd", e.Context["run"])
			require.Equal(t, b.Entries[i].Message, e.Message)
			require.Equal(t, e.Message, b.Proto.GetLogs()[i].GetMessage())
			levels[e.Level]++
			msgBytes += len(e.Message)
			ctxBytes += len(b.Entries[i].Context)
			n++
		}
	}
	// Issue 4 measured ~112-byte messages and ~70-byte contexts.
	require.InDelta(t, 112, float64(msgBytes)/float64(n), 6)
	require.InDelta(t, 70, float64(ctxBytes)/float64(n), 6)
	require.Greater(t, levels["INFO"], levels["ERROR"])
	require.Positive(t, levels["ERROR"])
}

func TestBodiesCarryFreshBatchIDs(t *testing.T) {
	b := Shape{RunID: "r", Services: []string{"api"}}.NewBatches(3, 1, 20, true)[0]
	ids := newBatchIDs(true)
	gz := newGzipPool()
	seen := map[string]bool{}
	for _, tc := range []struct {
		name string
		pool *sync.Pool
	}{{"plain", nil}, {"gzip", gz}, {"plain again", nil}, {"gzip again", gz}} {
		id := ids.next()
		raw := b.Body(tc.pool, id)
		if tc.pool != nil {
			zr, err := gzip.NewReader(bytes.NewReader(raw)) // reads every member, as the gateway does
			require.NoError(t, err, tc.name)
			raw, err = io.ReadAll(zr)
			require.NoError(t, err, tc.name)
		}
		var body struct {
			BatchID     string            `json:"batch_id"`
			ServiceName string            `json:"service_name"`
			Logs        []json.RawMessage `json:"logs"`
		}
		require.NoError(t, json.Unmarshal(raw, &body), tc.name)
		require.Equal(t, id, body.BatchID, tc.name)
		require.Equal(t, "api", body.ServiceName, tc.name)
		require.Len(t, body.Logs, 20, tc.name)
		require.False(t, seen[id], "batch ids repeat")
		seen[id] = true
		require.Equal(t, id, b.StreamRequest(id).GetBatchId())
		require.Len(t, b.StreamRequest(id).GetLogs(), 20)
	}
	require.Equal(t, "", newBatchIDs(false).next())
	require.JSONEq(t, string(b.JSON), string(b.Body(nil, "")))
}

func TestPercentile(t *testing.T) {
	r := &Result{}
	require.Zero(t, r.Percentile(99))
	for i := 1; i <= 100; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, 50*time.Millisecond, r.Percentile(50))
	require.Equal(t, 99*time.Millisecond, r.Percentile(99))
	require.Equal(t, 100*time.Millisecond, r.Percentile(100))
}

func TestZipfWeightsAreCumulative(t *testing.T) {
	for _, s := range []float64{0, 0.8} {
		w := zipfWeights(10, s)
		require.InDelta(t, 1, w[len(w)-1], 1e-9)
		for i := 1; i < len(w); i++ {
			require.Greater(t, w[i], w[i-1])
		}
	}
	uniform := zipfWeights(4, 0)
	require.InDelta(t, 0.25, uniform[0], 1e-9)
}

func TestProcStatusReadsThisProcess(t *testing.T) {
	st := procStatus(os.Getpid())
	require.Positive(t, st["VmRSS"])
	hwm, err := procStatusKB(os.Getpid(), "VmHWM")
	require.NoError(t, err)
	require.GreaterOrEqual(t, hwm, st["VmRSS"]/2)
	require.Zero(t, cpuSeconds(1<<30), "a process that does not exist used no CPU")
	_, err = procStatusKB(1<<30, "VmRSS")
	require.Error(t, err)
}

func TestSeedServices(t *testing.T) {
	s := SeedServices(12)
	require.Len(t, s, 12)
	require.Equal(t, "api-server", s[0])
	require.True(t, strings.HasPrefix(s[11], "service-"))
}
