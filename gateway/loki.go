package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
)

// POST /loki/api/v1/push: Grafana Loki's push API, so that Promtail, Grafana
// Alloy, Fluent Bit's loki output and the Loki client libraries ship to
// DevSmith unchanged (docs/loki.md). A push is mapped to one IngestBatch per
// service (lokimap.go) with a batch_id derived from the body, and answered
// as Loki answers: 204, or a plain-text error.

// lokiPushPath is where Loki clients push.
const lokiPushPath = "/loki/api/v1/push"

// lokiMaxBatchEntries bounds the entries of one IngestBatch a push is cut
// into: the ingestion service's default --max-batch-entries.
const lokiMaxBatchEntries = 10_000

// lokiParallelBatches bounds the IngestBatch calls of one push in flight.
const lokiParallelBatches = 4

// lokiMaxReasons bounds the rejected entries a 400 answer names.
const lokiMaxReasons = 5

// isLokiPath reports whether r is for the Loki push API, whose errors are
// plain text.
func isLokiPath(r *http.Request) bool { return r.URL.Path == lokiPushPath }

// handleLokiPush is POST /loki/api/v1/push.
func (g *Gateway) handleLokiPush(w http.ResponseWriter, r *http.Request) {
	md, err := lokiAuth(r)
	if err != nil {
		g.writeLokiError(w, r, err)
		return
	}
	body, release, err := g.readBody(r)
	defer release()
	if err != nil {
		var mb *http.MaxBytesError
		switch {
		case errors.Is(err, errBusy):
			w.Header().Set("Retry-After", "1")
			writeLokiText(w, http.StatusServiceUnavailable, busyMessage)
		case errors.As(err, &mb):
			writeLokiText(w, http.StatusRequestEntityTooLarge, tooLargeMessage(g.cfg.MaxBodyBytes))
		default:
			g.writeLokiError(w, r, badRequest("reading body: %v", err))
		}
		return
	}
	streams, decoded, err := g.decodeLokiBody(r, body)
	defer g.inflight.release(decoded)
	switch {
	case errors.Is(err, errBusy):
		w.Header().Set("Retry-After", "1")
		writeLokiText(w, http.StatusServiceUnavailable, busyMessage)
		return
	case errors.Is(err, errTooLarge):
		writeLokiText(w, http.StatusRequestEntityTooLarge, tooLargeMessage(g.cfg.MaxBodyBytes))
		return
	case err != nil:
		g.writeLokiError(w, r, err)
		return
	}
	batches := mapLokiStreams(streams, lokiMaxBatchEntries)
	if len(batches) == 0 {
		w.WriteHeader(http.StatusNoContent) // nothing to store, as Loki answers
		return
	}
	digest := sha256.Sum256(body)
	results := g.ingestLoki(r.Context(), md, digest, batches)
	mds := make([]metadata.MD, len(results))
	for i := range results {
		mds[i] = results[i].md
	}
	copyRateLimitHeaders(w, leastRemaining(mds))
	if err := lokiFailure(results); err != nil {
		g.writeLokiError(w, r, err)
		return
	}
	if msg := lokiRejections(streams, batches, results); msg != "" {
		// Loki's answer to a push with invalid entries: 400, the valid
		// ones stored.
		writeLokiText(w, http.StatusBadRequest, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// lokiAuth is the metadata for the ingestion service: a basic auth's
// password (Promtail's basic_auth, any username) becomes x-api-key; a
// Bearer token or an X-API-Key header passes as outgoingAuth passes it.
// X-Scope-OrgID (Loki's tenant) is ignored: the key names the project.
func lokiAuth(r *http.Request) (metadata.MD, error) {
	md := outgoingAuth(r)
	if user, pass, ok := r.BasicAuth(); ok {
		md.Delete("authorization")
		if pass == "" {
			return nil, status.Errorf(codes.Unauthenticated, "basic auth without a password (user %q): the password must be the project's API key (any username)", cutRunesText(user, 60))
		}
		md.Set("x-api-key", pass)
		return md, nil
	}
	if len(md.Get("authorization")) == 0 && len(md.Get("x-api-key")) == 0 {
		return nil, status.Error(codes.Unauthenticated, "API key required: send the project's key as the basic auth password (Promtail's basic_auth, any username), as Authorization: Bearer dsk_..., or as X-API-Key")
	}
	return md, nil
}

func cutRunesText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// decodeLokiBody decodes a push body as its Content-Type says: JSON for
// application/json, else (as Loki does, application/x-protobuf or none)
// snappy-compressed protobuf. Content-Encoding snappy on JSON is undone
// here (gzip was undone by limitBody; snappy on protobuf is the format
// itself). The decompressed size is held against the in-flight budget:
// decoded is what the caller releases.
func (g *Gateway) decodeLokiBody(r *http.Request, body []byte) (streams []lokiStream, decoded int64, err error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	snappyEncoded := strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "snappy")
	if ct == "application/json" {
		if snappyEncoded {
			var n int64
			if body, n, err = g.unsnappy(body); err != nil {
				return nil, n, err
			}
			decoded = n
		}
		streams, err = decodeLokiJSON(body)
		return streams, decoded, err
	}
	raw, n, err := g.unsnappy(body)
	if err != nil {
		return nil, n, err
	}
	streams, err = decodeLokiProto(raw)
	return streams, n, err
}

// unsnappy decompresses a block-snappy body, reserving its size in the
// in-flight budget (n, to release, even on error).
func (g *Gateway) unsnappy(body []byte) (raw []byte, n int64, err error) {
	size, err := snappyLen(body)
	if err != nil {
		return nil, 0, err
	}
	if size > g.cfg.MaxBodyBytes {
		return nil, 0, errTooLarge
	}
	if !g.inflight.acquire(size) {
		return nil, 0, errBusy
	}
	raw, err = snappyDecode(body, size)
	return raw, size, err
}

// lokiResult is the outcome of one batch of a push.
type lokiResult struct {
	res *logsv1.IngestBatchResponse
	err error
	md  metadata.MD // response headers: the key's rate limit
}

// ingestLoki sends the batches, a few at a time. Each carries a batch_id
// made of the body's digest, its service and its chunk: a client that
// retries the same body after a partial failure (or a lost answer) stores
// nothing twice, whatever was committed before.
func (g *Gateway) ingestLoki(ctx context.Context, md metadata.MD, digest [32]byte, batches []*lokiBatch) []lokiResult {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.RequestTimeout)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, md)
	results := make([]lokiResult, len(batches))
	sem := make(chan struct{}, lokiParallelBatches)
	var wg sync.WaitGroup
	for i, b := range batches {
		req := &logsv1.IngestBatchRequest{ServiceName: b.service, BatchId: lokiBatchID(digest, b.service, b.chunk), Logs: b.logs}
		if len(batches) == 1 {
			results[i].res, results[i].err = g.ingestion.IngestBatch(ctx, req, grpc.Header(&results[i].md))
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i].res, results[i].err = g.ingestion.IngestBatch(ctx, req, grpc.Header(&results[i].md))
		})
	}
	wg.Wait()
	return results
}

