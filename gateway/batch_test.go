package gateway

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

// sameAsStd checks that decodeBatch (the fast path with its fallback)
// answers body exactly as the encoding/json decoder does.
func sameAsStd(t testing.TB, body []byte) {
	t.Helper()
	want, wantErr := decodeBatchStd(body)
	got, gotErr := decodeBatch(body)
	if wantErr != nil || gotErr != nil {
		require.Error(t, gotErr, "body %q: std failed with %v", body, wantErr)
		require.Error(t, wantErr, "body %q: fast failed with %v", body, gotErr)
		require.Equal(t, wantErr.Error(), gotErr.Error(), "body %q", body)
		return
	}
	require.True(t, proto.Equal(want, got), "body %q:\n std  %v\n fast %v", body, want, got)
}

// fastBodies are bodies the fast path must decode itself.
var fastBodies = []string{
	`{"service_name":"api","logs":[{"timestamp":"2025-11-11T20:45:00.123Z","level":"INFO","message":"hello","context":{"userId":123}}]}`,
	` {"project_slug":"p" , "service_name" : "api","batch_id":"b1","logs":[ {"message":"a"} , "bare" , 7 , -0.5e+3 , true , null , [1, 2] ] } `,
	`{"SERVICE_NAME":"api","Logs":[{"MESSAGE":"upper","Level":"warn","TimeStamp":1731357900123,"CONTEXT":{"a":[1,{"b":null}]}}]}`,
	`{"service_name":"api","logs":[{"message":"dup","message":"last wins","context":{"x":1},"context":null}]}`,
	`{"service_name":"api","logs":[{"message":"esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \ud800 \udc00 \ud800\u0041 end"}]}`,
	`{"service_name":"caf\u00e9","logs":[{"message":"utf8 é 😀","level":"info"}]}`,
	"{\"service_name\":\"api\",\"logs\":[{\"message\":\"bad \xff utf8 \xe2\x82\",\"context\":{\"k\":\"\xff\"}}]}",
	`{"service_name":"api","logs":[{"message":{"nested" : [1, 2, {"a" : "b"}]},"level":{"x":1},"timestamp":[ ]}]}`,
	`{"service_name":"api","logs":[{"message":"ctx kept as written","context":{ "a" : 1 ,  "b":[ ] }}]}`,
	`{"service_name":null,"project_slug":null,"batch_id":null,"logs":null}`,
	`{"service_name":"api","logs":[],"extra":{"ignored":[1,2,{"deep":true}]},"n":-12.5E-3}`,
	`{"service_name":"api","logs":[{},{"unknown":1},{"context":"a string"},{"message":0},{"message":-0.0}]}`,
	`{}`,
}

// stdBodies are bodies the fast path leaves to encoding/json.
var stdBodies = []string{
	``, `   `, `null`, `[1, 2]`, `"x"`, `5`, `true`,
	`{"service_name": 5, "logs": []}`,
	`{"service_name": "a", "logs": {"x": 1}}`,
	`{"service_name": "a", "logs": [`,
	`{"service_name": "a", "batch_id": true}`,
	`{"service_name": "a", "project_slug": 1}`,
	`{"service_name": "a", "service_name": "b", "logs": []}`,
	`{"service_name": "a", "SERVICE_NAME": "b", "logs": []}`,
	`{"service\u005fname": "escaped key", "logs": []}`,
	"{\"service_name\": \"a\", \"logs\": [{\"message\": \"raw\x01control\"}]}",
	`{"service_name": "a", "logs": [{"message": "bad \x escape"}]}`,
	`{"service_name": "a", "logs": [{"message": 01}]}`,
	`{"service_name": "a", "logs": [{"message": 1.}]}`,
	`{"service_name": "a", "logs": [{"message": .5}]}`,
	`{"service_name": "a", "logs": [{"message": tru}]}`,
	`{"service_name": "a", "logs": [{"message": "x",}]}`,
	`{"service_name": "a", "logs": [1,]}`,
	`{"service_name": "a", "logs": []} trailing`,
	`{"service_name": "a", "logs": []}{}`,
	"\xef\xbb\xbf{\"service_name\": \"bom\", \"logs\": []}",
	`{"service_name": "a", "logs": [{"message": "\u12G4"}]}`,
	`{"service_name": "a", "logs": [], "x": ` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`,
	`{"service_name": "a", "logs": [` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `]}`,
}

func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	for _, body := range fastBodies {
		_, ok := fastDecodeBatch([]byte(body))
		require.True(t, ok, "the fast path should decode %q", body)
		sameAsStd(t, []byte(body))
	}
	for _, body := range stdBodies {
		_, ok := fastDecodeBatch([]byte(body))
		require.False(t, ok, "the fast path should leave %q to encoding/json", body)
		sameAsStd(t, []byte(body))
	}
	// Entries with keys the fast path does not match itself are decoded by
	// decodeEntry, the rest of the batch still by the fast path.
	for _, body := range []string{
		`{"service_name":"api","logs":[{"mess\u0061ge":"escaped key","level":"warn"},{"message":"plain"}]}`,
		`{"service_name":"api","logs":[{"meſſage":"long s folds to s","level":"error"}]}`,
		`{"service_name":"api","logs":[{"conteXt":{"a":1},"ＭＥＳＳＡＧＥ":"fullwidth: no match"}]}`,
	} {
		_, ok := fastDecodeBatch([]byte(body))
		require.True(t, ok, body)
		sameAsStd(t, []byte(body))
	}
}

// TestFastDecodeRandomMutations decodes many damaged variants of valid
// bodies both ways; every answer (request or error message) must agree.
func TestFastDecodeRandomMutations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{`"`, `\`, `\u00e9`, `\ud800`, `\udc00`, `\"`, `{`, `}`, `[`, `]`, `,`, `:`, ` `, "\n", `null`, `true`,
		`-0.5e+3`, `01`, "\xff", "\x01", "é", "K", "ſ", `"logs"`, `"LOGS"`, `"message"`, `"Message"`, `"context"`, `0`, `e`, `.`}
	seeds := append(append([]string{}, fastBodies...), stdBodies[:len(stdBodies)-2]...)
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	for range n {
		b := []byte(seeds[r.IntN(len(seeds))])
		for range 1 + r.IntN(3) {
			if len(b) == 0 {
				b = append(b, pieces[r.IntN(len(pieces))]...)
				continue
			}
			i := r.IntN(len(b))
			switch r.IntN(3) {
			case 0: // insert
				b = append(b[:i], append([]byte(pieces[r.IntN(len(pieces))]), b[i:]...)...)
			case 1: // delete
				b = append(b[:i], b[min(len(b), i+1+r.IntN(3)):]...)
			default: // replace a byte
				b[i] = pieces[r.IntN(len(pieces))][0]
			}
		}
		sameAsStd(t, b)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	for _, b := range fastBodies {
		f.Add([]byte(b))
	}
	for _, b := range stdBodies[:len(stdBodies)-2] {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameAsStd(t, body) })
}

