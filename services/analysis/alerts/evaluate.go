package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/services/analysis/insights"
)

// Bounds of one evaluation.
const (
	// evalTimeout bounds one rule's evaluation (its statements).
	evalTimeout = 30 * time.Second
	// sampleEntries are the newest matching entries a firing carries.
	sampleEntries = 5
	// spikeWindows bounds the spike condition's baseline: the windows of
	// the rule's length just before its window, as many as cover 24 h, at
	// most this many (insights' baseline).
	spikeWindows = 96
)

// measurement is what one evaluation found.
type measurement struct {
	value   float64
	holds   bool
	samples []sampleEntry
}

// sampleEntry is an entry as notifications and firings carry it; Context
// is the stored jsonb text, unchanged.
type sampleEntry struct {
	ID          int64           `json:"id"`
	Timestamp   time.Time       `json:"timestamp"`
	ServiceName string          `json:"service_name"`
	Level       string          `json:"level"`
	Message     string          `json:"message"`
	Context     json.RawMessage `json:"context"`
}

// evaluateLoop evaluates the due rules every interval until ctx ends.
func (s *Service) evaluateLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		// Each rule evaluated in this pass is due again nine tenths of an
		// interval after the pass began, so that the next tick finds it
		// due whatever the timer's jitter (an interval after its own claim
		// would often be just after the next tick, and wait for the one
		// after: two intervals).
		next := s.now().Add(s.cfg.Interval - s.cfg.Interval/10)
		for ctx.Err() == nil {
			ok, err := s.evaluateOne(ctx, next)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("alert evaluation pass failed", zap.Error(err))
			}
			if !ok || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// evaluateOne claims one due rule (SKIP LOCKED: another replica's claim
// is passed over, and once committed its next_evaluation_at is no longer
// due), evaluates it and writes its state, next evaluation and any firing
// with its deliveries in the same transaction; the rule is due again at
// next. It reports whether a rule was due.
func (s *Service) evaluateOne(ctx context.Context, next time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, evalTimeout)
	defer cancel()
	now := s.now().UTC().Truncate(time.Microsecond)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("beginning an alert evaluation: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, `SELECT `+ruleColumns+` FROM logs.alert_rules r JOIN logs.projects p ON p.id = r.project_id
		WHERE r.enabled AND p.is_active AND r.next_evaluation_at <= $1 ORDER BY r.next_evaluation_at, r.id LIMIT 1 FOR UPDATE OF r SKIP LOCKED`, now)
	if err != nil {
		return false, fmt.Errorf("claiming an alert rule: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanRule)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claiming an alert rule: %w", err)
	}
	m, err := s.measure(ctx, tx, &r, now)
	if err != nil {
		s.tel.evaluations.WithLabelValues(resultError).Inc()
		_ = tx.Rollback(ctx)
		// Try again at the next interval, not at once.
		if _, uerr := s.pool.Exec(ctx, `UPDATE logs.alert_rules SET next_evaluation_at = $2 WHERE id = $1`, r.ID, next); uerr != nil {
			return true, fmt.Errorf("evaluating alert %d: %w (and postponing it: %v)", r.ID, err, uerr)
		}
		return true, fmt.Errorf("evaluating alert %d: %w", r.ID, err)
	}
	if m.holds {
		s.tel.evaluations.WithLabelValues(resultFiring).Inc()
	} else {
		s.tel.evaluations.WithLabelValues(resultOK).Inc()
	}
	queued, err := s.transition(ctx, tx, &r, m, now)
	if err != nil {
		return true, err
	}
	if _, err := tx.Exec(ctx, `UPDATE logs.alert_rules SET state = $2, state_since = $3, last_value = $4, last_evaluated_at = $5,
		last_notified_at = $6, open_firing_id = $7, next_evaluation_at = $8 WHERE id = $1`,
		r.ID, r.State, r.StateSince, m.value, now, r.LastNotifiedAt, r.OpenFiringID, next); err != nil {
		return true, fmt.Errorf("writing alert %d's state: %w", r.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return true, fmt.Errorf("committing alert %d's evaluation: %w", r.ID, err)
	}
	if queued {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true, nil
}

// transition applies m to r's state: ok → firing records a firing
// (notified unless within the cooldown of the last notification); firing
// → ok records its resolution (notified when the firing was). It reports
// whether deliveries were queued.
func (s *Service) transition(ctx context.Context, tx pgx.Tx, r *rule, m measurement, now time.Time) (bool, error) {
	since := now.Add(-r.Window)
	switch {
	case m.holds && r.State == "ok":
		notify := r.LastNotifiedAt == nil || now.Sub(*r.LastNotifiedAt) >= r.Cooldown
		id, err := s.recordFiring(ctx, tx, r, "firing", m, since, now, notify)
		if err != nil {
			return false, err
		}
		r.State, r.StateSince, r.OpenFiringID = "firing", now, &id
		if notify {
			r.LastNotifiedAt = &now
		}
		s.log.Info("alert firing", zap.Int64("alert_id", r.ID), zap.Float64("value", m.value), zap.Bool("notified", notify))
		return notify, nil
	case !m.holds && r.State == "firing":
		notify := false
		if r.OpenFiringID != nil {
			err := tx.QueryRow(ctx, `SELECT notified FROM logs.alert_firings WHERE id = $1`, *r.OpenFiringID).Scan(&notify)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return false, fmt.Errorf("reading alert %d's open firing: %w", r.ID, err)
			}
		}
		if _, err := s.recordFiring(ctx, tx, r, "resolved", m, since, now, notify); err != nil {
			return false, err
		}
		r.State, r.StateSince, r.OpenFiringID = "ok", now, nil
		s.log.Info("alert resolved", zap.Int64("alert_id", r.ID), zap.Float64("value", m.value), zap.Bool("notified", notify))
		return notify, nil
	}
	return false, nil
}

// recordFiring inserts a firing and, when notify, one delivery per channel
// with the exact body every attempt sends.
func (s *Service) recordFiring(ctx context.Context, q querier, r *rule, state string, m measurement, since, until time.Time, notify bool) (int64, error) {
	samples, err := json.Marshal(nonNil(m.samples))
	if err != nil {
		return 0, fmt.Errorf("encoding sample entries: %w", err)
	}
	var id int64
	err = q.QueryRow(ctx, `INSERT INTO logs.alert_firings (rule_id, state, value, threshold, window_start, window_end, sample_entries, notified, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		r.ID, state, m.value, r.Threshold, since, until, samples, notify, until).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("inserting a firing: %w", err)
	}
	if !notify {
		return id, nil
	}
	n := notification{rule: r, firingID: id, state: state, value: m.value, since: since, until: until, samples: m.samples, url: s.entriesURL(r, since, until)}
	for _, c := range r.Channels {
		body, err := n.body(c.Type)
		if err != nil {
			return 0, err
		}
		if _, err := q.Exec(ctx, `INSERT INTO logs.alert_deliveries (firing_id, channel_type, url, secret, body, next_attempt_at, give_up_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $6)`, id, c.Type, c.URL, c.Secret, body, until, until.Add(s.cfg.RetryFor)); err != nil {
			return 0, fmt.Errorf("queueing a delivery: %w", err)
		}
	}
	return id, nil
}

