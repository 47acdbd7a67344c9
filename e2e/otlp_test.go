package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
)

// OpenTelemetry's own exporters against the real platform: the Go SDK's
// otlploggrpc (to the ingestion service's gRPC port) and otlploghttp (to
// the gateway's POST /v1/logs), with and without gzip, and the JS SDK's
// OTLP/HTTP JSON and protobuf exporters (e2e/otlp-js); each run's entries
// are read back through GET /api/logs/entries.

var (
	otlpTraceID = trace.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	otlpSpanID  = trace.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x1a}
)

// otlpErrors collects what the SDK reports through otel's error handler
// (a failed export never returns to the caller of Emit).
type otlpErrors struct {
	mu   sync.Mutex
	errs []error
}

func (e *otlpErrors) Handle(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err)
}

func (e *otlpErrors) take() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.errs
	e.errs = nil
	return out
}

// emitGo sends three records through exp with the Go SDK as service: a
// rich ERROR with every attribute type and a span, a map body, and a level
// given only as severity text. It returns the SDK's error of the final
// flush.
func emitGo(t *testing.T, exp sdklog.Exporter, service string, ts time.Time) error {
	t.Helper()
	res := resource.NewSchemaless(attribute.String("service.name", service), attribute.String("deployment.environment", "e2e"))
	provider := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	logger := provider.Logger("e2e/otlp", otellog.WithInstrumentationVersion("1.2.3"))
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: otlpTraceID, SpanID: otlpSpanID, TraceFlags: trace.FlagsSampled,
	}))

	var r otellog.Record
	r.SetTimestamp(ts)
	r.SetSeverity(otellog.SeverityError)
	r.SetBody(attribute.StringValue("payment failed for " + service))
	r.AddAttributes(
		attribute.String("s", "x"),
		attribute.Int64("max", math.MaxInt64),
		attribute.Float64("f", 1.5),
		attribute.Bool("ok", true),
		attribute.Map("nested", attribute.String("a", "b"), attribute.Int64("min", math.MinInt64)),
		attribute.Slice("list", attribute.StringValue("one"), attribute.Int64Value(2)),
		attribute.ByteSlice("raw", []byte("hi")),
	)
	logger.Emit(ctx, r)

	var m otellog.Record
	m.SetTimestamp(ts)
	m.SetSeverity(otellog.SeverityInfo)
	m.SetBody(attribute.MapValue(attribute.String("user", "u1"), attribute.Int64("id", 7)))
	logger.Emit(context.Background(), m)

	var w otellog.Record
	w.SetSeverityText("warning") // no number: the text decides
	w.SetBody(attribute.StringValue("disk almost full"))
	logger.Emit(context.Background(), w)

	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return provider.Shutdown(sctx) // flushes: every record answered
}

// otlpEntry is an entry read back with its context's numbers as written.
type otlpEntry struct {
	Service   string         `json:"service_name"`
	Level     string         `json:"level"`
	Message   string         `json:"message"`
	Timestamp time.Time      `json:"timestamp"`
	Context   map[string]any `json:"context"`
}

// otlpEntries reads a service's entries, numbers kept as json.Number.
func otlpEntries(t *testing.T, pl *platform, tok, slug, service string) map[string]otlpEntry {
	t.Helper()
	r := pl.do(t, "GET", "/api/logs/entries?project="+slug+"&service="+url.QueryEscape(service)+"&page_size=100", nil, bearer(tok)).expect(t, 200)
	dec := json.NewDecoder(bytes.NewReader(r.Raw))
	dec.UseNumber()
	var page struct {
		Entries []otlpEntry `json:"entries"`
	}
	require.NoError(t, dec.Decode(&page))
	out := map[string]otlpEntry{}
	for _, e := range page.Entries {
		out[e.Message] = e
	}
	return out
}

