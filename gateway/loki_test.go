package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"

	"github.com/devsmith/logs/internal/grpctest"
)

func TestParseLokiLabels(t *testing.T) {
	cases := []struct {
		in   string
		want []lokiLabel
		err  string
	}{
		{in: `{}`, want: nil},
		{in: ` { } `, want: nil},
		{in: `{job="varlogs"}`, want: []lokiLabel{{name: "job", value: "varlogs"}}},
		{in: `{level="info",job="api", filename="/var/log/a b.log",}`, want: []lokiLabel{{name: "level", value: "info"}, {name: "job", value: "api"}, {name: "filename", value: "/var/log/a b.log"}}},
		{in: `{msg="say \"hi\"\n\\ \u00e9"}`, want: []lokiLabel{{name: "msg", value: "say \"hi\"\n\\ é"}}},
		{in: `{a=""}`, want: []lokiLabel{{name: "a", value: ""}}},
		{in: `job="x"`, err: "must start with {"},
		{in: `{job}`, err: "label job: = is expected"},
		{in: `{job=x}`, err: "label job: its value must be a double-quoted string"},
		{in: `{job="x}`, err: "label job: its value has no closing quote"},
		{in: `{job="x" app="y"}`, err: "label job: , or } is expected"},
		{in: `{job="\q"}`, err: "label job: its value has a bad escape"},
		{in: `{job="x"} extra`, err: "text follows the closing }"},
		{in: `{="x"}`, err: "a label name is expected at offset 1"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseLokiLabels(c.in)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

func TestDetectLineLevel(t *testing.T) {
	cases := []struct{ line, want string }{
		{`{"level":"warn","msg":"disk full"}`, "WARN"},
		{`  {"msg":"x","Severity":"ERROR"}  `, "ERROR"},
		{`{"lvl":"dbg","msg":"an error word is not read when the field names a level"}`, "DEBUG"},
		{`{"level":30,"msg":"a number is not a level name: the words decide: info"}`, "INFO"},
		{`{"level":"verbose-ish","msg":"unknown value: the words decide: error"}`, "ERROR"},
		{`{"nested":{"level":"error"},"msg":"a nested field is not read, its words are"}`, "ERROR"},
		{`{"nested":{"level":"x"},"msg":"nothing"}`, ""},
		{`ts=2025-01-01T00:00:00Z level=error msg="boom"`, "ERROR"},
		{`ts=1 msg="level=debug is inside a value" lvl=info`, "INFO"},
		{`ts=1 severity="Warning" msg=x`, "WARN"},
		{`a=1 LEVEL=fatal`, "FATAL"},
		{`a=1 level=whatever msg="the words decide: debug"`, "DEBUG"},
		{`2025-01-01 12:00:00 WARN disk 91% full`, "WARN"},
		{`[ERROR] payment failed; retrying (info only)`, "ERROR"},
		{`trace id abc, then an error`, "TRACE"},
		{`CRITICAL: out of memory`, "FATAL"},
		{`err: connection refused`, "ERROR"},
		{`information is not info`, "INFO"},
		{`errors, warnings and infos are not whole words`, ""},
		{`terror, debugger, information_x`, ""},
		{`user logged in`, ""},
		{``, ""},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			require.Equal(t, c.want, detectLineLevel(c.line))
		})
	}
}

func TestMapLokiStreams(t *testing.T) {
	const ts = int64(1764670000123456000) // whole microseconds
	const exact = int64(1764670000123456789)
	cases := []struct {
		name                string
		stream              lokiStream
		service, level, ctx string
		message, timestamp  string
	}{
		{
			name:    "service_name wins over the others; other labels are context",
			stream:  lokiStream{labels: []lokiLabel{{name: "job", value: "j"}, {name: "service_name", value: "api"}, {name: "env", value: "prod"}}, entries: []lokiEntry{{ns: ts, line: "hello"}}},
			service: "api", level: "", ctx: `{"job":"j","env":"prod"}`, message: "hello", timestamp: "1764670000123456000",
		},
		{
			name:    "service, then app, job, container",
			stream:  lokiStream{labels: []lokiLabel{{name: "container", value: "c"}, {name: "app", value: "a"}}, entries: []lokiEntry{{ns: ts, line: "x"}}},
			service: "a", ctx: `{"container":"c"}`, message: "x", timestamp: "1764670000123456000",
		},
		{
			name:    "an empty service label is skipped",
			stream:  lokiStream{labels: []lokiLabel{{name: "service_name", value: ""}, {name: "job", value: "varlogs"}}, entries: []lokiEntry{{ns: ts, line: "x"}}},
			service: "varlogs", ctx: `{"service_name":""}`, message: "x", timestamp: "1764670000123456000",
		},
		{
			name:    "no service label: unknown_service",
			stream:  lokiStream{labels: []lokiLabel{{name: "host", value: "h"}}, entries: []lokiEntry{{ns: ts, line: "x"}}},
			service: "unknown_service", ctx: `{"host":"h"}`, message: "x", timestamp: "1764670000123456000",
		},
		{
			name:    "the level label is the level, not context, and beats the line",
			stream:  lokiStream{labels: []lokiLabel{{name: "level", value: "warning"}, {name: "job", value: "api"}}, entries: []lokiEntry{{ns: ts, line: "an error"}}},
			service: "api", level: "warning", ctx: "", message: "an error", timestamp: "1764670000123456000",
		},
		{
			name:    "detected_level, then severity; unknown says nothing",
			stream:  lokiStream{labels: []lokiLabel{{name: "level", value: "unknown"}, {name: "severity", value: "crit"}, {name: "job", value: "api"}}, entries: []lokiEntry{{ns: ts, line: "x"}}},
			service: "api", level: "crit", ctx: `{"level":"unknown"}`, message: "x", timestamp: "1764670000123456000",
		},
		{
			name:    "structured metadata: the level, then context after the labels",
			stream:  lokiStream{labels: []lokiLabel{{name: "job", value: "api"}, {name: "env", value: "prod"}}, entries: []lokiEntry{{ns: ts, line: "x", meta: []lokiLabel{{name: "detected_level", value: "debug"}, {name: "trace_id", value: "abc"}, {name: "n", value: "12", raw: true}}}}},
			service: "api", level: "debug", ctx: `{"env":"prod","trace_id":"abc","n":12}`, message: "x", timestamp: "1764670000123456000",
		},
		{
			name:    "no level anywhere: detected from the line",
			stream:  lokiStream{labels: []lokiLabel{{name: "job", value: "api"}}, entries: []lokiEntry{{ns: ts, line: `level=error msg="boom"`}}},
			service: "api", level: "ERROR", ctx: "", message: `level=error msg="boom"`, timestamp: "1764670000123456000",
		},
		{
			name:    "sub-microsecond digits are kept in the context",
			stream:  lokiStream{labels: []lokiLabel{{name: "job", value: "api"}}, entries: []lokiEntry{{ns: exact, line: "x"}}},
			service: "api", ctx: `{"_timestamp_ns":"1764670000123456789"}`, message: "x", timestamp: "1764670000123456789",
		},
		{
			name:    "a JSON line stays the message",
			stream:  lokiStream{labels: []lokiLabel{{name: "job", value: "api"}}, entries: []lokiEntry{{ns: ts, line: `{"level":"info","msg":"hi","user":7}`}}},
			service: "api", level: "INFO", ctx: "", message: `{"level":"info","msg":"hi","user":7}`, timestamp: "1764670000123456000",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			batches := mapLokiStreams([]lokiStream{c.stream}, 100)
			require.Len(t, batches, 1)
			b := batches[0]
			require.Equal(t, c.service, b.service)
			require.Len(t, b.logs, 1)
			in := b.logs[0]
			require.Equal(t, c.level, in.Level)
			require.Equal(t, c.message, in.Message)
			require.Equal(t, c.timestamp, in.Timestamp)
			if c.ctx == "" {
				require.Empty(t, in.ContextJson)
			} else {
				require.JSONEq(t, c.ctx, in.ContextJson)
			}
		})
	}

	t.Run("streams of one service share a batch; batches split past the limit", func(t *testing.T) {
		entries := func(n int) []lokiEntry {
			out := make([]lokiEntry, n)
			for i := range out {
				out[i] = lokiEntry{ns: ts + int64(i)*1000, line: "l"}
			}
			return out
		}
		streams := []lokiStream{
			{labels: []lokiLabel{{name: "service_name", value: "a"}, {name: "file", value: "1"}}, entries: entries(3)},
			{labels: []lokiLabel{{name: "service_name", value: "b"}}, entries: entries(2)},
			{labels: []lokiLabel{{name: "service_name", value: "c"}}},
			{labels: []lokiLabel{{name: "service_name", value: "a"}, {name: "file", value: "2"}}, entries: entries(2)},
		}
		batches := mapLokiStreams(streams, 4)
		var got []string
		for _, b := range batches {
			got = append(got, b.service+":"+string(rune('0'+b.chunk))+":"+string(rune('0'+len(b.logs))))
		}
		require.Equal(t, []string{"a:0:4", "b:0:2", "a:1:1"}, got)
		require.Equal(t, []lokiPos{{0, 0}, {0, 1}, {0, 2}, {3, 0}}, batches[0].from)
		require.Equal(t, []lokiPos{{3, 1}}, batches[2].from)
		require.JSONEq(t, `{"file":"2"}`, batches[2].logs[0].ContextJson)
	})
}

