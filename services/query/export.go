package query

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/logstore"
)

// exportChunk is how many entries ExportEntries reads of a project at a
// time, and at most how many one response carries: memory stays at about
// projects × exportChunk entries whatever the range.
const exportChunk = 500

// ExportEntries streams every matching entry oldest first, ordered by
// (ts, id) across the projects (docs/export.md). Each project is read in
// chunks from its own primary-key range after its last entry read, and the
// projects' chunks are merged, so an export reads each entry once. Every
// chunk is its own statement: the export holds no transaction (nor a
// snapshot) open for its whole length, and until defaults to the time of
// the request, so it ends however fast entries arrive.
func (s *Service) ExportEntries(req *logsv1.ExportEntriesRequest, stream logsv1.QueryService_ExportEntriesServer) error {
	ctx := stream.Context()
	if req.GetAfterId() != 0 && req.GetSince() == nil {
		return apierr.Invalidf("after_id needs since: the timestamp of the entry it names")
	}
	until := req.GetUntil()
	if until == nil {
		until = timestamppb.New(s.now())
	}
	f, err := parseFilters(ctx, rawFilters{
		project: req.GetProject(), service: req.GetService(), level: req.GetLevel(),
		since: req.GetSince(), until: until, q: req.GetQ(), context: req.GetContext(),
	})
	if err != nil {
		return err
	}
	var start *cursor
	if f.since != nil {
		start = &cursor{ts: *f.since, id: req.GetAfterId()}
	}
	readers := &exportHeap{}
	for _, p := range f.projects {
		r := &exportReader{project: p, after: start, inclusive: req.GetAfterId() == 0}
		if err := s.fill(ctx, f, r); err != nil {
			return err
		}
		if len(r.buf) > 0 {
			heap.Push(readers, r)
		}
	}
	out := make([]*logsv1.LogEntry, 0, exportChunk)
	for readers.Len() > 0 {
		r := (*readers)[0]
		e := &r.buf[0]
		out = append(out, e.Proto(f.slugs[e.ProjectID]))
		r.buf = r.buf[1:]
		if len(r.buf) == 0 && !r.done {
			if err := s.fill(ctx, f, r); err != nil {
				return err
			}
		}
		if len(r.buf) == 0 {
			heap.Pop(readers)
		} else {
			heap.Fix(readers, 0)
		}
		if len(out) == exportChunk || readers.Len() == 0 {
			if err := stream.Send(&logsv1.ExportEntriesResponse{Entries: out}); err != nil {
				return fmt.Errorf("sending exported entries: %w", err)
			}
			out = make([]*logsv1.LogEntry, 0, exportChunk)
		}
	}
	return nil
}

// exportReader is one project's next entries of an export.
type exportReader struct {
	project int64
	// after is the last entry read (or the start); inclusive: entries at
	// exactly after.ts count too (the start without after_id).
	after     *cursor
	inclusive bool
	buf       []logstore.Entry
	done      bool // the project has no more entries than buf
}

// fill reads the project's next chunk after r.after, with the entries'
// patterns and error groups.
func (s *Service) fill(ctx context.Context, f *filters, r *exportReader) error {
	sql, args := exportQuery(f, r, exportChunk)
	rows, err := s.pool.Query(ctx, sql, oneShot(args)...)
	if err != nil {
		return fmt.Errorf("querying entries to export: %w", err)
	}
	buf, err := pgx.CollectRows(rows, logstore.ScanEntry)
	if err != nil {
		return fmt.Errorf("reading entries to export: %w", err)
	}
	if err := logstore.ResolveEntries(ctx, s.pool, buf); err != nil {
		return err
	}
	r.buf, r.done = buf, len(buf) < exportChunk
	if len(buf) > 0 {
		last := buf[len(buf)-1]
		r.after, r.inclusive = &cursor{ts: last.TS, id: last.ID}, false
	}
	return nil
}

// exportQuery selects a project's next limit entries after r's position,
// oldest first: a range of its primary key (project_id, ts, id).
func exportQuery(f *filters, r *exportReader, limit int) (string, []any) {
	b := &sqlBuilder{}
	b.and("project_id = " + b.arg(r.project))
	g := *f
	g.since = nil // the position below bounds the start
	g.addFilters(b, filterOpts{times: true})
	if r.after != nil {
		t := b.arg(r.after.ts)
		b.and("ts >= " + t) // lets the planner prune earlier partitions
		if !r.inclusive {
			b.and("(ts, id) > (" + t + ", " + b.arg(r.after.id) + ")")
		}
	}
	return "SELECT " + logstore.EntryColumns + " FROM logs.entries WHERE " + b.where() +
		" ORDER BY ts, id LIMIT " + b.arg(limit), b.args
}

// exportHeap orders the readers by their next entry.
type exportHeap []*exportReader

func (h exportHeap) Len() int { return len(h) }
func (h exportHeap) Less(i, j int) bool {
	a, b := &h[i].buf[0], &h[j].buf[0]
	if c := a.TS.Compare(b.TS); c != 0 {
		return c < 0
	}
	return cmp.Less(a.ID, b.ID)
}
func (h exportHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *exportHeap) Push(x any)   { *h = append(*h, x.(*exportReader)) }
func (h *exportHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
