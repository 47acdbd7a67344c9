package loadgen

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// Target is where batches go.
type Target struct {
	BaseURL    string // REST
	IngestAddr string // gRPC (IngestStream)
	APIKey     string
}

// LoadConfig is one phase of sending.
type LoadConfig struct {
	// Transport is "rest" (POST /api/logs/batch), "grpc" (IngestStream),
	// "loki" (POST /loki/api/v1/push, snappy protobuf: loki.go) or "otlp"
	// (POST /v1/logs, OTLP protobuf: otlp.go).
	Transport string
	// Concurrency is the number of clients of a closed loop (Rate 0): each
	// sends its next batch when the last one is answered.
	Concurrency int
	// Rate, when > 0, sends batches open-loop at this many logs/s, however
	// fast the server answers, with at most MaxInFlight outstanding
	// (beyond that a batch is counted as not sent). Latency is measured from
	// each batch's scheduled start, so a stalled server is not hidden.
	Rate        float64
	MaxInFlight int
	Duration    time.Duration
	Gzip        bool
	// BatchIDs gives every batch sent a fresh batch_id, as the sample
	// loggers do (the platform then records each one for deduplication).
	BatchIDs bool
	Batches  []*Batch
	// StreamBatches is how many batches each gRPC stream carries.
	StreamBatches int
	// Timeout bounds one request.
	Timeout time.Duration
}

// Result is what one phase measured.
type Result struct {
	Elapsed      time.Duration
	Batches      int64 // answered 2xx
	Logs         int64 // acknowledged entries (sum of the answers' count)
	PayloadBytes int64 // message+context bytes of acknowledged batches
	WireBytes    int64 // request bodies sent (compressed when gzip), all answers
	Latencies    []time.Duration
	// Slowest are the answered batches with the highest latency, slowest
	// first, with when they were sent (for finding what stalls).
	Slowest  []Sample
	Statuses map[string]int64 // "201", "503", "429", "error: ..." and so on
	// Refused429or503 counts 429/503 answers; MissingRetryAfter those
	// without a Retry-After header.
	Refused           int64
	MissingRetryAfter int64
	// UnknownLogs are entries of batches whose outcome is unknown (transport
	// error or timeout): they may or may not be stored.
	UnknownLogs int64
	// NotSent are batches an open-loop phase could not start because
	// MaxInFlight were outstanding.
	NotSent int64
}

// LogsPerSec is acknowledged entries per second.
func (r *Result) LogsPerSec() float64 { return float64(r.Logs) / r.Elapsed.Seconds() }

// Percentile returns the p-th percentile latency (0 < p <= 100).
func (r *Result) Percentile(p float64) time.Duration { return percentile(r.Latencies, p) }

// percentile is the p-th percentile (0 < p <= 100, nearest rank) of sorted
// durations; 0 when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Sample is one answered batch: sent At (since the phase began), answered
// after Latency.
type Sample struct {
	At, Latency time.Duration
}

type collector struct {
	mu    sync.Mutex
	res   Result
	start time.Time
	all   []Sample
}

func (c *collector) record(b *Batch, lat time.Duration, statusKey string, acked int64, wire int, refused, missingRetry, unknown bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if acked >= 0 {
		c.all = append(c.all, Sample{At: now.Add(-lat).Sub(c.start), Latency: lat})
	}
	c.res.Statuses[statusKey]++
	c.res.WireBytes += int64(wire)
	if acked >= 0 {
		c.res.Batches++
		c.res.Logs += acked
		c.res.PayloadBytes += int64(b.PayloadBytes())
		c.res.Latencies = append(c.res.Latencies, lat)
	}
	if refused {
		c.res.Refused++
		if missingRetry {
			c.res.MissingRetryAfter++
		}
	}
	if unknown {
		c.res.UnknownLogs += int64(len(b.Entries))
	}
}

