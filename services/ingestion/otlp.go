package ingestion

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/grpc"
	// Registers the gzip compressor on every gRPC server of the process, so
	// that OTLP exporters configured with compression=gzip are understood.
	_ "google.golang.org/grpc/encoding/gzip"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/jsontext"
)

// OTLP logs (docs/otlp.md): opentelemetry.proto.collector.logs.v1.LogsService
// on the ingestion service's own gRPC server, which the gateway's
// POST /v1/logs calls too. A request's records are mapped to the entries
// IngestBatch takes, split by service (one batch per service, as ingest
// takes them), and each part is ingested like a batch: the same per-entry
// validation and limits, the same group commit.

// unknownService is the service of records whose resource has no
// service.name, as the OpenTelemetry specification names it.
const unknownService = "unknown_service"

// otlpMaxReasons bounds the rejection reasons partial_success names.
const otlpMaxReasons = 3

// otlpLogs implements collogspb.LogsServiceServer over a Service (a type of
// its own: the generated Unimplemented types of two services cannot both
// be embedded in one).
type otlpLogs struct {
	collogspb.UnimplementedLogsServiceServer
	s *Service
}

// registerOTLP registers LogsService on g.
func (s *Service) registerOTLP(g *grpc.Server) {
	collogspb.RegisterLogsServiceServer(g, &otlpLogs{s: s})
}

// otlpPart is the records of one service in a request, mapped to entries.
type otlpPart struct {
	service string
	logs    []*logsv1.LogInput
	// index is each entry's position among the request's records (counted
	// across resources and scopes, in order), for the rejection reasons.
	index []int32
	// digest hashes what the part's entries hold, including each record's
	// times; a retry of the same request has the same digest.
	digest [sha256.Size]byte
	// dedupable: every record carries a time of its own (time_unix_nano or
	// observed_time_unix_nano), so equal content means the same records.
	dedupable bool
	// invalid, when set, rejects every record of the part (a service name
	// over the limit).
	invalid string
}

// otlpResult is one part's answer.
type otlpResult struct {
	out *outcome
	err error
}

// Export implements collogspb.LogsServiceServer. The parts of a request are
// ingested concurrently (so they join one group commit); when one fails its
// error is the answer, and a retry of the whole request stores nothing
// twice: each part's batch_id is derived from its content.
func (o *otlpLogs) Export(ctx context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	parts := mapOTLP(req, o.s.cfg.MaxEntries)
	records := 0
	for i := range parts {
		records += len(parts[i].logs)
	}
	if err := o.s.admit(ctx, p, records); err != nil {
		return nil, err
	}
	written := 0 // parts that go through a writer, whose transaction verifies the key
	for i := range parts {
		if parts[i].invalid == "" {
			written++
		}
	}
	if written == 0 {
		// Nothing to write (an empty request, or only refused parts): the
		// key is verified here instead, so a rotated one is refused even
		// when remembered.
		if err := o.s.checkKey(ctx, p); err != nil {
			return nil, err
		}
	}
	res := make([]otlpResult, len(parts))
	ingest := func(i int) {
		part := &parts[i]
		if part.invalid != "" {
			out := &outcome{Rejected: make([]rejection, len(part.logs))}
			for k := range part.logs {
				out.Rejected[k] = rejection{Index: int32(k), Reason: part.invalid}
			}
			res[i] = otlpResult{out: out}
			return
		}
		res[i].out, res[i].err = o.s.ingest(ctx, p, "", part.service, part.logs, part.batchID())
	}
	if len(parts) == 1 {
		ingest(0)
	} else {
		var wg sync.WaitGroup
		for i := range parts {
			wg.Go(func() { ingest(i) })
		}
		wg.Wait()
	}
	return otlpAnswer(parts, res)
}

