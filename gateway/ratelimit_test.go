package gateway

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/internal/apierr"
)

// A rate-limited status (as the services make it) is answered 429 with
// Retry-After, the X-RateLimit-* headers and the body {error, code:
// rate_limited, limit, window}; any other ResourceExhausted keeps the
// usual body.
func TestRateLimitedAnswer(t *testing.T) {
	err := apierr.ToStatus(context.Background(), zap.NewNop(), "/m",
		apierr.RateLimited(2300*time.Millisecond, "rate limited: over 20 requests a minute",
			apierr.RateLimit{Limit: 20, Remaining: 0, Reset: 59500 * time.Millisecond, Window: time.Minute}))
	w := httptest.NewRecorder()
	writeError(w, err)
	require.Equal(t, 429, w.Code)
	require.JSONEq(t, `{"error":"rate limited: over 20 requests a minute","code":"rate_limited","limit":20,"window":"1m"}`, w.Body.String())
	require.Equal(t, "3", w.Header().Get("Retry-After"))
	require.Equal(t, "20", w.Header().Get("X-RateLimit-Limit"))
	require.Equal(t, "0", w.Header().Get("X-RateLimit-Remaining"))
	require.Equal(t, "60", w.Header().Get("X-RateLimit-Reset"))

	w = httptest.NewRecorder()
	writeError(w, apierr.ToStatus(context.Background(), zap.NewNop(), "/m", apierr.Throttled(time.Second, "too many failed sign-ins")))
	require.Equal(t, 429, w.Code)
	require.JSONEq(t, `{"error":"too many failed sign-ins","code":"RESOURCE_EXHAUSTED"}`, w.Body.String())
	require.Empty(t, w.Header().Get("X-RateLimit-Limit"))

	rl, ok := apierr.RateLimitOf(status.Convert(err))
	require.True(t, ok)
	require.Equal(t, apierr.RateLimit{Limit: 20, Remaining: 0, Reset: 59500 * time.Millisecond, Window: time.Minute}, rl)
}

func TestRateLimitHeaders(t *testing.T) {
	for key, want := range map[string]string{
		"x-ratelimit-limit": "X-RateLimit-Limit", "x-ratelimit-remaining": "X-RateLimit-Remaining",
		"x-ratelimit-reset": "X-RateLimit-Reset", "other": "Grpc-Metadata-other",
	} {
		got, ok := outgoingHeader(key)
		require.True(t, ok)
		require.Equal(t, want, got)
	}
	require.Equal(t, "1m", windowName(time.Minute))
	require.Equal(t, "1s", windowName(time.Second))
	require.Equal(t, "1h", windowName(time.Hour))

	a := metadata.Pairs("x-ratelimit-limit", "9", "x-ratelimit-remaining", "5", "x-ratelimit-reset", "4")
	b := metadata.Pairs("x-ratelimit-limit", "9", "x-ratelimit-remaining", "3", "x-ratelimit-reset", "6")
	require.Equal(t, b, leastRemaining([]metadata.MD{a, nil, b}))
	w := httptest.NewRecorder()
	copyRateLimitHeaders(w, leastRemaining([]metadata.MD{a, b}))
	require.Equal(t, "3", w.Header().Get("X-RateLimit-Remaining"))
	require.Equal(t, "6", w.Header().Get("X-RateLimit-Reset"))
	copyRateLimitHeaders(w, nil)
	require.Equal(t, "9", w.Header().Get("X-RateLimit-Limit"), "no metadata changes nothing")
}
