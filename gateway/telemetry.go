package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// telemetry is the gateway's Prometheus metrics (docs/operations.md):
// requests by route (a fixed set: routeOf), method and status code.
type telemetry struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newTelemetry() *telemetry {
	return &telemetry{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devsmith_http_requests_total",
			Help: "HTTP requests answered, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "devsmith_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request (a live tail: how long it was open), by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16), // 1 ms to 33 s
		}, []string{"route", "method"}),
	}
}

// Collectors are the gateway's metrics, for the process's registry.
func (g *Gateway) Collectors() []prometheus.Collector {
	return []prometheus.Collector{g.tel.requests, g.tel.duration}
}

func (t *telemetry) observe(r *http.Request, status int, d time.Duration) {
	route, method := routeOf(r.URL.Path), r.Method
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	t.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	t.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// routes are the route labels, longest prefix first within a family: a
// path's label is the first that it equals or that it starts with followed
// by "/". Paths under /api/ that match none are "/api/other"; paths outside
// /api/ that match none are the dashboard's.
var routes = []string{
	"/api/logs/batch", "/api/logs/tail", "/api/logs/entries", "/api/logs/stats", "/api/logs/services",
	"/api/logs/patterns", "/api/logs/errors", "/api/logs/metrics", "/api/logs/analysis", "/api/logs/projects",
	"/api/logs/export", "/api/auth", "/api/users", "/api/audit", "/api/alerts",
	"/v1/logs", "/loki/api/v1/push", "/healthz", "/readyz", "/metrics",
}

// routeOf is the bounded route label of a path (never the path itself: ids
// in paths would make a series each).
func routeOf(path string) string {
	for _, r := range routes {
		if path == r || strings.HasPrefix(path, r+"/") {
			return r
		}
	}
	if path == "/api" || strings.HasPrefix(path, "/api/") {
		return "/api/other"
	}
	return "dashboard"
}
