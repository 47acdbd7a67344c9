package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/grpctest"
)

// With --public-url the site is that origin, scheme included, whatever
// Host the proxy in front passes on.
func TestCSRFChecksThePublicURL(t *testing.T) {
	t.Parallel()
	srv := grpc.NewServer()
	logsv1.RegisterAnalysisServiceServer(srv, deadlineAnalysis{})
	conn := grpctest.Serve(t, srv)
	pub, err := ParsePublicURL("https://logs.example.com/ignored/path")
	require.NoError(t, err)
	g, err := New(context.Background(), zaptest.NewLogger(t), Config{RequestTimeout: 5 * time.Second, PublicURL: pub},
		Backends{Projects: conn, Ingestion: conn, Query: conn, Analysis: conn}, nil, nil)
	require.NoError(t, err)
	call := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "http://10.0.0.7:3000/api/logs/analysis", strings.NewReader(`{"project":["a"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "tok"})
		req.Header.Set(CSRFHeader, csrfToken("tok"))
		req.Header.Set("Origin", origin)
		rec := httptest.NewRecorder()
		g.Handler().ServeHTTP(rec, req)
		return rec
	}
	require.Equal(t, http.StatusOK, call("https://logs.example.com").Code)
	for _, bad := range []string{"http://logs.example.com", "http://10.0.0.7:3000", "https://logs.example.com.evil.example", "null"} {
		rec := call(bad)
		require.Equal(t, http.StatusForbidden, rec.Code, bad)
		require.JSONEq(t, `{"error":"cross-origin request refused: Origin `+bad+` is not this site","code":"csrf"}`, rec.Body.String(), bad)
	}
	_, err = ParsePublicURL("logs.example.com")
	require.ErrorContains(t, err, "absolute http:// or https:// URL")
}
