package analysis

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/status"
)

// telemetry is the service's Prometheus metrics (docs/operations.md).
type telemetry struct {
	runs     *prometheus.CounterVec // code
	duration prometheus.Histogram
	leading  prometheus.GaugeFunc
}

func newTelemetry(s *Service) *telemetry {
	return &telemetry{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devsmith_analysis_runs_total",
			Help: "Analyses (POST /api/logs/analysis) answered, by gRPC code.",
		}, []string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "devsmith_analysis_duration_seconds",
			Help:    "Time to answer an analysis.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14), // 10 ms to 82 s
		}),
		leading: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "devsmith_analysis_pattern_miner",
			Help: "1 while this replica is the database's pattern miner (it holds the miner's lock).",
		}, func() float64 {
			if s.Leading() {
				return 1
			}
			return 0
		}),
	}
}

// Collectors are the service's metrics, for the process's registry.
func (s *Service) Collectors() []prometheus.Collector {
	return append([]prometheus.Collector{s.tel.runs, s.tel.duration, s.tel.leading}, s.alerts.Collectors()...)
}

func (t *telemetry) analysisDone(err error, began time.Time) {
	t.runs.WithLabelValues(status.Code(err).String()).Inc()
	t.duration.Observe(time.Since(began).Seconds())
}
