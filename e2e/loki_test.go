package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/require"
)

// Loki's push API (docs/loki.md), with real Loki clients: winston-loki from
// npm (snappy protobuf and JSON), and bodies built with Loki's own push
// types from the Go module proxy, as Promtail and Alloy build them.

var lokiJSDir, _ = filepath.Abs("loki-js")

// lokiPush posts a Loki push body and returns the answer.
func lokiPush(t *testing.T, pl *platform, body []byte, contentType string, opts ...reqOpt) response {
	t.Helper()
	return pl.do(t, "POST", "/loki/api/v1/push", body, append([]reqOpt{header("Content-Type", contentType)}, opts...)...)
}

// snappyPush is a PushRequest of streams, marshalled with Loki's push types
// and block-snappy-compressed, as Promtail sends it.
func snappyPush(t *testing.T, streams ...push.Stream) []byte {
	raw, err := (&push.PushRequest{Streams: streams}).Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, raw)
}

func basicAuth(user, pass string) reqOpt {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

// byMessage indexes entries by message (each test's messages are unique).
func byMessage(t *testing.T, entries []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, e := range entries {
		msg := e["message"].(string)
		require.NotContains(t, out, msg, "entry %q stored twice", msg)
		out[msg] = e
	}
	return out
}

func entryTime(t *testing.T, e map[string]any) time.Time {
	ts, err := time.Parse(time.RFC3339Nano, e["timestamp"].(string))
	require.NoError(t, err)
	return ts
}

func TestLokiPush(t *testing.T) {
	pl := startAllInOne(t)
	admin, key := sampleProject(t, pl, "loki")
	entries := func(query string) []map[string]any { return entriesOf(t, pl, admin, "project=loki&"+query) }
	// A second's worth of entries a minute ago: inside every window.
	base := time.Now().Add(-time.Minute).Truncate(time.Second)

	for _, mode := range []string{"proto", "json"} {
		t.Run("winston-loki "+mode, func(t *testing.T) {
			runID := fmt.Sprintf("w-%s-%d", mode, time.Now().UnixNano())
			service := "winston-" + mode
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", filepath.Join(lokiJSDir, "driver.js"))
			json, contentType := "0", "application/x-protobuf"
			if mode == "json" {
				json, contentType = "1", "application/json"
			}
			cmd.Env = append(cmd.Environ(), "LOKI_HOST="+pl.baseURL, "LOKI_KEY="+key, "LOKI_JSON="+json,
				"LOKI_SERVICE="+service, "DRIVER_RUN_ID="+runID, "DRIVER_COUNT=40", fmt.Sprintf("DRIVER_START_MS=%d", base.UnixMilli()))
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Contains(t, string(out), "sent 40 entries as "+contentType, "winston-loki sent the body this test is for")

			got := byMessage(t, entries("service="+service+"&context.run="+runID))
			require.Len(t, got, 40)
			levels := []string{"DEBUG", "INFO", "WARN", "ERROR"}
			for i := range 40 {
				e := got[fmt.Sprintf("winston %s %d", runID, i)]
				require.NotNil(t, e, "entry %d", i)
				require.Equal(t, service, e["service_name"])
				require.Equal(t, levels[i%4], e["level"], "entry %d: the level label", i)
				require.True(t, base.Add(time.Duration(i)*time.Millisecond).Equal(entryTime(t, e)), "entry %d: timestamp %v", i, e["timestamp"])
				ctx := e["context"].(map[string]any)
				require.Equal(t, runID, ctx["run"], "labels are context")
				require.Equal(t, "e2e", ctx["env"])
				require.NotContains(t, ctx, "service_name", "the service label is the service")
				require.NotContains(t, ctx, "_timestamp_ns", "milliseconds lose no digit")
				if mode == "json" {
					// winston-loki sends the meta as structured metadata in
					// JSON mode (string values, as Loki requires).
					require.Equal(t, fmt.Sprint(i), ctx["i"], "structured metadata is context")
				}
			}
		})
	}

	t.Run("protobuf built with Loki's push types: streams, services, metadata, nanoseconds", func(t *testing.T) {
		at := base.Add(123456789 * time.Nanosecond)
		body := snappyPush(t,
			push.Stream{Labels: `{service_name="checkout", level="error", filename="/var/log/checkout.log"}`, Entries: []push.Entry{
				{Timestamp: at, Line: "pbuf payment failed", StructuredMetadata: push.LabelsAdapter{{Name: "trace_id", Value: "0af7651916cd43dd8448eb211c80319c"}}},
				{Timestamp: at.Add(time.Microsecond - 789), Line: "pbuf whole microseconds"},
				{Timestamp: at, Line: "pbuf a binary \xff byte"},
			}},
			push.Stream{Labels: `{job="varlogs", host="web-1"}`, Entries: []push.Entry{
				{Timestamp: at, Line: `level=warn msg="pbuf disk 91% full"`},
				{Timestamp: at, Line: `{"level":"debug","msg":"pbuf a JSON line stays the message"}`},
				{Timestamp: at, Line: "pbuf nothing says its level"},
			}},
			push.Stream{Labels: `{host="web-2"}`, Entries: []push.Entry{{Timestamp: at, Line: "pbuf no service label"}}},
		)
		lokiPush(t, pl, body, "application/x-protobuf", bearer(key)).expect(t, 204)

		got := byMessage(t, entries("q=pbuf"))
		require.Len(t, got, 7)
		require.Contains(t, got, "pbuf a binary \uFFFD byte", "invalid UTF-8 is stored as U+FFFD")
		e := got["pbuf payment failed"]
		require.Equal(t, "checkout", e["service_name"])
		require.Equal(t, "ERROR", e["level"])
		require.Equal(t, map[string]any{
			"filename": "/var/log/checkout.log", "trace_id": "0af7651916cd43dd8448eb211c80319c", "_timestamp_ns": fmt.Sprint(at.UnixNano()),
		}, e["context"], "labels and structured metadata are context; the exact nanoseconds are kept")
		require.True(t, at.Truncate(time.Microsecond).Equal(entryTime(t, e)), "stored to the microsecond: %v", e["timestamp"])

		e = got["pbuf whole microseconds"]
		require.Equal(t, map[string]any{"filename": "/var/log/checkout.log"}, e["context"], "no _timestamp_ns when no digit is lost")
		require.True(t, at.Add(time.Microsecond-789).Equal(entryTime(t, e)))

		e = got[`level=warn msg="pbuf disk 91% full"`]
		require.Equal(t, "varlogs", e["service_name"], "job names the service")
		require.Equal(t, "WARN", e["level"], "logfmt level detected")
		require.Equal(t, map[string]any{"host": "web-1", "_timestamp_ns": fmt.Sprint(at.UnixNano())}, e["context"])
		require.Equal(t, "DEBUG", got[`{"level":"debug","msg":"pbuf a JSON line stays the message"}`]["level"])
		require.Equal(t, "INFO", got["pbuf nothing says its level"]["level"])
		require.Equal(t, "unknown_service", got["pbuf no service label"]["service_name"])
	})

	t.Run("JSON, gzip, basic auth; a retry of the same body stores nothing twice", func(t *testing.T) {
		ns := base.Add(2 * time.Second).UnixNano()
		body := fmt.Appendf(nil, `{"streams":[
			{"stream":{"service_name":"retry-a","env":"prod"},"values":[["%d","retry one"],["%d","retry two",{"user_id":"42"}]]},
			{"stream":{"app":"retry-b"},"values":[["%d","retry three"]]}]}`, ns, ns+1, ns+2)
		gz := gzipBytes(t, body)
		for range 2 {
			lokiPush(t, pl, gz, "application/json", basicAuth("any-user", key), header("Content-Encoding", "gzip"), header("X-Scope-OrgID", "ignored")).expect(t, 204)
		}
		got := byMessage(t, entries("q=retry"))
		require.Len(t, got, 3, "the second push of the same body is deduplicated")
		require.Equal(t, "retry-a", got["retry two"]["service_name"])
		require.Equal(t, map[string]any{"env": "prod", "user_id": "42", "_timestamp_ns": fmt.Sprint(ns + 1)}, got["retry two"]["context"])
		require.Equal(t, "retry-b", got["retry three"]["service_name"])
	})

	t.Run("a retry after a partial failure stores only what was missing", func(t *testing.T) {
		// The state a push leaves when its first service's batch was
		// committed and its second's refused (503): the first's batch, with
		// the batch id docs/loki.md derives from the body, is already stored.
		ns := base.Add(4 * time.Second).UnixNano()
		body := fmt.Appendf(nil, `{"streams":[{"stream":{"service_name":"partial-a"},"values":[["%d","partial-a one"]]},
			{"stream":{"service_name":"partial-b"},"values":[["%d","partial-b one"]]}]}`, ns, ns)
		digest := sha256.Sum256(body)
		h := sha256.New()
		h.Write(digest[:])
		h.Write(make([]byte, 8)) // chunk 0, 64-bit big-endian
		h.Write([]byte("partial-a"))
		batchID := "loki-" + hex.EncodeToString(h.Sum(nil)[:16])
		pl.do(t, "POST", "/api/logs/batch", map[string]any{"service_name": "partial-a", "batch_id": batchID,
			"logs": []map[string]any{{"message": "partial-a one", "timestamp": fmt.Sprint(ns)}}}, bearer(key)).expect(t, 201)

		lokiPush(t, pl, body, "application/json", bearer(key)).expect(t, 204)
		got := byMessage(t, entries("q=partial-"))
		require.Len(t, got, 2, "partial-a is not stored twice, partial-b is stored")
		require.Equal(t, "partial-b", got["partial-b one"]["service_name"])
	})

	t.Run("bad entries: 400 naming them, the rest stored", func(t *testing.T) {
		old := time.Now().Add(-400 * 24 * time.Hour).UnixNano()
		ok := base.Add(3 * time.Second).UnixNano()
		body := fmt.Appendf(nil, `{"streams":[{"stream":{"service_name":"partial"},"values":[["%d","partial kept"],["%d","partial too old"],["%d",""]]}]}`, ok, old, ok)
		r := lokiPush(t, pl, body, "application/json", bearer(key)).expect(t, 400)
		require.Equal(t, "text/plain; charset=utf-8", r.Header.Get("Content-Type"))
		msg := string(r.Raw)
		require.Contains(t, msg, "2 of 3 entries were rejected (the other 1 are stored")
		require.Contains(t, msg, `streams[0] {service_name="partial"} values[1]: timestamp is older than the retention period`)
		require.Contains(t, msg, `streams[0] {service_name="partial"} values[2]: message is required`)
		got := byMessage(t, entries("service=partial"))
		require.Len(t, got, 1)
		require.Contains(t, got, "partial kept")
	})

	t.Run("keys", func(t *testing.T) {
		body := snappyPush(t, push.Stream{Labels: `{job="x"}`, Entries: []push.Entry{{Timestamp: base, Line: "keys never stored"}}})
		for name, auth := range map[string]reqOpt{
			"a wrong basic auth password": basicAuth("u", "dsk_wrong"),
			"a wrong bearer key":          bearer("dsk_wrong"),
			"a session token is no key":   bearer(admin),
		} {
			r := lokiPush(t, pl, body, "application/x-protobuf", auth)
			require.Equal(t, 401, r.Status, "%s: %s", name, r.Raw)
			require.Equal(t, "text/plain; charset=utf-8", r.Header.Get("Content-Type"))
			require.NotContains(t, string(r.Raw), "dsk_wrong")
		}
		r := lokiPush(t, pl, body, "application/x-protobuf")
		require.Equal(t, 401, r.Status)
		require.Contains(t, string(r.Raw), "basic auth password")
		require.Empty(t, entries("q=keys+never"))
		// A bad body is named, in plain text.
		r = lokiPush(t, pl, []byte(`{"streams":[{"stream":{"job":1}}]}`), "application/json", bearer(key))
		require.Equal(t, 400, r.Status)
		require.True(t, strings.HasPrefix(string(r.Raw), "streams[0].stream.job must be a string"), "%s", r.Raw)
	})
}