func nonNil(s []sampleEntry) []sampleEntry {
	if s == nil {
		return []sampleEntry{}
	}
	return s
}

// entriesURL is the dashboard's Logs page showing the rule's entries of
// the window.
func (s *Service) entriesURL(r *rule, since, until time.Time) string {
	v := url.Values{}
	v.Set("project", r.ProjectSlug)
	for _, l := range r.Query.Levels {
		v.Add("level", logstore.Level(l).String())
	}
	for _, sv := range r.Query.Services {
		v.Add("service", sv)
	}
	for k, val := range r.Query.Context {
		v.Add("context."+k, val)
	}
	if r.Query.Q != "" {
		v.Set("q", r.Query.Q)
	}
	v.Set("since", since.UTC().Format("2006-01-02T15:04:05.000Z"))
	v.Set("until", until.UTC().Format("2006-01-02T15:04:05.000Z"))
	return strings.TrimRight(s.cfg.DashboardURL, "/") + "/?" + v.Encode()
}

// sqlArgs numbers a statement's arguments.
type sqlArgs struct{ args []any }

func (a *sqlArgs) add(v any) string {
	a.args = append(a.args, v)
	return "$" + strconv.Itoa(len(a.args))
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// filter is the rule's query on logs.entries (alias e) over [lo, hi),
// without the service list when withServices is false.
func (r *rule) filter(a *sqlArgs, lo, hi time.Time, withServices bool) string {
	conds := []string{"e.project_id = " + a.add(r.ProjectID), "e.ts >= " + a.add(lo), "e.ts < " + a.add(hi)}
	if len(r.Query.Levels) > 0 {
		conds = append(conds, "e.level = ANY("+a.add(r.Query.Levels)+"::smallint[])")
	}
	if withServices && len(r.Query.Services) > 0 {
		conds = append(conds, "e.service_name = ANY("+a.add(r.Query.Services)+"::text[])")
	}
	if r.Query.Q != "" {
		conds = append(conds, "e.message ILIKE "+a.add("%"+likeEscaper.Replace(r.Query.Q)+"%"))
	}
	for k, v := range r.Query.Context {
		conds = append(conds, "e.context ->> "+a.add(k)+" = "+a.add(v))
	}
	return strings.Join(conds, " AND ")
}

func (s *Service) count(ctx context.Context, q querier, r *rule, lo, hi time.Time) (int64, error) {
	var a sqlArgs
	var n int64
	if err := q.QueryRow(ctx, `SELECT count(*) FROM logs.entries e WHERE `+r.filter(&a, lo, hi, true), a.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting entries: %w", err)
	}
	return n, nil
}

// measure evaluates r's condition over the window ending at now.
func (s *Service) measure(ctx context.Context, q querier, r *rule, now time.Time) (measurement, error) {
	since := now.Add(-r.Window)
	var m measurement
	switch r.Condition {
	case condCount:
		n, err := s.count(ctx, q, r, since, now)
		if err != nil {
			return m, err
		}
		m.value, m.holds = float64(n), float64(n) >= r.Threshold
	case condRateChange:
		cur, err := s.count(ctx, q, r, since, now)
		if err != nil {
			return m, err
		}
		prev, err := s.count(ctx, q, r, since.Add(-r.Window), since)
		if err != nil {
			return m, err
		}
		m.value = 100 * float64(cur-prev) / float64(max(prev, 1))
		if r.Threshold > 0 {
			m.holds = m.value >= r.Threshold
		} else {
			m.holds = prev > 0 && m.value <= r.Threshold
		}
	case condSpike:
		z, err := s.spike(ctx, q, r, since, now)
		if err != nil {
			return m, err
		}
		m.value, m.holds = z, z >= r.Threshold
	case condNewErrorGroup:
		var a sqlArgs
		sql := `SELECT count(*) FROM logs.error_groups g WHERE g.project_id = ` + a.add(r.ProjectID) +
			` AND g.first_seen >= ` + a.add(since) + ` AND g.first_seen < ` + a.add(now)
		sql += ` AND EXISTS (SELECT 1 FROM logs.entries e WHERE ` + r.filter(&a, since, now, true) +
			` AND e.error_fp <> 0 AND e.error_fp = g.fingerprint)`
		var n int64
		if err := q.QueryRow(ctx, sql, a.args...).Scan(&n); err != nil {
			return m, fmt.Errorf("counting new error groups: %w", err)
		}
		m.value, m.holds = float64(n), float64(n) >= r.Threshold
	case condSilence:
		var silent int64
		if len(r.Query.Services) == 0 {
			n, err := s.count(ctx, q, r, since, now)
			if err != nil {
				return m, err
			}
			if n == 0 {
				silent = 1
			}
		} else {
			var a sqlArgs
			sql := `SELECT count(*) FROM unnest(` + a.add(r.Query.Services) + `::text[]) AS s(name) WHERE NOT EXISTS (SELECT 1 FROM logs.entries e WHERE ` +
				r.filter(&a, since, now, false) + ` AND e.service_name = s.name)`
			if err := q.QueryRow(ctx, sql, a.args...).Scan(&silent); err != nil {
				return m, fmt.Errorf("finding silent services: %w", err)
			}
		}
		m.value, m.holds = float64(silent), silent > 0
		return m, nil // a silence has no entries to show
	default:
		return m, fmt.Errorf("unknown condition %q", r.Condition)
	}
	if m.holds {
		var err error
		if m.samples, err = s.samples(ctx, q, r, since, now); err != nil {
			return m, err
		}
	}
	return m, nil
}

// spike is the robust z-score (insights.RobustZ) of the window's count
// against the windows of the same length before it, as many as cover 24 h,
// at most spikeWindows.
func (s *Service) spike(ctx context.Context, q querier, r *rule, since, now time.Time) (float64, error) {
	cur, err := s.count(ctx, q, r, since, now)
	if err != nil {
		return 0, err
	}
	n := int(min(spikeWindows, max(1, (24*time.Hour+r.Window-1)/r.Window)))
	lo := since.Add(-time.Duration(n) * r.Window)
	var a sqlArgs
	sql := `SELECT floor(extract(epoch FROM (` + a.add(since) + `::timestamptz - e.ts)) / ` + a.add(r.Window.Seconds()) + `)::int AS k, count(*)
		FROM logs.entries e WHERE ` + r.filter(&a, lo, since, true) + ` GROUP BY 1`
	rows, err := q.Query(ctx, sql, a.args...)
	if err != nil {
		return 0, fmt.Errorf("counting the baseline: %w", err)
	}
	counts := make([]float64, n)
	var k int
	var c int64
	_, err = pgx.ForEachRow(rows, []any{&k, &c}, func() error {
		if k >= 0 && k < n {
			counts[k] = float64(c)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("counting the baseline: %w", err)
	}
	z, _ := insights.RobustZ(counts, float64(cur))
	if math.IsNaN(z) || math.IsInf(z, 0) {
		z = 0
	}
	return z, nil
}

func (s *Service) samples(ctx context.Context, q querier, r *rule, since, now time.Time) ([]sampleEntry, error) {
	var a sqlArgs
	sql := `SELECT ` + logstore.EntryColumnsOf("e") + ` FROM logs.entries e WHERE ` + r.filter(&a, since, now, true) +
		` ORDER BY e.ts DESC, e.id DESC LIMIT ` + strconv.Itoa(sampleEntries)
	rows, err := q.Query(ctx, sql, a.args...)
	if err != nil {
		return nil, fmt.Errorf("reading sample entries: %w", err)
	}
	es, err := pgx.CollectRows(rows, logstore.ScanEntry)
	if err != nil {
		return nil, fmt.Errorf("reading sample entries: %w", err)
	}
	out := make([]sampleEntry, len(es))
	for i, e := range es {
		out[i] = sampleEntry{ID: e.ID, Timestamp: e.TS.UTC(), ServiceName: e.Service, Level: e.Level.String(), Message: e.Message, Context: json.RawMessage(logstore.ContextJSON(e.Context))}
	}
	return out, nil
}
