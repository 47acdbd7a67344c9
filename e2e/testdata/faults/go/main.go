// Command go is the fault-test driver for the Go sample logger: see
// ../README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	logger "github.com/devsmith/logs/samples/go"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fault driver go:", err)
		os.Exit(1)
	}
}

// watch counts the logger's HTTP answers from outside the logger.
type watch struct {
	next http.RoundTripper

	mu                sync.Mutex
	acked             []int64
	statuses          map[string]int
	missingRetryAfter int
	unexpected        []string
}

func (w *watch) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var batch struct {
		Logs []struct {
			Context struct {
				Seq int64 `json:"seq"`
			} `json:"context"`
		} `json:"logs"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		return nil, fmt.Errorf("decoding the logger's batch: %w", err)
	}
	res, err := w.next.RoundTrip(req)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.statuses["no answer"]++
		return nil, err
	}
	w.statuses[strconv.Itoa(res.StatusCode)]++
	switch {
	case res.StatusCode/100 == 2:
		for _, e := range batch.Logs {
			w.acked = append(w.acked, e.Context.Seq)
		}
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable:
		if res.Header.Get("Retry-After") == "" {
			w.missingRetryAfter++
		}
	case len(w.unexpected) < 20:
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(raw))
		w.unexpected = append(w.unexpected, fmt.Sprintf("%d: %.300s", res.StatusCode, raw))
	}
	return res, nil
}

func run() error {
	runID, stopFile := os.Getenv("DRIVER_RUN_ID"), os.Getenv("DRIVER_STOP_FILE")
	if runID == "" || stopFile == "" {
		return fmt.Errorf("DRIVER_RUN_ID and DRIVER_STOP_FILE are required")
	}
	interval, err := durationEnv("DRIVER_INTERVAL", 5*time.Millisecond)
	if err != nil {
		return err
	}
	closeTimeout, err := durationEnv("DRIVER_CLOSE_TIMEOUT", time.Minute)
	if err != nil {
		return err
	}
	w := &watch{next: http.DefaultTransport, statuses: map[string]int{}}
	// RequestTimeout longer than the 10 s freeze: the platform's answer, not
	// the timeout, is counted.
	log, err := logger.New(logger.Config{HTTPClient: &http.Client{Transport: w}, RequestTimeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("starting the logger: %w", err)
	}
	seq := int64(0)
	for {
		if _, err := os.Stat(stopFile); err == nil {
			break
		}
		log.Log("INFO", fmt.Sprintf("fault go %s %d", runID, seq), map[string]any{"run_id": runID, "seq": seq})
		seq++
		time.Sleep(interval)
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	closeErr := log.Close(ctx)
	w.mu.Lock()
	out, err := json.Marshal(map[string]any{"run_id": runID, "numbered": seq, "acked": ranges(w.acked),
		"statuses": w.statuses, "missing_retry_after": w.missingRetryAfter, "unexpected": w.unexpected})
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	fmt.Println("FAULTDRIVER " + string(out))
	if closeErr != nil {
		return fmt.Errorf("delivering: %w", closeErr)
	}
	return nil
}

// ranges are the sorted, distinct seqs as inclusive ranges.
func ranges(seqs []int64) [][2]int64 {
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	var out [][2]int64
	for _, n := range seqs {
		if k := len(out); k > 0 && n <= out[k-1][1]+1 {
			out[k-1][1] = max(out[k-1][1], n)
			continue
		}
		out = append(out, [2]int64{n, n})
	}
	return out
}

func durationEnv(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := logger.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}