// Run sends batches for cfg.Duration and returns what it measured.
func Run(ctx context.Context, t Target, cfg LoadConfig) (*Result, error) {
	if len(cfg.Batches) == 0 {
		return nil, errors.New("no batches to send")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.StreamBatches <= 0 {
		cfg.StreamBatches = 100
	}
	col := &collector{res: Result{Statuses: map[string]int64{}}, start: time.Now()}
	ids := newBatchIDs(cfg.BatchIDs)
	var sender func(ctx context.Context, b *Batch, scheduled time.Time)
	var streamer func(ctx context.Context, deadline time.Time, next func() *Batch)
	conns := max(cfg.Concurrency, cfg.MaxInFlight, 1)
	switch cfg.Transport {
	case "", "rest":
		client := newHTTPClient(conns, cfg.Timeout)
		defer client.CloseIdleConnections()
		var gz *sync.Pool
		if cfg.Gzip {
			gz = newGzipPool()
		}
		sender = func(ctx context.Context, b *Batch, scheduled time.Time) {
			sendREST(ctx, client, t, gz, b, ids.next(), scheduled, col)
		}
	case "loki":
		client := newHTTPClient(conns, cfg.Timeout)
		defer client.CloseIdleConnections()
		var err error
		if sender, err = newLokiSender(client, t, cfg.Batches, col); err != nil {
			return nil, err
		}
	case "otlp":
		client := newHTTPClient(conns, cfg.Timeout)
		defer client.CloseIdleConnections()
		var gz *sync.Pool
		if cfg.Gzip {
			gz = newGzipPool()
		}
		s := newOTLPSender(client, t, gz, col)
		sender = s.send // no batch_id: the platform derives one per request (otlp.go)
	case "grpc":
		if cfg.Rate > 0 {
			return nil, errors.New("the gRPC transport runs closed-loop only (no --rate)")
		}
		conn, err := grpc.NewClient(t.IngestAddr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(16<<20)))
		if err != nil {
			return nil, fmt.Errorf("dialling %s: %w", t.IngestAddr, err)
		}
		defer conn.Close()
		client := logsv1.NewIngestionServiceClient(conn)
		streamer = func(ctx context.Context, deadline time.Time, next func() *Batch) {
			streamGRPC(ctx, client, t.APIKey, cfg, deadline, next, ids.next, col)
		}
	default:
		return nil, fmt.Errorf("transport %q: want rest, grpc, loki or otlp", cfg.Transport)
	}

	var idx atomic.Int64
	next := func() *Batch { return cfg.Batches[int(idx.Add(1))%len(cfg.Batches)] }
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	if cfg.Rate <= 0 {
		for range max(cfg.Concurrency, 1) {
			wg.Go(func() {
				if streamer != nil {
					streamer(ctx, deadline, next)
					return
				}
				for time.Now().Before(deadline) && ctx.Err() == nil {
					sender(ctx, next(), time.Now())
				}
			})
		}
		wg.Wait()
	} else {
		size := len(cfg.Batches[0].Entries)
		interval := time.Duration(float64(time.Second) * float64(size) / cfg.Rate)
		limit := int64(max(cfg.MaxInFlight, 1))
		var inflight atomic.Int64
		var notSent int64
		for at := start; at.Before(deadline) && ctx.Err() == nil; at = at.Add(interval) {
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			if inflight.Load() >= limit {
				notSent++
				continue
			}
			inflight.Add(1)
			b, scheduled := next(), at
			wg.Go(func() {
				defer inflight.Add(-1)
				sender(ctx, b, scheduled)
			})
		}
		wg.Wait()
		col.res.NotSent = notSent
	}
	col.res.Elapsed = time.Since(start)
	if cfg.Rate > 0 {
		// Open loop: the rate is over the scheduled window, not the tail of
		// stragglers.
		col.res.Elapsed = cfg.Duration
	}
	slices.Sort(col.res.Latencies)
	slices.SortFunc(col.all, func(a, b Sample) int { return cmp.Compare(b.Latency, a.Latency) })
	col.res.Slowest = col.all[:min(len(col.all), 20)]
	return &col.res, nil
}

