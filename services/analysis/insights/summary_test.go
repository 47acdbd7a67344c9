package insights

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/services/analysis/llm"
)

// TestLLMSummary: with a model the summary is its answer; when it fails or
// is slow the summary is the report's, within the model's timeout.
func TestLLMSummary(t *testing.T) {
	t.Parallel()
	pool := cluster.NewPool(t)
	seedSmall(t, pool)
	released := make(chan struct{})
	t.Cleanup(func() { close(released) })
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		source  string
	}{
		{"answers", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"content": "alpha's api logs far more than usual."}}}})
			_, _ = w.Write(b)
		}, "llm"},
		{"fails", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadGateway) }, "report"},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
			case <-released:
			}
		}, "report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			defer srv.CloseClientConnections()
			c := llm.New(llm.Config{URL: srv.URL, Model: "m", APIKey: "k", Timeout: 300 * time.Millisecond}, testLogger(t))
			start := time.Now()
			res, err := newAnalyzer(t, pool, Config{}, c).Analyze(context.Background(), request(alpha))
			require.NoError(t, err)
			require.Less(t, time.Since(start), 3*time.Second)
			require.Equal(t, tc.source, res.GetSummarySource())
			if tc.source == "llm" {
				require.Equal(t, "alpha's api logs far more than usual.", res.GetSummary())
			} else {
				require.Contains(t, res.GetSummary(), "entries from 2026-11-20 10:00:00")
			}
		})
	}
}