func TestDecodeLokiJSON(t *testing.T) {
	streams, err := decodeLokiJSON([]byte(`{"streams":[{"stream":{"job":"api","env":"prod"},"values":[
		["1764670000123456789","first"],
		[1764670000000000000,"a number timestamp",{"trace_id":"t1","n":5,"skip":null}]]}]}`))
	require.NoError(t, err)
	require.Equal(t, []lokiStream{{
		labels: []lokiLabel{{name: "env", value: "prod"}, {name: "job", value: "api"}},
		entries: []lokiEntry{
			{ns: 1764670000123456789, line: "first"},
			{ns: 1764670000000000000, line: "a number timestamp", meta: []lokiLabel{{name: "n", value: "5", raw: true}, {name: "trace_id", value: "t1"}}},
		},
	}}, streams)

	// Invalid UTF-8 becomes U+FFFD (the IngestBatch call must be marshalled).
	streams, err = decodeLokiJSON([]byte("{\"streams\":[{\"stream\":{\"job\":\"a\xffb\"},\"values\":[[\"1\",\"bad \xff\",{\"m\":{\"x\":\"\xfe\"}}]]}]}"))
	require.NoError(t, err)
	require.Equal(t, "a\uFFFDb", streams[0].labels[0].value)
	require.Equal(t, "bad \uFFFD", streams[0].entries[0].line)
	require.Equal(t, "{\"x\":\"\uFFFD\"}", streams[0].entries[0].meta[0].value)

	bad := []struct{ body, want string }{
		{`{"streams":[`, "malformed JSON body"},
		{`[]`, `the body must be a JSON object {"streams": [...]}, not a JSON array`},
		{`{"streams":{}}`, "streams must be an array of streams, not a JSON object"},
		{`{"streams":[{"stream":[]}]}`, "streams.stream must be an object of label names and string values"},
		{`{"streams":[{"stream":{"job":1}}]}`, "streams[0].stream.job must be a string, not 1"},
		{`{"streams":[{"values":{}}]}`, "streams.values must be an array of values"},
		{`{"streams":[{"stream":{},"values":[["1","a"],"x"]}]}`, `streams[0].values[1] must be an array ["<nanoseconds>", "<line>"]`},
		{`{"streams":[{"stream":{},"values":[["1"]]}]}`, `streams[0].values[0] must be an array`},
		{`{"streams":[{"stream":{},"values":[["2025-01-01T00:00:00Z","a"]]}]}`, `streams[0].values[0][0]: the timestamp must be a string of nanoseconds since the Unix epoch, not "2025-01-01T00:00:00Z"`},
		{`{"streams":[{"stream":{},"values":[["1",{"a":1}]]}]}`, `streams[0].values[0][1]: the log line must be a string, not {"a":1}`},
		{`{"streams":[{"stream":{},"values":[["1","a","meta"]]}]}`, `streams[0].values[0][2]: structured metadata must be an object`},
	}
	for _, c := range bad {
		t.Run(c.body, func(t *testing.T) {
			_, err := decodeLokiJSON([]byte(c.body))
			require.ErrorContains(t, err, c.want)
		})
	}
}

