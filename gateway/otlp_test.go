package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/devsmith/logs/internal/apierr"
)

// specExample is the logs example of opentelemetry-proto
// (examples/logs.json): hex ids, int64 as strings.
const specExample = `{
  "resourceLogs": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
    "scopeLogs": [{
      "scope": {"name": "my.library", "version": "1.0.0",
        "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
      "logRecords": [{
        "timeUnixNano": "1544712660300000000",
        "observedTimeUnixNano": "1544712660300000000",
        "severityNumber": 10,
        "severityText": "Information",
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "body": {"stringValue": "Example log record"},
        "attributes": [
          {"key": "string.attribute", "value": {"stringValue": "some string"}},
          {"key": "boolean.attribute", "value": {"boolValue": true}},
          {"key": "int.attribute", "value": {"intValue": "10"}},
          {"key": "double.attribute", "value": {"doubleValue": 637.704}},
          {"key": "array.attribute", "value": {"arrayValue": {"values": [{"stringValue": "many"}, {"stringValue": "values"}]}}},
          {"key": "map.attribute", "value": {"kvlistValue": {"values": [{"key": "some.map.key", "value": {"stringValue": "some value"}}]}}}
        ]
      }]
    }]
  }]
}`

func TestDecodeOTLPJSON(t *testing.T) {
	req, err := decodeOTLPJSON([]byte(specExample))
	require.NoError(t, err)
	rec := req.GetResourceLogs()[0].GetScopeLogs()[0].GetLogRecords()[0]
	require.Equal(t, "5b8efff798038103d269b633813fc60c", hex.EncodeToString(rec.GetTraceId()), "hex, not base64")
	require.Equal(t, "eee19b7ec3c1b174", hex.EncodeToString(rec.GetSpanId()))
	require.EqualValues(t, 1544712660300000000, rec.GetTimeUnixNano())
	require.EqualValues(t, 10, rec.GetSeverityNumber())
	require.EqualValues(t, 10, rec.GetAttributes()[2].GetValue().GetIntValue())
	require.Equal(t, "Example log record", rec.GetBody().GetStringValue())

	// Other spellings OTLP/JSON receivers meet: snake_case names, enum
	// names, int64 as numbers, unknown fields (ignored), an attribute
	// named traceId (a value of "key", left alone), empty ids.
	other := `{"resource_logs": [{"scope_logs": [{"log_records": [
	  {"time_unix_nano": 1544712660300000000, "severity_number": "SEVERITY_NUMBER_WARN", "trace_id": "", "span_id": "eee19b7ec3c1b174",
	   "futureField": {"x": [1, 2]}, "attributes": [{"key": "traceId", "value": {"stringValue": "not an id"}},
	   {"key": "big", "value": {"intValue": 9223372036854775807}}]}]}]}]}`
	req, err = decodeOTLPJSON([]byte(other))
	require.NoError(t, err)
	rec = req.GetResourceLogs()[0].GetScopeLogs()[0].GetLogRecords()[0]
	require.EqualValues(t, 13, rec.GetSeverityNumber())
	require.Empty(t, rec.GetTraceId())
	require.Equal(t, "eee19b7ec3c1b174", hex.EncodeToString(rec.GetSpanId()))
	require.Equal(t, "traceId", rec.GetAttributes()[0].GetKey())
	require.Equal(t, "not an id", rec.GetAttributes()[0].GetValue().GetStringValue())
	require.EqualValues(t, int64(9223372036854775807), rec.GetAttributes()[1].GetValue().GetIntValue())
}

func TestDecodeOTLPErrorsNameWhatIsWrong(t *testing.T) {
	for _, c := range []struct {
		name string
		enc  otlpEncoding
		body string
		want string
	}{
		{"not JSON", otlpJSON, `{"resourceLogs": [`, "body is not an OTLP/JSON ExportLogsServiceRequest"},
		{"wrong shape", otlpJSON, `{"resourceLogs": {"x": 1}}`, "body is not an OTLP/JSON ExportLogsServiceRequest"},
		{"base64 id", otlpJSON, `{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "W47/95gDgQPSabYzgT/GDA=="}]}]}]}`,
			`traceId "W47/95gDgQPSabYzgT/GDA==" is not a hex string`},
		{"too deep", otlpJSON, `{"x": ` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, "nested more than 512 levels"},
		{"not protobuf", otlpProtobuf, "\x0a\xff\xff\xff", "body is not a protobuf ExportLogsServiceRequest"},
	} {
		var err error
		if c.enc == otlpJSON {
			_, err = decodeOTLPJSON([]byte(c.body))
		} else {
			err = checkOTLPProtobuf([]byte(c.body))
		}
		st, ok := status.FromError(err)
		require.True(t, ok, c.name)
		require.Equal(t, codes.InvalidArgument, st.Code(), c.name)
		require.Contains(t, st.Message(), c.want, c.name)
	}
}

