package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// batchBody is POST /api/logs/batch as clients send it (DESIGN §3). Entries
// stay raw so that one odd entry never fails the whole decode.
type batchBody struct {
	ProjectSlug *string           `json:"project_slug"`
	ServiceName *string           `json:"service_name"`
	BatchID     *string           `json:"batch_id"`
	Logs        []json.RawMessage `json:"logs"`
}

type rawEntry struct {
	Timestamp json.RawMessage `json:"timestamp"`
	Level     json.RawMessage `json:"level"`
	Message   json.RawMessage `json:"message"`
	Context   json.RawMessage `json:"context"`
}

// decodeBatch turns a batch body into the ingestion RPC's request, leniently:
// levels and timestamps stay strings (numbers as written), a message that is
// a number or object becomes its JSON text, a context is passed on as its
// JSON text. The ingestion service validates each entry. Only an envelope
// that is not JSON, or whose fields have the wrong type, is an error here.
func decodeBatch(body []byte) (*logsv1.IngestBatchRequest, error) {
	var b batchBody
	if err := json.Unmarshal(body, &b); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return nil, fmt.Errorf("the body must be a JSON object with service_name and logs, not a JSON %s", te.Value)
		}
		if errors.As(err, &te) {
			want := "a string"
			if te.Field == "logs" {
				want = "an array of log entries"
			}
			return nil, fmt.Errorf("%s must be %s, not a JSON %s", te.Field, want, te.Value)
		}
		return nil, fmt.Errorf("malformed JSON body: %v", err)
	}
	req := &logsv1.IngestBatchRequest{
		ProjectSlug: deref(b.ProjectSlug),
		ServiceName: deref(b.ServiceName),
		BatchId:     deref(b.BatchID),
		Logs:        make([]*logsv1.LogInput, len(b.Logs)),
	}
	for i, raw := range b.Logs {
		req.Logs[i] = decodeEntry(raw)
	}
	return req, nil
}

func decodeEntry(raw json.RawMessage) *logsv1.LogInput {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		// A bare string or number is the message itself.
		return &logsv1.LogInput{Message: textOf(raw)}
	}
	var e rawEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return &logsv1.LogInput{Message: string(raw)}
	}
	in := &logsv1.LogInput{
		Timestamp: textOf(e.Timestamp),
		Level:     textOf(e.Level),
		Message:   textOf(e.Message),
	}
	if c := bytes.TrimSpace(e.Context); len(c) > 0 && !bytes.Equal(c, []byte("null")) {
		in.ContextJson = string(c)
	}
	return in
}

// textOf is a JSON value as text: a string unquoted, null as "", anything
// else as its compact JSON.
func textOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return ""
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s
		}
		return string(raw)
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err == nil {
			return buf.String()
		}
		return string(raw)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// handleBatch is POST /api/logs/batch.
func (g *Gateway) handleBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeErrorBody(w, http.StatusRequestEntityTooLarge, codes.ResourceExhausted, tooLargeMessage(g.cfg.MaxBodyBytes))
			return
		}
		writeErrorBody(w, http.StatusBadRequest, codes.InvalidArgument, "reading body: "+err.Error())
		return
	}
	req, err := decodeBatch(body)
	if err != nil {
		writeErrorBody(w, http.StatusBadRequest, codes.InvalidArgument, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, outgoingAuth(r))
	res, err := g.ingestion.IngestBatch(ctx, req)
	if err != nil {
		g.writeRPCError(w, r, err)
		return
	}
	out, err := jsonMarshaler{}.Marshal(res)
	if err != nil {
		g.writeRPCError(w, r, fmt.Errorf("encoding batch response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(out)
}

// writeRPCError answers a failed backend call; see errorHandler.
func (g *Gateway) writeRPCError(w http.ResponseWriter, r *http.Request, err error) {
	if _, ok := status.FromError(err); !ok {
		g.log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
		err = status.Error(codes.Internal, "internal error")
	}
	g.errorHandler(r.Context(), nil, nil, w, r, err)
}
