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
	"github.com/devsmith/logs/services/ingestion/tailnotify"
)

const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
	// recentIDsPerBuffer sizes a tail's memory of sent ids, in TailBuffers.
	recentIDsPerBuffer = 4
)

// TailHeader is the response header TailEntries sends once the tail is
// subscribed: entries committed from then on will be streamed.
const TailHeader = "x-devsmith-tail"

// listenerState is what tests and operators can see of the LISTEN loop.
type listenerState struct {
	listening atomic.Bool  // LISTEN is in effect
	pid       atomic.Int32 // the listening backend's process id
	connects  atomic.Int64 // successful (re)connections
}

// TailEntries streams the entries committed after the call started that
// match the filters. Nothing is sent until such an entry arrives (response
// headers are sent as soon as the tail is subscribed).
func (s *Service) TailEntries(req *logsv1.TailEntriesRequest, stream logsv1.QueryService_TailEntriesServer) error {
	ctx := stream.Context()
	if err := s.tail(ctx, req, stream); err != nil {
		return s.toStatus(ctx, "tailing entries", err)
	}
	return nil
}

func (s *Service) tail(ctx context.Context, req *logsv1.TailEntriesRequest, stream logsv1.QueryService_TailEntriesServer) error {
	f, err := parseFilters(ctx, rawFilters{
		project: req.GetProject(), service: req.GetService(), level: req.GetLevel(),
		q: req.GetQ(), context: req.GetContext(),
	})
	if err != nil {
		return err
	}
	sub := newSubscriber(f.projects, s.cfg.TailBuffer)
	if !s.hub.subscribe(sub) {
		return errShuttingDown
	}
	defer s.hub.unsubscribe(sub)
	if err := stream.SendHeader(metadata.Pairs(TailHeader, "subscribed")); err != nil {
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
		for {
			n, ok, behind := sub.next()
			if behind {
				s.log.Info("tail fell behind; ending it", zap.Int("tail_buffer", s.cfg.TailBuffer))
				return errFellBehind
			}
			if !ok {
				break
			}
			if err := s.deliver(ctx, stream, f, sent, n); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// deliver sends the committed entries that n announces and that match f, in
// (ts, id) order, reading at most TailBuffer of them at a time.
func (s *Service) deliver(ctx context.Context, stream logsv1.QueryService_TailEntriesServer, f *filters, sent *recentIDs, n tailnotify.Payload) error {
	// Widened by a microsecond each way: PostgreSQL keeps microseconds, the
	// payload may carry nanoseconds.
	lo := n.MinTS.Truncate(time.Microsecond).Add(-time.Microsecond)
	hi := ceilMicro(n.MaxTS).Add(time.Microsecond)
	var after *cursor
	for {
		sql, args := tailQuery(f, n.ProjectID, lo, hi, n.MinID, n.MaxID, after, s.cfg.TailBuffer)
		r, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("querying tail entries: %w", err)
		}
		rows, err := pgx.CollectRows(r, scanEntry)
		if err != nil {
			return fmt.Errorf("reading tail entries: %w", err)
		}
		for i := range rows {
			if !sent.add(rows[i].id) {
				continue
			}
			e, err := rows[i].toProto(f.slugs)
			if err != nil {
				return err
			}
			if err := stream.Send(&logsv1.TailEntriesResponse{Entry: e}); err != nil {
				return fmt.Errorf("sending tail entry: %w", err)
			}
		}
		if len(rows) < s.cfg.TailBuffer {
			return nil
		}
		last := rows[len(rows)-1]
		after = &cursor{ts: last.ts, id: last.id}
	}
}

// tailQuery reads one project's entries in the announced ranges (served by
// the primary key), after the cursor, oldest first.
func tailQuery(f *filters, project int64, lo, hi time.Time, minID, maxID int64, after *cursor, limit int) (string, []any) {
	b := &sqlBuilder{}
	b.and("project_id = " + b.arg(project))
	b.and("ts BETWEEN " + b.arg(lo) + " AND " + b.arg(hi))
	b.and("id BETWEEN " + b.arg(minID) + " AND " + b.arg(maxID))
	f.addFilters(b, filterOpts{})
	if after != nil {
		b.and("(ts, id) > (" + b.arg(after.ts) + ", " + b.arg(after.id) + ")")
	}
	return "SELECT " + entryColumns + " FROM logs.entries WHERE " + b.where() +
		" ORDER BY ts, id LIMIT " + b.arg(limit), b.args
}

// Run holds one connection LISTENing on the ingestion service's channel and
// fans each notification out to the tails reading its project, until ctx
// ends. A lost connection is re-established with backoff; entries committed
// while it was down are not streamed (the tails stay open). When ctx ends
// every tail ends cleanly and Run returns nil.
func (s *Service) Run(ctx context.Context) error {
	defer s.hub.close()
	backoff := listenMinBackoff
	for {
		err := s.listen(ctx, func() { backoff = listenMinBackoff })
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("tail listener lost its connection; reconnecting", zap.Error(err), zap.Duration("backoff", backoff))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
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
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{tailnotify.Channel}.Sanitize()); err != nil {
		return fmt.Errorf("starting LISTEN: %w", err)
	}
	if s.listener.connects.Add(1) > 1 {
		s.log.Warn("tail listener reconnected; entries committed while it was disconnected were not streamed")
	} else {
		s.log.Info("tail listener started", zap.String("channel", tailnotify.Channel))
	}
	s.listener.pid.Store(int32(conn.PgConn().PID()))
	s.listener.listening.Store(true)
	defer s.listener.listening.Store(false)
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("waiting for notifications: %w", err)
		}
		p, err := tailnotify.Decode(n.Payload)
		if err != nil {
			s.log.Warn("ignoring a malformed tail notification", zap.Error(err))
			continue
		}
		s.hub.publish(p)
	}
}
