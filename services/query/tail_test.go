package query

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/grpctest"
	"github.com/devsmith/logs/internal/logstore"
)

// serve runs s on a real gRPC server on loopback whose interceptors
// authenticate every call as p, and returns a client.
func serve(t *testing.T, s *Service, p *authn.Principal) logsv1.QueryServiceClient {
	t.Helper()
	inject := func(context.Context, string, metadata.MD) (*authn.Principal, error) { return p, nil }
	g := grpc.NewServer(apierr.ServerOptions(s.log, authn.UnaryServerInterceptor(inject), authn.StreamServerInterceptor(inject))...)
	s.Register(g)
	return logsv1.NewQueryServiceClient(grpctest.Serve(t, g))
}

// run starts s.Run until the test ends, and waits until it listens.
func run(t *testing.T, s *Service) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Run did not return")
		}
	}
	t.Cleanup(func() { _ = stop() })
	require.Eventually(t, s.listener.listening.Load, 10*time.Second, 5*time.Millisecond)
	return stop
}

// commit writes rows in one transaction and announces them as the ingestion
// service does (one journal row per project and a notification), plus any
// extra journal rows.
func commit(t *testing.T, pool *pgxpool.Pool, rows []row, extra ...logstore.Span) []int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	ids := insert(t, tx, rows...)
	announce(t, tx, rows, ids, nil, extra...)
	require.NoError(t, tx.Commit(ctx))
	return ids
}

// announce records, within tx, the journal rows of rows (written with ids)
// and extra, and the signature rows of sigs (nil: none), as the ingestion
// service's writer does.
func announce(t *testing.T, tx pgx.Tx, rows []row, ids []int64, sigs *logstore.Signatures, extra ...logstore.Span) {
	t.Helper()
	var order []int64
	byProject := map[int64]*logstore.Span{}
	for i, r := range rows {
		p := byProject[r.project]
		if p == nil {
			p = &logstore.Span{ProjectID: r.project, MinID: ids[i], MaxID: ids[i], MinTS: r.ts, MaxTS: r.ts}
			byProject[r.project] = p
			order = append(order, r.project)
		}
		p.MinID, p.MaxID = min(p.MinID, ids[i]), max(p.MaxID, ids[i])
		if r.ts.Before(p.MinTS) {
			p.MinTS = r.ts
		}
		if r.ts.After(p.MaxTS) {
			p.MaxTS = r.ts
		}
	}
	if sigs != nil {
		require.NoError(t, logstore.RecordCommitted(context.Background(), tx, &logstore.Rollups{}, &logstore.Spans{}, sigs, nil))
	}
	for _, id := range order {
		notify(t, tx, *byProject[id])
	}
	for _, p := range extra {
		notify(t, tx, p)
	}
}

// notify records p in the journal within tx and wakes the listeners, as
// the ingestion service's writer does (logstore.RecordCommitted, with no
// rollups: these tests' entries have none).
func notify(t *testing.T, tx pgx.Tx, p logstore.Span) {
	t.Helper()
	var j logstore.Spans
	j.Add(p)
	require.NoError(t, logstore.RecordCommitted(context.Background(), tx, &logstore.Rollups{}, &j, nil, nil))
}

// receiver collects a stream's entries on a channel; the channel closes
// with the stream, and the stream's final error is kept.
type receiver struct {
	ch  chan *logsv1.TailEntriesResponse
	err chan error
}

func receive(stream logsv1.QueryService_TailEntriesClient) *receiver {
	r := &receiver{ch: make(chan *logsv1.TailEntriesResponse, 100), err: make(chan error, 1)}
	go func() {
		defer close(r.ch)
		for {
			m, err := stream.Recv()
			if err != nil {
				r.err <- err
				return
			}
			r.ch <- m
		}
	}()
	return r
}

// next returns the messages of the next n entries.
func (r *receiver) next(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for _, m := range r.nextResponses(t, n) {
		out = append(out, m.GetEntry().GetMessage())
	}
	return out
}