func newHTTPClient(conns int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// answer is the part of a batch answer the load generator reads.
type answer struct {
	Count    int64 `json:"count"`
	Rejected []struct {
		Index  int    `json:"index"`
		Reason string `json:"reason"`
	} `json:"rejected"`
}

// batchIDs makes batch_ids unique across runs and phases: a random prefix
// and a counter. Its next returns "" when batch ids are off.
type batchIDs struct {
	on     bool
	prefix string
	n      atomic.Int64
}

func newBatchIDs(on bool) *batchIDs {
	return &batchIDs{on: on, prefix: fmt.Sprintf("lg-%016x-", rand.Uint64())}
}

func (ids *batchIDs) next() string {
	if !ids.on {
		return ""
	}
	return ids.prefix + strconv.FormatInt(ids.n.Add(1), 10)
}

// exchange sends req (its body wire bytes long) and reads the whole answer:
// the answer, its body, the latency since the batch was scheduled and the
// status code as text. A transport error or a cut answer is recorded on
// col for b, and ok is false.
func exchange(client *http.Client, req *http.Request, b *Batch, wire int, scheduled time.Time, col *collector) (res *http.Response, raw []byte, lat time.Duration, code string, ok bool) {
	res, err := client.Do(req)
	if err != nil {
		col.record(b, 0, "error: "+errorClass(err), -1, wire, false, false, true)
		return nil, nil, 0, "", false
	}
	raw, err = io.ReadAll(res.Body)
	res.Body.Close()
	lat = time.Since(scheduled)
	code = strconv.Itoa(res.StatusCode)
	if err != nil {
		col.record(b, 0, code+" (answer cut: "+errorClass(err)+")", -1, wire, false, false, true)
		return nil, nil, 0, "", false
	}
	return res, raw, lat, code, true
}

func sendREST(ctx context.Context, client *http.Client, t Target, gz *sync.Pool, b *Batch, batchID string, scheduled time.Time, col *collector) {
	body := b.Body(gz, batchID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.BaseURL+"/api/logs/batch", bytes.NewReader(body))
	if err != nil {
		col.record(b, 0, "error: "+err.Error(), -1, 0, false, false, false)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", t.APIKey)
	if gz != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, raw, lat, code, ok := exchange(client, req, b, len(body), scheduled, col)
	if !ok {
		return
	}
	switch {
	case res.StatusCode/100 == 2:
		var a answer
		if err := json.Unmarshal(raw, &a); err != nil {
			col.record(b, lat, code+" (undecodable)", -1, len(body), false, false, true)
			return
		}
		if len(a.Rejected) > 0 {
			code += " with rejections: " + a.Rejected[0].Reason
		}
		col.record(b, lat, code, a.Count, len(body), false, false, false)
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable:
		col.record(b, lat, code, -1, len(body), true, res.Header.Get("Retry-After") == "", false)
	default:
		col.record(b, lat, code+": "+string(bytes.TrimSpace(raw[:min(len(raw), 200)])), -1, len(body), false, false, false)
	}
}

func errorClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return err.Error()
}

// streamGRPC opens streams of cfg.StreamBatches batches until the deadline.
// A stream answers once, for all its batches; each batch's latency is the
// stream's duration divided by its batches.
func streamGRPC(ctx context.Context, client logsv1.IngestionServiceClient, key string, cfg LoadConfig, deadline time.Time, next func() *Batch, nextID func() string, col *collector) {
	md := metadata.Pairs("x-api-key", key)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		sctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(ctx, md), cfg.Timeout*time.Duration(cfg.StreamBatches))
		start := time.Now()
		stream, err := client.IngestStream(sctx)
		if err != nil {
			cancel()
			col.record(next(), 0, "error: "+grpcClass(err), -1, 0, false, false, false)
			continue
		}
		var sent []*Batch
		var sendErr error
		for range cfg.StreamBatches {
			b := next()
			if sendErr = stream.Send(b.StreamRequest(nextID())); sendErr != nil {
				break
			}
			sent = append(sent, b)
		}
		res, err := stream.CloseAndRecv()
		cancel()
		if err == nil && sendErr != nil {
			err = sendErr
		}
		per := time.Since(start) / time.Duration(max(len(sent), 1))
		if err != nil {
			key := "error: " + grpcClass(err)
			st, _ := status.FromError(err)
			refused := st != nil && (st.Code().String() == "Unavailable" || st.Code().String() == "ResourceExhausted")
			for _, b := range sent {
				col.record(b, per, key, -1, 0, refused, false, true)
			}
			continue
		}
		// The stream's count covers every batch; spread it.
		remaining := res.GetCount()
		for i, b := range sent {
			n := int64(len(b.Entries))
			if i == len(sent)-1 || n > remaining {
				n = remaining
			}
			remaining -= n
			col.record(b, per, "OK", n, proto.Size(b.Proto), false, false, false)
		}
	}
}

func grpcClass(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Code().String()
	}
	return err.Error()
}
