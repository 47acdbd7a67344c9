// Package grpcstream streams log batches to DevSmith Logs over the
// ingestion service's IngestStream RPC (gRPC, port 9102 by default).
//
// IngestStream commits each batch as it arrives and answers once, when the
// client closes the stream. So a client knows a batch is stored only after
// that answer. This client therefore keeps every batch it sent on the open
// stream until the stream's answer arrives, closes each stream after
// MaxBatchesPerStream batches or StreamIdle without one (bounding what it
// keeps, and confirming promptly), and when a stream
// fails with a retryable status (UNAVAILABLE: the platform is restarting
// or overloaded; RESOURCE_EXHAUSTED: rate limited; ...) it waits (the
// status's RetryInfo delay when present, else exponential backoff with
// jitter), opens a new stream and sends the unconfirmed batches again with
// the same batch ids. The platform stores a batch id once per project
// within 24 hours, so the batches the failed stream had already committed
// are not stored twice.
//
// The generated client in ./ingestpb comes from the platform's
// proto/devsmith/logs/v1/ingestion_service.proto (buf.gen.grpc-go.yaml in
// the repository); copy this folder and it builds on its own.
package grpcstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/samples/grpc-go/ingestpb"
)

// Config says where and as what the batches go.
type Config struct {
	// APIKey is the project's key (dsk_...), sent as x-api-key metadata.
	APIKey string
	// Service is the service_name of every batch (required).
	Service string
	// Project, if set, is checked by the platform against the key's project.
	Project string
	// MaxBatchesPerStream: a stream is closed (and its batches confirmed)
	// after this many batches. Default 50.
	MaxBatchesPerStream int
	// StreamIdle: a stream that got no batch for this long is closed, so
	// what it carried is confirmed without waiting for more. Default 1 s.
	StreamIdle time.Duration
	// MaxAttempts: a failing stream is retried this many times in a row
	// before Run gives up. Default 10.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the exponential backoff used when the
	// platform gives no RetryInfo. Defaults 200 ms and 10 s.
	MinBackoff, MaxBackoff time.Duration
	// Logf, if set, is told about retries.
	Logf func(format string, args ...any)
}

// Result is what the platform confirmed.
type Result struct {
	Entries   int64 // entries stored
	Batches   int64 // batches confirmed
	Rejected  int64 // entries refused one by one (bad entries; not retried)
	Truncated int64
	Streams   int // streams that were answered
	Retries   int // streams that failed and were retried
	Reasons   []string
}

// Client sends batches over IngestStream.
type Client struct {
	rpc ingestpb.IngestionServiceClient
	cfg Config
}

