package query

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// entryColumns are the columns scanEntry reads, in order.
const entryColumns = "project_id, id, ts, service_name, level, message, context"

type entryRow struct {
	projectID int64
	id        int64
	ts        time.Time
	service   string
	level     int16
	message   string
	context   []byte
}

func scanEntry(rows pgx.CollectableRow) (entryRow, error) {
	var r entryRow
	err := rows.Scan(&r.projectID, &r.id, &r.ts, &r.service, &r.level, &r.message, &r.context)
	return r, err
}

// toProto converts a row; slugs names the projects.
func (r *entryRow) toProto(slugs map[int64]string) (*logsv1.LogEntry, error) {
	ctxStruct, err := decodeContext(r.context)
	if err != nil {
		return nil, fmt.Errorf("decoding context of entry %d: %w", r.id, err)
	}
	return &logsv1.LogEntry{
		Id:          r.id,
		ProjectSlug: slugs[r.projectID],
		ServiceName: r.service,
		Timestamp:   timestamppb.New(r.ts),
		Level:       levelName(r.level),
		Message:     r.message,
		Context:     ctxStruct,
	}, nil
}

// decodeContext turns the stored jsonb into a Struct. A value that is not an
// object (never written by ingestion) is kept under "_value".
func decodeContext(raw []byte) (*structpb.Struct, error) {
	if len(raw) == 0 {
		return &structpb.Struct{Fields: map[string]*structpb.Value{}}, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return &structpb.Struct{Fields: map[string]*structpb.Value{}}, nil
		}
		m = map[string]any{"_value": v}
	}
	return structpb.NewStruct(m)
}

// ListEntries returns a page of matching entries, newest first.
func (s *Service) ListEntries(ctx context.Context, req *logsv1.ListEntriesRequest) (*logsv1.ListEntriesResponse, error) {
	res, err := s.listEntries(ctx, req)
	if err != nil {
		return nil, s.toStatus(ctx, "listing entries", err)
	}
	return res, nil
}