// otlpAnswer combines the parts' answers: the first error, else the
// rejected records and the first reasons in partial_success.
func otlpAnswer(parts []otlpPart, res []otlpResult) (*collogspb.ExportLogsServiceResponse, error) {
	var rejected, truncated int64
	var reasons []string
	for i, r := range res {
		if r.err != nil {
			return nil, r.err
		}
		truncated += int64(r.out.Truncated)
		for _, rej := range r.out.Rejected {
			rejected++
			if len(reasons) < otlpMaxReasons && int(rej.Index) < len(parts[i].index) {
				reasons = append(reasons, "log record "+strconv.Itoa(int(parts[i].index[rej.Index]))+": "+rej.Reason)
			}
		}
	}
	out := &collogspb.ExportLogsServiceResponse{}
	if rejected == 0 && truncated == 0 {
		return out, nil
	}
	var msg strings.Builder
	if rejected > 0 {
		msg.WriteString(strconv.FormatInt(rejected, 10) + " log records rejected: " + strings.Join(reasons, "; "))
		if more := rejected - int64(len(reasons)); more > 0 {
			msg.WriteString("; and " + strconv.FormatInt(more, 10) + " more")
		}
	}
	if truncated > 0 {
		if msg.Len() > 0 {
			msg.WriteString(". ")
		}
		// A warning (rejected_log_records 0 and a message, as the
		// specification allows): stored, but cut.
		msg.WriteString(strconv.FormatInt(truncated, 10) + " log records truncated to the size limits (marked _truncated in their context)")
	}
	out.PartialSuccess = &collogspb.ExportLogsPartialSuccess{RejectedLogRecords: rejected, ErrorMessage: msg.String()}
	return out, nil
}

// batchID is the part's batch_id: a digest of its content and service, or
// none when its records carry no times (then equal content may well be
// new records, which must not be dropped as a retry).
func (p *otlpPart) batchID() string {
	if !p.dedupable {
		return ""
	}
	h := sha256.New()
	h.Write(p.digest[:])
	h.Write([]byte(p.service))
	return "otlp-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// mapOTLP maps a request's records to entries, one part per service (in
// the order the services first appear), each of at most maxEntries entries
// (a service with more gets several parts).
func mapOTLP(req *collogspb.ExportLogsServiceRequest, maxEntries int) []otlpPart {
	var parts []otlpPart
	type open struct {
		at     int // index in parts of the service's last part
		hasher *partHasher
	}
	byService := map[string]*open{}
	var m otlpMapper
	index := int32(0)
	for _, rl := range req.GetResourceLogs() {
		service, resource := m.resource(rl)
		for _, sl := range rl.GetScopeLogs() {
			scope := m.scope(sl.GetScope())
			for _, rec := range sl.GetLogRecords() {
				o := byService[service]
				if o == nil || len(parts[o.at].logs) >= maxEntries {
					if o != nil {
						o.hasher.finish(&parts[o.at])
					}
					parts = append(parts, newPart(service))
					o = &open{at: len(parts) - 1, hasher: newPartHasher(len(parts))}
					byService[service] = o
				}
				part := &parts[o.at]
				in := m.record(rec, resource, scope)
				part.logs = append(part.logs, in)
				part.index = append(part.index, index)
				o.hasher.add(rec, in)
				if rec.GetTimeUnixNano() == 0 && rec.GetObservedTimeUnixNano() == 0 {
					part.dedupable = false
				}
				index++
			}
		}
	}
	for _, o := range byService {
		o.hasher.finish(&parts[o.at])
	}
	return parts
}

func newPart(service string) otlpPart {
	p := otlpPart{service: service, dedupable: true}
	if utf8.RuneCountInString(service) > maxNameChars {
		p.invalid = "resource attribute service.name is longer than " + strconv.Itoa(maxNameChars) + " characters"
	}
	return p
}

// partHasher digests a part's entries as they are mapped.
type partHasher struct {
	h   []byte // scratch
	sum hash.Hash
}

func newPartHasher(seq int) *partHasher {
	h := &partHasher{sum: sha256.New()}
	// The part's position in the request is in its digest, so that two
	// chunks of one service with equal content are not taken for a retry.
	h.h = binary.AppendUvarint(h.h[:0], uint64(seq))
	h.sum.Write(h.h)
	return h
}

func (h *partHasher) add(rec *logspb.LogRecord, in *logsv1.LogInput) {
	b := h.h[:0]
	b = binary.LittleEndian.AppendUint64(b, rec.GetTimeUnixNano())
	b = binary.LittleEndian.AppendUint64(b, rec.GetObservedTimeUnixNano())
	for _, s := range [...]string{in.Level, in.Message, in.ContextJson} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	h.sum.Write(b)
	h.h = b[:0]
}

func (h *partHasher) finish(p *otlpPart) {
	copy(p.digest[:], h.sum.Sum(nil))
}

// otlpMapper maps records; its buffer is reused between them.
type otlpMapper struct {
	buf []byte
}

// resource returns the service of a ResourceLogs and the JSON object of its
// other attributes ("" when there are none).
func (m *otlpMapper) resource(rl *logspb.ResourceLogs) (service, resource string) {
	service = unknownService
	b := m.buf[:0]
	n := 0
	for _, kv := range rl.GetResource().GetAttributes() {
		if kv.GetKey() == "service.name" {
			if s, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_StringValue); ok {
				if v := trimSpace(cleanText(s.StringValue)); v != "" {
					service = v
				}
				continue
			}
		}
		b = appendMember(b, n, kv)
		n++
	}
	if n > 0 {
		resource = "{" + string(b) + "}"
	}
	m.buf = b
	return service, resource
}