// requireGoEntries checks what emitGo sent.
func requireGoEntries(t *testing.T, pl *platform, tok, slug, service string, ts time.Time) {
	t.Helper()
	got := otlpEntries(t, pl, tok, slug, service)
	require.Len(t, got, 3, "%v", got)

	rich := got["payment failed for "+service]
	require.Equal(t, service, rich.Service)
	require.Equal(t, "ERROR", rich.Level)
	require.True(t, ts.Truncate(time.Microsecond).Equal(rich.Timestamp), "timestamp %s, sent %s", rich.Timestamp, ts)
	c := rich.Context
	require.Equal(t, "x", c["s"])
	require.Equal(t, json.Number("9223372036854775807"), c["max"], "int64 exact")
	require.Equal(t, json.Number("1.5"), c["f"])
	require.Equal(t, true, c["ok"])
	require.Equal(t, map[string]any{"a": "b", "min": json.Number("-9223372036854775808")}, c["nested"])
	require.Equal(t, []any{"one", json.Number("2")}, c["list"])
	require.Equal(t, "aGk=", c["raw"], "bytes as base64")
	require.Equal(t, otlpTraceID.String(), c["trace_id"])
	require.Equal(t, otlpSpanID.String(), c["span_id"])
	require.Equal(t, map[string]any{"deployment.environment": "e2e"}, c["resource"])
	require.Equal(t, map[string]any{"name": "e2e/otlp", "version": "1.2.3"}, c["scope"])

	body := got[`{"id":7,"user":"u1"}`] // the SDK sorts a map's keys
	require.Equal(t, "INFO", body.Level, "a map body is the message as JSON: %v", got)
	require.NotContains(t, body.Context, "trace_id", "no span: no trace id")

	warn := got["disk almost full"]
	require.Equal(t, "WARN", warn.Level)
	// No time of its own: the SDK's observed time.
	require.WithinDuration(t, time.Now(), warn.Timestamp, time.Minute)
}

func TestOTLPExporters(t *testing.T) {
	pl := startAllInOne(t)
	admin, key := sampleProject(t, pl, "otlp")
	errs := &otlpErrors{}
	otel.SetErrorHandler(errs)
	t.Cleanup(func() { otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {})) })
	host := strings.TrimPrefix(pl.baseURL, "http://")
	ctx := context.Background()

	for _, c := range []struct {
		service string
		exp     func() (sdklog.Exporter, error)
	}{
		{"go-grpc", func() (sdklog.Exporter, error) {
			return otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(pl.grpcAddrs["ingestion"]), otlploggrpc.WithInsecure(),
				otlploggrpc.WithHeaders(map[string]string{"authorization": "Bearer " + key}))
		}},
		{"go-grpc-gzip", func() (sdklog.Exporter, error) {
			return otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(pl.grpcAddrs["ingestion"]), otlploggrpc.WithInsecure(),
				otlploggrpc.WithHeaders(map[string]string{"x-api-key": key}), otlploggrpc.WithCompressor("gzip"))
		}},
		{"go-http", func() (sdklog.Exporter, error) {
			return otlploghttp.New(ctx, otlploghttp.WithEndpoint(host), otlploghttp.WithInsecure(),
				otlploghttp.WithHeaders(map[string]string{"Authorization": "Bearer " + key}))
		}},
		{"go-http-gzip", func() (sdklog.Exporter, error) {
			return otlploghttp.New(ctx, otlploghttp.WithEndpointURL(pl.baseURL+"/v1/logs"),
				otlploghttp.WithHeaders(map[string]string{"X-API-Key": key}), otlploghttp.WithCompression(otlploghttp.GzipCompression))
		}},
	} {
		t.Run(c.service, func(t *testing.T) {
			exp, err := c.exp()
			require.NoError(t, err)
			ts := time.Now().UTC()
			require.NoError(t, emitGo(t, exp, c.service, ts))
			require.Empty(t, errs.take(), "the SDK reported export errors")
			requireGoEntries(t, pl, admin, "otlp", c.service, ts)
		})
	}

	t.Run("a bad key is reported to the SDK", func(t *testing.T) {
		exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(host), otlploghttp.WithInsecure(),
			otlploghttp.WithHeaders(map[string]string{"Authorization": "Bearer dsk_wrong"}))
		require.NoError(t, err)
		err = emitGo(t, exp, "go-bad-key", time.Now())
		require.ErrorContains(t, err, "401 Unauthorized")
		require.ErrorContains(t, err, "invalid or revoked API key") // the google.rpc.Status body
		require.Empty(t, otlpEntries(t, pl, admin, "otlp", "go-bad-key"))
	})

	t.Run("js", func(t *testing.T) { testOTLPJS(t, pl, admin, key) })
	t.Run("answers", func(t *testing.T) { testOTLPAnswers(t, pl, admin, key) })
}

