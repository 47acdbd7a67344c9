package gateway

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
	req, err := decodeOTLP(otlpJSON, []byte(specExample))
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
	req, err = decodeOTLP(otlpJSON, []byte(other))
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
		_, err := decodeOTLP(c.enc, []byte(c.body))
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
