package query

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/logstore"
)

// ListEntries returns a page of matching entries, newest first.
func (s *Service) ListEntries(ctx context.Context, req *logsv1.ListEntriesRequest) (*logsv1.ListEntriesResponse, error) {
	pageSize, err := s.cfg.pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	f, err := parseFilters(ctx, rawFilters{
		project: req.GetProject(), service: req.GetService(), level: req.GetLevel(),
		since: req.GetSince(), until: req.GetUntil(), q: req.GetQ(), context: req.GetContext(),
		pattern: req.GetPattern(), errorGroup: req.GetErrorGroup(),
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
		if err := logstore.ResolveEntries(ctx, tx, rows); err != nil {
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
		res.Entries = append(res.Entries, rows[i].Proto(f.slugs[rows[i].ProjectID]))
	}
	res.TotalSize = total
	if f.q != "" {
		res.TotalSizeExact = total < int64(s.cfg.SearchCountCap)
	}
	return res, nil
}
