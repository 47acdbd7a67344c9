package loadgen

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/devsmith/logs/internal/logstore"
)

// Request entries: what the sample middlewares (Express, Flask, Gin) log
// once per request, "GET /api/v1/orders/8812 200" with method, path,
// route, status and duration_ms in the context, ERROR for 5xx and WARN for
// 4xx. The HTTP-facing services log them; the seed also writes their
// metric rollups (logs.metric_rollups) as an ingestion writer would.

// httpRoute is a route of the generated services, its method and the
// median and spread of its latency (lognormal).
type httpRoute struct {
	method, route, path string
	medianMS, sigma     float64
}

var httpRoutes = []httpRoute{
	{"GET", "/api/v1/orders/:id", "/api/v1/orders/", 18, 0.5},
	{"GET", "/api/v1/users/:id", "/api/v1/users/", 6, 0.4},
	{"POST", "/api/v1/cart/items", "/api/v1/cart/items", 35, 0.6},
	{"POST", "/api/v1/payments", "/api/v1/payments", 240, 0.7},
	{"GET", "/api/v1/search", "/api/v1/search", 90, 0.9},
	{"GET", "/healthz", "/healthz", 0.8, 0.3},
	{"PUT", "/api/v1/inventory/:sku", "/api/v1/inventory/", 45, 0.5},
	{"DELETE", "/api/v1/sessions/:id", "/api/v1/sessions/", 9, 0.4},
}

// httpServices are the services (of SeedServices) that log requests.
var httpServices = map[string]bool{"api-server": true, "gateway": true, "frontend-ssr": true}

// requestShare is the share of an HTTP service's INFO, WARN and ERROR
// entries that are request entries.
const requestShare = 0.6

// request is one drawn request entry.
type request struct {
	route    *httpRoute
	status   int
	duration float64 // milliseconds, 3 decimals as the middlewares round
	id       int
}

// requestOf draws a request entry for svc at level, or reports false when
// this entry is something else.
func requestOf(r *rand.Rand, svc, level string) (request, bool) {
	if !httpServices[svc] || r.Float64() >= requestShare {
		return request{}, false
	}
	var status int
	switch level {
	case "INFO":
		status = []int{200, 200, 200, 200, 201, 304}[r.IntN(6)]
	case "WARN":
		status = []int{400, 404, 404, 429}[r.IntN(4)]
	case "ERROR":
		status = []int{500, 502, 503}[r.IntN(3)]
	default:
		return request{}, false
	}
	rt := &httpRoutes[r.IntN(len(httpRoutes))]
	d := rt.medianMS * math.Exp(r.NormFloat64()*rt.sigma)
	if status >= 500 {
		d *= 4 // failures are slow: timeouts upstream
	}
	return request{route: rt, status: status, duration: math.Round(d*1000) / 1000, id: r.IntN(1_000_000)}, true
}

func (q request) message() string {
	b := make([]byte, 0, 64)
	b = append(b, q.route.method...)
	b = append(b, ' ')
	b = q.appendPath(b)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(q.status), 10)
	return string(b)
}

func (q request) appendPath(b []byte) []byte {
	b = append(b, q.route.path...)
	if q.route.path[len(q.route.path)-1] == '/' {
		b = strconv.AppendInt(b, int64(q.id), 10)
	}
	return b
}

// context is the middleware's context (about 150 bytes).
func (q request) context(r *rand.Rand, run string) string {
	b := make([]byte, 0, 192)
	b = append(b, `{"method":"`...)
	b = append(b, q.route.method...)
	b = append(b, `","path":"`...)
	b = q.appendPath(b)
	b = append(b, `","route":"`...)
	b = append(b, q.route.route...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(q.status), 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, q.duration, 'f', -1, 64)
	b = append(b, `,"ip":"10.0.`...)
	b = strconv.AppendInt(b, int64(r.IntN(256)), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(r.IntN(256)), 10)
	b = append(b, `","request_id":"`...)
	b = appendHex(b, r, 16)
	b = append(b, '"')
	if run != "" {
		b = append(b, `,"run":`...)
		b = strconv.AppendQuote(b, run)
	}
	b = append(b, '}')
	return string(b)
}

// metricDimensions are the ingestion service's default --metric-dimensions.
var metricDimensions = []string{"route", "method", "status"}

// seedMetrics accumulates a chunk's metric rollup rows, one per (project,
// minute, service, route, method, status), as a writer does per commit.
type seedMetrics struct {
	rows  map[seedMetricKey]*logstore.MetricRow
	order []seedMetricKey
}

type seedMetricKey struct {
	project int64
	minute  int64
	service string
	route   *httpRoute
	status  int
}

func (m *seedMetrics) add(project int64, ts time.Time, service string, q request, level string) {
	if m.rows == nil {
		m.rows = map[seedMetricKey]*logstore.MetricRow{}
	}
	minute := ts.Truncate(time.Minute)
	k := seedMetricKey{project, minute.Unix(), service, q.route, q.status}
	row := m.rows[k]
	if row == nil {
		vals := []string{q.route.route, q.route.method, strconv.Itoa(q.status)}
		row = &logstore.MetricRow{ProjectID: project, Minute: minute.UTC(), Field: "duration_ms", Service: service,
			Dims: logstore.DimsJSON(metricDimensions, func(i int) string { return vals[i] })}
		m.rows[k] = row
		m.order = append(m.order, k)
	}
	row.Sketch.Add(q.duration)
	if q.status >= 500 || level == "ERROR" || level == "FATAL" {
		row.Errors++
	}
}

// rollups are the chunk's rows.
func (m *seedMetrics) rollups() *logstore.MetricRollups {
	var out logstore.MetricRollups
	for _, k := range m.order {
		out.Add(m.rows[k])
	}
	return &out
}
