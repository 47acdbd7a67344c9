package ingestion

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"

	"github.com/devsmith/logs/internal/logstore"
)

func sv(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}
func iv(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}
func dv(f float64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
}
func bv(b bool) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
}
func bytesv(b []byte) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: b}}
}
func arrv(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}
func kvlv(kvs ...*commonpb.KeyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}
}
func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// otlpRequest is one resource (service, when not "") with one scope of recs.
func otlpRequest(service string, recs ...*logspb.LogRecord) *collogspb.ExportLogsServiceRequest {
	res := &resourcepb.Resource{}
	if service != "" {
		res.Attributes = []*commonpb.KeyValue{kv("service.name", sv(service))}
	}
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource:  res,
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: recs}},
	}}}
}

func TestOTLPLevels(t *testing.T) {
	for _, c := range []struct {
		n    logspb.SeverityNumber
		text string
		want string
	}{
		{1, "", "TRACE"}, {4, "", "TRACE"}, {5, "", "DEBUG"}, {8, "", "DEBUG"},
		{9, "", "INFO"}, {12, "", "INFO"}, {13, "", "WARN"}, {16, "", "WARN"},
		{17, "", "ERROR"}, {20, "", "ERROR"}, {21, "", "FATAL"}, {24, "", "FATAL"},
		{17, "whatever", "ERROR"},    // the number wins
		{0, "warning", "warning"},    // no number: the text, read like a batch's level
		{25, "Critical", "Critical"}, // outside the ranges: as unset
		{0, "", ""},
	} {
		require.Equal(t, c.want, otlpLevel(c.n, c.text), "%d %q", c.n, c.text)
	}
	// And what the text becomes when stored.
	l, ok := parseLevel(otlpLevel(0, "warning"))
	require.True(t, ok)
	require.Equal(t, logstore.LevelWarn, l)
}

func TestOTLPTimes(t *testing.T) {
	ts := uint64(time.Date(2026, 12, 2, 10, 0, 0, 123456789, time.UTC).UnixNano())
	obs := ts + 5_000_000
	for _, c := range []struct {
		name      string
		t, obs    uint64
		want      string
		wantMicro int64
	}{
		{"time_unix_nano", ts, obs, "1796205600123456789", int64(ts / 1000)},
		{"else observed", 0, obs, "1796205600128456789", int64(obs / 1000)},
		{"else receipt", 0, 0, "", 0},
		{"before 1973: RFC 3339", 1_000_000_000, 0, "1970-01-01T00:00:01Z", 1_000_000},
		{"past int64", math.MaxUint64, 0, "2554-07-21T23:34:33.709551615Z", 0},
	} {
		got := otlpTime(c.t, c.obs)
		require.Equal(t, c.want, got, c.name)
		if c.wantMicro != 0 {
			v, ok := parseTimestamp(got)
			require.True(t, ok, c.name)
			require.Equal(t, c.wantMicro, v, c.name)
		}
	}
}

