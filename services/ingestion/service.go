// Package ingestion implements IngestionService: it validates batches of log
// entries from a project's API key and writes them into PostgreSQL with
// group-committed binary COPY, deduplicates retried batches by batch_id,
// keeps the per-day rollups, announces committed entries to the live tail
// (the journal of package logstore), and maintains the daily partitions
// (package logstore/partition).
//
// Assumptions for wiring: the gRPC server accepts messages up to 16 MiB
// (grpc.MaxRecvMsgSize(16<<20)); the pool allows at least Writers + 2
// connections (writers, maintenance, spare).
package ingestion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/keyuse"
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/ratelimit"
)

const (
	// readyWait is how long a batch arriving before the first partition
	// maintenance has finished waits for it before Unavailable.
	readyWait = 5 * time.Second
	// maintenanceRetry is the pause between failed first maintenances.
	maintenanceRetry = 2 * time.Second
	// dedupWindow is how long a batch_id is remembered.
	dedupWindow = 24 * time.Hour
	// maxStreamRejected bounds the rejected entries an IngestStream answer
	// lists.
	maxStreamRejected = 10_000
)

// Service implements logsv1.IngestionServiceServer.
type Service struct {
	logsv1.UnimplementedIngestionServiceServer

	log      *zap.Logger
	pool     *pgxpool.Pool
	identity *authn.IdentityClient
	keys     keyHints
	uses     *keyuse.Reporter // nil without identity
	cfg      Config
	lim      limits
	q        *queue
	limiter  *ratelimit.Limiter
	settings *settingsCache     // the projects' retention and sampling rules
	archive  partition.Archiver // nil without Config.ArchiveDir
	now      func() time.Time

	readyOnce sync.Once
	readyCh   chan struct{} // closed once partitions are ensured
	stopOnce  sync.Once
	stopCh    chan struct{} // closed when Run stops taking batches
	ready     atomic.Bool

	commits atomic.Int64 // write transactions committed (observability, tests)
	tel     *telemetry
}

// New returns the service. identity resolves API keys not yet known
// (Authenticator); every write verifies them again (keys.go).
func New(log *zap.Logger, pool *pgxpool.Pool, identity *authn.IdentityClient, cfg Config) *Service {
	cfg = cfg.withDefaults()
	metrics := newMetricSpec(cfg.MetricFields, cfg.MetricDimensions)
	q := newQueue(cfg.QueueRows, cfg.QueueBytes, cfg.Writers)
	s := &Service{
		log:      log,
		pool:     pool,
		identity: identity,
		cfg:      cfg,
		lim:      limits{retention: cfg.Retention, maxMessage: cfg.MaxMessageBytes, maxContext: cfg.MaxContextBytes, metrics: metrics},
		q:        q,
		limiter:  ratelimit.New(log.Named("ratelimit"), pool, cfg.RateLimit),
		settings: newSettingsCache(pool, log.Named("settings")),
		tel:      newTelemetry(q),
		now:      time.Now,
		readyCh:  make(chan struct{}),
		stopCh:   make(chan struct{}),
	}
	if cfg.ArchiveDir != "" {
		s.archive = (&archiver{dir: cfg.ArchiveDir, log: log.Named("archive"), tel: s.tel}).archive
	}
	if identity != nil {
		s.uses = keyuse.New(log, identity, func() time.Time { return s.now() })
	}
	return s
}

// Register registers IngestionService and OTLP's
// opentelemetry.proto.collector.logs.v1.LogsService (otlp.go) on g.
func (s *Service) Register(g *grpc.Server) {
	logsv1.RegisterIngestionServiceServer(g, s)
	s.registerOTLP(g)
}

// Ready tells whether partitions have been ensured and batches are taken
// (for /readyz).
func (s *Service) Ready() bool { return s.ready.Load() }

