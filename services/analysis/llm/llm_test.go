package llm

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/types/known/timestamppb"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
)

const apiKey = "sk-test-0123456789abcdef"

// report is a response whose examples hold secrets of every kind.
func report() *logsv1.AnalyzeLogsResponse {
	since := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	return &logsv1.AnalyzeLogsResponse{
		Since: timestamppb.New(since), Until: timestamppb.New(since.Add(time.Hour)),
		Report: &logsv1.AnalysisReport{
			TopPatterns: []*logsv1.PatternInsight{{
				ProjectSlug: "shop", Template: "login failed for <email> from <ip>", Count: 1234, PreviousCount: 10,
				CountsByLevel: map[string]int64{"ERROR": 1234}, Services: []string{"auth"},
				Examples: []*logsv1.LogEntry{{Level: "ERROR", Message: "login failed for jane.doe@example.com from 203.0.113.7 password=hunter2 key dsk_live_abcdefghijkl0123"}},
			}},
			Spikes: []*logsv1.Spike{{
				ProjectSlug: "shop", ServiceName: "api", Template: "upstream <*> timed out", Count: 400, Baseline: 3, Score: 41,
				Examples: []*logsv1.LogEntry{{Level: "ERROR", Message: "upstream 2001:db8::1 timed out Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}},
			}},
			SilentServices: []*logsv1.ServiceInsight{{ProjectSlug: "shop", ServiceName: "mailer", Reason: "went silent", PreviousCount: 30}},
		},
	}
}

// secrets must not reach the provider.
var secrets = []string{"jane.doe@example.com", "203.0.113.7", "hunter2", "dsk_live_abcdefghijkl0123", "2001:db8::1", "eyJhbGciOiJIUzI1NiJ9"}

func answer(content string) string {
	b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": content}}}})
	return string(b)
}

func client(t *testing.T, url string, timeout time.Duration) *Client {
	t.Helper()
	c := New(Config{URL: url, Model: "tiny", APIKey: apiKey, Timeout: timeout}, zaptest.NewLogger(t))
	require.NotNil(t, c)
	return c
}

// TestSummarize: the request's shape, auth and redaction, for a base URL
// with and without /v1.
func TestSummarize(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"", "/", "/v1", "/v1/"} {
		t.Run("base"+suffix, func(t *testing.T) {
			t.Parallel()
			var body []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
					http.Error(w, "wrong route "+r.Method+" "+r.URL.Path, http.StatusNotFound)
					return
				}
				if r.Header.Get("Authorization") != "Bearer "+apiKey || r.Header.Get("Content-Type") != "application/json" {
					http.Error(w, "bad headers", http.StatusUnauthorized)
					return
				}
				body, _ = io.ReadAll(r.Body)
				_, _ = io.WriteString(w, answer("  The auth service fails logins.\n"))
			}))
			defer srv.Close()
			text, err := client(t, srv.URL+suffix, 5*time.Second).Summarize(context.Background(), report())
			require.NoError(t, err)
			require.Equal(t, "The auth service fails logins.", text)

			var req chatRequest
			require.NoError(t, json.Unmarshal(body, &req))
			require.Equal(t, "tiny", req.Model)
			require.Len(t, req.Messages, 2)
			require.Equal(t, "system", req.Messages[0].Role)
			require.Equal(t, "user", req.Messages[1].Role)
			user := req.Messages[1].Content
			for _, want := range []string{"login failed for <email> from <ip>", "1234 entries", "upstream <*> timed out", "usual 3", "mailer: went silent", "2026-11-20 10:00:00"} {
				require.Contains(t, user, want)
			}
			for _, s := range secrets {
				require.NotContains(t, string(body), s)
			}
			require.NotContains(t, string(body), apiKey)
		})
	}
}

// TestSummarizeFailures: every bad answer is an error, on time.
func TestSummarizeFailures(t *testing.T) {
	t.Parallel()
	released := make(chan struct{})
	t.Cleanup(func() { close(released) })
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			// Reading the body lets the server notice the client leaving.
			_, _ = io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
			case <-released:
			}
		}, "context deadline exceeded"},
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, "answered 500"},
		{"malformed", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"choices": [`) }, "decoding"},
		{"no choices", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"choices": []}`) }, "no choices"},
		{"empty", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, answer("   ")) }, "empty"},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, answer(strings.Repeat("x", maxResponseBytes)))
		}, "over 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			start := time.Now()
			_, err := client(t, srv.URL, 300*time.Millisecond).Summarize(context.Background(), report())
			require.ErrorContains(t, err, tc.want)
			require.Less(t, time.Since(start), 3*time.Second)
			require.NotContains(t, err.Error(), apiKey)
			srv.CloseClientConnections()
			srv.Close()
		})
	}
}

