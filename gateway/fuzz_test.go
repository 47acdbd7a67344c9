package gateway

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/require"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// Round-trip fuzz targets of the gateway's decoders (`make fuzz`; every
// `go test` runs their seeds, f.Add and testdata/fuzz/FuzzX). Beside
// FuzzDecodeBatch (fast decoder = encoding/json) and FuzzCheckWire
// (checkWire = proto.Unmarshal), they check that what a decoder accepts
// survives being encoded again: decode → encode → decode gives the same
// thing, or, where the decoder normalises (invalid UTF-8 to U+FFFD, a
// timestamp to int64 nanoseconds), the normalisation is idempotent and
// changes nothing on input that needs none.

// batchJSON is a decoded batch sent again as POST /api/logs/batch: every
// field a JSON string, the context its JSON text exactly as it was
// (encoding/json would compact it).
func batchJSON(t *testing.T, req *logsv1.IngestBatchRequest) []byte {
	str := func(b []byte, s string) []byte {
		q, err := json.Marshal(s)
		require.NoError(t, err)
		return append(b, q...)
	}
	b := []byte(`{"project_slug":`)
	b = str(b, req.GetProjectSlug())
	b = append(b, `,"service_name":`...)
	b = str(b, req.GetServiceName())
	b = append(b, `,"batch_id":`...)
	b = str(b, req.GetBatchId())
	b = append(b, `,"logs":[`...)
	for i, in := range req.GetLogs() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"timestamp":`...)
		b = str(b, in.GetTimestamp())
		b = append(b, `,"level":`...)
		b = str(b, in.GetLevel())
		b = append(b, `,"message":`...)
		b = str(b, in.GetMessage())
		if in.GetContextJson() != "" {
			b = append(b, `,"context":`...)
			b = append(b, in.GetContextJson()...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// validBatch: every string of the request is UTF-8 (encoding it again as
// JSON strings changes nothing).
func validBatch(req *logsv1.IngestBatchRequest) bool {
	ok := utf8.ValidString(req.GetProjectSlug()) && utf8.ValidString(req.GetServiceName()) && utf8.ValidString(req.GetBatchId())
	for _, in := range req.GetLogs() {
		ok = ok && utf8.ValidString(in.GetTimestamp()) && utf8.ValidString(in.GetLevel()) && utf8.ValidString(in.GetMessage()) && utf8.ValidString(in.GetContextJson())
	}
	return ok
}

func FuzzDecodeBatchRoundTrip(f *testing.F) {
	for _, b := range fastBodies {
		f.Add([]byte(b))
	}
	for _, b := range stdBodies[:len(stdBodies)-2] {
		f.Add([]byte(b))
	}
	f.Add(benchBody(3))
	f.Fuzz(func(t *testing.T, body []byte) {
		first, err := decodeBatch(body)
		if err != nil {
			return
		}
		second, err := decodeBatch(batchJSON(t, first))
		require.NoError(t, err, "the re-encoding of an accepted batch is refused")
		if validBatch(first) {
			require.True(t, proto.Equal(first, second), "decode → encode → decode:\n first %v\nsecond %v", first, second)
		}
		third, err := decodeBatch(batchJSON(t, second))
		require.NoError(t, err)
		require.True(t, proto.Equal(second, third), "not idempotent:\nsecond %v\n third %v", second, third)
	})
}

// lokiPush is decoded streams as Loki's own PushRequest (labels in
// Prometheus' text form, values Go-quoted).
func lokiPush(t *testing.T, streams []lokiStream) []byte {
	req := push.PushRequest{}
	for _, s := range streams {
		ps := push.Stream{Labels: string(appendLabelText(nil, s.labels))}
		for _, e := range s.entries {
			pe := push.Entry{Timestamp: time.Unix(0, e.ns), Line: e.line}
			for _, m := range e.meta {
				pe.StructuredMetadata = append(pe.StructuredMetadata, push.LabelAdapter{Name: m.name, Value: m.value})
			}
			ps.Entries = append(ps.Entries, pe)
		}
		req.Streams = append(req.Streams, ps)
	}
	raw, err := req.Marshal()
	require.NoError(t, err)
	return raw
}

func appendLabelText(b []byte, labels []lokiLabel) []byte {
	b = append(b, '{')
	for i, l := range labels {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, l.name...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, l.value)
	}
	return append(b, '}')
}

func validStreams(streams []lokiStream) bool {
	for _, s := range streams {
		for _, l := range s.labels {
			if !utf8.ValidString(l.value) {
				return false
			}
		}
		for _, e := range s.entries {
			if !utf8.ValidString(e.line) {
				return false
			}
			for _, m := range e.meta {
				if !utf8.ValidString(m.value) || !utf8.ValidString(m.name) {
					return false
				}
			}
		}
	}
	return true
}

// requireMaps: the mapper takes every accepted stream, splits at the
// batch limit, and makes batches the ingestion call can carry (proto3
// strings must be UTF-8) whose contexts are JSON objects.
func requireMaps(t *testing.T, streams []lokiStream) {
	const limit = 3
	total := 0
	for _, s := range streams {
		total += len(s.entries)
	}
	mapped := 0
	for _, b := range mapLokiStreams(streams, limit) {
		require.LessOrEqual(t, len(b.logs), limit)
		require.Len(t, b.from, len(b.logs))
		mapped += len(b.logs)
		_, err := proto.Marshal(&logsv1.IngestBatchRequest{ServiceName: b.service, Logs: b.logs})
		require.NoError(t, err, "a mapped batch cannot be sent to ingestion")
		for _, in := range b.logs {
			if in.GetContextJson() != "" {
				var obj map[string]any
				require.NoError(t, json.Unmarshal([]byte(in.GetContextJson()), &obj), "context %q", in.GetContextJson())
			}
		}
	}
	require.Equal(t, total, mapped, "every entry is mapped once")
}

func FuzzLokiProto(f *testing.F) {
	seed := func(streams ...push.Stream) {
		raw, err := (&push.PushRequest{Streams: streams}).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	at := time.Unix(1764670000, 123456789)
	seed(push.Stream{Labels: `{service_name="api", level="warn"}`, Entries: []push.Entry{
		{Timestamp: at, Line: "one", StructuredMetadata: push.LabelsAdapter{{Name: "trace_id", Value: "abc"}}},
		{Line: `{"level":"error","msg":"two"}`}, {Timestamp: at, Line: "level=debug three"}}})
	seed(push.Stream{Labels: `{job="x\ty\"z\\", app="a\u00e9"}`, Entries: []push.Entry{{Timestamp: at, Line: "ERROR boom"}}},
		push.Stream{Labels: `{}`, Entries: []push.Entry{{Line: "no labels"}}})
	f.Fuzz(func(t *testing.T, raw []byte) {
		first, err := decodeLokiProto(raw)
		if err != nil {
			return
		}
		requireMaps(t, first)
		second, err := decodeLokiProto(lokiPush(t, first))
		require.NoError(t, err, "the re-encoding of an accepted push is refused")
		if validStreams(first) {
			requireSameStreams(t, first, second)
		}
		third, err := decodeLokiProto(lokiPush(t, second))
		require.NoError(t, err)
		requireSameStreams(t, second, third)
	})
}

// lokiJSON is decoded streams as a JSON push body.
func lokiJSON(t *testing.T, streams []lokiStream) []byte {
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][]any           `json:"values"`
	}
	var body struct {
		Streams []stream `json:"streams"`
	}
	body.Streams = []stream{}
	for _, s := range streams {
		js := stream{Stream: map[string]string{}, Values: [][]any{}}
		for _, l := range s.labels {
			js.Stream[l.name] = l.value
		}
		for _, e := range s.entries {
			v := []any{strconv.FormatInt(e.ns, 10), e.line}
			if len(e.meta) > 0 {
				meta := map[string]any{}
				for _, m := range e.meta {
					if m.raw {
						meta[m.name] = json.RawMessage(m.value)
					} else {
						meta[m.name] = m.value
					}
				}
				v = append(v, meta)
			}
			js.Values = append(js.Values, v)
		}
		body.Streams = append(body.Streams, js)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // json.Marshal would write a raw value's & as \u0026
	require.NoError(t, enc.Encode(body))
	return b.Bytes()
}

func FuzzLokiJSON(f *testing.F) {
	f.Add([]byte(`{"streams":[{"stream":{"job":"api","env":"prod"},"values":[["1764670000123456789","first"],[1764670000000000000,"a number timestamp",{"trace_id":"t1","n":5,"skip":null}]]}]}`))
	f.Add([]byte("{\"streams\":[{\"stream\":{\"job\":\"a\xffb\"},\"values\":[[\"1\",\"bad \xff\",{\"m\":{\"x\":\"\xfe\"}}]]}]}"))
	f.Add([]byte(`{"streams":[{"stream":{"service_name":"x","level":"warn"},"values":[["5","{\"level\":\"error\"}",{"detected_level":"info"}]]},{"stream":{},"values":[]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		first, err := decodeLokiJSON(body)
		if err != nil {
			return
		}
		requireMaps(t, first)
		second, err := decodeLokiJSON(lokiJSON(t, first))
		require.NoError(t, err, "the re-encoding of an accepted push is refused")
		requireSameStreams(t, first, second)
	})
}

// requireSameStreams compares streams as a client sees them (an empty
// list and none are the same).
func requireSameStreams(t *testing.T, a, b []lokiStream) {
	t.Helper()
	require.Equal(t, len(a), len(b), "streams")
	for i := range a {
		require.Equal(t, len(a[i].labels), len(b[i].labels), "stream %d labels", i)
		for j := range a[i].labels {
			require.Equal(t, a[i].labels[j], b[i].labels[j])
		}
		require.Equal(t, len(a[i].entries), len(b[i].entries), "stream %d entries", i)
		for j, e := range a[i].entries {
			g := b[i].entries[j]
			require.Equal(t, e.ns, g.ns, "stream %d entry %d timestamp", i, j)
			require.Equal(t, e.line, g.line, "stream %d entry %d line", i, j)
			require.Equal(t, len(e.meta), len(g.meta), "stream %d entry %d metadata", i, j)
			for k := range e.meta {
				require.Equal(t, e.meta[k], g.meta[k])
			}
		}
	}
}

// FuzzOTLPWireRoundTrip: a body checkWire accepts unmarshals, and its
// re-marshalled form is accepted and unmarshals to the same request.
func FuzzOTLPWireRoundTrip(f *testing.F) {
	f.Add(wireSample())
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkWire(b, otlpRequestDesc) != nil {
			return
		}
		var first collogspb.ExportLogsServiceRequest
		require.NoError(t, proto.Unmarshal(b, &first), "checkWire accepted what Unmarshal refuses")
		again, err := proto.Marshal(&first)
		require.NoError(t, err)
		require.NoError(t, checkWire(again, otlpRequestDesc), "the re-marshalled body is refused")
		var second collogspb.ExportLogsServiceRequest
		require.NoError(t, proto.Unmarshal(again, &second))
		require.True(t, proto.Equal(&first, &second))
	})
}