// pushBody is a PushRequest built with Loki's own push types, marshalled and
// snappy-compressed as Promtail sends it.
func pushBody(t testing.TB, streams ...push.Stream) []byte {
	raw, err := (&push.PushRequest{Streams: streams}).Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, raw)
}

func TestDecodeLokiProto(t *testing.T) {
	at := time.Unix(1764670000, 123456789)
	body := pushBody(t, push.Stream{
		Labels: `{service_name="api", level="warn"}`,
		Entries: []push.Entry{
			{Timestamp: at, Line: "one", StructuredMetadata: push.LabelsAdapter{{Name: "trace_id", Value: "abc"}}},
			{Line: "no timestamp"},
		},
	})
	n, err := snappyLen(body)
	require.NoError(t, err)
	raw, err := snappyDecode(body, n)
	require.NoError(t, err)
	streams, err := decodeLokiProto(raw)
	require.NoError(t, err)
	require.Equal(t, []lokiStream{{
		labels: []lokiLabel{{name: "service_name", value: "api"}, {name: "level", value: "warn"}},
		entries: []lokiEntry{
			{ns: 1764670000123456789, line: "one", meta: []lokiLabel{{name: "trace_id", value: "abc"}}},
			{ns: 0, line: "no timestamp"},
		},
	}}, streams)

	raw, err = (&push.PushRequest{Streams: []push.Stream{{Labels: `{job="x`}}}).Marshal()
	require.NoError(t, err)
	_, err = decodeLokiProto(raw)
	require.ErrorContains(t, err, `streams[0].labels "{job=\"x": label job: its value has no closing quote`)
}

