package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Tails are live tails (SSE, GET /api/logs/tail) kept open during a
// benchmark, as dashboards watching the project would be, each counting the
// entries it receives.
type Tails struct {
	Query  url.Values // the tails' filters
	counts []atomic.Int64
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []string // how tails ended early
}

// OpenTails opens n tails with the filters q as the signed-in user of api,
// and returns once every one is streaming.
func OpenTails(ctx context.Context, api *API, q url.Values, n int) (*Tails, error) {
	ctx, cancel := context.WithCancel(ctx)
	t := &Tails{Query: q, counts: make([]atomic.Int64, n), cancel: cancel}
	client := &http.Client{} // no timeout: the streams last the whole run
	for i := range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.BaseURL+"/api/logs/tail?"+q.Encode(), nil)
		if err != nil {
			t.Close()
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+api.Token)
		res, err := client.Do(req)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("opening tail %d: %w", i, err)
		}
		if res.StatusCode != http.StatusOK {
			res.Body.Close()
			t.Close()
			return nil, fmt.Errorf("opening tail %d: HTTP %d", i, res.StatusCode)
		}
		t.wg.Go(func() {
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			event := ""
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "event: "):
					event = strings.TrimPrefix(line, "event: ")
				case strings.HasPrefix(line, "data: ") && event == "error":
					t.mu.Lock()
					t.errs = append(t.errs, strings.TrimPrefix(line, "data: "))
					t.mu.Unlock()
					return
				case strings.HasPrefix(line, "data: "):
					t.counts[i].Add(1)
				case line == "":
					event = ""
				}
			}
		})
	}
	return t, nil
}

// Received is how many entries each tail has received.
func (t *Tails) Received() []int64 {
	out := make([]int64, len(t.counts))
	for i := range t.counts {
		out[i] = t.counts[i].Load()
	}
	return out
}

// WaitFor waits until every tail has received want entries, or timeout.
func (t *Tails) WaitFor(ctx context.Context, want int64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		done := true
		for _, n := range t.Received() {
			done = done && n >= want
		}
		if done {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Ended lists how tails that ended early were ended (their `event: error`).
func (t *Tails) Ended() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.errs...)
}

// Close ends the tails.
func (t *Tails) Close() {
	t.cancel()
	t.wg.Wait()
}