// nextResponses returns the next n responses.
func (r *receiver) nextResponses(t *testing.T, n int) []*logsv1.TailEntriesResponse {
	t.Helper()
	var out []*logsv1.TailEntriesResponse
	for len(out) < n {
		select {
		case m, ok := <-r.ch:
			require.True(t, ok, "stream ended after %d responses", len(out))
			out = append(out, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out after %d responses", len(out))
		}
	}
	return out
}

// end waits for the stream to end and returns its error.
func (r *receiver) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.err:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end")
		return nil
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	client := serve(t, s, member())
	run(t, s)
	ctx := context.Background()

	allCtx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	allStream, err := client.TailEntries(allCtx, &logsv1.TailEntriesRequest{})
	require.NoError(t, err)
	filteredCtx, cancelFiltered := context.WithCancel(ctx)
	defer cancelFiltered()
	filteredStream, err := client.TailEntries(filteredCtx, &logsv1.TailEntriesRequest{
		Project: []string{"alpha"}, Service: []string{"api"}, Level: []string{"error", "FATAL"}, Q: "BOOM", Context: ctxf("k", "v"),
	})
	require.NoError(t, err)
	// Headers come once the tail is subscribed.
	md, err := allStream.Header()
	require.NoError(t, err)
	require.Equal(t, []string{"subscribed"}, md.Get(TailHeader))
	md, err = filteredStream.Header()
	require.NoError(t, err)
	require.Equal(t, []string{"subscribed"}, md.Get(TailHeader))
	subs, _ := s.hub.size()
	require.Equal(t, 2, subs)
	all, filtered := receive(allStream), receive(filteredStream)

	base := day.Add(12 * time.Hour)
	kv := `{"k": "v"}`
	// An open transaction's entry sits inside the range the next commit
	// announces: it must not be streamed before it commits.
	open, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = open.Rollback(ctx) }()
	openID := insert(t, open, row{alpha, base.Add(2 * time.Second), "api", 5, "boom uncommitted", kv})[0]

	ids := commit(t, pool, []row{
		{alpha, base.Add(3 * time.Second), "api", 5, "Boom one", kv},
		{alpha, base.Add(4 * time.Second), "api", 3, "boom at info", kv},
		{alpha, base.Add(1 * time.Second), "api", 6, "kaboom", kv}, // older ts, newer id
		{alpha, base.Add(5 * time.Second), "api", 5, "boom other context", `{"k": "w"}`},
		{alpha, base.Add(5 * time.Second), "worker", 5, "boom other service", kv},
		{beta, base.Add(6 * time.Second), "web", 4, "beta thing", ""},
		{gamma, base.Add(7 * time.Second), "api", 5, "boom gamma", kv},
	})
	require.Greater(t, ids[0], openID)
	// A second announcement whose range covers the open entry and the rows
	// above: nothing is sent twice, nothing uncommitted is sent.
	cover := logstore.Span{ProjectID: alpha, MinID: openID, MaxID: ids[4], MinTS: base, MaxTS: base.Add(10 * time.Second)}
	commit(t, pool, nil, cover)

	require.Equal(t, []string{"kaboom", "Boom one"}, filtered.next(t, 2))
	require.Equal(t, []string{"kaboom", "Boom one", "boom at info", "boom other context", "boom other service", "beta thing"}, all.next(t, 6))

	// The open entry commits with its own announcement: streamed now, once.
	notify(t, open, logstore.Span{ProjectID: alpha, MinID: openID, MaxID: openID, MinTS: base.Add(2 * time.Second), MaxTS: base.Add(2 * time.Second)})
	require.NoError(t, open.Commit(ctx))
	commit(t, pool, nil, cover) // and announced again

	// A last entry: with it, the next things each stream gets, so nothing
	// else came. (Entries that one journal read finds are sent in (ts, id)
	// order, whichever transaction wrote them.)
	commit(t, pool, []row{{alpha, base, "api", 5, "boom sentinel", kv}})
	require.ElementsMatch(t, []string{"boom uncommitted", "boom sentinel"}, filtered.next(t, 2))
	require.ElementsMatch(t, []string{"boom uncommitted", "boom sentinel"}, all.next(t, 2))

	// The full entry.
	commit(t, pool, []row{{beta, base.Add(time.Minute), "web", 4, "shape", `{"n": 9223372036854775807, "s": "x"}`}})
	select {
	case m := <-all.ch:
		e := m.GetEntry()
		require.Equal(t, "beta", e.GetProjectSlug())
		require.Equal(t, "web", e.GetServiceName())
		require.Equal(t, "WARN", e.GetLevel())
		require.True(t, base.Add(time.Minute).Equal(e.GetTimestamp().AsTime()))
		require.Equal(t, `{"n": 9223372036854775807, "s": "x"}`, e.GetContextJson(), "every digit")
		require.Positive(t, e.GetId())
	case <-time.After(10 * time.Second):
		t.Fatal("no entry")
	}

	// A client that goes away is unsubscribed.
	cancelFiltered()
	require.Eventually(t, func() bool { n, _ := s.hub.size(); return n == 1 }, 10*time.Second, 5*time.Millisecond)
	cancelAll()
	require.Eventually(t, func() bool { n, p := s.hub.size(); return n == 0 && p == 0 }, 10*time.Second, 5*time.Millisecond)
}