// testOTLPJS runs e2e/otlp-js/send.js: the JS SDK's OTLP/HTTP exporters,
// JSON and protobuf.
func testOTLPJS(t *testing.T, pl *platform, admin, key string) {
	dir, err := filepath.Abs("otlp-js")
	require.NoError(t, err)
	require.DirExists(t, filepath.Join(dir, "node_modules/@opentelemetry/sdk-logs"), "e2e/otlp-js needs its npm packages: run `make deps`")
	runID := fmt.Sprint(time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "send.js"))
	cmd.Env = append(cmd.Environ(), "OTLP_URL="+pl.baseURL+"/v1/logs", "DEVSMITH_API_KEY="+key, "RUN_ID="+runID)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NotContains(t, string(out), key)
	for _, service := range []string{"js-http-json", "js-http-proto"} {
		got := otlpEntries(t, pl, admin, "otlp", service)
		require.Len(t, got, 2, "%s: %v", service, got)
		e := got["order placed "+runID]
		require.Equal(t, service, e.Service)
		require.Equal(t, "WARN", e.Level)
		c := e.Context
		require.Equal(t, runID, c["run"])
		require.Equal(t, json.Number("42"), c["order_id"])
		require.Equal(t, json.Number("19.99"), c["amount"])
		require.Equal(t, true, c["paid"])
		require.Equal(t, []any{"a", "b"}, c["tags"])
		require.Equal(t, map[string]any{"country": "NL", "zip": "1011"}, c["address"])
		require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", c["trace_id"], service)
		require.Equal(t, "00f067aa0ba902b7", c["span_id"], service)
		require.Equal(t, "e2e-js", c["scope"].(map[string]any)["name"])
		require.Equal(t, "nodejs", c["resource"].(map[string]any)["telemetry.sdk.language"])

		f := got["charge failed "+runID]
		require.Equal(t, "FATAL", f.Level)
		require.Equal(t, "PaymentError", f.Context["exception.type"])
	}
}

// postOTLP posts an OTLP/HTTP body.
func postOTLP(t *testing.T, pl *platform, contentType string, body []byte, opts ...reqOpt) response {
	t.Helper()
	return pl.do(t, "POST", "/v1/logs", body, append([]reqOpt{header("Content-Type", contentType)}, opts...)...)
}

// otlpStatus decodes a protobuf google.rpc.Status answer.
func otlpStatus(t *testing.T, r response) *spb.Status {
	t.Helper()
	require.Equal(t, "application/x-protobuf", r.Header.Get("Content-Type"))
	st := &spb.Status{}
	require.NoError(t, proto.Unmarshal(r.Raw, st), "body %q", r.Raw)
	return st
}

