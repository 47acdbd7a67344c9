package loadgen

import (
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"
)

// TestOTLPBodyIsTheBatch: the hand-wrapped OTLP body parses as an
// ExportLogsServiceRequest holding the batch's entries (service, time,
// level, message, context members as attributes), and patching the
// observed-time offsets sets exactly every record's observed time.
func TestOTLPBodyIsTheBatch(t *testing.T) {
	b := Shape{RunID: "peak-0123abcd", Services: []string{"api"}}.NewBatches(7, 1, 50, false)[0]
	enc := b.encodeOTLP()
	require.Len(t, enc.observed, 50)
	body := append([]byte(nil), enc.proto...)
	for _, at := range enc.observed {
		binary.LittleEndian.PutUint64(body[at:], 1234567)
	}
	req := &collogspb.ExportLogsServiceRequest{}
	require.NoError(t, proto.Unmarshal(body, req))
	require.Len(t, req.GetResourceLogs(), 1)
	rl := req.GetResourceLogs()[0]
	require.Equal(t, "service.name", rl.GetResource().GetAttributes()[0].GetKey())
	require.Equal(t, "api", rl.GetResource().GetAttributes()[0].GetValue().GetStringValue())
	recs := rl.GetScopeLogs()[0].GetLogRecords()
	require.Len(t, recs, 50)
	for i, r := range recs {
		e := b.Entries[i]
		require.EqualValues(t, 1234567, r.GetObservedTimeUnixNano(), "record %d", i)
		require.EqualValues(t, e.TS.UnixNano(), r.GetTimeUnixNano())
		require.Equal(t, e.Level, r.GetSeverityText())
		require.Equal(t, otlpSeverity(e.Level), r.GetSeverityNumber())
		require.Equal(t, e.Message, r.GetBody().GetStringValue())
		var ctx map[string]any
		require.NoError(t, json.Unmarshal([]byte(e.Context), &ctx))
		require.Len(t, r.GetAttributes(), len(ctx))
		for _, kv := range r.GetAttributes() {
			if kv.GetKey() == "run" {
				require.Equal(t, "peak-0123abcd", kv.GetValue().GetStringValue())
			}
		}
	}
}