func TestTailRefusals(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{})
	client := serve(t, s, member())
	ctx := context.Background()
	for _, tc := range []struct {
		req  *logsv1.TailEntriesRequest
		code codes.Code
		msg  string
	}{
		{&logsv1.TailEntriesRequest{Level: []string{"LOUD"}}, codes.InvalidArgument, `level "LOUD" is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL`},
		{&logsv1.TailEntriesRequest{Project: []string{"gamma"}}, codes.PermissionDenied, `project "gamma" is not yours`},
		{&logsv1.TailEntriesRequest{Context: ctxf("", "x")}, codes.InvalidArgument, "context[0].key must not be empty"},
	} {
		stream, err := client.TailEntries(ctx, tc.req)
		require.NoError(t, err)
		md, err := stream.Header()
		require.Empty(t, md.Get(TailHeader), "no subscription header on a refused tail (%v)", err)
		_, err = stream.Recv()
		requireCode(t, err, tc.code, tc.msg)
	}
	n, _ := s.hub.size()
	require.Zero(t, n)
}

// TestTailListenerReconnects kills the listening connection: Run reconnects,
// live tails go on, and what was committed without the tail hearing of it
// (a notification lost with the connection) is caught up from the journal.
func TestTailListenerReconnects(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	client := serve(t, s, member())
	run(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := client.TailEntries(ctx, &logsv1.TailEntriesRequest{})
	require.NoError(t, err)
	_, err = stream.Header()
	require.NoError(t, err)
	r := receive(stream)

	commit(t, pool, []row{{alpha, day.Add(time.Hour), "api", 3, "before", ""}})
	require.Equal(t, []string{"before"}, r.next(t, 1))

	// Committed and journaled, but its notification never arrives.
	unheard := commitSilently(t, pool, row{alpha, day.Add(time.Hour), "api", 3, "while deaf", ""})

	var killed bool
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", s.listener.pid.Load()).Scan(&killed))
	require.True(t, killed)
	require.Eventually(t, func() bool { return s.listener.connects.Load() == 2 && s.listener.listening.Load() }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"while deaf"}, r.next(t, 1), "caught up on reconnecting (entry %d)", unheard)

	commit(t, pool, []row{{alpha, day.Add(time.Hour), "api", 3, "after", ""}})
	require.Equal(t, []string{"after"}, r.next(t, 1))
}

// commitSilently writes r and its journal row without a notification.
func commitSilently(t *testing.T, pool *pgxpool.Pool, r row) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	id := insert(t, tx, r)[0]
	_, err = tx.Exec(ctx, `INSERT INTO logs.tail_journal (project_id, min_id, max_id, min_ts, max_ts) VALUES ($1, $2, $2, $3, $3)`, r.project, id, r.ts)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	return id
}