// New returns a client on conn (grpc.NewClient).
func New(conn grpc.ClientConnInterface, cfg Config) *Client {
	if cfg.MaxBatchesPerStream <= 0 {
		cfg.MaxBatchesPerStream = 50
	}
	if cfg.StreamIdle <= 0 {
		cfg.StreamIdle = time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 200 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Client{rpc: ingestpb.NewIngestionServiceClient(conn), cfg: cfg}
}

// NewBatchID is a random batch id (128 bits, hex).
func NewBatchID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Run sends every batch read from in until in is closed, and returns once
// the platform has confirmed all of them. It returns an error for a status
// that retrying cannot fix (a bad key, a bad batch), or when a stream kept
// failing MaxAttempts times; the Result then counts what was confirmed.
// Cancelling ctx stops at once (unconfirmed batches are not known stored).
func (c *Client) Run(ctx context.Context, in <-chan []*ingestpb.LogInput) (Result, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "x-api-key", c.cfg.APIKey)
	var (
		res     Result
		pending []*ingestpb.IngestStreamRequest // sent on this stream, not confirmed
		done    bool                            // in is closed
		failed  int                             // failures in a row
	)
	for {
		err := c.stream(ctx, in, &pending, &done, &res)
		if err == nil {
			failed = 0
			if done && len(pending) == 0 {
				return res, nil
			}
			continue
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		delay, ok := retryDelay(err)
		if !ok {
			return res, fmt.Errorf("ingest stream refused (%d batches unconfirmed): %w", len(pending), err)
		}
		failed++
		if failed >= c.cfg.MaxAttempts {
			return res, fmt.Errorf("ingest stream failed %d times in a row (%d batches unconfirmed): %w", failed, len(pending), err)
		}
		if delay == 0 {
			delay = c.backoff(failed)
		}
		res.Retries++
		c.cfg.Logf("ingest stream failed (%v); resending %d batches in %s", status.Code(err), len(pending), delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return res, ctx.Err()
		}
	}
}

// stream runs one IngestStream: it first sends the unconfirmed batches
// again, then new ones from in, and closes the stream after
// MaxBatchesPerStream batches or when in is closed. On success the pending
// batches are confirmed and counted.
func (c *Client) stream(ctx context.Context, in <-chan []*ingestpb.LogInput, pending *[]*ingestpb.IngestStreamRequest, done *bool, res *Result) error {
	if *done && len(*pending) == 0 {
		return nil
	}
	// Wait for a first batch before opening a stream that may stay idle.
	if len(*pending) == 0 {
		logs, ok := <-in
		if !ok {
			*done = true
			return nil
		}
		*pending = append(*pending, c.request(logs))
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.rpc.IngestStream(sctx)
	if err != nil {
		return err
	}
	// send returns the stream's status when a Send fails (io.EOF means the
	// server ended the stream: its status comes from CloseAndRecv).
	send := func(r *ingestpb.IngestStreamRequest) error {
		if err := st.Send(r); err != nil {
			if errors.Is(err, io.EOF) {
				_, err = st.CloseAndRecv()
			}
			return err
		}
		return nil
	}
	for _, r := range *pending {
		if err := send(r); err != nil {
			return err
		}
	}
	idle := time.NewTimer(c.cfg.StreamIdle)
	defer idle.Stop()
loop:
	for !*done && len(*pending) < c.cfg.MaxBatchesPerStream {
		select {
		case logs, ok := <-in:
			if !ok {
				*done = true
				break loop
			}
			r := c.request(logs)
			*pending = append(*pending, r)
			if err := send(r); err != nil {
				return err
			}
			idle.Reset(c.cfg.StreamIdle)
		case <-idle.C:
			break loop // confirm what was sent rather than hold it
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	out, err := st.CloseAndRecv()
	if err != nil {
		return err
	}
	res.Streams++
	res.Entries += out.GetCount()
	res.Batches += out.GetBatches()
	res.Truncated += out.GetTruncated()
	res.Rejected += int64(len(out.GetRejected()))
	for _, r := range out.GetRejected() {
		if len(res.Reasons) < 5 {
			res.Reasons = append(res.Reasons, r.GetReason())
		}
	}
	*pending = (*pending)[:0]
	return nil
}

func (c *Client) request(logs []*ingestpb.LogInput) *ingestpb.IngestStreamRequest {
	return &ingestpb.IngestStreamRequest{
		ProjectSlug: c.cfg.Project,
		ServiceName: c.cfg.Service,
		Logs:        logs,
		BatchId:     NewBatchID(),
	}
}

// backoff is the n-th (1-based) delay: exponential from MinBackoff up to
// MaxBackoff, with full jitter in its upper half.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.MinBackoff << min(n-1, 20)
	if d <= 0 || d > c.cfg.MaxBackoff {
		d = c.cfg.MaxBackoff
	}
	return d/2 + mrand.N(d/2+1)
}

// retryDelay tells whether a failed stream is worth sending again, and the
// delay the platform asked for (its RetryInfo; 0 when it gave none).
// UNAVAILABLE (restarting, overloaded, connection lost), RESOURCE_EXHAUSTED
// (rate limited; not "too large", which the same batch would get again),
// ABORTED, DEADLINE_EXCEEDED and INTERNAL ("storing the batch failed; retry
// it") are retried; a bad key, a bad batch or a wrong project are not.
func retryDelay(err error) (time.Duration, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return 0, true // not a status: a transport problem
	}
	var delay time.Duration
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			delay = d.GetRetryDelay().AsDuration()
		case *errdetails.ErrorInfo:
			if d.GetReason() == "PAYLOAD_TOO_LARGE" {
				return 0, false
			}
		}
	}
	switch st.Code() {
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.DeadlineExceeded, codes.Internal:
		return delay, true
	}
	return 0, false
}