func TestOTLPEncodingOf(t *testing.T) {
	for ct, want := range map[string]otlpEncoding{
		"application/x-protobuf": otlpProtobuf, "application/protobuf": otlpProtobuf,
		"application/json": otlpJSON, "application/json; charset=utf-8": otlpJSON,
	} {
		got, ok := otlpEncodingOf(ct)
		require.True(t, ok, ct)
		require.Equal(t, want, got, ct)
	}
	for _, ct := range []string{"", "text/plain", "application/grpc"} {
		_, ok := otlpEncodingOf(ct)
		require.False(t, ok, ct)
	}
}

// TestOTLPErrorAnswers: the statuses the ingestion service answers become
// the HTTP answers OTLP exporters act on, with a google.rpc.Status body
// encoded like the request.
func TestOTLPErrorAnswers(t *testing.T) {
	log := zaptest.NewLogger(t)
	g := &Gateway{log: log}
	mapped := func(err error) error { return apierr.ToStatus(context.Background(), log, "/test", err) }
	for _, c := range []struct {
		name       string
		err        error
		enc        otlpEncoding
		httpStatus int
		retryAfter string
		code       codes.Code
		msg        string
	}{
		{"overloaded", mapped(apierr.Unavailable(2*time.Second, "ingestion is overloaded; retry later")), otlpProtobuf, 503, "2", codes.Unavailable, "ingestion is overloaded"},
		{"throttled", mapped(apierr.Throttled(3*time.Second, "slow down")), otlpJSON, 429, "3", codes.ResourceExhausted, "slow down"},
		{"invalid", mapped(apierr.Invalidf("bad thing")), otlpJSON, 400, "", codes.InvalidArgument, "bad thing"},
		{"unauthenticated", mapped(apierr.Unauthenticatedf("invalid or revoked API key")), otlpProtobuf, 401, "", codes.Unauthenticated, "invalid or revoked API key"},
		{"a backend gone: no addresses shown", status.Error(codes.Unavailable, "dial tcp 10.1.2.3:9102: connection refused"), otlpProtobuf, 503, "1", codes.Unavailable, "a backend service is unavailable"},
		{"internal: no text shown", errors.New("pq: secret SQL"), otlpJSON, 500, "", codes.Internal, "internal error"},
	} {
		w := httptest.NewRecorder()
		g.writeOTLPError(w, httptest.NewRequest("POST", "/v1/logs", nil), c.enc, c.err)
		require.Equal(t, c.httpStatus, w.Code, c.name)
		require.Equal(t, c.retryAfter, w.Header().Get("Retry-After"), c.name)
		require.Equal(t, c.enc.contentType(), w.Header().Get("Content-Type"), c.name)
		st := &spb.Status{}
		if c.enc == otlpJSON {
			require.NoError(t, protojson.Unmarshal(w.Body.Bytes(), st), c.name)
		} else {
			require.NoError(t, proto.Unmarshal(w.Body.Bytes(), st), c.name)
		}
		require.EqualValues(t, c.code, st.GetCode(), c.name)
		require.Contains(t, st.GetMessage(), c.msg, c.name)
		require.NotContains(t, st.GetMessage(), "10.1.2.3", c.name)
		require.NotContains(t, st.GetMessage(), "SQL", c.name)
		if c.retryAfter != "" && c.name != "a backend gone: no addresses shown" {
			var ri errdetails.RetryInfo
			require.Len(t, st.GetDetails(), 1, c.name)
			require.NoError(t, st.GetDetails()[0].UnmarshalTo(&ri), c.name)
			require.Equal(t, c.retryAfter+"s", ri.GetRetryDelay().AsDuration().String(), c.name)
		}
	}
}