func (s *Service) listEntries(ctx context.Context, req *logsv1.ListEntriesRequest) (*logsv1.ListEntriesResponse, error) {
	pageSize := int(req.GetPageSize())
	switch {
	case pageSize < 0:
		return nil, invalidArg("page_size must not be negative")
	case pageSize == 0:
		pageSize = s.cfg.DefaultPageSize
	case pageSize > s.cfg.MaxPageSize:
		pageSize = s.cfg.MaxPageSize
	}
	f, err := parseFilters(ctx, rawFilters{
		project: req.GetProject(), service: req.GetService(), level: req.GetLevel(),
		since: req.GetSince(), until: req.GetUntil(), q: req.GetQ(), context: req.GetContext(),
	})
	if err != nil {
		return nil, err
	}
	hash := f.hash()
	var after *cursor
	if tok := req.GetPageToken(); tok != "" {
		c, err := decodeToken(tok, hash)
		if err != nil {
			return nil, err
		}
		after = &c
	}
	res := &logsv1.ListEntriesResponse{Entries: []*logsv1.LogEntry{}, TotalSizeExact: true}
	if len(f.projects) == 0 {
		return res, nil
	}

	var rows []entryRow
	var total int64
	// One snapshot for the page and the count, so they agree.
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		sql, args := pageQuery(f, after, pageSize+1)
		r, err := tx.Query(ctx, sql, oneShot(args)...)
		if err != nil {
			return fmt.Errorf("querying page: %w", err)
		}
		if rows, err = pgx.CollectRows(r, scanEntry); err != nil {
			return fmt.Errorf("reading page: %w", err)
		}
		if after == nil && len(rows) <= pageSize {
			// The first page holds every match: that is the count, and a
			// search for a rare text does not scan its range twice.
			total = int64(len(rows))
			if f.q != "" {
				total = min(total, int64(s.cfg.SearchCountCap)) // as countQuery caps it
			}
			return nil
		}
		sql, args = countQuery(f, s.cfg.SearchCountCap)
		if err := tx.QueryRow(ctx, sql, oneShot(args)...).Scan(&total); err != nil {
			return fmt.Errorf("counting entries: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	if len(rows) > pageSize {
		rows = rows[:pageSize]
		last := rows[len(rows)-1]
		res.NextPageToken = encodeToken(cursor{ts: last.ts, id: last.id}, hash)
	}
	for i := range rows {
		e, err := rows[i].toProto(f.slugs)
		if err != nil {
			return nil, err
		}
		res.Entries = append(res.Entries, e)
	}
	res.TotalSize = total
	if f.q != "" {
		res.TotalSizeExact = total < int64(s.cfg.SearchCountCap)
	}
	return res, nil
}

// oneShot makes a query's arguments run it as a one-shot statement, planned
// for these argument values. A prepared statement would switch to a generic
// plan after five runs, and without the values of since, until and the
// projects the planner misjudges how many entries match: with 10M entries
// it chose a bitmap heap scan over the covering index and 24 h stats of a
// project went from 40 ms to 170 ms (docs/performance.md). Planning costs
// well under a millisecond here.
func oneShot(args []any) []any {
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// pageQuery selects up to limit entries after the cursor, newest first. With
// several projects each project's newest entries are read from its own
// primary-key range (a LATERAL join per project) and merged, so the newest
// page costs O(projects × limit) index reads, not a sort of every match.
//
// With service or level filters (and no q or context filter), the newest
// keys are found first by an index-only scan of the service index, which
// carries level and id (migration 0002), and only those rows are read: a
// filtered page then reads about limit heap pages instead of one for every
// entry the filters skip. The result is the same rows in the same order.
func pageQuery(f *filters, after *cursor, limit int) (string, []any) {
	b := &sqlBuilder{}
	var projectArg string
	if len(f.projects) == 1 {
		b.and("project_id = " + b.arg(f.projects[0]))
	} else {
		projectArg = b.arg(f.projects)
		b.and("project_id = p.id")
	}
	f.addFilters(b, filterOpts{times: true})
	if after != nil {
		t := b.arg(after.ts)
		// ts <= t lets the planner prune later partitions; the row
		// comparison is the keyset condition the primary key serves.
		b.and("ts <= " + t)
		b.and("(ts, id) < (" + t + ", " + b.arg(after.id) + ")")
	}
	lim := b.arg(limit)
	var inner string
	if keysFirst := (len(f.services) > 0 || len(f.levels) > 0) && f.q == "" && len(f.context) == 0; keysFirst {
		// The time bounds are repeated on the row lookup so that the planner
		// prunes partitions there as well.
		var bounds string
		if f.since != nil {
			bounds += " AND x.ts >= " + b.arg(*f.since)
		}
		if f.until != nil {
			bounds += " AND x.ts < " + b.arg(*f.until)
		}
		inner = "SELECT x." + strings.ReplaceAll(entryColumns, ", ", ", x.") +
			" FROM (SELECT project_id, ts, id FROM logs.entries WHERE " + b.where() + " ORDER BY ts DESC, id DESC LIMIT " + lim + ") k" +
			" JOIN logs.entries x ON x.project_id = k.project_id AND x.ts = k.ts AND x.id = k.id" + bounds +
			" ORDER BY x.ts DESC, x.id DESC"
	} else {
		inner = "SELECT " + entryColumns + " FROM logs.entries WHERE " + b.where() +
			" ORDER BY ts DESC, id DESC LIMIT " + lim
	}
	if projectArg == "" {
		return inner, b.args
	}
	cols := "e." + strings.ReplaceAll(entryColumns, ", ", ", e.")
	return "SELECT " + cols + " FROM unnest(" + projectArg + "::bigint[]) AS p(id) CROSS JOIN LATERAL (" + inner +
		") e ORDER BY e.ts DESC, e.id DESC LIMIT " + lim, b.args
}

// countQuery counts every match; with q, at most cap of them.
func countQuery(f *filters, limit int) (string, []any) {
	b := &sqlBuilder{}
	f.addFilters(b, filterOpts{projects: true, times: true})
	if f.q == "" {
		return "SELECT count(*) FROM logs.entries WHERE " + b.where(), b.args
	}
	return "SELECT count(*) FROM (SELECT 1 FROM logs.entries WHERE " + b.where() +
		" LIMIT " + b.arg(limit) + ") s", b.args
}
