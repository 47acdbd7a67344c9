package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/durationflag"
)

// Delivery statuses.
const (
	statusPending   = "pending"
	statusDelivered = "delivered"
	statusFailed    = "failed"
)

const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// exact body under the channel's secret.
	SignatureHeader = "X-DevSmith-Signature"
	// TimestampHeader carries the attempt's time in Unix seconds.
	TimestampHeader = "X-DevSmith-Timestamp"
	// snippetBytes of an answer's body are recorded.
	snippetBytes = 512
	// lease: a claimed attempt is not due again for this long, so a
	// replica that dies mid-POST has it retried, and no other replica
	// sends it meanwhile.
	lease = httpTimeout + 20*time.Second
	// pollEvery: how often due deliveries (retries) are looked for.
	pollEvery = 250 * time.Millisecond
)

// notification is what one firing tells its channels.
type notification struct {
	rule     *rule
	firingID int64
	state    string // firing, resolved, test
	value    float64
	since    time.Time
	until    time.Time
	samples  []sampleEntry
	url      string
}

// webhookBody is the JSON a webhook channel receives (docs/alerts.md).
type webhookBody struct {
	Alert struct {
		ID        int64   `json:"id"`
		Name      string  `json:"name"`
		Condition string  `json:"condition"`
		Threshold float64 `json:"threshold"`
	} `json:"alert"`
	Project       string        `json:"project"`
	State         string        `json:"state"`
	Value         float64       `json:"value"`
	Threshold     float64       `json:"threshold"`
	Window        string        `json:"window"`
	Since         time.Time     `json:"since"`
	Until         time.Time     `json:"until"`
	SampleEntries []sampleEntry `json:"sample_entries"`
	URL           string        `json:"url"`
	FiringID      int64         `json:"firing_id"`
}

func (n *notification) body(channelType string) ([]byte, error) {
	if channelType == chanSlack {
		return n.slackBody()
	}
	var b webhookBody
	b.Alert.ID, b.Alert.Name, b.Alert.Condition, b.Alert.Threshold = n.rule.ID, n.rule.Name, n.rule.Condition, n.rule.Threshold
	b.Project, b.State, b.Value, b.Threshold = n.rule.ProjectSlug, n.state, n.value, n.rule.Threshold
	b.Window = durationflag.Format(n.rule.Window)
	b.Since, b.Until = n.since.UTC(), n.until.UTC()
	b.SampleEntries, b.URL, b.FiringID = nonNil(n.samples), n.url, n.firingID
	out, err := marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding a webhook body: %w", err)
	}
	return out, nil
}

// marshal is json.Marshal without HTML escaping (<, > and & stay as they
// are: the bodies are read by programs, not embedded in pages) and without
// the encoder's final newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// slackEscaper escapes what Slack's mrkdwn reads as markup.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackBody is a Slack incoming-webhook message: text (the notification's
// fallback) and blocks.
func (n *notification) slackBody() ([]byte, error) {
	icon := map[string]string{"firing": ":rotating_light:", "resolved": ":white_check_mark:", "test": ":test_tube:"}[n.state]
	head := fmt.Sprintf("%s [%s] %s (%s): %s", icon, strings.ToUpper(n.state), slackEscaper.Replace(n.rule.Name), slackEscaper.Replace(n.rule.ProjectSlug), n.describe())
	detail := fmt.Sprintf("*%s* · project `%s` · window %s to %s\n<%s|Show the entries>", slackEscaper.Replace(n.rule.Name), slackEscaper.Replace(n.rule.ProjectSlug),
		n.since.UTC().Format(time.RFC3339), n.until.UTC().Format(time.RFC3339), n.url)
	blocks := []any{
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": head}},
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": detail}},
	}
	if len(n.samples) > 0 {
		var lines []string
		for _, e := range n.samples {
			msg := e.Message
			if utf8.RuneCountInString(msg) > 200 {
				msg = string([]rune(msg)[:200]) + "…"
			}
			lines = append(lines, fmt.Sprintf("`%s` %s %s: %s", e.Timestamp.Format(time.RFC3339), e.Level, slackEscaper.Replace(e.ServiceName), slackEscaper.Replace(msg)))
		}
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": strings.Join(lines, "\n")}}})
	}
	out, err := marshal(map[string]any{"text": head, "blocks": blocks})
	if err != nil {
		return nil, fmt.Errorf("encoding a Slack body: %w", err)
	}
	return out, nil
}

func (n *notification) describe() string {
	v := strconv.FormatFloat(n.value, 'g', 4, 64)
	th := strconv.FormatFloat(n.rule.Threshold, 'g', 4, 64)
	w := durationflag.Format(n.rule.Window)
	switch n.rule.Condition {
	case condCount:
		return fmt.Sprintf("%s entries in %s (threshold %s)", v, w, th)
	case condRateChange:
		return fmt.Sprintf("changed by %s%% against the previous %s (threshold %s%%)", v, w, th)
	case condSpike:
		return fmt.Sprintf("z-score %s against the baseline (threshold %s)", v, th)
	case condNewErrorGroup:
		return fmt.Sprintf("%s new error groups in %s", v, w)
	case condSilence:
		return fmt.Sprintf("%s silent for %s", v, w)
	}
	return v
}

// sign is the signature header's value for body under secret.
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// attempt is the outcome of one POST.
type attempt struct {
	time     time.Time
	duration time.Duration
	status   int
	err      string
	snippet  string
}

func (a attempt) ok() bool { return a.err == "" }

