package ingestion

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// FuzzMapOTLP: the OTLP mapper (`make fuzz`; every `go test` runs the
// seeds) takes any request proto.Unmarshal accepts without panicking;
// every record is mapped once, into parts of at most the batch limit that
// the normalizer can take (proto3 strings are UTF-8, the context is a
// JSON object); and the mapping is a function of the request: the
// re-marshalled request maps to the same parts, with the same batch ids
// (a retried export is deduplicated).
func FuzzMapOTLP(f *testing.F) {
	seed := func(req *collogspb.ExportLogsServiceRequest) {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(otlpRequest("api",
		&logspb.LogRecord{TimeUnixNano: 1796205600123456789, SeverityNumber: 17, Body: sv("boom"),
			Attributes: []*commonpb.KeyValue{kv("user_id", iv(4711)), kv("ratio", dv(0.5)), kv("ok", bv(true)), kv("raw", bytesv([]byte{0xff, 0}))},
			TraceId:    []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
		&logspb.LogRecord{ObservedTimeUnixNano: 1796205600000000000, SeverityText: "warning", Body: kvlv(kv("nested", arrv(sv("a"), iv(1))))},
		&logspb.LogRecord{}))
	seed(otlpRequest("", &logspb.LogRecord{Body: sv("no service")}))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req collogspb.ExportLogsServiceRequest
		if proto.Unmarshal(body, &req) != nil {
			return
		}
		const limit = 3
		parts := mapOTLP(&req, limit)
		records := 0
		for _, rl := range req.GetResourceLogs() {
			for _, sl := range rl.GetScopeLogs() {
				records += len(sl.GetLogRecords())
			}
		}
		mapped := 0
		for _, p := range parts {
			require.NotEmpty(t, p.logs)
			require.LessOrEqual(t, len(p.logs), limit)
			require.Len(t, p.index, len(p.logs))
			mapped += len(p.logs)
			_, err := proto.Marshal(&logsv1.IngestBatchRequest{ServiceName: p.service, Logs: p.logs})
			require.NoError(t, err, "a mapped part cannot be carried")
			for _, in := range p.logs {
				if in.GetContextJson() != "" {
					var obj map[string]any
					require.NoError(t, json.Unmarshal([]byte(in.GetContextJson()), &obj), "context %q", in.GetContextJson())
				}
			}
		}
		require.Equal(t, records, mapped, "every record is mapped once")

		again, err := proto.Marshal(&req)
		require.NoError(t, err)
		var req2 collogspb.ExportLogsServiceRequest
		require.NoError(t, proto.Unmarshal(again, &req2))
		parts2 := mapOTLP(&req2, limit)
		require.Len(t, parts2, len(parts))
		for i := range parts {
			require.Equal(t, parts[i].service, parts2[i].service)
			require.Equal(t, parts[i].index, parts2[i].index)
			require.Equal(t, parts[i].invalid, parts2[i].invalid)
			require.Equal(t, parts[i].batchID(), parts2[i].batchID(), "part %d: a retried export has another batch id", i)
			for j := range parts[i].logs {
				require.True(t, proto.Equal(parts[i].logs[j], parts2[i].logs[j]), "part %d entry %d", i, j)
			}
		}
	})
}
