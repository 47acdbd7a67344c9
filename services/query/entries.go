package query

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
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

// toProto converts a row; slugs names the projects. The context goes out as
// the jsonb's text as PostgreSQL writes it (pgx hands it over unchanged):
// every digit of a number is kept.
func (r *entryRow) toProto(slugs map[int64]string) *logsv1.LogEntry {
	return &logsv1.LogEntry{
		Id:          r.ID,
		ProjectSlug: slugs[r.ProjectID],
		ServiceName: r.Service,
		Timestamp:   timestamppb.New(r.TS),
		Level:       r.Level.String(),
		Message:     r.Message,
		ContextJson: contextJSON(r.Context),
	}
}

// contextJSON is the stored context as the text of a JSON object, unchanged
// when it is one. Ingestion only stores objects; any other value is kept
// under "_value" so that clients always get an object.
func contextJSON(stored []byte) string {
	switch t := bytes.TrimSpace(stored); {
	case len(t) == 0 || string(t) == "null":
		return "{}"
	case t[0] == '{':
		return string(stored)
	default:
		return `{"_value": ` + string(t) + "}"
	}
}

// ListEntries returns a page of matching entries, newest first.
func (s *Service) ListEntries(ctx context.Context, req *logsv1.ListEntriesRequest) (*logsv1.ListEntriesResponse, error) {
	pageSize, err := s.cfg.pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
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
		res.Entries = append(res.Entries, rows[i].toProto(f.slugs))
	}
	res.TotalSize = total
	if f.q != "" {
		res.TotalSizeExact = total < int64(s.cfg.SearchCountCap)
	}
	return res, nil
}