// lokiGateway is a gateway whose backends are a real gRPC server with no
// service: the answers tested here come before any backend call.
func lokiGateway(t *testing.T, cfg Config) http.Handler {
	conn := grpctest.Serve(t, grpc.NewServer())
	g, err := New(context.Background(), zaptest.NewLogger(t), cfg, Backends{Projects: conn, Ingestion: conn, Query: conn}, nil, nil)
	require.NoError(t, err)
	return g.Handler()
}

func TestLokiPushRefusals(t *testing.T) {
	h := lokiGateway(t, Config{MaxBodyBytes: 1 << 20})
	key := func(r *http.Request) { r.Header.Set("Authorization", "Bearer dsk_x") }
	ct := func(v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("Content-Type", v) } }
	big := snappy.Encode(nil, bytes.Repeat([]byte("a"), 2<<20))
	cases := []struct {
		name   string
		body   []byte
		opts   []func(*http.Request)
		status int
		want   string
	}{
		{"no key", []byte(`{}`), []func(*http.Request){ct("application/json")}, 401, "API key required: send the project's key as the basic auth password"},
		{"basic auth without a password", []byte(`{}`), []func(*http.Request){func(r *http.Request) { r.SetBasicAuth("tenant", "") }}, 401, `basic auth without a password (user "tenant")`},
		{"not snappy", []byte("plain text"), []func(*http.Request){key, ct("application/x-protobuf")}, 400, "body is not snappy-compressed"},
		{"no content type: protobuf expected, as Loki does", []byte(`{"streams":[]}`), []func(*http.Request){key}, 400, "send Content-Type: application/json for a JSON body"},
		{"snappy but not protobuf", snappy.Encode(nil, []byte("\xff\xff\xff")), []func(*http.Request){key, ct("application/x-protobuf")}, 400, "body is not a Loki PushRequest protobuf message"},
		{"bad JSON names the field", []byte(`{"streams":[{"stream":{"job":true}}]}`), []func(*http.Request){key, ct("application/json; charset=utf-8")}, 400, "streams[0].stream.job must be a string, not true"},
		{"too large once decompressed", big, []func(*http.Request){key, ct("application/x-protobuf")}, 413, "request body exceeds the limit of 1 MiB (after decompression)"},
		{"unsupported encoding, in plain text", []byte(`{}`), []func(*http.Request){key, ct("application/json"), func(r *http.Request) { r.Header.Set("Content-Encoding", "br") }}, 415, "Content-Encoding br is not supported"},
		{"bad gzip, in plain text", []byte(`{}`), []func(*http.Request){key, ct("application/json"), func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") }}, 400, "body is not valid gzip"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", lokiPushPath, bytes.NewReader(c.body))
			for _, o := range c.opts {
				o(req)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, c.status, rec.Code, "body: %s", rec.Body)
			require.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
			require.Contains(t, rec.Body.String(), c.want)
			require.NotContains(t, rec.Body.String(), "dsk_x")
		})
	}

	t.Run("an empty push is answered 204 without a backend call", func(t *testing.T) {
		req := httptest.NewRequest("POST", lokiPushPath, strings.NewReader(`{"streams":[{"stream":{"job":"x"},"values":[]}]}`))
		key(req)
		ct("application/json")(req)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusNoContent, rec.Code, "body: %s", rec.Body)
	})

	t.Run("a push from a browser's other origin is not refused (key auth, no cookie)", func(t *testing.T) {
		req := httptest.NewRequest("POST", lokiPushPath, strings.NewReader(`{"streams":[]}`))
		key(req)
		ct("application/json")(req)
		req.Header.Set("Origin", "https://elsewhere.example")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusNoContent, rec.Code, "body: %s", rec.Body)
	})
}

