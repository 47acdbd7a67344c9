package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// Run evaluates the due rules every interval and delivers notifications
// until ctx ends.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.evaluateLoop(ctx) })
	wg.Go(func() { s.deliverLoop(ctx) })
	wg.Wait()
}

// ListAlertFirings lists a readable rule's firings, newest first, with
// their deliveries and attempts.
func (s *Service) ListAlertFirings(ctx context.Context, req *logsv1.ListAlertFiringsRequest) (*logsv1.ListAlertFiringsResponse, error) {
	r, err := s.readable(ctx, req.GetId(), false)
	if err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize(), defaultFiringPage, maxFiringPage)
	if err != nil {
		return nil, err
	}
	before, err := parseToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	if before == 0 {
		before = 1<<63 - 1
	}
	rows, err := s.pool.Query(ctx, `SELECT id, state, value, threshold, window_start, window_end, created_at, notified, sample_entries
		FROM logs.alert_firings WHERE rule_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, r.ID, before, size+1)
	if err != nil {
		return nil, fmt.Errorf("listing firings: %w", err)
	}
	res := &logsv1.ListAlertFiringsResponse{}
	byID := map[int64]*logsv1.AlertFiring{}
	var ids []int64
	for rows.Next() {
		f := &logsv1.AlertFiring{AlertId: r.ID}
		var since, until, created time.Time
		var samples []byte
		if err := rows.Scan(&f.Id, &f.State, &f.Value, &f.Threshold, &since, &until, &created, &f.Notified, &samples); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing firings: %w", err)
		}
		f.Since, f.Until, f.CreateTime = ts(since), ts(until), ts(created)
		var es []sampleEntry
		if err := json.Unmarshal(samples, &es); err != nil {
			rows.Close()
			return nil, fmt.Errorf("decoding sample entries: %w", err)
		}
		for _, e := range es {
			f.SampleEntries = append(f.SampleEntries, &logsv1.LogEntry{
				Id: e.ID, ProjectSlug: r.ProjectSlug, ServiceName: e.ServiceName, Timestamp: ts(e.Timestamp),
				Level: e.Level, Message: e.Message, ContextJson: string(e.Context),
			})
		}
		res.Firings = append(res.Firings, f)
		byID[f.Id] = f
		ids = append(ids, f.Id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing firings: %w", err)
	}
	if len(res.Firings) > size {
		res.Firings = res.Firings[:size]
		res.NextPageToken = makeToken(res.Firings[size-1].Id)
		ids = ids[:size]
	}
	if err := s.attachDeliveries(ctx, ids, byID); err != nil {
		return nil, err
	}
	return res, nil
}

// attachDeliveries reads the deliveries and attempts of the firings ids.
func (s *Service) attachDeliveries(ctx context.Context, ids []int64, byID map[int64]*logsv1.AlertFiring) error {
	rows, err := s.pool.Query(ctx, `SELECT d.firing_id, d.id, d.channel_type, d.url, d.status, d.next_attempt_at,
		    a.time, a.duration_ms, a.http_status, a.error, a.response_snippet
		FROM logs.alert_deliveries d LEFT JOIN logs.alert_attempts a ON a.delivery_id = d.id
		WHERE d.firing_id = ANY($1) ORDER BY d.firing_id, d.id, a.id`, ids)
	if err != nil {
		return fmt.Errorf("listing deliveries: %w", err)
	}
	var last *logsv1.AlertDelivery
	var firingID, id int64
	var kind, url, status string
	var next time.Time
	var at *time.Time
	var dur *int64
	var httpStatus *int32
	var aerr, snippet *string
	_, err = pgx.ForEachRow(rows, []any{&firingID, &id, &kind, &url, &status, &next, &at, &dur, &httpStatus, &aerr, &snippet}, func() error {
		if last == nil || last.Id != id {
			last = &logsv1.AlertDelivery{Id: id, ChannelType: kind, Url: url, Status: status}
			if status == statusPending {
				last.NextAttemptTime = ts(next)
			}
			byID[firingID].Deliveries = append(byID[firingID].Deliveries, last)
		}
		if at != nil {
			last.Attempts = append(last.Attempts, &logsv1.AlertDeliveryAttempt{
				Time: ts(*at), DurationMs: *dur, HttpStatus: *httpStatus, Error: *aerr, ResponseSnippet: *snippet,
			})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing deliveries: %w", err)
	}
	return nil
}

// TestAlert sends a test notification to each channel of a rule the caller
// manages, now, once (no retries), records it as a firing in state "test"
// and returns each channel's answer.
func (s *Service) TestAlert(ctx context.Context, req *logsv1.TestAlertRequest) (*logsv1.TestAlertResponse, error) {
	var r *rule
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		r, err = s.managed(ctx, tx, req.GetId())
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	since := now.Add(-r.Window)
	m, err := s.measure(ctx, s.pool, r, now)
	if err != nil {
		return nil, err
	}
	samples, err := s.samples(ctx, s.pool, r, since, now)
	if err != nil {
		return nil, err
	}
	m.samples = samples
	res := &logsv1.TestAlertResponse{}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		fid, err := s.recordFiring(ctx, tx, r, "test", measurement{value: m.value, samples: samples}, since, now, false)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE logs.alert_firings SET notified = true WHERE id = $1`, fid); err != nil {
			return fmt.Errorf("marking the test notified: %w", err)
		}
		n := notification{rule: r, firingID: fid, state: "test", value: m.value, since: since, until: now, samples: samples, url: s.entriesURL(r, since, now)}
		for _, c := range r.Channels {
			body, err := n.body(c.Type)
			if err != nil {
				return err
			}
			a := s.post(ctx, c.Type, c.URL, c.Secret, body)
			status := statusDelivered
			if !a.ok() {
				status = statusFailed
			}
			s.tel.deliveries.WithLabelValues(status).Inc()
			var did int64
			if err := tx.QueryRow(ctx, `INSERT INTO logs.alert_deliveries (firing_id, channel_type, url, secret, body, status, attempts, next_attempt_at, give_up_at, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $7) RETURNING id`, fid, c.Type, c.URL, c.Secret, body, status, now).Scan(&did); err != nil {
				return fmt.Errorf("recording a test delivery: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO logs.alert_attempts (delivery_id, time, duration_ms, http_status, error, response_snippet)
				VALUES ($1, $2, $3, $4, $5, $6)`, did, a.time, a.duration.Milliseconds(), a.status, a.err, a.snippet); err != nil {
				return fmt.Errorf("recording a test attempt: %w", err)
			}
			res.Deliveries = append(res.Deliveries, &logsv1.AlertDelivery{
				Id: did, ChannelType: c.Type, Url: c.URL, Status: status,
				Attempts: []*logsv1.AlertDeliveryAttempt{{Time: timestamppb.New(a.time), HttpStatus: int32(a.status), Error: a.err, ResponseSnippet: a.snippet, DurationMs: a.duration.Milliseconds()}},
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