func testOTLPAnswers(t *testing.T, pl *platform, admin, key string) {
	now := uint64(time.Now().UnixNano())
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	req := &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: str("raw-proto")}}},
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{
			{TimeUnixNano: now, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, Body: str("kept")},
			{TimeUnixNano: now, Body: str("")}, // no message, as a batch entry without one: rejected
		}}},
	}}}
	body, err := proto.Marshal(req)
	require.NoError(t, err)

	t.Run("partial success, and a retry stores nothing twice", func(t *testing.T) {
		for range 2 {
			r := postOTLP(t, pl, "application/x-protobuf", body, bearer(key)).expect(t, 200)
			require.Equal(t, "application/x-protobuf", r.Header.Get("Content-Type"))
			res := &collogspb.ExportLogsServiceResponse{}
			require.NoError(t, proto.Unmarshal(r.Raw, res))
			require.EqualValues(t, 1, res.GetPartialSuccess().GetRejectedLogRecords())
			require.Equal(t, "1 log records rejected: log record 1: message is required", res.GetPartialSuccess().GetErrorMessage())
		}
		require.Len(t, otlpEntries(t, pl, admin, "otlp", "raw-proto"), 1)
	})

	t.Run("gzip and chunked JSON", func(t *testing.T) {
		js := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"raw-json"}}]},
		  "scopeLogs":[{"logRecords":[{"timeUnixNano":"` + fmt.Sprint(now) + `","severityNumber":21,"traceId":"5B8EFFF798038103D269B633813FC60C",
		  "body":{"stringValue":"json kept"},"attributes":[{"key":"n","value":{"intValue":"9223372036854775807"}}]},
		  {"body":{"stringValue":""}}]}]}]}`
		// Written by hand, to be sure of the chunked transfer coding.
		gz := gzipBytes(t, []byte(js))
		conn, err := net.Dial("tcp", strings.TrimPrefix(pl.baseURL, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		var raw bytes.Buffer
		fmt.Fprintf(&raw, "POST /v1/logs HTTP/1.1\r\nHost: devsmith\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"+
			"X-API-Key: %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", key)
		for len(gz) > 0 {
			n := min(len(gz), 100)
			fmt.Fprintf(&raw, "%x\r\n%s\r\n", n, gz[:n])
			gz = gz[n:]
		}
		raw.WriteString("0\r\n\r\n")
		_, err = conn.Write(raw.Bytes())
		require.NoError(t, err)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, 200, res.StatusCode)
		require.Equal(t, "application/json", res.Header.Get("Content-Type"))
		var answer map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&answer))
		require.Equal(t, map[string]any{"partialSuccess": map[string]any{"rejectedLogRecords": "1",
			"errorMessage": "1 log records rejected: log record 1: message is required"}}, answer)
		got := otlpEntries(t, pl, admin, "otlp", "raw-json")["json kept"]
		require.Equal(t, "FATAL", got.Level)
		require.Equal(t, "5b8efff798038103d269b633813fc60c", got.Context["trace_id"])
		require.Equal(t, json.Number("9223372036854775807"), got.Context["n"])
	})

	t.Run("400 for a body that does not parse, saying why", func(t *testing.T) {
		st := otlpStatus(t, postOTLP(t, pl, "application/x-protobuf", []byte("\x0a\xff\xff\xff\xff"), bearer(key)).expect(t, 400))
		require.EqualValues(t, 3, st.GetCode()) // INVALID_ARGUMENT
		require.Contains(t, st.GetMessage(), "body is not a protobuf ExportLogsServiceRequest")

		r := postOTLP(t, pl, "application/json", []byte(`{"resourceLogs": [{"scopeLogs": {}}]}`), bearer(key)).expect(t, 400)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.EqualValues(t, 3, num(t, r.JSON["code"]))
		require.Contains(t, r.JSON["message"], "body is not an OTLP/JSON ExportLogsServiceRequest")

		r = postOTLP(t, pl, "application/json", []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"zz"}]}]}]}`), bearer(key)).expect(t, 400)
		require.Contains(t, r.JSON["message"], `spanId "zz" is not a hex string`)

		r = postOTLP(t, pl, "text/plain", []byte("hello"), bearer(key)).expect(t, 415)
		require.Contains(t, r.JSON["message"], "send application/x-protobuf or application/json")
	})

	t.Run("401 for a bad or missing key", func(t *testing.T) {
		st := otlpStatus(t, postOTLP(t, pl, "application/x-protobuf", body, bearer("dsk_wrong")).expect(t, 401))
		require.EqualValues(t, 16, st.GetCode()) // UNAUTHENTICATED
		postOTLP(t, pl, "application/x-protobuf", body).expect(t, 401)
	})
}