// TestSummarizeCaps: a long answer is cut at MaxSummaryRunes.
func TestSummarizeCaps(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, answer(strings.Repeat("é", 3*MaxSummaryRunes)))
	}))
	defer srv.Close()
	text, err := client(t, srv.URL, time.Second).Summarize(context.Background(), report())
	require.NoError(t, err)
	require.Len(t, []rune(text), MaxSummaryRunes)
	require.True(t, strings.HasSuffix(text, "…"))
}

func TestDisabled(t *testing.T) {
	require.Nil(t, New(Config{URL: "http://x"}, zaptest.NewLogger(t)))
	var c *Client
	_, err := c.Summarize(context.Background(), report())
	require.ErrorIs(t, err, ErrDisabled)
}

func TestConfig(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	require.NoError(t, fs.Parse(nil))
	require.Equal(t, 15*time.Second, c.Timeout)
	require.False(t, c.Enabled())
	require.NoError(t, c.Validate())
	require.NoError(t, fs.Parse([]string{"--llm-url", "https://llm.example/v1", "--llm-model", "m", "--llm-api-key", "k", "--llm-timeout", "5s"}))
	require.Equal(t, Config{URL: "https://llm.example/v1", Model: "m", APIKey: "k", Timeout: 5 * time.Second}, c)
	require.True(t, c.Enabled())
	require.NoError(t, c.Validate())
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "ftp://x", Model: "m", Timeout: time.Second}, "--llm-url: want an http or https URL"},
		{Config{URL: "https://x", Timeout: time.Second}, "--llm-model: required"},
		{Config{Model: "m", Timeout: time.Second}, "--llm-url: required"},
		{Config{URL: "https://x", Model: "m"}, "--llm-timeout 0s"},
	} {
		require.ErrorContains(t, tc.cfg.Validate(), tc.want)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"mail jane.doe+x@mail.example.org now", "mail [email] now"},
		{"from 10.0.0.12:5432 and 192.168.1.1", "from [ip] and [ip]"},
		{"peer fe80::1ff:fe23:4567:890a up", "peer [ip] up"},
		{"password=hunter2 user=bob", "password=[redacted] user=bob"},
		{`token: "abc def" next`, "token: [redacted] next"},
		{"Authorization: Bearer abc.def-ghi", "Authorization: [redacted] [redacted]"},
		{"sent bearer abcDEF123456", "sent bearer [redacted]"},
		{"key dsk_0123456789abcdef0123 used", "key [redacted] used"},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig here", "jwt [redacted] here"},
		{"db postgres://app:s3cret@db:5432/x", "db postgres://[redacted]@db:5432/x"},
		{"sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "sha [redacted]"},
		{"blob QWxhZGRpbjpvcGVuIHNlc2FtZQ1234567890abcdXYZ==", "blob [redacted]"},
		// What is not a secret stays.
		{"GET /api/v1/orders/items/history/export/all took 12 ms", "GET /api/v1/orders/items/history/export/all took 12 ms"},
		{"at 12:30:45 std::vector grew", "at 12:30:45 std::vector grew"},
		{"user <*> logged in from <ip>", "user <*> logged in from <ip>"},
	} {
		require.Equal(t, tc.want, Redact(tc.in), tc.in)
	}
}

// TestConfigHidesKey: neither fmt nor zap writes the API key.
func TestConfigHidesKey(t *testing.T) {
	c := Config{URL: "https://llm.example", Model: "m", APIKey: apiKey, Timeout: time.Second}
	require.NotContains(t, fmt.Sprint(c), apiKey)
	require.NotContains(t, fmt.Sprintf("%+v", c), apiKey)
	require.Contains(t, fmt.Sprint(c), "APIKey: set")
	core, logs := observer.New(zap.InfoLevel)
	zap.New(core).Info("settings", zap.Object("llm", c), zap.Any("any", c))
	for _, e := range logs.All() {
		require.NotContains(t, fmt.Sprint(e.ContextMap()), apiKey)
	}
}
