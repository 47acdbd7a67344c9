package platform

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// scrape reads url's metrics; it fails on what promlint, Prometheus'
// naming and help checker, finds wrong in them.
func scrape(t *testing.T, c *client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := c.http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	problems, err := promlint.New(bytes.NewReader(raw)).Lint()
	require.NoError(t, err)
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "devsmith_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	require.NoError(t, err)
	return fams
}

// value is the sample of family name whose labels include want (a counter
// or gauge's value, a histogram's count), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// The all-in-one's /metrics, on the gateway's port, counts what it did: a
// batch of 7 entries with 2 refused is 5 stored and 2 rejected for its
// project, one batch answered OK, one commit, one POST /api/logs/batch
// answered 200; every service's pool is reported; the Go runtime and the
// process are there; promlint finds nothing wrong with our names.
func TestMetricsCountWhatHappened(t *testing.T) {
	t.Parallel()
	p, c := startPlatform(t, cluster.NewDatabase(t), nil)
	key, session := c.projectKey("metered")
	body := batch("metered", 5)
	body["logs"] = append(body["logs"].([]map[string]any), map[string]any{"message": ""}, map[string]any{"message": ""})
	st, res, err := c.do("POST", "/api/logs/batch", body, key)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, st, "%v", res)

	fams := scrape(t, c, "http://"+p.HTTPAddr+"/metrics")
	for _, w := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"devsmith_ingest_entries_total", map[string]string{"project": "metered", "outcome": "stored"}, 5},
		{"devsmith_ingest_entries_total", map[string]string{"project": "metered", "outcome": "rejected"}, 2},
		{"devsmith_ingest_batches_total", map[string]string{"code": "OK"}, 1},
		{"devsmith_ingest_batch_entries", nil, 1},
		{"devsmith_ingest_commit_entries", nil, 1},
		{"devsmith_ingest_queue_entries", nil, 0},
		{"devsmith_http_requests_total", map[string]string{"route": "/api/logs/batch", "method": "POST", "code": "201"}, 1},
		{"devsmith_http_requests_total", map[string]string{"route": "/api/logs/projects", "method": "POST", "code": "201"}, 1},
		{"devsmith_tail_subscribers", nil, 0},
		{"devsmith_analysis_runs_total", nil, 0},
	} {
		got, ok := value(fams, w.name, w.labels)
		if w.name == "devsmith_analysis_runs_total" {
			require.False(t, ok, "no analysis ran yet")
			continue
		}
		require.True(t, ok, "%s%v", w.name, w.labels)
		require.Equal(t, w.want, got, "%s%v", w.name, w.labels)
	}
	for _, svc := range []string{"projects", "ingestion", "query", "analysis"} {
		max, ok := value(fams, "devsmith_db_pool_max_connections", map[string]string{"service": svc})
		require.True(t, ok, "the %s pool", svc)
		require.Positive(t, max)
	}
	require.Contains(t, fams, "go_goroutines")
	require.Contains(t, fams, "process_resident_memory_bytes")
	_, ok := value(fams, "devsmith_analysis_pattern_miner", nil)
	require.True(t, ok)
	// docs/operations.md lists every metric the platform serves (and
	// deploy/'s tests check that the alerts and dashboard name only those).
	doc, err := os.ReadFile("../../docs/operations.md")
	require.NoError(t, err)
	for name := range fams {
		if strings.HasPrefix(name, "devsmith_") {
			require.Contains(t, string(doc), "`"+name+"`", "docs/operations.md lists %s", name)
		}
	}
	// A path with an id is its route's series, not a series of its own.
	require.Equal(t, http.StatusNotFound, c.status("GET", "/api/logs/errors/123456", nil, session))
	fams = scrape(t, c, "http://"+p.HTTPAddr+"/metrics")
	for _, m := range fams["devsmith_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			require.NotContains(t, l.GetValue(), "123456")
		}
	}
}

// A service in its own process serves /metrics, /healthz and /readyz on
// --metrics-addr.
func TestMetricsAddress(t *testing.T) {
	t.Parallel()
	p, c := startPlatform(t, cluster.NewDatabase(t), map[string]string{"DEVSMITH_METRICS_ADDR": "127.0.0.1:0"})
	require.NotEmpty(t, p.MetricsAddr)
	base := "http://" + p.MetricsAddr
	fams := scrape(t, c, base+"/metrics")
	require.Contains(t, fams, "devsmith_ingest_queue_entries")
	for _, path := range []string{"/healthz", "/readyz"} {
		res, err := c.http.Get(base + path)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, path)
	}
	p.Stop(t.Context())
}