func TestOTLPMapping(t *testing.T) {
	trace := []byte{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	span := []byte{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x1a}
	rec := &logspb.LogRecord{
		TimeUnixNano:   1796205600123456789,
		SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_WARN,
		Body:           sv("cache miss"),
		TraceId:        trace,
		SpanId:         span,
		Flags:          1,
		Attributes: []*commonpb.KeyValue{
			kv("s", sv("x")), kv("max", iv(math.MaxInt64)), kv("min", iv(math.MinInt64)),
			kv("f", dv(1.5)), kv("big", dv(1e300)), kv("nan", dv(math.NaN())), kv("ok", bv(true)),
			kv("raw", bytesv([]byte("hi"))), kv("list", arrv(iv(1), sv("two"), arrv())),
			kv("map", kvlv(kv("inner", iv(9007199254740993)), kv("deeper", kvlv(kv("b", bv(false)))))),
			kv("unset", &commonpb.AnyValue{}),
			kv("exception.type", sv("PaymentError")),
		},
	}
	req := &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", sv("checkout")), kv("host.name", sv("h1")), kv("pid", iv(42))}},
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope:      &commonpb.InstrumentationScope{Name: "app/payments", Version: "1.2.0", Attributes: []*commonpb.KeyValue{kv("lib", sv("pay"))}},
			LogRecords: []*logspb.LogRecord{rec},
		}},
	}}}
	parts := mapOTLP(req, 10_000)
	require.Len(t, parts, 1)
	p := parts[0]
	require.Equal(t, "checkout", p.service)
	require.Len(t, p.logs, 1)
	in := p.logs[0]
	require.Equal(t, "WARN", in.Level)
	require.Equal(t, "cache miss", in.Message)
	require.Equal(t, "1796205600123456789", in.Timestamp)
	want := `{"s":"x","max":9223372036854775807,"min":-9223372036854775808,"f":1.5,"big":1e+300,"nan":"NaN","ok":true,` +
		`"raw":"aGk=","list":[1,"two",[]],"map":{"inner":9007199254740993,"deeper":{"b":false}},"unset":null,` +
		`"exception.type":"PaymentError",` +
		`"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b716920331a","trace_flags":1,` +
		`"resource":{"host.name":"h1","pid":42},"scope":{"name":"app/payments","version":"1.2.0","attributes":{"lib":"pay"}}}`
	require.Equal(t, want, in.ContextJson)
	require.True(t, json.Valid([]byte(in.ContextJson)))
	// It passes the batch path's context check unchanged.
	obj, err := scanContext(in.ContextJson)
	require.NoError(t, err)
	require.Equal(t, want, obj.Text)
	require.True(t, p.dedupable)
	require.Equal(t, []int32{0}, p.index)
}

func TestOTLPBodies(t *testing.T) {
	for _, c := range []struct {
		name  string
		body  *commonpb.AnyValue
		event string
		want  string
	}{
		{"string", sv("plain text"), "", "plain text"},
		{"int", iv(math.MaxInt64), "", "9223372036854775807"},
		{"double", dv(0.25), "", "0.25"},
		{"bool", bv(false), "", "false"},
		{"bytes", bytesv([]byte{0xff, 0x00}), "", `"/wA="`},
		{"map", kvlv(kv("user", iv(7)), kv("tags", arrv(sv("a")))), "", `{"user":7,"tags":["a"]}`},
		{"array", arrv(sv("a"), iv(2)), "", `["a",2]`},
		{"none: rejected later", nil, "", ""},
		{"empty string: rejected later", sv(""), "", ""},
		{"none but an event name", nil, "user.login", "user.login"},
	} {
		parts := mapOTLP(otlpRequest("svc", &logspb.LogRecord{Body: c.body, EventName: c.event}), 10)
		require.Equal(t, c.want, parts[0].logs[0].Message, c.name)
	}
}