// lokiBatchID is "loki-" and 32 hex digits of SHA-256(body digest, service,
// chunk).
func lokiBatchID(digest [32]byte, service string, chunk int) string {
	h := sha256.New()
	h.Write(digest[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(chunk))
	h.Write(n[:])
	io.WriteString(h, service)
	var sum [32]byte
	return "loki-" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// lokiFailure is the error to answer a push with when a batch failed: one a
// client retries (429, 5xx) before one it does not, so that what was not
// stored is sent again (and what was, is deduplicated).
func lokiFailure(results []lokiResult) error {
	var first error
	for _, r := range results {
		if r.err == nil {
			continue
		}
		if code, _ := apierr.HTTPStatus(statusOf(r.err)); code == http.StatusTooManyRequests || code >= 500 {
			return r.err
		}
		if first == nil {
			first = r.err
		}
	}
	return first
}

// lokiRejections words the entries the ingestion service rejected (by
// where they are in the body), or "" when there were none.
func lokiRejections(streams []lokiStream, batches []*lokiBatch, results []lokiResult) string {
	total, rejected := 0, 0
	var b []byte
	for i, r := range results {
		total += len(batches[i].logs)
		for _, rej := range r.res.GetRejected() {
			rejected++
			if rejected > lokiMaxReasons {
				continue
			}
			idx := int(rej.GetIndex())
			if idx < 0 || idx >= len(batches[i].from) {
				continue
			}
			at := batches[i].from[idx]
			b = append(b, "; streams["...)
			b = strconv.AppendInt(b, int64(at.stream), 10)
			b = append(b, "] "...)
			b = appendLokiLabels(b, streams[at.stream].labels)
			b = append(b, " values["...)
			b = strconv.AppendInt(b, int64(at.value), 10)
			b = append(b, "]: "...)
			b = append(b, rej.GetReason()...)
		}
	}
	if rejected == 0 {
		return ""
	}
	msg := fmt.Sprintf("%d of %d entries were rejected (the other %d are stored; do not send them again)%s", rejected, total, total-rejected, b)
	if rejected > lokiMaxReasons {
		msg += fmt.Sprintf("; and %d more", rejected-lokiMaxReasons)
	}
	return msg
}

// writeLokiError answers err as Loki does: its HTTP status, Retry-After
// for 429 and 503, and the message as plain text.
func (g *Gateway) writeLokiError(w http.ResponseWriter, r *http.Request, err error) {
	st := g.publicStatus(r, err)
	code, retry := apierr.HTTPStatus(st)
	setRetryAfter(w, retry)
	setRateLimitHeaders(w, st)
	writeLokiText(w, code, st.Message())
}

// writeLokiText writes a plain-text answer, as Loki's http.Error does.
func writeLokiText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Del("Content-Length")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
