package gateway

import (
	"net/url"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

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
