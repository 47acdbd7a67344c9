package ingestion

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/status"
)

// telemetry is the service's Prometheus metrics (docs/operations.md). Label
// values are bounded: project slugs, gRPC code names, outcomes; never a
// key, a message or a batch id.
type telemetry struct {
	entries    *prometheus.CounterVec // project, outcome: stored | rejected
	batches    *prometheus.CounterVec // code
	batchTime  prometheus.Histogram
	batchSize  prometheus.Histogram
	commitRows prometheus.Histogram
	commitTime prometheus.Histogram
	queued     prometheus.GaugeFunc
	// The scheduled archive (archive.go).
	archiveLeaves  *prometheus.CounterVec // outcome: archived | failed
	archiveEntries prometheus.Counter
	archiveBytes   prometheus.Counter
}

func newTelemetry(q *queue) *telemetry {
	return &telemetry{
		entries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devsmith_ingest_entries_total",
			Help: "Entries received, by project and outcome (stored, or rejected by validation).",
		}, []string{"project", "outcome"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devsmith_ingest_batches_total",
			Help: "Batches answered, by gRPC code (OK: committed).",
		}, []string{"code"}),
		batchTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "devsmith_ingest_batch_duration_seconds",
			Help:    "Time from a batch's arrival to its answer (validation, queue, commit).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms to 8 s
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "devsmith_ingest_batch_entries",
			Help:    "Entries per batch received.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 to 16384
		}),
		commitRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "devsmith_ingest_commit_entries",
			Help:    "Entries per group commit (one write transaction of one writer).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 to 65536
		}),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "devsmith_ingest_commit_duration_seconds",
			Help:    "Duration of a group commit's transaction.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 12), // 1 ms to 2 s
		}),
		queued: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "devsmith_ingest_queue_entries",
			Help: "Entries waiting for a writer (the queue is bounded by --ingestion-queue-rows).",
		}, func() float64 { return float64(q.queuedRows()) }),
		archiveLeaves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "devsmith_archive_partitions_total",
			Help: "Expiring partitions the scheduled archive (--archive-dir) wrote before they were dropped (archived), or could not (failed: the partition is kept and tried again).",
		}, []string{"outcome"}),
		archiveEntries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "devsmith_archive_entries_total",
			Help: "Entries written by the scheduled archive, in the partitions archived.",
		}),
		archiveBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "devsmith_archive_bytes_total",
			Help: "Compressed bytes of the scheduled archive's files, of the partitions archived.",
		}),
	}
}

// Collectors are the service's metrics, for the process's registry.
func (s *Service) Collectors() []prometheus.Collector {
	t := s.tel
	return []prometheus.Collector{t.entries, t.batches, t.batchTime, t.batchSize, t.commitRows, t.commitTime, t.queued,
		t.archiveLeaves, t.archiveEntries, t.archiveBytes}
}

// batchDone records a batch's answer.
func (t *telemetry) batchDone(project string, received int, out *outcome, err error, began time.Time) {
	t.batchTime.Observe(time.Since(began).Seconds())
	t.batchSize.Observe(float64(received))
	t.batches.WithLabelValues(status.Code(err).String()).Inc()
	if err != nil || out == nil {
		return
	}
	if out.Count > 0 {
		t.entries.WithLabelValues(project, "stored").Add(float64(out.Count))
	}
	if n := len(out.Rejected); n > 0 {
		t.entries.WithLabelValues(project, "rejected").Add(float64(n))
	}
}