func TestOTLPSplitsByService(t *testing.T) {
	rec := func(msg string, ts uint64) *logspb.LogRecord {
		return &logspb.LogRecord{Body: sv(msg), TimeUnixNano: ts}
	}
	req := &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{
		{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", sv("a"))}},
			ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{rec("a1", 1e18), rec("a2", 1e18)}}}},
		{Resource: &resourcepb.Resource{}, // no service.name
			ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{rec("u1", 0)}}}},
		{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", sv("  "))}}, // blank: unknown too
			ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{rec("u2", 1e18)}}}},
		{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", sv("a"))}},
			ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{rec("a3", 1e18)}}, {LogRecords: []*logspb.LogRecord{rec("a4", 1e18)}}}},
		{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", sv(strings.Repeat("x", 201)))}},
			ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{rec("long", 1e18)}}}},
	}}
	parts := mapOTLP(req, 3) // a's four records make two parts
	type got struct {
		service  string
		messages []string
		index    []int32
		dedup    bool
	}
	var all []got
	for _, p := range parts {
		g := got{service: p.service, index: p.index, dedup: p.dedupable}
		for _, in := range p.logs {
			g.messages = append(g.messages, in.Message)
		}
		all = append(all, g)
	}
	require.Equal(t, []got{
		{"a", []string{"a1", "a2", "a3"}, []int32{0, 1, 4}, true},
		{unknownService, []string{"u1", "u2"}, []int32{2, 3}, false}, // u1 has no time: no batch_id
		{"a", []string{"a4"}, []int32{5}, true},
		{strings.Repeat("x", 201), []string{"long"}, []int32{6}, true},
	}, all)
	require.Empty(t, parts[1].batchID())
	require.Contains(t, parts[3].invalid, "service.name is longer than 200 characters")

	// Batch ids: stable for the same request, distinct per part.
	again := mapOTLP(req, 3)
	require.Equal(t, parts[0].batchID(), again[0].batchID())
	require.NotEqual(t, parts[0].batchID(), parts[2].batchID())
	require.True(t, strings.HasPrefix(parts[0].batchID(), "otlp-"))
	// Any change of content is another batch.
	req.ResourceLogs[0].ScopeLogs[0].LogRecords[1].ObservedTimeUnixNano = 7
	require.NotEqual(t, parts[0].batchID(), mapOTLP(req, 3)[0].batchID())
}

// otlpExport calls LogsService/Export on the test server.
func otlpExport(t *testing.T, e *env, key string, req *collogspb.ExportLogsServiceRequest, opts ...grpc.CallOption) (*collogspb.ExportLogsServiceResponse, error) {
	t.Helper()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
	return collogspb.NewLogsServiceClient(e.conn).Export(ctx, req, opts...)
}

