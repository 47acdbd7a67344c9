package loadgen

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// SequencedConfig is a steady stream of numbered entries, for the
// fault-injection tests (e2e/faults_test.go): every entry carries its run id
// and a sequence number in its context ({"run_id": ..., "seq": n}), every
// batch a batch_id, and the sender keeps each batch until the platform
// acknowledges it, retrying with the same batch_id, as the sample loggers
// do. The report says which sequences were acknowledged and every answer
// seen, so a test can check the database against it.
type SequencedConfig struct {
	RunID       string
	Service     string
	Rate        float64       // logs/s, open loop
	BatchSize   int           // entries per batch
	MaxInFlight int           // batches outstanding at most; beyond that a tick numbers nothing
	Timeout     time.Duration // bounds one request
	// Drain bounds how long, once ctx ends, unacknowledged batches are
	// still retried before the report is made.
	Drain time.Duration
}

// SequencedReport is what a sequenced run saw.
type SequencedReport struct {
	RunID string `json:"run_id"`
	// Numbered is how many sequences were handed out (0 .. Numbered-1).
	Numbered int64 `json:"numbered"`
	// Acked are the acknowledged sequences (a 2xx answer to their batch),
	// as sorted, disjoint, inclusive ranges.
	Acked [][2]int64 `json:"acked"`
	// AckedCount is the number of sequences in Acked.
	AckedCount int64 `json:"acked_count"`
	// Statuses counts every answer by HTTP status ("201", "503", ...);
	// "no answer" counts requests that got none (connection refused or
	// reset, timeout).
	Statuses map[string]int64 `json:"statuses"`
	// MissingRetryAfter counts 429 and 503 answers without Retry-After.
	MissingRetryAfter int64 `json:"missing_retry_after"`
	// Unexpected lists up to 20 answers other than 2xx, 429 and 503, with
	// their bodies.
	Unexpected []string `json:"unexpected,omitempty"`
	// MaxLatencyMS is the longest a request waited for its answer, in
	// milliseconds (a frozen database shows here rather than in Statuses).
	MaxLatencyMS int64 `json:"max_latency_ms"`
	// Skipped counts ticks that numbered nothing because MaxInFlight
	// batches were outstanding.
	Skipped int64 `json:"skipped"`
}

// RunSequenced sends numbered entries at cfg.Rate until ctx ends, then
// retries what is unacknowledged for up to cfg.Drain, and reports.
func RunSequenced(ctx context.Context, t Target, cfg SequencedConfig) (*SequencedReport, error) {
	if cfg.RunID == "" || cfg.Service == "" {
		return nil, errors.New("a sequenced run needs a run id and a service name")
	}
	if cfg.Rate <= 0 || cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("rate %v and batch size %d: both must be positive", cfg.Rate, cfg.BatchSize)
	}
	cfg.MaxInFlight = max(cfg.MaxInFlight, 1)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	s := &seqSender{t: t, cfg: cfg, client: newHTTPClient(cfg.MaxInFlight, cfg.Timeout),
		rep: SequencedReport{RunID: cfg.RunID, Statuses: map[string]int64{}}}
	defer s.client.CloseIdleConnections()
	// Retries outlive ctx by the drain period.
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	go func() {
		<-ctx.Done()
		timer := time.NewTimer(cfg.Drain)
		defer timer.Stop()
		select {
		case <-timer.C:
			cancelDrain()
		case <-drainCtx.Done():
		}
	}()

	interval := time.Duration(float64(time.Second) * float64(cfg.BatchSize) / cfg.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	sem := make(chan struct{}, cfg.MaxInFlight)
	var wg sync.WaitGroup
	var next int64
	for batch := 0; ; batch++ {
		select {
		case <-ctx.Done():
		case <-tick.C:
			select {
			case sem <- struct{}{}:
			default:
				s.mu.Lock()
				s.rep.Skipped++
				s.mu.Unlock()
				continue
			}
			first := next
			next += int64(cfg.BatchSize)
			id := fmt.Sprintf("%s-b%d", cfg.RunID, batch)
			wg.Go(func() {
				defer func() { <-sem }()
				s.deliver(drainCtx, id, first)
			})
			continue
		}
		break
	}
	wg.Wait()
	s.rep.Numbered = next
	s.rep.Acked = mergeRanges(s.rep.Acked)
	for _, r := range s.rep.Acked {
		s.rep.AckedCount += r[1] - r[0] + 1
	}
	return &s.rep, nil
}

