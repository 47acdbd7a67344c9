package query

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the service's Prometheus metrics (docs/operations.md): the
// live tails it follows.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "devsmith_tail_subscribers",
		Help: "Live tails (SSE and TailEntries streams) the query service follows.",
	}, func() float64 { return float64(s.hub.subscribers()) })}
}

// subscribers is how many tails are open.
func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.all)
}