// Run maintains partitions (at start, then every MaintenanceInterval:
// creating them ahead, dropping expired ones, purging what shortened
// retentions no longer keep) and runs the writers. Batches are taken once
// the first Ensure has succeeded; until then they wait up to 5 s and are
// refused with Unavailable. Expiry and purges (archiving and dropping
// partitions may take minutes with an archive) run once ready, beside the
// writers. When ctx ends, new batches
// are refused, an archive in progress is abandoned (its partition kept),
// the queued batches are written, and Run returns.
func (s *Service) Run(ctx context.Context) error {
	defer s.stop()
	for {
		err := s.ensure(ctx)
		if err == nil {
			break
		}
		s.log.Error("ensuring partitions failed; retrying", zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(maintenanceRetry):
		}
	}
	s.markReady()

	var wg sync.WaitGroup
	wg.Go(func() { _ = s.limiter.Run(ctx) })
	wg.Go(func() { s.settings.run(ctx) })
	wctx := context.WithoutCancel(ctx)
	if s.uses != nil {
		wg.Go(func() { s.uses.Run(ctx) })
	}
	for range s.cfg.Writers {
		w := newWriter(s)
		wg.Go(func() { w.run(wctx) })
	}
	wg.Go(func() { s.maintain(ctx) })
	journal := time.NewTicker(journalPruneInterval)
	defer journal.Stop()
	for {
		select {
		case <-ctx.Done():
			s.stop()
			wg.Wait()
			return nil
		case <-journal.C:
			if err := s.pruneTailJournal(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("pruning the tail journal failed", zap.Error(err))
			}
		}
	}
}

// maintain expires partitions and old batch ids and purges what shortened
// retentions no longer keep now (Run has ensured the partitions), then
// every MaintenanceInterval ensures the partitions ahead and does both
// again, until ctx ends.
func (s *Service) maintain(ctx context.Context) {
	s.cleanup(ctx)
	s.purgeShortened(ctx)
	t := time.NewTicker(s.cfg.MaintenanceInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.ensure(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("ensuring partitions failed", zap.Error(err))
			}
			s.cleanup(ctx)
			s.purgeShortened(ctx)
		}
	}
}

// journalPruneInterval is how often tail journal rows older than
// logstore.JournalRetention are deleted.
const journalPruneInterval = time.Minute

// pruneTailJournal deletes the tail journal's rows past its retention.
func (s *Service) pruneTailJournal(ctx context.Context) error {
	n, err := logstore.PruneJournal(ctx, s.pool)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Debug("pruned tail journal rows", zap.Int64("rows", n))
	}
	return nil
}

func (s *Service) markReady() {
	s.readyOnce.Do(func() {
		s.ready.Store(true)
		close(s.readyCh)
	})
}

func (s *Service) stop() {
	s.stopOnce.Do(func() {
		s.ready.Store(false)
		s.q.close()
		close(s.stopCh)
	})
}