// TestTailLostTrack: a listener disconnected for longer than the journal
// keeps rows ends the tails, which may have missed entries.
func TestTailLostTrack(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	var offset atomic.Int64
	s.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	client := serve(t, s, member())
	run(t, s)
	stream, err := client.TailEntries(context.Background(), &logsv1.TailEntriesRequest{})
	require.NoError(t, err)
	_, err = stream.Header()
	require.NoError(t, err)
	r := receive(stream)

	var killed bool
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", s.listener.pid.Load()).Scan(&killed))
	require.Eventually(t, func() bool { return s.listener.losses.Load() == 1 }, 10*time.Second, 5*time.Millisecond)
	offset.Store(int64(logstore.JournalRetention)) // the reconnection comes "10 minutes" later
	requireCode(t, r.end(t), codes.Unavailable, "tail lost track of new entries while the database was unreachable; reconnect")
}

// TestTailResume: a tail opened with the resume token of the last entry a
// previous tail received gets what was committed since (that entry's
// transaction included), then goes on live.
func TestTailResume(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{}, day)
	client := serve(t, s, member())
	run(t, s)
	open := func(ctx context.Context, token string) (*receiver, string) {
		stream, err := client.TailEntries(ctx, &logsv1.TailEntriesRequest{ResumeToken: token})
		require.NoError(t, err)
		md, err := stream.Header()
		require.NoError(t, err)
		return receive(stream), md.Get(TailHeader)[0]
	}
	at := day.Add(time.Hour)

	first, cancelFirst := context.WithCancel(context.Background())
	r, state := open(first, "")
	require.Equal(t, "subscribed", state)
	commit(t, pool, []row{{alpha, at, "api", 3, "one", ""}, {alpha, at, "api", 3, "two", ""}})
	got := r.nextResponses(t, 2)
	require.Equal(t, "two", got[1].GetEntry().GetMessage())
	token := got[1].GetResumeToken()
	require.NotEmpty(t, token)
	cancelFirst()
	require.Eventually(t, func() bool { n, _ := s.hub.size(); return n == 0 }, 10*time.Second, 5*time.Millisecond)

	// While no tail is open.
	commit(t, pool, []row{{alpha, at, "api", 3, "three", ""}})
	commit(t, pool, []row{{beta, at, "web", 3, "four", ""}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, state = open(ctx, token)
	require.Equal(t, "resumed", state)
	// The transaction of "two" again (clients drop ids they have), and
	// what was missed.
	require.ElementsMatch(t, []string{"one", "two", "three", "four"}, r.next(t, 4))
	commit(t, pool, []row{{alpha, at, "api", 3, "five", ""}})
	require.Equal(t, []string{"five"}, r.next(t, 1))

	// A fresh tail does not get the past.
	fresh, state := open(ctx, "")
	require.Equal(t, "subscribed", state)
	commit(t, pool, []row{{alpha, at, "api", 3, "six", ""}})
	require.Equal(t, []string{"six"}, fresh.next(t, 1))
	require.Equal(t, []string{"six"}, r.next(t, 1))

	// A token older than the journal keeps rows starts from now.
	old, err := parseToken(token)
	require.NoError(t, err)
	old.at = old.at.Add(-logstore.JournalRetention)
	stale, state := open(ctx, old.token())
	require.Equal(t, "subscribed", state)
	commit(t, pool, []row{{alpha, at, "api", 3, "seven", ""}})
	require.Equal(t, []string{"seven"}, stale.next(t, 1))

	// A token from the future is refused, as is a garbled one.
	future := *old
	future.at = time.Now().Add(time.Hour)
	stream, err := client.TailEntries(ctx, &logsv1.TailEntriesRequest{ResumeToken: future.token()})
	require.NoError(t, err)
	_, err = stream.Recv()
	requireCode(t, err, codes.InvalidArgument, "resume_token is from the future: not a token this service gave out")
	for _, bad := range []string{"x", "1:2", "1:x:", "1:5:7", "1:5:3,a"} {
		stream, err := client.TailEntries(ctx, &logsv1.TailEntriesRequest{ResumeToken: bad})
		require.NoError(t, err)
		_, err = stream.Recv()
		requireCode(t, err, codes.InvalidArgument, "")
		require.Contains(t, status.Convert(err).Message(), "resume_token", bad)
	}
}

func TestGather(t *testing.T) {
	t0 := day.Add(time.Hour)
	row := func(xid uint64, project, lo, hi int64, from, to time.Duration) logstore.JournalRow {
		return logstore.JournalRow{XID: xid, Span: logstore.Span{ProjectID: project, MinID: lo, MaxID: hi, MinTS: t0.Add(from), MaxTS: t0.Add(to)}}
	}
	rows := []logstore.JournalRow{
		row(9, alpha, 1, 5, 0, time.Second), // before the start: not included
		row(10, alpha, 100, 200, 2*time.Second, 3*time.Second),
		row(11, beta, 7, 8, 0, 0),
		row(12, alpha, 150, 260, time.Second, 4*time.Second),   // overlaps 100-200
		row(13, alpha, 261, 300, 5*time.Second, 5*time.Second), // touches 150-260
		row(14, alpha, 1000, 1010, 0, 0),
	}
	start := &position{at: t0, xmax: 10}
	got := gather(rows, start, nil)
	require.Len(t, got, 2)
	a, b := got[0], got[1]
	require.Equal(t, alpha, a.project)
	require.Equal(t, []idRange{{100, 300}, {1000, 1010}}, a.ids)
	require.True(t, a.minTS.Equal(t0) && a.maxTS.Equal(t0.Add(5*time.Second)), "%s..%s", a.minTS, a.maxTS)
	require.Equal(t, start.token(), a.token)
	require.Equal(t, beta, b.project)
	require.Equal(t, []idRange{{7, 8}}, b.ids)

	only := gather(rows, start, []int64{beta})
	require.Len(t, only, 1)
	require.Equal(t, beta, only[0].project)
	require.Empty(t, gather(rows, &position{xmax: 20}, nil))

	// A long backlog becomes one range spanning it.
	var many []logstore.JournalRow
	for i := range int64(maxIDRanges + 1) {
		many = append(many, row(uint64(100+i), alpha, 10*i, 10*i+5, 0, 0))
	}
	got = gather(many, &position{xmax: 100}, nil)
	require.Equal(t, []idRange{{0, 10*maxIDRanges + 5}}, got[0].ids)
	got = gather(many[:maxIDRanges], &position{xmax: 100}, nil)
	require.Len(t, got[0].ids, maxIDRanges)
}

func TestPosition(t *testing.T) {
	p := &position{at: time.UnixMilli(1_700_000_000_000), xmax: 110, xip: []uint64{100, 104, 107}}
	for x, want := range map[uint64]bool{99: false, 100: true, 101: false, 104: true, 109: false, 110: true, 500: true} {
		require.Equal(t, want, p.includes(x), "xid %d", x)
	}
	q, err := parseToken(p.token())
	require.NoError(t, err)
	require.Equal(t, p.xmax, q.xmax)
	require.Equal(t, p.xip, q.xip)
	require.True(t, p.at.Equal(q.at))

	later := &position{at: p.at.Add(time.Second), xmax: 120, xip: []uint64{107, 115}}
	u := p.union(later)
	require.Equal(t, uint64(110), u.xmax)
	require.Equal(t, []uint64{100, 104, 107}, u.xip)
	require.True(t, u.at.Equal(p.at))
	for x := range uint64(130) {
		require.Equal(t, p.includes(x) || later.includes(x), u.includes(x), "xid %d", x)
	}
}

// TestRunStops: when Run's context ends, tails end cleanly and new ones are
// refused.
func TestRunStops(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, Config{})
	client := serve(t, s, member())
	stop := run(t, s)
	stream, err := client.TailEntries(context.Background(), &logsv1.TailEntriesRequest{})
	require.NoError(t, err)
	_, err = stream.Header()
	require.NoError(t, err)
	r := receive(stream)

	require.NoError(t, stop())
	require.ErrorIs(t, r.end(t), io.EOF)
	n, _ := s.hub.size()
	require.Zero(t, n)

	stream, err = client.TailEntries(context.Background(), &logsv1.TailEntriesRequest{})
	require.NoError(t, err)
	_, err = stream.Recv()
	requireCode(t, err, codes.Unavailable, "tail is shutting down; reconnect")
}

