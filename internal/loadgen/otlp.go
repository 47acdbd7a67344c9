package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The otlp transport: each batch as an OTLP ExportLogsServiceRequest in
// protobuf, POSTed to /v1/logs as an OpenTelemetry exporter sends it (one
// resource with the batch's service.name, one scope; the context's members
// as typed attributes, so context.run still counts a run's entries).
//
// OTLP has no batch_id: the platform derives one from each request's
// content (docs/otlp.md), so the generator's 200 batches, sent over and
// over, would be deduplicated as retries. As a real exporter's records do,
// every request carries its own observed_time_unix_nano: the body is
// encoded once, with the offsets of the records' observed times, and each
// send patches them with a fresh value.

// otlpSeverity is the severity number of a generated level.
func otlpSeverity(level string) logspb.SeverityNumber {
	switch level {
	case "TRACE":
		return logspb.SeverityNumber_SEVERITY_NUMBER_TRACE
	case "DEBUG":
		return logspb.SeverityNumber_SEVERITY_NUMBER_DEBUG
	case "WARN":
		return logspb.SeverityNumber_SEVERITY_NUMBER_WARN
	case "ERROR":
		return logspb.SeverityNumber_SEVERITY_NUMBER_ERROR
	case "FATAL":
		return logspb.SeverityNumber_SEVERITY_NUMBER_FATAL
	}
	return logspb.SeverityNumber_SEVERITY_NUMBER_INFO
}

// otlpBody is a batch's request body with where its observed times are.
type otlpBody struct {
	proto    []byte
	observed []int // offsets of each record's 8-byte observed_time_unix_nano
}

// encodeOTLP builds the batch's request: the records marshalled one by one,
// each followed by its observed_time_unix_nano (field 11, fixed64, a
// placeholder), then wrapped by hand in ScopeLogs, ResourceLogs and the
// request, so that the placeholders' offsets are known.
func (b *Batch) encodeOTLP() otlpBody {
	var scope []byte
	var at []int // offsets within scope
	for _, e := range b.Entries {
		rec := &logspb.LogRecord{
			TimeUnixNano:   uint64(e.TS.UnixNano()),
			SeverityNumber: otlpSeverity(e.Level),
			SeverityText:   e.Level,
			Body:           &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: e.Message}},
			Attributes:     contextAttributes(e.Context),
		}
		m, _ := proto.Marshal(rec) // generated types: cannot fail
		m = protowire.AppendTag(m, 11, protowire.Fixed64Type)
		m = protowire.AppendFixed64(m, 0)
		scope = protowire.AppendTag(scope, 2, protowire.BytesType) // ScopeLogs.log_records
		scope = protowire.AppendVarint(scope, uint64(len(m)))
		at = append(at, len(scope)+len(m)-8)
		scope = append(scope, m...)
	}
	res, _ := proto.Marshal(&resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: b.Service}}},
	}})
	var rl []byte
	rl = protowire.AppendTag(rl, 1, protowire.BytesType) // ResourceLogs.resource
	rl = protowire.AppendBytes(rl, res)
	rl = protowire.AppendTag(rl, 2, protowire.BytesType) // ResourceLogs.scope_logs
	rl = protowire.AppendVarint(rl, uint64(len(scope)))
	scopeAt := len(rl)
	rl = append(rl, scope...)
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType) // ExportLogsServiceRequest.resource_logs
	out = protowire.AppendVarint(out, uint64(len(rl)))
	base := len(out) + scopeAt
	out = append(out, rl...)
	for i := range at {
		at[i] += base
	}
	return otlpBody{proto: out, observed: at}
}

// contextAttributes turns a generated context (a flat or nested JSON
// object) into OTLP attributes: integers as int, other numbers as double.
func contextAttributes(ctx string) []*commonpb.KeyValue {
	dec := json.NewDecoder(strings.NewReader(ctx))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil
	}
	return keyValues(m)
}

func keyValues(m map[string]any) []*commonpb.KeyValue {
	out := make([]*commonpb.KeyValue, 0, len(m))
	for k, v := range m {
		out = append(out, &commonpb.KeyValue{Key: k, Value: anyValue(v)})
	}
	return out
}

func anyValue(v any) *commonpb.AnyValue {
	switch v := v.(type) {
	case string:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}
	case bool:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v}}
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
		}
		f, _ := v.Float64()
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
	case map[string]any:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: keyValues(v)}}}
	case []any:
		vs := make([]*commonpb.AnyValue, len(v))
		for i, e := range v {
			vs[i] = anyValue(e)
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
	}
	return &commonpb.AnyValue{}
}

// otlpSender posts batches to /v1/logs.
type otlpSender struct {
	client *http.Client
	t      Target
	gz     *sync.Pool
	col    *collector
	bodies sync.Map // *Batch → otlpBody, encoded on first use
	seq    atomic.Uint64
	start  uint64 // observed times count up from here, 1 ns per request
	bufs   sync.Pool
}

func newOTLPSender(client *http.Client, t Target, gz *sync.Pool, col *collector) *otlpSender {
	return &otlpSender{client: client, t: t, gz: gz, col: col, start: uint64(time.Now().UnixNano())}
}

func (s *otlpSender) body(b *Batch) otlpBody {
	if v, ok := s.bodies.Load(b); ok {
		return v.(otlpBody)
	}
	v, _ := s.bodies.LoadOrStore(b, b.encodeOTLP())
	return v.(otlpBody)
}

// send posts one batch, with observed times of its own.
func (s *otlpSender) send(ctx context.Context, b *Batch, scheduled time.Time) {
	enc := s.body(b)
	buf, _ := s.bufs.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	defer s.bufs.Put(buf)
	body := append((*buf)[:0], enc.proto...)
	observed := s.start + s.seq.Add(1)
	for _, at := range enc.observed {
		binary.LittleEndian.PutUint64(body[at:], observed)
	}
	*buf = body
	if s.gz != nil {
		var zb bytes.Buffer
		zw := s.gz.Get().(*gzip.Writer)
		zw.Reset(&zb)
		_, _ = zw.Write(body)
		_ = zw.Close()
		s.gz.Put(zw)
		body = zb.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.t.BaseURL+"/v1/logs", bytes.NewReader(body))
	if err != nil {
		s.col.record(b, 0, "error: "+err.Error(), -1, 0, false, false, false)
		return
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Authorization", "Bearer "+s.t.APIKey)
	if s.gz != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, raw, lat, code, ok := exchange(s.client, req, b, len(body), scheduled, s.col)
	if !ok {
		return
	}
	switch {
	case res.StatusCode == http.StatusOK:
		var a collogspb.ExportLogsServiceResponse
		if err := proto.Unmarshal(raw, &a); err != nil {
			s.col.record(b, lat, code+" (undecodable)", -1, len(body), false, false, true)
			return
		}
		acked := int64(len(b.Entries)) - a.GetPartialSuccess().GetRejectedLogRecords()
		if m := a.GetPartialSuccess().GetErrorMessage(); m != "" {
			code += " with partial success: " + m[:min(len(m), 120)]
		}
		s.col.record(b, lat, code, acked, len(body), false, false, false)
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable:
		s.col.record(b, lat, code, -1, len(body), true, res.Header.Get("Retry-After") == "", false)
	default:
		s.col.record(b, lat, code+": "+strconv.Quote(string(raw[:min(len(raw), 200)])), -1, len(body), false, false, false)
	}
}
