package query

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"google.golang.org/grpc/metadata"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/logstore"
)

const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
	// recentIDsPerBuffer sizes a tail's memory of sent ids, in TailBuffers.
	recentIDsPerBuffer = 4
)

// TailHeader is the response header TailEntries sends once the tail is
// subscribed: entries committed from then on will be streamed. Its value is
// "resumed" when the request's resume token was honoured, else
// "subscribed".
const TailHeader = "x-devsmith-tail"

// listenerState is what tests and operators can see of the LISTEN loop.
type listenerState struct {
	listening atomic.Bool  // LISTEN is in effect
	pid       atomic.Int32 // the listening backend's process id
	connects  atomic.Int64 // successful (re)connections
	losses    atomic.Int64 // connections lost (counted once the loss is noted)
}

// TailEntries streams the entries committed after the call started that
// match the filters, or after its resume token. Nothing is sent until such
// an entry arrives (response headers are sent as soon as the tail is
// subscribed).
func (s *Service) TailEntries(req *logsv1.TailEntriesRequest, stream logsv1.QueryService_TailEntriesServer) error {
	return s.tail(stream.Context(), req, stream)
}

// resumeMargin keeps resuming clear of the journal's pruning: a token
// older than the retention less this margin is not honoured.
const resumeMargin = time.Minute

func (s *Service) tail(ctx context.Context, req *logsv1.TailEntriesRequest, stream logsv1.QueryService_TailEntriesServer) error {
	f, err := parseFilters(ctx, rawFilters{
		project: req.GetProject(), service: req.GetService(), level: req.GetLevel(),
		q: req.GetQ(), context: req.GetContext(), pattern: req.GetPattern(),
	})
	if err != nil {
		return err
	}
	var resume *position
	if tok := req.GetResumeToken(); tok != "" {
		p, err := parseToken(tok)
		if err != nil {
			return err
		}
		switch age := s.now().Sub(p.at); {
		case age < -resumeMargin:
			return apierr.Invalidf("resume_token is from the future: not a token this service gave out")
		case age < logstore.JournalRetention-resumeMargin:
			resume = p
		}
	}
	sub := newSubscriber(f.projects, s.cfg.TailBuffer, resume)
	if err := s.hub.join(ctx, sub); err != nil {
		if ctx.Err() != nil {
			return nil // the client went away
		}
		return err
	}
	defer s.hub.unsubscribe(sub)
	state := "subscribed"
	if resume != nil {
		state = "resumed"
	}
	if err := stream.SendHeader(metadata.Pairs(TailHeader, state)); err != nil {
		return nil // the client went away
	}
	sent := newRecentIDs(recentIDsPerBuffer * s.cfg.TailBuffer)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.done:
			return nil
		case <-sub.wake:
		}
		// The miner maps new signatures to patterns as they come: the
		// members are looked up again for each journal read delivered, so
		// that an entry whose signature joined a pattern after the tail
		// started is streamed too.
		found, err := f.resolveMembers(ctx, s.pool)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for {
			it, ok, err := sub.next()
			if err != nil {
				s.log.Info("ending a tail", zap.Error(err), zap.Int("tail_buffer", s.cfg.TailBuffer))
				return err
			}
			if !ok {
				break
			}
			if !found {
				continue // the patterns have no entries yet
			}
			if err := s.deliver(ctx, stream, f, sent, it); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// deliver sends the committed entries that it covers and that match f (its
// pattern members resolved), in (ts, id) order, reading at most TailBuffer
// of them at a time, each with its pattern.
func (s *Service) deliver(ctx context.Context, stream logsv1.QueryService_TailEntriesServer, f *filters, sent *recentIDs, it tailItem) error {
	// Widened by a microsecond each way, as PostgreSQL keeps microseconds.
	lo := it.minTS.Truncate(time.Microsecond).Add(-time.Microsecond)
	hi := ceilMicro(it.maxTS).Add(time.Microsecond)
	var after *cursor
	for {
		sql, args := tailQuery(f, it.project, lo, hi, it.ids, after, s.cfg.TailBuffer)
		r, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("querying tail entries: %w", err)
		}
		rows, err := pgx.CollectRows(r, logstore.ScanEntry)
		if err != nil {
			return fmt.Errorf("reading tail entries: %w", err)
		}
		if err := logstore.ResolveEntries(ctx, s.pool, rows); err != nil {
			return err
		}
		for i := range rows {
			if !sent.add(rows[i].ID) {
				continue
			}
			if err := stream.Send(&logsv1.TailEntriesResponse{Entry: rows[i].Proto(f.slugs[rows[i].ProjectID]), ResumeToken: it.token}); err != nil {
				return fmt.Errorf("sending tail entry: %w", err)
			}
		}
		if len(rows) < s.cfg.TailBuffer {
			return nil
		}
		last := rows[len(rows)-1]
		after = &cursor{ts: last.TS, id: last.ID}
	}
}

