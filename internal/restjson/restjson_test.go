package restjson

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

func marshal(m proto.Message) ([]byte, error) { return AppendMessage(nil, m.ProtoReflect()) }

func TestMarshalWritesTheRESTShapes(t *testing.T) {
	ctx, err := structpb.NewStruct(map[string]any{"userId": 123, "tags": []any{"a"}})
	require.NoError(t, err)
	cases := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{
			name: "int64 as numbers, zero values and null timestamps present",
			msg:  &logsv1.Project{Id: 9007199254740000, Name: "A", Slug: "a", CreatedAt: timestamppb.New(time.Date(2025, 11, 11, 20, 45, 0, 123000000, time.UTC))},
			want: `{"id":9007199254740000,"name":"A","slug":"a","description":"","repository_url":"","created_at":"2025-11-11T20:45:00.123Z",
				"log_count":0,"is_active":false,"last_log_at":null,"role":"","owner_id":0,"rate_limit":null,
				"retention_days":0,"retention_is_default":false,"oldest_log_at":null,"sampling_rules":[],"sampled_out_count":0}`,
		},
		{
			name: "empty lists are [] not null",
			msg:  &logsv1.IngestBatchResponse{Count: 0, Message: "Successfully ingested 0 logs"},
			want: `{"count":0,"message":"Successfully ingested 0 logs","rejected":[],"truncated":0,"sampled_out":0}`,
		},
		{
			name: "maps sorted with number values",
			msg:  &logsv1.HistogramBucket{Counts: map[string]int64{"INFO": 2, "DEBUG": 3}},
			want: `{"start":null,"counts":{"DEBUG":3,"INFO":2},"estimated_counts":{}}`,
		},
		{
			name: "a set optional scalar as its value",
			msg:  &logsv1.LogEntry{SampleRate: proto.Float64(0.25)},
			want: `{"id":0,"project_slug":"","service_name":"","timestamp":null,"level":"","message":"","context":{},"pattern_id":"","error_group_id":"","sample_rate":0.25}`,
		},
		{
			name: "Struct as a JSON object",
			msg:  ctx,
			want: `{"tags":["a"],"userId":123}`,
		},
		{
			name: "strings escaped, html kept as text; context_json as the object context; an unset optional as null",
			msg:  &logsv1.LogEntry{Message: "<script>\"x\"\n\u2028", ContextJson: `{"tags": ["a"], "userId": 123}`},
			want: `{"id":0,"project_slug":"","service_name":"","timestamp":null,"level":"","message":"<script>\"x\"\n\u2028","context":{"tags":["a"],"userId":123},"pattern_id":"","error_group_id":"","sample_rate":null}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := marshal(c.msg)
			require.NoError(t, err)
			require.True(t, json.Valid(b), "%s", b)
			require.JSONEq(t, c.want, string(b))
		})
	}
}

// The entry's context goes out as the query service read it: the bytes of
// every number token unchanged, whatever float64 would make of them.
func TestMarshalWritesContextByteForByte(t *testing.T) {
	const stored = `{"a": 9007199254740993, "b": 9223372036854775807, "c": -9223372036854775808, "f": 1.5e300, "s": "x\u00e9"}`
	entry := &logsv1.LogEntry{Id: 7, Level: "INFO", Message: "m", ContextJson: stored}
	wantEntry := `{"id":7,"project_slug":"","service_name":"","timestamp":null,"level":"INFO","message":"m","context":` + stored + `,"pattern_id":"","error_group_id":"","sample_rate":null}`

	b, err := marshal(&logsv1.ListEntriesResponse{Entries: []*logsv1.LogEntry{entry}, TotalSize: 1, TotalSizeExact: true})
	require.NoError(t, err)
	require.Equal(t, `{"entries":[`+wantEntry+`],"next_page_token":"","total_size":1,"total_size_exact":true}`, string(b))

	// The tail's events and export's lines are the entry alone.
	b, err = AppendMessage(nil, entry.ProtoReflect())
	require.NoError(t, err)
	require.Equal(t, wantEntry, string(b))

	b, err = marshal(&logsv1.LogEntry{})
	require.NoError(t, err)
	require.Contains(t, string(b), `"context":{}`, "an unset context is an empty object")
	require.NotContains(t, string(b), "context_json")

	_, err = marshal(&logsv1.LogEntry{Id: 1, ContextJson: `{"a": 1`})
	require.ErrorContains(t, err, "context_json is not valid JSON")
}