func TestLokiBatchIDIsDeterministic(t *testing.T) {
	d1, d2 := [32]byte{1}, [32]byte{2}
	id := lokiBatchID(d1, "api", 0)
	require.Equal(t, id, lokiBatchID(d1, "api", 0))
	require.Len(t, id, len("loki-")+32)
	require.NotEqual(t, id, lokiBatchID(d2, "api", 0), "another body")
	require.NotEqual(t, id, lokiBatchID(d1, "web", 0), "another service")
	require.NotEqual(t, id, lokiBatchID(d1, "api", 1), "another chunk")
}

// benchPush is a Promtail-like push of n entries: one stream per level,
// ~112-byte lines, two structured metadata pairs each.
func benchPush(b testing.TB, n int) []byte {
	levels := []string{"info", "warn", "error", "debug"}
	streams := make([]push.Stream, len(levels))
	at := time.Unix(1764670000, 0)
	for i := range streams {
		streams[i].Labels = `{service_name="api-server", level="` + levels[i] + `"}`
	}
	for i := range n {
		s := &streams[i%len(levels)]
		s.Entries = append(s.Entries, push.Entry{
			Timestamp: at.Add(time.Duration(i) * time.Millisecond),
			Line:      "GET /api/v1/orders/123456 completed with status 200 in 12.34ms for user 4242 [trace 0af7651916cd43dd]" + strings.Repeat("x", i%16),
			StructuredMetadata: push.LabelsAdapter{
				{Name: "request_id", Value: "8448eb211c80319c"},
				{Name: "run", Value: "peak-0123abcd"},
			},
		})
	}
	return pushBody(b, streams...)
}

// BenchmarkLokiDecode is the gateway's work on a 100-entry snappy push
// before the IngestBatch call: decompress, decode, map.
func BenchmarkLokiDecode(b *testing.B) {
	body := benchPush(b, 100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := snappyLen(body)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := snappyDecode(body, n)
		if err != nil {
			b.Fatal(err)
		}
		streams, err := decodeLokiProto(raw)
		if err != nil {
			b.Fatal(err)
		}
		if batches := mapLokiStreams(streams, lokiMaxBatchEntries); len(batches[0].logs) != 100 {
			b.Fatal("entries lost")
		}
		_ = sha256.Sum256(body)
	}
}

// fromPushTypes is what decodeLokiProto must make of raw: Loki's own
// decoder's reading of it, in our shape.
func fromPushTypes(t *testing.T, raw []byte) []lokiStream {
	var req push.PushRequest
	require.NoError(t, req.Unmarshal(raw))
	var out []lokiStream
	for _, s := range req.Streams {
		labels, err := parseLokiLabels(s.Labels)
		require.NoError(t, err)
		ls := lokiStream{labels: labels}
		for _, e := range s.Entries {
			ns := int64(0)
			if y := e.Timestamp.Year(); y >= 1678 && y <= 2261 {
				ns = e.Timestamp.UnixNano()
			}
			le := lokiEntry{ns: ns, line: e.Line}
			for _, m := range e.StructuredMetadata {
				le.meta = append(le.meta, lokiLabel{name: m.Name, value: m.Value})
			}
			ls.entries = append(ls.entries, le)
		}
		out = append(out, ls)
	}
	return out
}