func TestOTLPExport(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := uint64(time.Now().UnixNano())
	old := uint64(time.Now().Add(-10 * 24 * time.Hour).UnixNano())
	req := &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{
		{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", sv("otlp-api"))}},
			ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{
				{TimeUnixNano: now, SeverityNumber: 17, Body: sv("charge failed"), Attributes: []*commonpb.KeyValue{
					kv("exception.type", sv("PaymentError")),
					kv("exception.message", sv("card declined")),
					kv("exception.stacktrace", sv("PaymentError: card declined\n    at charge (/srv/app/pay.js:10:5)\n    at main (/srv/app/index.js:3:1)")),
					kv("max", iv(math.MaxInt64)),
				}},
				{TimeUnixNano: now, Body: sv("")},    // no message: rejected
				{TimeUnixNano: old, Body: sv("old")}, // past retention: rejected
			}}}},
		{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", sv("otlp-worker"))}},
			ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{
				{ObservedTimeUnixNano: now, SeverityText: "debug", Body: sv("job done")},
			}}}},
	}}
	res, err := otlpExport(t, e, "dsk_alpha", req)
	require.NoError(t, err)
	ps := res.GetPartialSuccess()
	require.EqualValues(t, 2, ps.GetRejectedLogRecords())
	require.Equal(t, "2 log records rejected: log record 1: message is required; log record 2: timestamp is older than the retention period", ps.GetErrorMessage())

	require.EqualValues(t, 2, count(t, e.pool, "SELECT count(*) FROM logs.entries"))
	got := append(entries(t, e.pool, "WHERE service_name = 'otlp-api'"), entries(t, e.pool, "WHERE service_name = 'otlp-worker'")...)
	require.Len(t, got, 2)
	require.Equal(t, "otlp-api", got[0].Service)
	require.EqualValues(t, logstore.LevelError, got[0].Level)
	require.Equal(t, "charge failed", got[0].Message)
	require.Equal(t, time.Unix(0, int64(now)).UTC().Truncate(time.Microsecond), got[0].TS.UTC())
	require.Equal(t, "otlp-worker", got[1].Service)
	require.EqualValues(t, logstore.LevelDebug, got[1].Level)

	var text string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT context::text FROM logs.entries WHERE message = 'charge failed'`).Scan(&text))
	require.Contains(t, text, `"max": 9223372036854775807`, "int64 kept exactly")

	// The error group sees OTLP's exception.* attributes: its type, and a
	// culprit from the stack trace.
	var typ, culprit string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT g.exception_type, g.culprit FROM logs.error_groups g
		JOIN logs.entries e ON e.project_id = g.project_id AND e.error_fp = g.fingerprint WHERE e.message = 'charge failed'`).Scan(&typ, &culprit))
	require.Equal(t, "PaymentError", typ)
	require.Contains(t, culprit, "charge")

	// The exporter's retry of the same request stores nothing twice.
	res, err = otlpExport(t, e, "dsk_alpha", req)
	require.NoError(t, err)
	require.EqualValues(t, 2, res.GetPartialSuccess().GetRejectedLogRecords())
	require.EqualValues(t, 2, count(t, e.pool, "SELECT count(*) FROM logs.entries"))

	// gzip-compressed calls are understood (grpc's gzip codec registered).
	gz := otlpRequest("otlp-gzip", &logspb.LogRecord{Body: sv("compressed")})
	res, err = otlpExport(t, e, "dsk_alpha", gz, grpc.UseCompressor(gzip.Name))
	require.NoError(t, err)
	require.Nil(t, res.GetPartialSuccess())
	require.EqualValues(t, 1, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE service_name = 'otlp-gzip'"))

	// Records without times are not deduplicated: the same content sent
	// twice is two exports.
	_, err = otlpExport(t, e, "dsk_alpha", gz)
	require.NoError(t, err)
	require.EqualValues(t, 2, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE service_name = 'otlp-gzip'"))

	// An empty request is a success that stores nothing.
	res, err = otlpExport(t, e, "dsk_alpha", &collogspb.ExportLogsServiceRequest{})
	require.NoError(t, err)
	require.Nil(t, res.GetPartialSuccess())

	// A bad key is Unauthenticated, the same as for IngestBatch.
	_, err = otlpExport(t, e, "dsk_nope", gz)
	requireStatus(t, err, codes.Unauthenticated, "")
	_, err = collogspb.NewLogsServiceClient(e.conn).Export(context.Background(), gz)
	requireStatus(t, err, codes.Unauthenticated, "")
}

func TestOTLPTruncatedIsAWarning(t *testing.T) {
	e := newEnv(t, envOptions{cfg: Config{MaxMessageBytes: 8}})
	res, err := otlpExport(t, e, "dsk_alpha", otlpRequest("svc", &logspb.LogRecord{Body: sv("a message longer than eight bytes")}))
	require.NoError(t, err)
	require.Zero(t, res.GetPartialSuccess().GetRejectedLogRecords())
	require.Contains(t, res.GetPartialSuccess().GetErrorMessage(), "1 log records truncated")
	got := entries(t, e.pool, "")
	require.Len(t, got, 1)
	require.Equal(t, true, got[0].Context["_truncated"])
}

// TestOTLPPartialFailureRetry: one service's part is refused for load
// (Unavailable with RetryInfo, what the exporter retries) while the other's
// is committed; the exporter's retry of the whole request then stores the
// refused part and nothing of the committed one again.
func TestOTLPPartialFailureRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noRun: true, cfg: Config{QueueRows: 10}})
	s := e.svc
	readyWithoutRun(t, s)
	now := uint64(time.Now().UnixNano())
	records := func(prefix string, n int) []*logspb.LogRecord {
		out := make([]*logspb.LogRecord, n)
		for i := range out {
			out[i] = &logspb.LogRecord{TimeUnixNano: now, Body: sv(prefix + " " + string(rune('a'+i)))}
		}
		return out
	}
	// Six rows wait in the queue (no writer runs yet).
	firstDone := make(chan error, 1)
	go func() {
		_, err := otlpExport(t, e, "dsk_alpha", otlpRequest("first", records("first", 6)...))
		firstDone <- err
	}()
	require.Eventually(t, func() bool { return queueRows(s) == 6 }, 10*time.Second, time.Millisecond)

	// small (3 rows) fits beside them, big (6 rows) does not.
	req := otlpRequest("small", records("small", 3)...)
	req.ResourceLogs = append(req.ResourceLogs, otlpRequest("big", records("big", 6)...).ResourceLogs...)
	done := make(chan error, 1)
	go func() {
		_, err := otlpExport(t, e, "dsk_alpha", req)
		done <- err
	}()
	require.Eventually(t, func() bool { return queueRows(s) == 9 }, 10*time.Second, time.Millisecond)
	startWriters(t, s, 1)
	require.NoError(t, <-firstDone)
	st := requireStatus(t, <-done, codes.Unavailable, "ingestion is overloaded; retry later")
	var retry time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri.GetRetryDelay().AsDuration()
		}
	}
	require.Equal(t, time.Second, retry, "RetryInfo tells the exporter when to retry")
	require.EqualValues(t, 3, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE service_name = 'small'"))
	require.Zero(t, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE service_name = 'big'"))

	// The exporter retries the same request.
	res, err := otlpExport(t, e, "dsk_alpha", req)
	require.NoError(t, err)
	require.Nil(t, res.GetPartialSuccess())
	require.EqualValues(t, 3, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE service_name = 'small'"), "stored once")
	require.EqualValues(t, 6, count(t, e.pool, "SELECT count(*) FROM logs.entries WHERE service_name = 'big'"))
}

// BenchmarkOTLPMap100 maps a 100-record request (one service, four
// attributes a record, as the load generator's entries carry) into the
// entries normalize takes, batch ids included.
func BenchmarkOTLPMap100(b *testing.B) {
	recs := make([]*logspb.LogRecord, 100)
	for i := range recs {
		recs[i] = &logspb.LogRecord{
			TimeUnixNano: 1796205600123456789 + uint64(i), ObservedTimeUnixNano: 1796205600123456789, SeverityNumber: 9,
			Body: sv("GET /api/v1/orders/123456 completed with status 200 in 12.50ms for user 4711 [trace 0af7651916cd43dd]"),
			Attributes: []*commonpb.KeyValue{kv("request_id", sv("8f14e45fceea467f")), kv("user_id", iv(4711)),
				kv("duration_ms", dv(12.5)), kv("run", sv("peak-0123abcd"))},
		}
	}
	req := otlpRequest("api", recs...)
	b.ReportAllocs()
	for b.Loop() {
		parts := mapOTLP(req, 10_000)
		if parts[0].batchID() == "" {
			b.Fatal("no batch id")
		}
	}
}

// TestOTLPRotatedKeyRefused: a rotated key, though remembered, is refused
// for records and for a request with nothing to store alike.
func TestOTLPRotatedKeyRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	_, err := otlpExport(t, e, "dsk_alpha", otlpRequest("svc", &logspb.LogRecord{Body: sv("before")}))
	require.NoError(t, err)
	rotate(t, e, 1, "dsk_alpha_rotated")
	for name, req := range map[string]*collogspb.ExportLogsServiceRequest{
		"records":           otlpRequest("svc", &logspb.LogRecord{Body: sv("after")}),
		"empty":             {},
		"only refused ones": otlpRequest(strings.Repeat("x", 201), &logspb.LogRecord{Body: sv("after")}),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := otlpExport(t, e, "dsk_alpha", req)
			requireStatus(t, err, codes.Unauthenticated, "invalid or revoked API key")
		})
	}
	require.EqualValues(t, 1, count(t, e.pool, "SELECT count(*) FROM logs.entries"))
}