type seqSender struct {
	t      Target
	cfg    SequencedConfig
	client *http.Client
	mu     sync.Mutex
	rep    SequencedReport
}

// deliver sends the batch of sequences first.. until it is acknowledged or
// ctx ends, with the same batch_id every time.
func (s *seqSender) deliver(ctx context.Context, batchID string, first int64) {
	body := s.body(batchID, first)
	for ctx.Err() == nil {
		wait, done := s.attempt(ctx, body)
		if done {
			s.mu.Lock()
			s.rep.Acked = append(s.rep.Acked, [2]int64{first, first + int64(s.cfg.BatchSize) - 1})
			s.mu.Unlock()
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// attempt sends body once: done on a 2xx, else how long to wait.
func (s *seqSender) attempt(ctx context.Context, body []byte) (wait time.Duration, done bool) {
	const pause = 250 * time.Millisecond
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.t.BaseURL+"/api/logs/batch", bytes.NewReader(body))
	if err != nil {
		return pause, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", s.t.APIKey)
	start := time.Now()
	res, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			s.count("no answer", "", false)
		}
		return pause, false
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		s.count("no answer", "", false)
		return pause, false
	}
	s.mu.Lock()
	s.rep.MaxLatencyMS = max(s.rep.MaxLatencyMS, time.Since(start).Milliseconds())
	s.mu.Unlock()
	code := strconv.Itoa(res.StatusCode)
	switch {
	case res.StatusCode/100 == 2:
		s.count(code, "", false)
		return 0, true
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable:
		ra := res.Header.Get("Retry-After")
		s.count(code, "", ra == "")
		if secs, err := strconv.Atoi(ra); err == nil && secs > 0 {
			return time.Duration(secs) * time.Second, false
		}
		return pause, false
	default:
		s.count(code, code+": "+string(bytes.TrimSpace(raw[:min(len(raw), 300)])), false)
		return pause, false
	}
}

func (s *seqSender) count(key, unexpected string, missingRetryAfter bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rep.Statuses[key]++
	if missingRetryAfter {
		s.rep.MissingRetryAfter++
	}
	if unexpected != "" && len(s.rep.Unexpected) < 20 {
		s.rep.Unexpected = append(s.rep.Unexpected, unexpected)
	}
}

// body is the batch of BatchSize entries from sequence first.
func (s *seqSender) body(batchID string, first int64) []byte {
	type entry struct {
		Timestamp string         `json:"timestamp"`
		Level     string         `json:"level"`
		Message   string         `json:"message"`
		Context   map[string]any `json:"context"`
	}
	logs := make([]entry, s.cfg.BatchSize)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range logs {
		seq := first + int64(i)
		logs[i] = entry{Timestamp: now, Level: "INFO", Message: "loadgen " + s.cfg.RunID + " " + strconv.FormatInt(seq, 10),
			Context: map[string]any{"run_id": s.cfg.RunID, "seq": seq}}
	}
	b, _ := json.Marshal(struct {
		ServiceName string  `json:"service_name"`
		BatchID     string  `json:"batch_id"`
		Logs        []entry `json:"logs"`
	}{s.cfg.Service, batchID, logs})
	return b
}

// mergeRanges sorts inclusive ranges and joins adjacent or overlapping ones.
func mergeRanges(rs [][2]int64) [][2]int64 {
	slices.SortFunc(rs, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	var out [][2]int64
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][1]+1 {
			out[n-1][1] = max(out[n-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}