// The protowire decoder reads what Loki's push types write exactly as they
// read it: random pushes, with the fields it skips (format, parsed, hash).
func TestDecodeLokiProtoMatchesLokisTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	text := func() string {
		parts := []string{"", "a", "é", "😀", "line with spaces", "\"quoted\"", "\\", "\n", "\x00", strings.Repeat("x", 300)}
		var b strings.Builder
		for range r.IntN(4) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		return b.String()
	}
	for range 300 {
		var req push.PushRequest
		if r.IntN(3) == 0 {
			req.Format = "loki"
		}
		for s := range r.IntN(4) {
			st := push.Stream{Labels: fmt.Sprintf(`{job="j%d", value=%q}`, s, text()), Hash: r.Uint64()}
			for range r.IntN(5) {
				e := push.Entry{Line: text()}
				switch r.IntN(4) {
				case 0: // absent: the zero time
				case 1:
					e.Timestamp = time.Unix(0, r.Int64N(1<<62))
				case 2:
					e.Timestamp = time.Unix(9_300_000_000+r.Int64N(1e9), 0) // beyond int64 nanoseconds
				default:
					e.Timestamp = time.Unix(1764670000, int64(r.IntN(1e9)))
				}
				for range r.IntN(3) {
					e.StructuredMetadata = append(e.StructuredMetadata, push.LabelAdapter{Name: "k" + text(), Value: text()})
				}
				if r.IntN(4) == 0 {
					e.Parsed = push.LabelsAdapter{{Name: "parsed", Value: "skipped"}}
				}
				st.Entries = append(st.Entries, e)
			}
			req.Streams = append(req.Streams, st)
		}
		raw, err := req.Marshal()
		require.NoError(t, err)
		got, err := decodeLokiProto(raw)
		require.NoError(t, err)
		want := fromPushTypes(t, raw)
		require.Equal(t, len(want), len(got))
		for i := range want {
			require.Equal(t, want[i].labels, got[i].labels)
			require.Equal(t, len(want[i].entries), len(got[i].entries))
			for j := range want[i].entries {
				require.Equal(t, want[i].entries[j], got[i].entries[j], "stream %d entry %d", i, j)
			}
		}
	}
}

// Invalid UTF-8 (a binary byte in a tailed file) becomes U+FFFD, as the
// batch endpoint's decoder makes it: the IngestBatch call could not be
// marshalled with it.
func TestDecodeLokiProtoRepairsUTF8(t *testing.T) {
	raw, err := (&push.PushRequest{Streams: []push.Stream{{
		Labels:  `{job="a\xffb", host="` + "c\xffd" + `"}`,
		Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "bad \xff byte", StructuredMetadata: push.LabelsAdapter{{Name: "k\xfe", Value: "v\xfd"}}}},
	}}}).Marshal()
	require.NoError(t, err)
	streams, err := decodeLokiProto(raw)
	require.NoError(t, err)
	require.Equal(t, []lokiLabel{{name: "job", value: "a\uFFFDb"}, {name: "host", value: "c\uFFFDd"}}, streams[0].labels)
	e := streams[0].entries[0]
	require.Equal(t, "bad \uFFFD byte", e.line)
	require.Equal(t, []lokiLabel{{name: "k\uFFFD", value: "v\uFFFD"}}, e.meta)
}

func TestDecodeLokiProtoRefusesBrokenMessages(t *testing.T) {
	good, err := (&push.PushRequest{Streams: []push.Stream{{Labels: `{job="x"}`, Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "hello"}}}}}).Marshal()
	require.NoError(t, err)
	for cut := 1; cut < len(good); cut++ {
		_, err := decodeLokiProto(good[:cut])
		require.ErrorContains(t, err, "body is not a Loki PushRequest protobuf message", "cut at %d", cut)
	}
	_, err = decodeLokiProto([]byte{0xff, 0xff, 0xff})
	require.ErrorContains(t, err, "body is not a Loki PushRequest protobuf message")
}
