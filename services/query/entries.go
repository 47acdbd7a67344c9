package query

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
)

// entryRow is one entry as read (logstore.EntryColumns).
type entryRow struct{ logstore.Entry }

func scanEntry(row pgx.CollectableRow) (entryRow, error) {
	e, err := logstore.ScanEntry(row)
	return entryRow{e}, err
}

// toProto converts a row; slugs names the projects.
func (r *entryRow) toProto(slugs map[int64]string) (*logsv1.LogEntry, error) {
	ctxStruct, err := decodeContext(r.Context)
	if err != nil {
		return nil, fmt.Errorf("decoding context of entry %d: %w", r.ID, err)
	}
	return &logsv1.LogEntry{
		Id:          r.ID,
		ProjectSlug: slugs[r.ProjectID],
		ServiceName: r.Service,
		Timestamp:   timestamppb.New(r.TS),
		Level:       r.Level.String(),
		Message:     r.Message,
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
		res.NextPageToken = encodeToken(cursor{ts: last.TS, id: last.ID}, hash)
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
