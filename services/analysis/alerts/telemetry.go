package alerts

import "github.com/prometheus/client_golang/prometheus"

// telemetry is the alerts' Prometheus metrics (docs/operations.md).
type telemetry struct {
	evaluations *prometheus.CounterVec // result: ok, firing, error
	deliveries  *prometheus.CounterVec // result: delivered, retry, failed
	delivery    prometheus.Histogram
}

func newTelemetry() *telemetry {
	t := &telemetry{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devsmith_alert_evaluations_total",
			Help: "Alert rule evaluations, by result: ok (the condition does not hold), firing (it holds), error.",
		}, []string{"result"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devsmith_alert_deliveries_total",
			Help: "Alert notification attempts, by result: delivered (2xx), retry (failed, tried again later), failed (given up).",
		}, []string{"result"}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "devsmith_alert_delivery_seconds",
			Help:    "Time of one alert notification POST, answered or not.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12), // 5 ms to 10 s
		}),
	}
	for _, r := range []string{resultOK, resultFiring, resultError} {
		t.evaluations.WithLabelValues(r)
	}
	for _, r := range []string{statusDelivered, resultRetry, statusFailed} {
		t.deliveries.WithLabelValues(r)
	}
	return t
}

// Labels of the metrics.
const (
	resultOK     = "ok"
	resultFiring = "firing"
	resultError  = "error"
	resultRetry  = "retry"
)

// Collectors are the alerts' metrics, for the process's registry.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.tel.evaluations, s.tel.deliveries, s.tel.delivery}
}
