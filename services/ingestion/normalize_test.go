package ingestion

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/logstore"
)

func TestParseLevel(t *testing.T) {
	cases := []struct {
		in    string
		level logstore.Level
		known bool
	}{
		{"", logstore.LevelInfo, true},
		{"  ", logstore.LevelInfo, true},
		{"TRACE", logstore.LevelTrace, true},
		{"trace", logstore.LevelTrace, true},
		{"Debug", logstore.LevelDebug, true},
		{"verbose", logstore.LevelDebug, true},
		{"INFO", logstore.LevelInfo, true},
		{"information", logstore.LevelInfo, true},
		{"Notice", logstore.LevelInfo, true},
		{"warn", logstore.LevelWarn, true},
		{"WARNING", logstore.LevelWarn, true},
		{"error", logstore.LevelError, true},
		{"ERR", logstore.LevelError, true},
		{"fatal", logstore.LevelFatal, true},
		{"critical", logstore.LevelFatal, true},
		{"CRIT", logstore.LevelFatal, true},
		{"alert", logstore.LevelFatal, true},
		{"emerg", logstore.LevelFatal, true},
		{"Emergency", logstore.LevelFatal, true},
		{"panic", logstore.LevelFatal, true},
		{" warn\n", logstore.LevelWarn, true},
		{"warnn", logstore.LevelInfo, false},
		{"severe", logstore.LevelInfo, false},
		{"5", logstore.LevelInfo, false},
		{strings.Repeat("x", 40), logstore.LevelInfo, false},
	}
	for _, c := range cases {
		level, known := parseLevel(c.in)
		require.Equal(t, c.level, level, "%q", c.in)
		require.Equal(t, c.known, known, "%q", c.in)
	}
}

func TestParseTimestamp(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	base := utc(2025, 11, 11, 20, 45, 0, 0)
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2025-11-11T20:45:00Z", base, true},
		{"2025-11-11T20:45:00.123Z", base.Add(123 * time.Millisecond), true},
		{"2025-11-11T20:45:00.123456789Z", base.Add(123456 * time.Microsecond), true}, // µs kept
		{"2025-11-11T20:45:00.1234567891234Z", base.Add(123456 * time.Microsecond), true},
		{"2025-11-11t20:45:00z", base, true},
		{"2025-11-11T20:45:00", base, true},
		{"2025-11-11T20:45", base, true},
		{"2025-11-11T21:45:00+01:00", base, true},
		{"2025-11-11T21:45:00.5+01:00", base.Add(500 * time.Millisecond), true},
		{"2025-11-11T19:15:00-01:30", base, true},
		{"2025-11-11T21:45:00+0100", base, true},
		{"2025-11-11T21:45:00+01", base, true},
		{"2025-11-11 20:45:00", base, true},
		{"2025-11-11 20:45:00,250", base.Add(250 * time.Millisecond), true}, // Python logging
		{"2025-11-11 20:45:00.250 +0000", base.Add(250 * time.Millisecond), true},
		{"2025-11-11 20:45:00 UTC", base, true},
		{"2025-11-11", utc(2025, 11, 11, 0, 0, 0, 0), true},
		{"  2025-11-11T20:45:00Z ", base, true},
		{"2024-02-29T00:00:00Z", utc(2024, 2, 29, 0, 0, 0, 0), true},
		// Unix epochs, told apart by size.
		{"1762893900", base, true},
		{"1762893900.5", base.Add(500 * time.Millisecond), true},
		{"1762893900.123456", base.Add(123456 * time.Microsecond), true},
		{"1762893900123", base.Add(123 * time.Millisecond), true},
		{"1762893900123.5", base.Add(123*time.Millisecond + 500*time.Microsecond), true},
		{"1762893900123456", base.Add(123456 * time.Microsecond), true},
		{"1762893900123456789", base.Add(123456 * time.Microsecond), true},
		{"1.7628939e9", base, true},
		{"0", time.Unix(0, 0).UTC(), true},
		{"-1.5", time.Unix(-2, 500_000_000).UTC(), true},
		// Unparseable.
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2025-13-01T00:00:00Z", time.Time{}, false},
		{"2025-02-29T00:00:00Z", time.Time{}, false},
		{"2025-11-31T00:00:00Z", time.Time{}, false},
		{"2025-11-11T24:00:00Z", time.Time{}, false},
		{"2025-11-11T20:60:00Z", time.Time{}, false},
		{"2025-11-11T20:45:61Z", time.Time{}, false},
		{"2025-11-11T20:45:00.Z", time.Time{}, false},
		{"2025-11-11T20:45:00+25:00", time.Time{}, false},
		{"2025-11-11T20:45:00 PST", time.Time{}, false},
		{"2025-11-11X20:45:00", time.Time{}, false},
		{"2025/11/11 20:45:00", time.Time{}, false},
		{"17628939001234567890123", time.Time{}, false},
		{"12abc", time.Time{}, false},
		{".", time.Time{}, false},
		{"1e", time.Time{}, false},
		{"NaN", time.Time{}, false},
	}
	for _, c := range cases {
		got, ok := parseTimestamp(c.in)
		require.Equal(t, c.ok, ok, "%q", c.in)
		if ok {
			require.Equal(t, c.want.UnixMicro(), got, "%q: got %s", c.in, time.UnixMicro(got).UTC())
		}
	}
}

