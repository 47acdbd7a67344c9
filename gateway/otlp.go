package gateway

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"unsafe"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/jsontext"
)

// OTLP/HTTP logs (docs/otlp.md): POST /v1/logs with a protobuf or JSON
// ExportLogsServiceRequest (protobuf checked by checkWire and forwarded
// as received, JSON decoded here), passed to the ingestion service's
// opentelemetry.proto.collector.logs.v1.LogsService/Export (which maps,
// validates and stores the records) over the gateway's ingestion
// connection. Answers are encoded like the request: the
// ExportLogsServiceResponse with its partial_success, or a google.rpc.Status
// with the HTTP status of its code (400, 401, 429 and 503 with
// Retry-After, ...), as the OTLP specification says.

// otlpPath is where OTLP/HTTP exporters send logs (their default path).
const otlpPath = "/v1/logs"

// otlpEncoding is a body's encoding: protobuf or OTLP/JSON.
type otlpEncoding int

const (
	otlpProtobuf otlpEncoding = iota
	otlpJSON
)

func (e otlpEncoding) contentType() string {
	if e == otlpJSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// otlpEncodingOf reads a request's Content-Type.
func otlpEncodingOf(contentType string) (otlpEncoding, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return otlpJSON, false
	}
	switch mt {
	case "application/x-protobuf", "application/protobuf":
		return otlpProtobuf, true
	case "application/json":
		return otlpJSON, true
	}
	return otlpJSON, false
}

// handleOTLP is POST /v1/logs.
func (g *Gateway) handleOTLP(w http.ResponseWriter, r *http.Request) {
	enc, ok := otlpEncodingOf(r.Header.Get("Content-Type"))
	if !ok {
		g.writeOTLPStatus(w, http.StatusUnsupportedMediaType, enc, status.New(codes.InvalidArgument,
			"Content-Type "+strconv.Quote(r.Header.Get("Content-Type"))+" is not supported: send application/x-protobuf or application/json"), 0)
		return
	}
	body, release, err := g.readBody(r)
	defer release()
	if err != nil {
		var mb *http.MaxBytesError
		switch {
		case errors.Is(err, errBusy):
			g.writeOTLPStatus(w, http.StatusServiceUnavailable, enc, status.New(codes.Unavailable, busyMessage), 1)
		case errors.As(err, &mb):
			g.writeOTLPStatus(w, http.StatusRequestEntityTooLarge, enc, status.New(codes.ResourceExhausted, tooLargeMessage(g.cfg.MaxBodyBytes)), 0)
		default:
			g.writeOTLPError(w, r, enc, badRequest("reading body: %v", err))
		}
		return
	}
	// A protobuf body is checked (checkWire) and forwarded as received:
	// the service decodes it, once. A JSON one is decoded here and sent in
	// protobuf.
	var in any
	if enc == otlpProtobuf {
		err = checkOTLPProtobuf(body)
		in = rawRequest(body)
	} else {
		in, err = decodeOTLPJSON(body)
	}
	if err != nil {
		g.writeOTLPError(w, r, enc, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, outgoingAuth(r))
	res := &collogspb.ExportLogsServiceResponse{}
	var md metadata.MD
	err = g.otlp.Invoke(ctx, collogspb.LogsService_Export_FullMethodName, in, res, append(g.otlpCall, grpc.Header(&md))...)
	copyRateLimitHeaders(w, md)
	if err != nil {
		g.writeOTLPError(w, r, enc, err)
		return
	}
	out, err := marshalOTLP(enc, res)
	if err != nil {
		g.writeOTLPError(w, r, enc, err)
		return
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// protoCodecName is the name of gRPC's protobuf codec (its content subtype).
const protoCodecName = "proto"

// rawRequest is an ExportLogsServiceRequest already in protobuf, which
// forwardCodec sends as it is.
type rawRequest []byte

// forwardCodec is gRPC's protobuf codec, except that it sends a rawRequest
// unchanged: a protobuf body is checked at the gateway (to answer 400 for
// one that does not parse), neither decoded nor encoded again.
type forwardCodec struct{ encoding.CodecV2 }

// Marshal implements encoding.CodecV2.
func (c forwardCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(rawRequest); ok {
		return mem.BufferSlice{mem.SliceBuffer(r)}, nil
	}
	out, err := c.CodecV2.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding OTLP request: %w", err)
	}
	return out, nil
}

func marshalOTLP(enc otlpEncoding, m proto.Message) ([]byte, error) {
	if enc == otlpJSON {
		b, err := protojson.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encoding OTLP/JSON answer: %w", err)
		}
		return b, nil
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding OTLP protobuf answer: %w", err)
	}
	return b, nil
}

// otlpRequestDesc is the descriptor checkWire walks a protobuf body with.
var otlpRequestDesc = (&collogspb.ExportLogsServiceRequest{}).ProtoReflect().Descriptor()

// checkOTLPProtobuf answers whether a protobuf body parses (checkWire),
// with an InvalidArgument status naming why not.
func checkOTLPProtobuf(body []byte) error {
	if err := checkWire(body, otlpRequestDesc); err != nil {
		return badRequest("body is not a protobuf ExportLogsServiceRequest: %v", err)
	}
	return nil
}

// decodeOTLPJSON parses an OTLP/JSON body.
func decodeOTLPJSON(body []byte) (*collogspb.ExportLogsServiceRequest, error) {
	req := &collogspb.ExportLogsServiceRequest{}
	body, err := otlpJSONIDs(body)
	if err != nil {
		return nil, err
	}
	// Unknown fields are ignored, as the specification asks of receivers.
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, req); err != nil {
		return nil, badRequest("body is not an OTLP/JSON ExportLogsServiceRequest: %v", err)
	}
	return req, nil
}