// blockingStream is a tail stream whose Send blocks until released.
type blockingStream struct {
	grpc.ServerStream
	ctx     context.Context
	entered chan struct{}
	release chan struct{}
}

func (b *blockingStream) Context() context.Context     { return b.ctx }
func (b *blockingStream) SendHeader(metadata.MD) error { return nil }
func (b *blockingStream) Send(*logsv1.TailEntriesResponse) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	select {
	case <-b.release:
		return nil
	case <-b.ctx.Done():
		return b.ctx.Err()
	}
}

// TestTailFellBehind: a subscriber that cannot keep up is ended with
// ResourceExhausted instead of queueing without bound.
func TestTailFellBehind(t *testing.T) {
	t.Parallel()
	s, pool := newService(t, Config{TailBuffer: 2}, day)
	run(t, s)
	ids := insert(t, pool, row{alpha, day.Add(time.Hour), "api", 3, "slow", ""})
	it := tailItem{project: alpha, minTS: day.Add(time.Hour), maxTS: day.Add(time.Hour), ids: []idRange{{ids[0], ids[0]}}}

	stream := &blockingStream{ctx: as(member()), entered: make(chan struct{}, 1), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- s.TailEntries(&logsv1.TailEntriesRequest{}, stream) }()
	require.Eventually(t, func() bool { n, _ := s.hub.size(); return n == 1 }, 10*time.Second, 5*time.Millisecond)
	var sub *subscriber
	s.hub.mu.Lock()
	for sub = range s.hub.all {
	}
	s.hub.mu.Unlock()

	sub.push(it)
	<-stream.entered // the tail is stuck sending
	for range 3 {    // two fit in the buffer, the third does not
		sub.push(it)
	}
	close(stream.release)
	select {
	case err := <-done:
		requireCode(t, err, codes.ResourceExhausted, "tail fell behind; reconnect")
	case <-time.After(10 * time.Second):
		t.Fatal("tail did not end")
	}
	n, _ := s.hub.size()
	require.Zero(t, n)
}