func TestScanContextReasons(t *testing.T) {
	for in, want := range map[string]error{
		`[1]`:        errNotObject,
		`{"a":}`:     errNotObject,
		"{\"a\":1}x": errNotObject,
		`{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`: errTooDeep,
	} {
		_, err := scanContext(in)
		require.ErrorIs(t, err, want, "%q", in)
	}
	obj, err := scanContext(" {\"a\":\"x\u0000\"} ")
	require.NoError(t, err)
	require.Equal(t, ` {"a":"x\ufffd"} `, obj.Text)
	require.Equal(t, 15, obj.CloseAt)
	require.True(t, obj.NonEmpty)
}

func TestCleanTextAndCut(t *testing.T) {
	require.Equal(t, "abc", cleanText("abc"))
	require.Equal(t, "a\uFFFDb", cleanText("a\x00b"))
	require.Equal(t, "a\uFFFDb", cleanText("a\xffb"))
	require.Equal(t, "é\uFFFD", cleanText("é\xc3"))
	require.Equal(t, "héllo", cleanText("héllo"))

	require.Equal(t, "ab", cutRunes("abc", 2))
	require.Equal(t, "a", cutRunes("aé", 2), "é is two bytes: cut before it")
	require.Equal(t, "aé", cutRunes("aé", 3))
	require.Equal(t, "", cutRunes("😀", 3))
}

// storedContext is the context text the row would be stored with.
func storedContext(b *batch, r *row) string {
	out := r.appendContext(nil, b.arena)
	if len(out) != r.contextLen() {
		panic("contextLen disagrees with appendContext")
	}
	return string(out)
}