// otlpJSONIDs rewrites OTLP/JSON's trace and span ids, which are hex
// strings (not base64 as protojson reads bytes), to base64, for protojson.
// In a logs request the only object members so named are a LogRecord's
// (attributes are {"key": ..., "value": ...} objects). Other OTLP/JSON
// rules protojson follows itself: lowerCamelCase or original field names,
// enums as integers or names, 64-bit integers as strings or numbers. A
// body that is not JSON is returned as it is, for protojson to name its
// error.
func otlpJSONIDs(body []byte) ([]byte, error) {
	s := unsafe.String(unsafe.SliceData(body), len(body))
	type edit struct {
		start, end int
		text       string
	}
	var edits []edit
	var bad error
	sc := jsontext.NewScanner(s)
	var walk func() bool
	walk = func() bool {
		switch {
		case sc.At('{'):
			more, ok := sc.OpenObject()
			for ok && more {
				k, kok := sc.Key()
				if !kok {
					return false
				}
				switch name := jsontext.Unquote(s, k); name {
				case "traceId", "spanId", "trace_id", "span_id":
					if sc.At('"') {
						v, vok := sc.ScanValue()
						if !vok {
							return false
						}
						id, err := hex.DecodeString(jsontext.Unquote(s, v))
						if err != nil && bad == nil {
							bad = badRequest("%s %s is not a hex string (OTLP/JSON writes trace and span ids in hex)", name, s[v.Start:min(v.End, v.Start+80)])
						}
						edits = append(edits, edit{v.Start, v.End, `"` + base64.StdEncoding.EncodeToString(id) + `"`})
						break
					}
					fallthrough
				default:
					if !walk() {
						return false
					}
				}
				more, ok = sc.NextMember()
			}
			return ok
		case sc.At('['):
			more, ok := sc.OpenArray()
			for ok && more {
				if !walk() {
					return false
				}
				more, ok = sc.NextElement()
			}
			return ok
		}
		_, ok := sc.ScanValue()
		return ok
	}
	if !walk() || !sc.AtEnd() {
		if errors.Is(sc.Err(), jsontext.ErrTooDeep) {
			return nil, badRequest("body is nested more than %d levels deep", jsontext.MaxDepth)
		}
		return body, nil
	}
	if bad != nil {
		return nil, bad
	}
	if len(edits) == 0 {
		return body, nil
	}
	out := make([]byte, 0, len(body))
	at := 0
	for _, e := range edits {
		out = append(out, body[at:e.start]...)
		out = append(out, e.text...)
		at = e.end
	}
	return append(out, body[at:]...), nil
}

// writeOTLPError answers a failed OTLP request with the status its error
// is (see publicStatus), encoded like the request.
func (g *Gateway) writeOTLPError(w http.ResponseWriter, r *http.Request, enc otlpEncoding, err error) {
	st := g.publicStatus(r, err)
	httpStatus, retry := apierr.HTTPStatus(st)
	setRateLimitHeaders(w, st)
	secs := 0
	if retry > 0 {
		secs = max(int(retry.Seconds()+0.999), 1)
	}
	g.writeOTLPStatus(w, httpStatus, enc, st, secs)
}

// writeOTLPStatus writes st as a google.rpc.Status body (with its details:
// RetryInfo on 429 and 503), and Retry-After when retryAfter > 0.
func (g *Gateway) writeOTLPStatus(w http.ResponseWriter, httpStatus int, enc otlpEncoding, st *status.Status, retryAfter int) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	b, err := marshalOTLP(enc, st.Proto())
	if err != nil {
		g.log.Error("encoding an OTLP error answer failed", zap.Error(err))
		b = nil
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.Header().Del("Content-Length")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}