// scope returns the JSON object of an instrumentation scope: name, version,
// and its attributes under "attributes" ("" for an empty scope).
func (m *otlpMapper) scope(sc *commonpb.InstrumentationScope) string {
	if sc.GetName() == "" && sc.GetVersion() == "" && len(sc.GetAttributes()) == 0 {
		return ""
	}
	b := append(m.buf[:0], '{')
	sep := false
	if v := sc.GetName(); v != "" {
		b = jsontext.AppendString(append(b, `"name":`...), v)
		sep = true
	}
	if v := sc.GetVersion(); v != "" {
		if sep {
			b = append(b, ',')
		}
		b = jsontext.AppendString(append(b, `"version":`...), v)
		sep = true
	}
	if attrs := sc.GetAttributes(); len(attrs) > 0 {
		if sep {
			b = append(b, ',')
		}
		b = appendKeyValues(append(b, `"attributes":`...), attrs)
	}
	b = append(b, '}')
	m.buf = b
	return string(b)
}

// record maps one log record (docs/otlp.md, the mapping table).
func (m *otlpMapper) record(rec *logspb.LogRecord, resource, scope string) *logsv1.LogInput {
	in := &logsv1.LogInput{
		Timestamp: otlpTime(rec.GetTimeUnixNano(), rec.GetObservedTimeUnixNano()),
		Level:     otlpLevel(rec.GetSeverityNumber(), rec.GetSeverityText()),
	}
	switch body := rec.GetBody().GetValue().(type) {
	case nil:
	case *commonpb.AnyValue_StringValue:
		in.Message = body.StringValue
	default:
		in.Message = string(appendAnyValue(m.buf[:0], rec.GetBody()))
	}
	if in.Message == "" && rec.GetEventName() != "" {
		// An event without a body: its name says what happened.
		in.Message = rec.GetEventName()
	}

	b := append(m.buf[:0], '{')
	n := 0
	for _, kv := range rec.GetAttributes() {
		b = appendMember(b, n, kv)
		n++
	}
	field := func(key string) {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `":`...)
		n++
	}
	if id := rec.GetTraceId(); !allZero(id) {
		field("trace_id")
		b = appendHexString(b, id)
	}
	if id := rec.GetSpanId(); !allZero(id) {
		field("span_id")
		b = appendHexString(b, id)
	}
	if f := rec.GetFlags(); f != 0 {
		field("trace_flags")
		b = strconv.AppendUint(b, uint64(f&0xff), 10)
	}
	if e := rec.GetEventName(); e != "" {
		field("event_name")
		b = jsontext.AppendString(b, e)
	}
	if resource != "" {
		field("resource")
		b = append(b, resource...)
	}
	if scope != "" {
		field("scope")
		b = append(b, scope...)
	}
	if n > 0 {
		b = append(b, '}')
		in.ContextJson = string(b)
	}
	m.buf = b
	return in
}