func TestNormalize(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	lim := limits{retention: 30 * 24 * time.Hour, maxMessage: 16, maxContext: 64}
	iso := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	type want struct {
		rejected  string // reason, or "" when stored
		ts        time.Time
		level     logstore.Level
		msg       string
		ctx       map[string]any // decoded stored context
		truncated bool
	}
	cases := []struct {
		name string
		in   *logsv1.LogInput
		want want
	}{
		{"minimal", &logsv1.LogInput{Message: "hi"}, want{ts: now, level: logstore.LevelInfo, msg: "hi", ctx: map[string]any{}}},
		{"everything", &logsv1.LogInput{Timestamp: "2026-03-10T11:00:00Z", Level: "warning", Message: "disk", ContextJson: `{"disk":"sda","free":0.1}`},
			want{ts: now.Add(-time.Hour), level: logstore.LevelWarn, msg: "disk", ctx: map[string]any{"disk": "sda", "free": 0.1}}},
		{"no message", &logsv1.LogInput{Level: "info", ContextJson: `{}`}, want{rejected: reasonNoMessage}},
		{"unknown level", &logsv1.LogInput{Level: "Severe", Message: "x", ContextJson: `{"a":1}`},
			want{ts: now, level: logstore.LevelInfo, msg: "x", ctx: map[string]any{"a": 1.0, "_level": "Severe"}}},
		{"unknown level, empty context", &logsv1.LogInput{Level: "sev\"ere", Message: "x"},
			want{ts: now, level: logstore.LevelInfo, msg: "x", ctx: map[string]any{"_level": "sev\"ere"}}},
		{"unparseable timestamp", &logsv1.LogInput{Timestamp: "last tuesday", Message: "x", ContextJson: ` {"a":1} `},
			want{ts: now, level: logstore.LevelInfo, msg: "x", ctx: map[string]any{"a": 1.0, "_timestamp": "last tuesday"}}},
		{"unknown level and timestamp", &logsv1.LogInput{Timestamp: "?", Level: "?", Message: "x"},
			want{ts: now, level: logstore.LevelInfo, msg: "x", ctx: map[string]any{"_timestamp": "?", "_level": "?"}}},
		{"blank timestamp is receive time", &logsv1.LogInput{Timestamp: "  ", Message: "x"}, want{ts: now, level: logstore.LevelInfo, msg: "x", ctx: map[string]any{}}},
		{"epoch ms", &logsv1.LogInput{Timestamp: "1773140400000", Message: "x"}, want{ts: now.Add(-time.Hour), level: logstore.LevelInfo, msg: "x", ctx: map[string]any{}}},
		// The window's edges.
		{"oldest accepted", &logsv1.LogInput{Timestamp: iso(now.Add(-lim.retention)), Message: "x"},
			want{ts: now.Add(-lim.retention), level: logstore.LevelInfo, msg: "x", ctx: map[string]any{}}},
		{"too old by 1µs", &logsv1.LogInput{Timestamp: iso(now.Add(-lim.retention - time.Microsecond)), Message: "x"}, want{rejected: reasonTooOld}},
		{"too old epoch", &logsv1.LogInput{Timestamp: "1000", Message: "x"}, want{rejected: reasonTooOld}},
		{"newest accepted", &logsv1.LogInput{Timestamp: iso(now.Add(time.Hour)), Message: "x"},
			want{ts: now.Add(time.Hour), level: logstore.LevelInfo, msg: "x", ctx: map[string]any{}}},
		{"future by 1µs", &logsv1.LogInput{Timestamp: iso(now.Add(time.Hour + time.Microsecond)), Message: "x"}, want{rejected: reasonFuture}},
		// Context.
		{"context array", &logsv1.LogInput{Message: "x", ContextJson: `[1]`}, want{rejected: "context must be a JSON object"}},
		{"context invalid", &logsv1.LogInput{Message: "x", ContextJson: `{"a":`}, want{rejected: "context must be a JSON object"}},
		{"context whitespace", &logsv1.LogInput{Message: "x", ContextJson: "  \n"}, want{ts: now, level: logstore.LevelInfo, msg: "x", ctx: map[string]any{}}},
		{"context repaired", &logsv1.LogInput{Message: "x", ContextJson: "{\"a\":\"\x00\\u0000\xff\"}"},
			want{ts: now, level: logstore.LevelInfo, msg: "x", ctx: map[string]any{"a": "\uFFFD\uFFFD\uFFFD"}}},
		{"context over limit", &logsv1.LogInput{Message: "x", Level: "loud", ContextJson: `{"big":"` + strings.Repeat("é", 40) + `"}`},
			want{ts: now, level: logstore.LevelInfo, msg: "x", truncated: true, ctx: map[string]any{
				"_truncated": true, "_level": "loud", "_context_bytes": 90.0,
				"_context_preview": `{"big":"` + strings.Repeat("é", 28),
			}}},
		// Message.
		{"message at limit", &logsv1.LogInput{Message: strings.Repeat("m", 16)}, want{ts: now, level: logstore.LevelInfo, msg: strings.Repeat("m", 16), ctx: map[string]any{}}},
		{"message over limit", &logsv1.LogInput{Message: strings.Repeat("m", 15) + "éé", ContextJson: `{"a":1}`},
			want{ts: now, level: logstore.LevelInfo, msg: strings.Repeat("m", 15), truncated: true, ctx: map[string]any{"a": 1.0, "_truncated": true}}},
		{"message NUL and bad UTF-8", &logsv1.LogInput{Message: "a\x00b\xffc"}, want{ts: now, level: logstore.LevelInfo, msg: "a\uFFFDb\uFFFDc", ctx: map[string]any{}}},
		{"message whitespace is a message", &logsv1.LogInput{Message: " "}, want{ts: now, level: logstore.LevelInfo, msg: " ", ctx: map[string]any{}}},
		{"long original level is cut and marked", &logsv1.LogInput{Message: "x", Level: strings.Repeat("L", 300)},
			want{ts: now, level: logstore.LevelInfo, msg: "x", truncated: true, ctx: map[string]any{"_level": strings.Repeat("L", maxOriginalBytes), "_truncated": true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Surround the entry with good ones: indexes and arena offsets
			// must hold in the middle of a batch.
			logs := []*logsv1.LogInput{{Message: "before", Level: "odd"}, c.in, {Message: "after", ContextJson: `{"z":0}`}}
			b := normalize(7, "api", "", logs, now, lim)
			require.Equal(t, "api", b.service)
			require.Equal(t, now.UnixMicro(), b.receivedAt)
			if c.want.rejected != "" {
				require.Equal(t, []rejection{{Index: 1, Reason: c.want.rejected}}, b.out.Rejected)
				require.Len(t, b.rows, 2)
				require.EqualValues(t, 2, b.out.Count)
				require.Equal(t, "Successfully ingested 2 logs", b.out.Message)
			} else {
				require.Equal(t, []rejection{}, b.out.Rejected)
				require.Len(t, b.rows, 3)
				r := &b.rows[1]
				require.Equal(t, c.want.ts.UnixMicro(), r.ts, "ts %s", time.UnixMicro(r.ts).UTC())
				require.Equal(t, c.want.level, r.level)
				require.Equal(t, c.want.msg, r.msg)
				var got map[string]any
				text := storedContext(b, r)
				require.NoError(t, json.Unmarshal([]byte(text), &got), text)
				require.Equal(t, c.want.ctx, got, text)
				wantTrunc := int32(0)
				if c.want.truncated {
					wantTrunc = 1
				}
				require.Equal(t, wantTrunc, b.out.Truncated)
			}
			var first, last map[string]any
			require.NoError(t, json.Unmarshal([]byte(storedContext(b, &b.rows[0])), &first))
			require.Equal(t, map[string]any{"_level": "odd"}, first)
			require.NoError(t, json.Unmarshal([]byte(storedContext(b, &b.rows[len(b.rows)-1])), &last))
			require.Equal(t, map[string]any{"z": 0.0}, last)
		})
	}
}

func TestNormalizeRejectionsAndCounts(t *testing.T) {
	now := time.Now()
	lim := limits{retention: time.Hour, maxMessage: 4, maxContext: 1024}
	logs := []*logsv1.LogInput{
		{Message: "ok"},
		{Message: ""},
		{Message: "longer"},
		{Message: "ok", Timestamp: "1"},
		{Message: "ok", ContextJson: "x"},
		{Message: "toolong"},
	}
	b := normalize(1, "svc", "b-1", logs, now, lim)
	require.EqualValues(t, 3, b.out.Count)
	require.EqualValues(t, 2, b.out.Truncated)
	require.Equal(t, []rejection{{1, reasonNoMessage}, {3, reasonTooOld}, {4, "context must be a JSON object"}}, b.out.Rejected)
	require.JSONEq(t, `{"count":3,"message":"Successfully ingested 3 logs","rejected":[{"index":1,"reason":"message is required"},{"index":3,"reason":"timestamp is older than the retention period"},{"index":4,"reason":"context must be a JSON object"}],"truncated":2}`, b.outJSON)
}

func TestCheckEnvelope(t *testing.T) {
	long := strings.Repeat("s", 201)
	cases := []struct {
		name             string
		slug, service    string
		entries, max     int
		batchID          string
		code             codes.Code
		tooLarge         bool
		msg, wantService string
	}{
		{name: "ok", service: " api ", entries: 1, max: 10, wantService: "api"},
		{name: "ok with slug", slug: "alpha", service: "api", entries: 10, max: 10, wantService: "api"},
		{name: "ok 200 chars", service: strings.Repeat("é", 200), entries: 1, max: 10, batchID: strings.Repeat("b", 200), wantService: strings.Repeat("é", 200)},
		{name: "bad UTF-8 service is cleaned", service: "a\xffb", entries: 1, max: 10, wantService: "a\uFFFDb"},
		{name: "no service", service: "  ", entries: 1, max: 10, code: codes.InvalidArgument, msg: "service_name is required"},
		{name: "long service", service: long, entries: 1, max: 10, code: codes.InvalidArgument, msg: "service_name is longer than 200 characters"},
		{name: "no logs", service: "api", entries: 0, max: 10, code: codes.InvalidArgument, msg: "logs must contain at least one entry"},
		{name: "too many", service: "api", entries: 11, max: 10, tooLarge: true, msg: "batch has 11 entries; the limit is 10"},
		{name: "wrong slug", slug: "beta", service: "api", entries: 1, max: 10, code: codes.PermissionDenied, msg: `project_slug "beta" does not match the API key's project`},
		{name: "long batch id", service: "api", entries: 1, max: 10, batchID: long, code: codes.InvalidArgument, msg: "batch_id is longer than 200 characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc, err := checkEnvelope(c.slug, "alpha", c.service, c.entries, c.max, c.batchID)
			if c.msg == "" {
				require.NoError(t, err)
				require.Equal(t, c.wantService, svc)
				return
			}
			st := status.Convert(apierr.ToStatus(context.Background(), zaptest.NewLogger(t), "/test", err))
			require.Equal(t, c.msg, st.Message())
			httpStatus, _ := apierr.HTTPStatus(st)
			if c.tooLarge {
				require.Equal(t, http.StatusRequestEntityTooLarge, httpStatus)
			} else {
				require.Equal(t, c.code, st.Code())
				require.NotEqual(t, http.StatusRequestEntityTooLarge, httpStatus)
			}
		})
	}
}
