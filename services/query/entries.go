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

// entryProto converts an entry whose pattern is resolved
// (logstore.ResolvePatterns); slugs names the projects. The context goes
// out as the jsonb's text as PostgreSQL writes it (pgx hands it over
// unchanged): every digit of a number is kept.
func entryProto(r *logstore.Entry, slugs map[int64]string) *logsv1.LogEntry {
	return &logsv1.LogEntry{
		Id:          r.ID,
		ProjectSlug: slugs[r.ProjectID],
		ServiceName: r.Service,
		Timestamp:   timestamppb.New(r.TS),
		Level:       r.Level.String(),
		Message:     r.Message,
		ContextJson: contextJSON(r.Context),
		PatternId:   logstore.FormatPatternID(r.Pattern),
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
		pattern: req.GetPattern(),
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

	var rows []logstore.Entry
	var total int64
	var more bool
	// One snapshot for the patterns' members, the page, its entries'
	// patterns and the count, so they agree.
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if found, err := f.resolveMembers(ctx, tx); err != nil || !found {
			return err
		}
		sql, args := pageQuery(f, after, pageSize+1)
		r, err := tx.Query(ctx, sql, oneShot(args)...)
		if err != nil {
			return fmt.Errorf("querying page: %w", err)
		}
		if rows, err = pgx.CollectRows(r, logstore.ScanEntry); err != nil {
			return fmt.Errorf("reading page: %w", err)
		}
		if more = len(rows) > pageSize; more {
			rows = rows[:pageSize]
		}
		if err := logstore.ResolvePatterns(ctx, tx, rows); err != nil {
			return err
		}
		if after == nil && !more {
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

	if more {
		last := rows[len(rows)-1]
		res.NextPageToken = encodeToken(cursor{ts: last.TS, id: last.ID}, hash)
	}
	for i := range rows {
		res.Entries = append(res.Entries, entryProto(&rows[i], f.slugs))
	}
	res.TotalSize = total
	if f.q != "" {
		res.TotalSizeExact = total < int64(s.cfg.SearchCountCap)
	}
	return res, nil
}