// waitReady waits until partitions are ensured, a bounded time.
func (s *Service) waitReady(ctx context.Context) error {
	select {
	case <-s.readyCh:
		return nil
	default:
	}
	t := time.NewTimer(readyWait)
	defer t.Stop()
	select {
	case <-s.readyCh:
		return nil
	case <-s.stopCh:
		return errStopping
	case <-t.C:
		return errStarting
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ensure creates the partitions from the retention cut-off to
// partition.Ahead days ahead.
func (s *Service) ensure(ctx context.Context) error {
	if err := partition.Ensure(ctx, s.pool, s.now(), s.cfg.Retention); err != nil {
		return fmt.Errorf("ensuring partitions: %w", err)
	}
	return nil
}

// cleanup drops partitions past retention, archiving each first with
// Config.ArchiveDir, and forgets batch_ids older than the dedup window.
// (The tail journal is pruned every minute, in Run.) Failures are logged;
// the next round tries again.
func (s *Service) cleanup(ctx context.Context) {
	dropped, err := partition.DropExpired(ctx, s.pool, s.now(), s.cfg.Retention, s.archive)
	if err != nil && ctx.Err() == nil {
		s.log.Error("dropping expired partitions failed", zap.Error(err))
	}
	for _, name := range dropped {
		s.log.Info("dropped expired partition", zap.String("partition", name))
	}
	if n, err := s.forgetBatchIDs(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("deleting old batch ids failed", zap.Error(err))
	} else if n > 0 {
		s.log.Debug("deleted old batch ids", zap.Int64("rows", n))
	}
}

// purgeShortened deletes the entries that projects' shortened retentions
// no longer keep (partition.PurgeShortened). Failures are logged; the next
// round tries again.
func (s *Service) purgeShortened(ctx context.Context) {
	began := time.Now()
	n, err := partition.PurgeShortened(ctx, s.pool, s.now(), s.cfg.Retention)
	if err != nil && ctx.Err() == nil {
		s.log.Error("purging entries past shortened retentions failed", zap.Int64("rows", n), zap.Error(err))
	} else if n > 0 {
		s.log.Info("purged entries past shortened retentions", zap.Int64("rows", n), zap.Duration("took", time.Since(began)))
	}
}

// principal returns the calling project.
func principal(ctx context.Context) (*authn.Principal, error) {
	p := authn.FromContext(ctx)
	if p.Kind != authn.KindProject || p.ProjectID == 0 {
		return nil, authn.ErrNoAPIKey
	}
	return p, nil
}

// ingest checks, normalises and commits one batch.
func (s *Service) ingest(ctx context.Context, p *authn.Principal, projectSlug, service string, logs []*logsv1.LogInput, batchID string) (out *outcome, err error) {
	defer func(began time.Time) { s.tel.batchDone(p.ProjectSlug, len(logs), out, err, began) }(time.Now())
	service, err = checkEnvelope(projectSlug, p.ProjectSlug, service, len(logs), s.cfg.MaxEntries, batchID)
	if err != nil {
		if kerr := s.checkKey(ctx, p); kerr != nil {
			return nil, kerr
		}
		return nil, err
	}
	s.uses.Note(p.KeyID, authn.ClientAddress(ctx, s.cfg.ServiceToken))
	st, err := s.settings.get(ctx, p.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("ingesting a batch: %w", err)
	}
	b := normalize(p.ProjectID, service, batchID, logs, s.now(), s.lim.of(st, service))
	b.keyDigest = p.KeyDigest
	// Even a batch with nothing to store goes through a writer, whose
	// transaction verifies its key.
	out, err = s.submit(ctx, b)
	if errors.Is(err, context.DeadlineExceeded) {
		// The batch may have been committed before the caller gave up.
		return nil, apierr.WithCause(errTimedOut, err)
	}
	return out, err
}

// IngestBatch implements logsv1.IngestionServiceServer.
func (s *Service) IngestBatch(ctx context.Context, req *logsv1.IngestBatchRequest) (*logsv1.IngestBatchResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.admit(ctx, p, len(req.GetLogs())); err != nil {
		return nil, err
	}
	out, err := s.ingest(ctx, p, req.GetProjectSlug(), req.GetServiceName(), req.GetLogs(), req.GetBatchId())
	if err != nil {
		return nil, err
	}
	res := &logsv1.IngestBatchResponse{
		Count:      out.Count,
		Message:    out.Message,
		Rejected:   make([]*logsv1.RejectedEntry, len(out.Rejected)),
		Truncated:  out.Truncated,
		SampledOut: out.SampledOut,
	}
	for i, r := range out.Rejected {
		res.Rejected[i] = &logsv1.RejectedEntry{Index: r.Index, Reason: r.Reason}
	}
	return res, nil
}

// IngestStream implements logsv1.IngestionServiceServer: every message is a
// batch, committed before the next is read. An envelope or write error ends
// the stream with that error; the batches before it stay committed. Every
// batch is a request of the key's rate limit (ratelimit.go).
func (s *Service) IngestStream(stream grpc.ClientStreamingServer[logsv1.IngestStreamRequest, logsv1.IngestStreamResponse]) error {
	ctx := stream.Context()
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	res := &logsv1.IngestStreamResponse{Rejected: []*logsv1.RejectedEntry{}}
	var offset int64 // entries in the batches before this one
	budget := streamBudget{stream: stream}
	defer budget.trailer()
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			res.Message = sampledMessage(res.Count, res.SampledOut) + " in " + fmt.Sprint(res.Batches) + " batches"
			return stream.SendAndClose(res)
		}
		if err != nil {
			return err
		}
		if err := budget.admit(s.limiter, p, len(req.GetLogs())); err != nil {
			return apierr.WithPrefix(streamPrefix(res.Batches, res.Count), err)
		}
		out, err := s.ingest(ctx, p, req.GetProjectSlug(), req.GetServiceName(), req.GetLogs(), req.GetBatchId())
		if err != nil {
			return apierr.WithPrefix(streamPrefix(res.Batches, res.Count), err)
		}
		res.Batches++
		res.Count += int64(out.Count)
		res.Truncated += int64(out.Truncated)
		res.SampledOut += int64(out.SampledOut)
		for _, r := range out.Rejected {
			idx := offset + int64(r.Index)
			if len(res.Rejected) >= maxStreamRejected || idx > int64(^uint32(0)>>1) {
				break
			}
			res.Rejected = append(res.Rejected, &logsv1.RejectedEntry{Index: int32(idx), Reason: r.Reason})
		}
		offset += int64(len(req.GetLogs()))
	}
}
