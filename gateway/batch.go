package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"unsafe"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/jsontext"
)

// batchBody is POST /api/logs/batch as clients send it (docs/ingest-api.md). Entries
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

// decodeBatch turns a batch body (which must not be modified afterwards: the
// request's strings may share its memory) into the ingestion RPC's request, leniently:
// levels and timestamps stay strings (numbers as written), a message that is
// a number or object becomes its JSON text, a context is passed on as its
// JSON text. The ingestion service validates each entry. Only an envelope
// that is not JSON, or whose fields have the wrong type, is an error here.
//
// The fast path (fastDecodeBatch, on jsontext's scanner) decodes the bodies
// clients send, without reflection and with a few allocations per batch; whatever
// it does not handle exactly as encoding/json would (a syntax or type error,
// unusual keys) goes to decodeBatchStd, which is the definition of the
// behaviour and produces the error messages.
func decodeBatch(body []byte) (*logsv1.IngestBatchRequest, error) {
	if req, ok := fastDecodeBatch(body); ok {
		return req, nil
	}
	return decodeBatchStd(body)
}

// decodeBatchStd is decodeBatch through encoding/json.
func decodeBatchStd(body []byte) (*logsv1.IngestBatchRequest, error) {
	var b batchBody
	if err := json.Unmarshal(body, &b); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return nil, badRequest("the body must be a JSON object with service_name and logs, not a JSON %s", te.Value)
		}
		if errors.As(err, &te) {
			want := "a string"
			if te.Field == "logs" {
				want = "an array of log entries"
			}
			return nil, badRequest("%s must be %s, not a JSON %s", te.Field, want, te.Value)
		}
		return nil, badRequest("malformed JSON body: %v", err)
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

// byteBudget bounds the bytes of batch bodies held at once.
type byteBudget struct {
	max  int64
	used atomic.Int64
}

// acquire reserves n bytes, or reports false when they do not fit.
func (b *byteBudget) acquire(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *byteBudget) release(n int64) { b.used.Add(-n) }

// errBusy is a batch refused because too many bytes of batches are in
// flight: the client should come back after Retry-After.
var errBusy = errors.New("too many batches in flight")

// busyMessage answers a batch refused by the in-flight bound.
const busyMessage = "the server is busy with other batches; retry this one after the Retry-After delay"

// readBody reads a batch body into one buffer, holding its size against
// the in-flight budget (release gives it back). A body of known length is
// reserved and read at once; one of unknown length (gzip, chunked) grows the
// reservation as it is read. Past the budget it gives up with errBusy
// before reading further.
func (g *Gateway) readBody(r *http.Request) (body []byte, release func(), err error) {
	reserved := int64(0)
	release = func() { g.inflight.release(reserved) }
	grow := func(n int64) bool {
		if !g.inflight.acquire(n) {
			return false
		}
		reserved += n
		return true
	}
	size := int64(64 << 10)
	if r.ContentLength > 0 {
		size = r.ContentLength + 1 // +1: EOF is seen without growing
	}
	size = min(size, g.cfg.MaxBodyBytes+1)
	if !grow(size) {
		return nil, release, errBusy
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			more := min(int64(cap(buf)), g.cfg.MaxBodyBytes+1-int64(cap(buf)))
			if more <= 0 {
				more = 512 // MaxBytesReader ends the body past the limit
			}
			if !grow(more) {
				return nil, release, errBusy
			}
			buf = append(buf, make([]byte, more)...)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, release, nil
		}
		if err != nil {
			return nil, release, err
		}
	}
}

