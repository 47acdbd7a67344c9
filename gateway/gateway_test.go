package gateway

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/restjson"
)

func TestMarshalWritesTheRESTShapes(t *testing.T) {
	ctx, err := structpb.NewStruct(map[string]any{"userId": 123, "tags": []any{"a"}})
	require.NoError(t, err)
	cases := []struct {
		name string
		msg  any
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
			b, err := jsonMarshaler{}.Marshal(c.msg)
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

	b, err := jsonMarshaler{}.Marshal(&logsv1.ListEntriesResponse{Entries: []*logsv1.LogEntry{entry}, TotalSize: 1, TotalSizeExact: true})
	require.NoError(t, err)
	require.Equal(t, `{"entries":[`+wantEntry+`],"next_page_token":"","total_size":1,"total_size_exact":true}`, string(b))

	// The tail's events are the entry alone (handleTail).
	b, err = restjson.AppendMessage(nil, entry.ProtoReflect())
	require.NoError(t, err)
	require.Equal(t, wantEntry, string(b))

	b, err = jsonMarshaler{}.Marshal(&logsv1.LogEntry{})
	require.NoError(t, err)
	require.Contains(t, string(b), `"context":{}`, "an unset context is an empty object")
	require.NotContains(t, string(b), "context_json")

	_, err = jsonMarshaler{}.Marshal(&logsv1.LogEntry{Id: 1, ContextJson: `{"a": 1`})
	require.ErrorContains(t, err, "context_json is not valid JSON")
}

func TestDecodeBatch(t *testing.T) {
	t.Run("envelope errors name the field", func(t *testing.T) {
		for body, want := range map[string]string{
			`{"service_name": 5, "logs": []}`:          "service_name must be a string",
			`{"service_name": "a", "logs": {"x": 1}}`:  "logs must be an array",
			`{"service_name": "a", "logs": [`:          "malformed JSON",
			`[1, 2]`:                                   "must be",
			`{"service_name": "a", "batch_id": true}`:  "batch_id must be a string",
			`{"service_name": "a", "project_slug": 1}`: "project_slug must be a string",
		} {
			_, err := decodeBatch([]byte(body))
			require.ErrorContains(t, err, want, body)
		}
	})
	t.Run("entries are decoded leniently", func(t *testing.T) {
		req, err := decodeBatch([]byte(`{"project_slug":"p","service_name":"api","batch_id":"b1","logs":[
			{"timestamp":"2025-11-11T20:45:00.123Z","level":"INFO","message":"hello","context":{"userId":123}},
			{"timestamp":1731357900123,"level":"warning","message":42},
			{"message":{"nested":[1,2]},"context":null,"level":null},
			"bare string",
			7,
			{"level":"ERROR"},
			{"message":"ctx not object","context":[1]}
		]}`))
		require.NoError(t, err)
		require.Equal(t, "p", req.GetProjectSlug())
		require.Equal(t, "api", req.GetServiceName())
		require.Equal(t, "b1", req.GetBatchId())
		want := []*logsv1.LogInput{
			{Timestamp: "2025-11-11T20:45:00.123Z", Level: "INFO", Message: "hello", ContextJson: `{"userId":123}`},
			{Timestamp: "1731357900123", Level: "warning", Message: "42"},
			{Message: `{"nested":[1,2]}`},
			{Message: "bare string"},
			{Message: "7"},
			{Level: "ERROR"},
			{Message: "ctx not object", ContextJson: `[1]`},
		}
		require.Len(t, req.GetLogs(), len(want))
		for i, w := range want {
			g := req.GetLogs()[i]
			require.Equal(t, w.GetTimestamp(), g.GetTimestamp(), i)
			require.Equal(t, w.GetLevel(), g.GetLevel(), i)
			require.Equal(t, w.GetMessage(), g.GetMessage(), i)
			require.Equal(t, w.GetContextJson(), g.GetContextJson(), i)
		}
	})
}

func TestQueryParser(t *testing.T) {
	req := &logsv1.ListEntriesRequest{}
	v, err := url.ParseQuery("project=a&project=b&level=ERROR&q=time+out&context.user_id=123&context.region=eu&page_size=50&since=2025-11-11T20:45:00Z&ignored=1")
	require.NoError(t, err)
	require.NoError(t, queryParser{}.Parse(req, v, utilities.NewDoubleArray(nil)))
	require.Equal(t, []string{"a", "b"}, req.GetProject())
	require.Equal(t, []string{"ERROR"}, req.GetLevel())
	require.Equal(t, "time out", req.GetQ())
	require.EqualValues(t, 50, req.GetPageSize())
	require.Equal(t, time.Date(2025, 11, 11, 20, 45, 0, 0, time.UTC), req.GetSince().AsTime())
	got := map[string]string{}
	for _, f := range req.GetContext() {
		got[f.GetKey()] = f.GetValue()
	}
	require.Equal(t, map[string]string{"user_id": "123", "region": "eu"}, got)

	bad, _ := url.ParseQuery("context.=1")
	require.ErrorContains(t, queryParser{}.Parse(&logsv1.ListEntriesRequest{}, bad, utilities.NewDoubleArray(nil)), "context key")
	badTime, _ := url.ParseQuery("since=yesterday")
	require.Error(t, queryParser{}.Parse(&logsv1.ListEntriesRequest{}, badTime, utilities.NewDoubleArray(nil)))
}

// BenchmarkMarshalEntries writes a page of 100 entries as REST JSON.
func BenchmarkMarshalEntries(b *testing.B) {
	res := &logsv1.ListEntriesResponse{TotalSize: 100, TotalSizeExact: true}
	for i := range 100 {
		res.Entries = append(res.Entries, &logsv1.LogEntry{
			Id: int64(i), ProjectSlug: "shop-api", ServiceName: "api", Timestamp: timestamppb.Now(), Level: "INFO",
			Message: "request handled in 12 ms", ContextJson: `{"path": "/api/v1/items", "trace": 9223372036854775807, "user_id": 42}`,
		})
	}
	for b.Loop() {
		if _, err := (jsonMarshaler{}).Marshal(res); err != nil {
			b.Fatal(err)
		}
	}
}