// Run follows the tail journal for this replica's tails until ctx ends:
// one connection LISTENs on the ingestion service's channel, and each
// notification has the journal read (follow). A lost connection is
// re-established with backoff, and the journal read then catches up on what
// was committed meanwhile; after a loss longer than the journal keeps rows,
// the tails are ended (they may have missed entries) and reconnect. When
// ctx ends every tail ends cleanly and Run returns nil.
func (s *Service) Run(ctx context.Context) error {
	defer s.hub.close()
	if s.uses != nil {
		reported := make(chan struct{})
		go func() {
			defer close(reported)
			s.uses.Run(ctx)
		}()
		defer func() { <-reported }()
	}
	limited := make(chan struct{})
	go func() {
		defer close(limited)
		_ = s.limiter.Run(ctx)
	}()
	defer func() { <-limited }()
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		s.follow(ctx)
	}()
	defer func() { <-followed }()
	backoff := listenMinBackoff
	var down time.Time // when the listener lost its connection
	for {
		err := s.listen(ctx, func() {
			backoff = listenMinBackoff
			if !down.IsZero() && s.now().Sub(down) > logstore.JournalRetention-resumeMargin {
				s.log.Warn("tail listener was disconnected longer than the journal keeps rows; ending the tails", zap.Duration("disconnected", s.now().Sub(down)))
				s.hub.failAll(errLostTrack)
			}
			down = time.Time{}
			s.hub.poke() // catch up on what committed while not listening
		})
		if ctx.Err() != nil {
			return nil
		}
		if down.IsZero() {
			down = s.now()
		}
		s.listener.losses.Add(1)
		s.log.Warn("tail listener lost its connection; reconnecting", zap.Error(err), zap.Duration("backoff", backoff))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// journalReadEvery spaces the hub's journal reads: the notifications of a
// busy ingestion (hundreds of commits a second) are taken together, and
// each tail reads a project's new entries with one query per read, at a
// latency a person watching a tail does not notice. (Each such query scans
// the project's entries in the read's time range: with clients' timestamps
// spread over seconds, tens of milliseconds at 50,000 entries/s.)
const journalReadEvery = 200 * time.Millisecond

// follow reads the journal each time the hub is poked, at most once per
// journalReadEvery, until ctx ends. A failed read is retried after a second.
func (s *Service) follow(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.hub.wake:
		}
		pause := journalReadEvery
		if err := s.hub.read(ctx, s.pool, s.now()); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("reading the tail journal failed; retrying", zap.Error(err))
			pause = time.Second
			s.hub.poke()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

// listen runs one connection's LISTEN loop until it fails or ctx ends.
func (s *Service) listen(ctx context.Context, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connecting the tail listener: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{logstore.JournalChannel}.Sanitize()); err != nil {
		return fmt.Errorf("starting LISTEN: %w", err)
	}
	if s.listener.connects.Add(1) > 1 {
		s.log.Info("tail listener reconnected; catching up from the journal")
	} else {
		s.log.Info("tail listener started", zap.String("channel", logstore.JournalChannel))
	}
	s.listener.pid.Store(int32(conn.PgConn().PID()))
	s.listener.listening.Store(true)
	defer s.listener.listening.Store(false)
	connected()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("waiting for notifications: %w", err)
		}
		s.hub.poke()
	}
}