// retryable tells whether a failed attempt is worth repeating: no answer,
// a 5xx, a 3xx, 408 or 429; any other 4xx says the request itself is
// refused, and the same body would be again.
func (a attempt) retryable() bool {
	return a.status == 0 || a.status >= 500 || a.status < 400 || a.status == http.StatusRequestTimeout || a.status == http.StatusTooManyRequests
}

// post sends body to a channel once.
func (s *Service) post(ctx context.Context, channelType, url, sealedSecret string, body []byte) attempt {
	a := attempt{time: s.now().UTC()}
	defer func() {
		s.tel.delivery.Observe(a.duration.Seconds())
	}()
	secret, err := s.sealer.open(sealedSecret)
	if err != nil {
		a.err = "the channel's secret cannot be read (was DEVSMITH_SECRETS_KEY changed?)"
		s.log.Error("alert delivery not signed", zap.Error(err))
		return a
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		a.err = "the URL cannot be requested"
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "DevSmith-Alerts/1")
	req.Header.Set(TimestampHeader, strconv.FormatInt(a.time.Unix(), 10))
	if channelType == chanWebhook && secret != "" {
		req.Header.Set(SignatureHeader, sign(secret, body))
	}
	began := time.Now()
	res, err := s.client.Do(req)
	a.duration = time.Since(began)
	if err != nil {
		a.err = describeTransport(err)
		return a
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, snippetBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	a.status = res.StatusCode
	a.snippet = strings.ToValidUTF8(string(snippet), "?")
	if res.StatusCode < 200 || res.StatusCode > 299 {
		a.err = "answered " + res.Status
	}
	return a
}

// describeTransport names a failed request without internal detail
// beyond what the operator configured (the URL's host is theirs).
func describeTransport(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Client.Timeout") || strings.Contains(msg, "deadline exceeded"):
		return "no answer within 10s"
	case strings.Contains(msg, "connection refused"):
		return "connection refused"
	case strings.Contains(msg, "no such host"):
		return "the host name does not resolve"
	case strings.Contains(msg, "certificate"):
		return "TLS certificate not trusted"
	}
	return "no answer: the connection failed"
}

// deliverLoop sends due deliveries until ctx ends: woken when an
// evaluation queues some, and every pollEvery for retries.
func (s *Service) deliverLoop(ctx context.Context) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := s.deliverDue(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("alert delivery pass failed", zap.Error(err))
			}
			if n < deliveryWorkers || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// due is a claimed delivery.
type due struct {
	id          int64
	channelType string
	url         string
	secret      string
	body        []byte
	attempts    int
	giveUpAt    time.Time
}

// deliverDue claims up to deliveryWorkers due deliveries (leased: their
// next_attempt_at moves lease ahead in the claiming statement), POSTs them
// at once and records each answer. It returns how many it claimed.
func (s *Service) deliverDue(ctx context.Context) (int, error) {
	now := s.now().UTC()
	rows, err := s.pool.Query(ctx, `UPDATE logs.alert_deliveries d SET next_attempt_at = $2, attempts = d.attempts + 1
		WHERE d.id IN (SELECT id FROM logs.alert_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
		               ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING d.id, d.channel_type, d.url, d.secret, d.body, d.attempts, d.give_up_at`, now, now.Add(lease), deliveryWorkers)
	if err != nil {
		return 0, fmt.Errorf("claiming deliveries: %w", err)
	}
	var claimed []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.channelType, &d.url, &d.secret, &d.body, &d.attempts, &d.giveUpAt); err != nil {
			rows.Close()
			return 0, fmt.Errorf("claiming deliveries: %w", err)
		}
		claimed = append(claimed, d)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("claiming deliveries: %w", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(claimed))
	for i, d := range claimed {
		wg.Go(func() {
			a := s.post(ctx, d.channelType, d.url, d.secret, d.body)
			errs[i] = s.recordAttempt(context.WithoutCancel(ctx), d, a)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return len(claimed), err
		}
	}
	return len(claimed), nil
}

// backoff is the delay before the retry that follows attempt n (1-based):
// a random duration below min(1h, base·2^(n-1)), "full jitter".
func (s *Service) backoff(n int) time.Duration {
	ceiling := retryCap
	if n-1 < 30 {
		ceiling = min(retryCap, s.cfg.RetryBase<<(n-1))
	}
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

// recordAttempt writes an attempt and the delivery's next step: delivered,
// retried after a backoff, or failed (a 4xx that is not 408 or 429, or
// past give_up_at).
func (s *Service) recordAttempt(ctx context.Context, d due, a attempt) error {
	status, next := statusDelivered, a.time
	result := statusDelivered
	if !a.ok() {
		next = a.time.Add(s.backoff(d.attempts))
		status, result = statusPending, resultRetry
		if !a.retryable() || next.After(d.giveUpAt) {
			status, result = statusFailed, statusFailed
		}
	}
	s.tel.deliveries.WithLabelValues(result).Inc()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("recording an attempt: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `INSERT INTO logs.alert_attempts (delivery_id, time, duration_ms, http_status, error, response_snippet)
		VALUES ($1, $2, $3, $4, $5, $6)`, d.id, a.time, a.duration.Milliseconds(), a.status, a.err, a.snippet); err != nil {
		return fmt.Errorf("recording an attempt: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE logs.alert_deliveries SET status = $2, next_attempt_at = $3 WHERE id = $1`, d.id, status, next); err != nil {
		return fmt.Errorf("recording an attempt: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("recording an attempt: %w", err)
	}
	s.log.Info("alert delivery attempt", zap.Int64("delivery_id", d.id), zap.Int("attempt", d.attempts), zap.Int("http_status", a.status), zap.String("status", status), zap.String("error", a.err))
	return nil
}
