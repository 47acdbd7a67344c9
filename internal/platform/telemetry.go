package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Prometheus metrics (docs/operations.md). One registry per process: the Go
// runtime's and the process's own metrics, each database pool's usage, and
// what each service and the gateway collect (their Collectors). The
// gateway's port serves /metrics; --metrics-addr serves /metrics, /healthz
// and /readyz on an address of its own (a service in its own process has no
// HTTP port otherwise).

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func (p *Process) metricsHandler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(p.log.Named("metrics"))})
}

// serveMetrics serves /metrics, /healthz and /readyz (every service of the
// process ready, and not stopping) on addr.
func (p *Process) serveMetrics(addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", p.metricsHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if err := p.processReady(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, `{"status":"unavailable","reason":%q}`+"\n", err.Error())
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
	p.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	p.MetricsAddr = lis.Addr().String()
	p.serveWG.Add(1)
	go func() {
		defer p.serveWG.Done()
		if err := p.metrics.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.fail(fmt.Errorf("metrics: serving on %s: %w", lis.Addr(), err))
		}
	}()
	p.log.Info("metrics listening", zap.String("addr", p.MetricsAddr))
	return nil
}

func (p *Process) processReady(ctx context.Context) error {
	if p.stopping.Load() {
		return errors.New("shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for _, ready := range p.readies {
		if err := ready(ctx); err != nil {
			return err
		}
	}
	return nil
}

// poolStats reports one service's database pool.
type poolStats struct {
	pool                          *pgxpool.Pool
	acquired, idle, total, maxC   *prometheus.Desc
	acquires, waits, waitDuration *prometheus.Desc
}

func poolCollector(service string, pool *pgxpool.Pool) prometheus.Collector {
	l := prometheus.Labels{"service": service}
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, l) }
	return &poolStats{
		pool:         pool,
		acquired:     d("devsmith_db_pool_acquired_connections", "Connections of the service's pool in use."),
		idle:         d("devsmith_db_pool_idle_connections", "Connections of the service's pool open and idle."),
		total:        d("devsmith_db_pool_connections", "Connections of the service's pool open (acquired, idle and being opened)."),
		maxC:         d("devsmith_db_pool_max_connections", "The most connections the service's pool opens."),
		acquires:     d("devsmith_db_pool_acquires_total", "Connections taken from the service's pool."),
		waits:        d("devsmith_db_pool_waits_total", "Acquires that had to wait for a connection."),
		waitDuration: d("devsmith_db_pool_wait_seconds_total", "Time spent waiting for a connection of the service's pool."),
	}
}

func (s *poolStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.acquired, s.idle, s.total, s.maxC, s.acquires, s.waits, s.waitDuration} {
		ch <- d
	}
}

func (s *poolStats) Collect(ch chan<- prometheus.Metric) {
	st := s.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	c := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(s.acquired, float64(st.AcquiredConns()))
	g(s.idle, float64(st.IdleConns()))
	g(s.total, float64(st.TotalConns()))
	g(s.maxC, float64(st.MaxConns()))
	c(s.acquires, float64(st.AcquireCount()))
	c(s.waits, float64(st.EmptyAcquireCount()))
	c(s.waitDuration, st.AcquireDuration().Seconds())
}