// handleBatch is POST /api/logs/batch.
func (g *Gateway) handleBatch(w http.ResponseWriter, r *http.Request) {
	body, release, err := g.readBody(r)
	defer release()
	if err != nil {
		var mb *http.MaxBytesError
		switch {
		case errors.Is(err, errBusy):
			w.Header().Set("Retry-After", "1")
			writeErrorBody(w, http.StatusServiceUnavailable, codes.Unavailable, busyMessage)
		case errors.As(err, &mb):
			writeErrorBody(w, http.StatusRequestEntityTooLarge, codes.ResourceExhausted, tooLargeMessage(g.cfg.MaxBodyBytes))
		default:
			// The client's connection or encoding failed mid-body.
			g.writeRPCError(w, r, badRequest("reading body: %v", err))
		}
		return
	}
	req, err := decodeBatch(body) // req's strings share body's memory
	if err != nil {
		g.writeRPCError(w, r, err) // a status naming the field
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, outgoingAuth(r))
	var md metadata.MD
	res, err := g.ingestion.IngestBatch(ctx, req, grpc.Header(&md))
	copyRateLimitHeaders(w, md)
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

// writeRPCError answers a failed request: a backend call's status, a client
// error the gateway made (badRequest), or its own failure (500, logged); see
// errorHandler.
func (g *Gateway) writeRPCError(w http.ResponseWriter, r *http.Request, err error) {
	g.errorHandler(r.Context(), nil, nil, w, r, err)
}

// The fast path of decodeBatch: one pass over the body with jsontext's
// validating scanner (encoding/json's grammar) that records where each
// entry's fields are. Every string of the request is a substring of the
// body (which the handler never modifies), so a batch costs a handful of
// allocations instead of several per entry, and no copy of the body. It
// gives up (ok = false) on anything that encoding/json would treat in a way
// this code does not reproduce: syntax or type errors (whose messages come
// from encoding/json), duplicate or non-ASCII or escaped envelope keys,
// nesting deeper than jsontext.MaxDepth. An entry object with such keys is
// decoded by decodeEntry.

// fastEntry is where one element of "logs" is in the body.
type fastEntry struct {
	whole    jsontext.Value
	fields   [4]jsontext.Value // timestamp, level, message, context; End == 0: absent
	object   bool              // a JSON object (else the whole element is the message)
	fallback bool              // an object with keys the fast path does not match itself
}

// An entry's fields, indexes of fastEntry.fields.
const (
	fieldTimestamp = iota
	fieldLevel
	fieldMessage
	fieldContext
)

// The envelope's fields; the strings are indexes of fastDecodeBatch's envelope.
const (
	envelopeProjectSlug = iota
	envelopeServiceName
	envelopeBatchID
	envelopeLogs
)

// plainKey is the text of key if it has neither escapes nor bytes outside
// ASCII (the keys the fast path matches itself).
func plainKey(s string, key jsontext.Value) (string, bool) {
	if key.Flags&(jsontext.Escaped|jsontext.NonASCII) != 0 {
		return "", false
	}
	return s[key.Start+1 : key.End-1], true
}

func envelopeField(key string) int {
	switch {
	case strings.EqualFold(key, "project_slug"):
		return envelopeProjectSlug
	case strings.EqualFold(key, "service_name"):
		return envelopeServiceName
	case strings.EqualFold(key, "batch_id"):
		return envelopeBatchID
	case strings.EqualFold(key, "logs"):
		return envelopeLogs
	}
	return -1
}

// scanEntry records the fields of the entry object that comes next in sc.
func scanEntry(sc *jsontext.Scanner, e *fastEntry) bool {
	names := [len(e.fields)]string{fieldTimestamp: "timestamp", fieldLevel: "level", fieldMessage: "message", fieldContext: "context"}
	odd, ok := sc.Fields(names[:], e.fields[:])
	e.fallback = odd
	return ok
}

// scanLogs scans the "logs" array that comes next in sc.
func scanLogs(sc *jsontext.Scanner) ([]fastEntry, bool) {
	entries := make([]fastEntry, 0, 128)
	more, ok := sc.OpenArray()
	for more {
		entries = append(entries, fastEntry{})
		e := &entries[len(entries)-1]
		if sc.At('{') {
			e.whole.Start = sc.Pos()
			e.object = true
			if !scanEntry(sc, e) {
				return nil, false
			}
			e.whole.End = sc.Pos()
		} else if e.whole, ok = sc.ScanValue(); !ok {
			return nil, false
		}
		more, ok = sc.NextElement()
	}
	return entries, ok
}

// envelopeString decodes the string-or-null envelope field that comes next
// in sc.
func envelopeString(sc *jsontext.Scanner, s string) (string, bool) {
	v, ok := sc.ScanValue()
	switch {
	case !ok:
		return "", false
	case v.Flags&jsontext.String != 0:
		return jsontext.Unquote(s, v), true
	case s[v.Start] == 'n':
		return "", true // null
	}
	return "", false // a type error: encoding/json words it
}

// fastDecodeBatch is decodeBatch for the bodies it can decode exactly as
// decodeBatchStd would; ok is false for the rest.
//
// The request's strings share body's memory (no copy): the caller must not
// modify body afterwards.
func fastDecodeBatch(body []byte) (req *logsv1.IngestBatchRequest, ok bool) {
	s := unsafe.String(unsafe.SliceData(body), len(body))
	sc := jsontext.NewScanner(s)
	var (
		envelope [envelopeLogs]string
		entries  []fastEntry
		seen     [envelopeLogs + 1]bool
	)
	more, ok := sc.OpenObject()
	for more {
		key, kok := sc.Key()
		if !kok {
			return nil, false
		}
		k, plain := plainKey(s, key)
		if !plain {
			return nil, false
		}
		f := envelopeField(k)
		if f >= 0 {
			if seen[f] {
				return nil, false
			}
			seen[f] = true
		}
		vok := false
		switch {
		case f == envelopeLogs && sc.At('['):
			entries, vok = scanLogs(&sc)
		case f == envelopeLogs:
			var v jsontext.Value
			v, vok = sc.ScanValue()
			vok = vok && s[v.Start] == 'n' // null; anything else is a type error
		case f >= 0:
			envelope[f], vok = envelopeString(&sc, s)
		default:
			_, vok = sc.ScanValue()
		}
		if !vok {
			return nil, false
		}
		more, ok = sc.NextMember()
	}
	if !ok || !sc.AtEnd() {
		return nil, false
	}

	req = &logsv1.IngestBatchRequest{
		ProjectSlug: envelope[envelopeProjectSlug],
		ServiceName: envelope[envelopeServiceName],
		BatchId:     envelope[envelopeBatchID],
		Logs:        make([]*logsv1.LogInput, len(entries)),
	}
	inputs := make([]logsv1.LogInput, len(entries))
	for k := range entries {
		e := &entries[k]
		if e.fallback {
			req.Logs[k] = decodeEntry(json.RawMessage(s[e.whole.Start:e.whole.End]))
			continue
		}
		in := &inputs[k]
		if !e.object {
			in.Message = textAt(s, e.whole)
		} else {
			in.Timestamp = textAt(s, e.fields[fieldTimestamp])
			in.Level = textAt(s, e.fields[fieldLevel])
			in.Message = textAt(s, e.fields[fieldMessage])
			if c := e.fields[fieldContext]; c.End > 0 && s[c.Start:c.End] != "null" {
				in.ContextJson = s[c.Start:c.End]
			}
		}
		req.Logs[k] = in
	}
	return req, true
}

// textAt is textOf for the scanned value v of s (End == 0: absent).
func textAt(s string, v jsontext.Value) string {
	switch {
	case v.End == 0:
		return ""
	case v.Flags&jsontext.String != 0:
		return jsontext.Unquote(s, v)
	}
	switch t := s[v.Start:v.End]; t[0] {
	case 'n':
		return "" // null
	case '{', '[':
		return textOf(json.RawMessage(t)) // compacted, as encoding/json would
	default:
		return t // a number, true or false: already compact
	}
}