// otlpTime is a record's time as IngestBatch takes it: time_unix_nano,
// else observed_time_unix_nano, else "" (the receive time).
func otlpTime(t, observed uint64) string {
	ns := t
	if ns == 0 {
		ns = observed
	}
	switch {
	case ns == 0:
		return ""
	case ns >= 1e17 && ns <= math.MaxInt64:
		// A decimal of 18 or 19 digits is read as nanoseconds.
		return strconv.FormatUint(ns, 10)
	}
	// Before March 1973 or after 2262: RFC 3339, which cannot be misread
	// (such times are outside the retention window and rejected).
	return time.Unix(int64(ns/1e9), int64(ns%1e9)).UTC().Format(time.RFC3339Nano)
}

// otlpLevel maps a severity number's range to a level name, or, with no
// number (or one outside 1..24), passes severity_text on to be read like a
// batch entry's level.
func otlpLevel(n logspb.SeverityNumber, text string) string {
	switch {
	case n >= 1 && n <= 4:
		return "TRACE"
	case n >= 5 && n <= 8:
		return "DEBUG"
	case n >= 9 && n <= 12:
		return "INFO"
	case n >= 13 && n <= 16:
		return "WARN"
	case n >= 17 && n <= 20:
		return "ERROR"
	case n >= 21 && n <= 24:
		return "FATAL"
	}
	return text
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func appendHexString(b, id []byte) []byte {
	b = append(b, '"')
	b = hex.AppendEncode(b, id)
	return append(b, '"')
}

// appendMember appends one key-value as an object member (after a comma
// unless it is the n = 0th).
func appendMember(b []byte, n int, kv *commonpb.KeyValue) []byte {
	if n > 0 {
		b = append(b, ',')
	}
	b = jsontext.AppendString(b, kv.GetKey())
	b = append(b, ':')
	return appendAnyValue(b, kv.GetValue())
}

func appendKeyValues(b []byte, kvs []*commonpb.KeyValue) []byte {
	b = append(b, '{')
	for i, kv := range kvs {
		b = appendMember(b, i, kv)
	}
	return append(b, '}')
}

// appendAnyValue appends v as JSON, keeping its type: int64 as its exact
// decimal, bytes as base64, arrays and key-value lists nested, a value
// with nothing set as null. A double that JSON cannot hold (NaN, ±Inf) is
// the string "NaN", "Infinity" or "-Infinity", as OTLP/JSON writes it.
func appendAnyValue(b []byte, v *commonpb.AnyValue) []byte {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return jsontext.AppendString(b, x.StringValue)
	case *commonpb.AnyValue_BoolValue:
		return strconv.AppendBool(b, x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.AppendInt(b, x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return appendDouble(b, x.DoubleValue)
	case *commonpb.AnyValue_BytesValue:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, x.BytesValue)
		return append(b, '"')
	case *commonpb.AnyValue_ArrayValue:
		b = append(b, '[')
		for i, e := range x.ArrayValue.GetValues() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAnyValue(b, e)
		}
		return append(b, ']')
	case *commonpb.AnyValue_KvlistValue:
		return appendKeyValues(b, x.KvlistValue.GetValues())
	}
	return append(b, "null"...)
}

// appendDouble writes f as encoding/json does (shortest repr, exponent
// below 1e-6 and from 1e21).
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}