// benchBody is a typical batch: ISO timestamps, levels, ~112-byte messages,
// ~70-byte contexts.
func benchBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"service_name":"api-server","batch_id":"6f1c2b9a-retry","logs":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"timestamp":"2025-11-11T20:45:%02d.%03dZ","level":"INFO","message":"GET /api/v1/orders/%d completed with status 200 in 12.5ms for user 4711 (request 8f14e45fceea)","context":{"request_id":"8f14e45f-ceea-467f-%012d","user_id":4711}}`,
			i%60, i%1000, i, i)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func BenchmarkDecodeBatch(b *testing.B) {
	body := benchBody(100)
	for _, bc := range []struct {
		name string
		fn   func([]byte) error
	}{
		{"fast", func(body []byte) error { _, err := decodeBatch(body); return err }},
		{"encoding-json", func(body []byte) error { _, err := decodeBatchStd(body); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.fn(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBatchProto is the request's protobuf encoding and decoding: the
// gateway→ingestion hop of every batch.
func BenchmarkBatchProto(b *testing.B) {
	req, err := decodeBatch(benchBody(100))
	require.NoError(b, err)
	wire, err := proto.Marshal(req)
	require.NoError(b, err)
	b.Run("marshal", func(b *testing.B) {
		b.SetBytes(int64(len(wire)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := proto.Marshal(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(wire)))
		b.ReportAllocs()
		for b.Loop() {
			var out = new(logsv1.IngestBatchRequest)
			if err := proto.Unmarshal(wire, out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestReadBodyBoundsInflightBytes(t *testing.T) {
	newGateway := func(budget int64) *Gateway {
		return &Gateway{cfg: Config{MaxBodyBytes: 1 << 20}, inflight: &byteBudget{max: budget}}
	}
	t.Run("known length is reserved up front and released", func(t *testing.T) {
		g := newGateway(1000)
		body, release, err := g.readBody(httptest.NewRequest("POST", "/api/logs/batch", strings.NewReader(strings.Repeat("a", 300))))
		require.NoError(t, err)
		require.Len(t, body, 300)
		require.EqualValues(t, 301, g.inflight.used.Load())
		_, release2, err := g.readBody(httptest.NewRequest("POST", "/api/logs/batch", strings.NewReader(strings.Repeat("b", 800))))
		require.ErrorIs(t, err, errBusy, "a body that does not fit next to the first is refused")
		release2()
		require.EqualValues(t, 301, g.inflight.used.Load())
		release()
		require.Zero(t, g.inflight.used.Load())
	})
	t.Run("unknown length grows the reservation as it reads", func(t *testing.T) {
		g := newGateway(1 << 20)
		req := httptest.NewRequest("POST", "/api/logs/batch", strings.NewReader(strings.Repeat("c", 200_000)))
		req.ContentLength = -1
		body, release, err := g.readBody(req)
		require.NoError(t, err)
		require.Len(t, body, 200_000)
		require.GreaterOrEqual(t, g.inflight.used.Load(), int64(200_000))
		release()
		require.Zero(t, g.inflight.used.Load())

		small := newGateway(100_000)
		req = httptest.NewRequest("POST", "/api/logs/batch", strings.NewReader(strings.Repeat("c", 200_000)))
		req.ContentLength = -1
		_, release, err = small.readBody(req)
		require.ErrorIs(t, err, errBusy)
		release()
		require.Zero(t, small.inflight.used.Load())
	})
	t.Run("a full budget answers 503 with Retry-After", func(t *testing.T) {
		g := newGateway(10)
		rec := httptest.NewRecorder()
		g.handleBatch(rec, httptest.NewRequest("POST", "/api/logs/batch", strings.NewReader(`{"service_name":"api","logs":[{"message":"x"}]}`)))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.Equal(t, "1", rec.Header().Get("Retry-After"))
		require.JSONEq(t, `{"error":"`+busyMessage+`","code":"UNAVAILABLE"}`, rec.Body.String())
		require.Zero(t, g.inflight.used.Load())
	})
}
