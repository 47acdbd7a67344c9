package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/jsontext"
	"github.com/devsmith/logs/internal/restjson"
)

// handleTail is GET /api/logs/tail: the query service's TailEntries stream
// as server-sent events, one `data: {entry}` event per entry whose `id:` is
// the entry's resume token, with a comment line every TailHeartbeat so
// proxies keep the connection open. A browser's EventSource sends the last
// id back as Last-Event-ID when it reconnects, and the tail resumes from
// there. Errors before the stream starts are ordinary JSON errors.
func (g *Gateway) handleTail(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeErrorBody(w, http.StatusInternalServerError, codes.Internal, "streaming unsupported")
		return
	}
	req := &logsv1.TailEntriesRequest{}
	if err := (queryParser{}).Parse(req, r.URL.Query(), utilities.NewDoubleArray(nil)); err != nil {
		writeErrorBody(w, http.StatusBadRequest, codes.InvalidArgument, err.Error())
		return
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" && req.GetResumeToken() == "" {
		req.ResumeToken = id
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(g.tails, cancel)() // EndTails
	stream, err := g.query.TailEntries(metadata.NewOutgoingContext(ctx, outgoingAuth(r)), req)
	if err != nil {
		g.writeRPCError(w, r, err)
		return
	}
	// The query service sends headers once the subscription is in place; a
	// stream that ends without them failed (bad filter, no session). Other
	// metadata may come first (a read key's x-ratelimit-*, set when the
	// call was admitted), so it is the tail's own header that says so.
	md, err := stream.Header()
	if err == nil && len(md.Get("x-devsmith-tail")) == 0 {
		_, err = stream.Recv()
		if err == nil || errors.Is(err, io.EOF) {
			err = status.Error(codes.Unavailable, "tail ended before it started")
		}
	}
	if err != nil {
		g.writeRPCError(w, r, err)
		return
	}

	copyRateLimitHeaders(w, md) // a read key's budget
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// A comment says whether the resume point was honoured (the query
	// service's x-devsmith-tail header): "resumed", or "started" from now.
	if v := md.Get("x-devsmith-tail"); len(v) > 0 && v[0] == "resumed" {
		_, _ = io.WriteString(w, ": tail resumed\n\n")
	} else {
		_, _ = io.WriteString(w, ": tail started\n\n")
	}
	flusher.Flush()

	entries := make(chan *logsv1.TailEntriesResponse)
	recvErr := make(chan error, 1)
	go func() {
		for {
			res, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case entries <- res:
			case <-ctx.Done():
				recvErr <- ctx.Err()
				return
			}
		}
	}()
	beat := time.NewTicker(g.cfg.TailHeartbeat)
	defer beat.Stop()
	buf := make([]byte, 0, 1024)
	for {
		select {
		case res := <-entries:
			buf = buf[:0]
			if tok := res.GetResumeToken(); tok != "" && !strings.ContainsAny(tok, "\r\n") {
				buf = append(buf, "id: "...)
				buf = append(buf, tok...)
				buf = append(buf, '\n')
			}
			buf = append(buf, "data: "...)
			buf, err = restjson.AppendMessage(buf, res.GetEntry().ProtoReflect())
			if err != nil {
				g.log.Error("encoding tail entry", zap.Error(err))
				return
			}
			buf = append(buf, "\n\n"...)
			if _, err := w.Write(buf); err != nil {
				return
			}
			flusher.Flush()
		case <-beat.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case err := <-recvErr:
			if ctx.Err() == nil && !errors.Is(err, io.EOF) {
				st := statusOf(err)
				msg := st.Message()
				if st.Code() == codes.Internal || st.Code() == codes.Unknown || st.Code() == codes.Unavailable {
					msg = "tail interrupted; reconnect"
				}
				b := append([]byte("event: error\ndata: "), jsontext.AppendString(nil, msg)...)
				_, _ = w.Write(append(b, "\n\n"...))
				flusher.Flush()
			}
			return
		case <-ctx.Done():
			return
		}
	}
}