func TestSubscriberQueue(t *testing.T) {
	sub := newSubscriber([]int64{alpha}, 3, nil)
	item := func(i int64) tailItem { return tailItem{project: alpha, ids: []idRange{{i, i}}} }
	for i := int64(1); i <= 3; i++ {
		sub.push(item(i))
	}
	for i := int64(1); i <= 2; i++ {
		it, ok, err := sub.next()
		require.True(t, ok)
		require.NoError(t, err)
		require.Equal(t, i, it.ids[0].lo)
	}
	sub.push(item(4))
	sub.push(item(5))
	_, ok, err := sub.next() // 3
	require.True(t, ok)
	require.NoError(t, err)
	sub.push(item(6)) // 4, 5, 6: full
	sub.push(item(7)) // over
	_, ok, err = sub.next()
	require.False(t, ok)
	require.ErrorIs(t, err, errFellBehind)
	require.Empty(t, sub.pending, "the queue is dropped once behind")
}

func TestRecentIDs(t *testing.T) {
	r := newRecentIDs(3)
	require.True(t, r.add(1))
	require.True(t, r.add(2))
	require.False(t, r.add(1))
	require.True(t, r.add(3))
	require.True(t, r.add(4)) // evicts 1
	require.True(t, r.add(1)) // evicts 2
	require.False(t, r.add(3))
	require.False(t, r.add(4))
	require.True(t, r.add(2))
	require.Len(t, r.set, 3)
}
