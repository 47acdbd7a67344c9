package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	logsv1 "github.com/devsmith/logs/gen/devsmith/logs/v1"
	"github.com/devsmith/logs/internal/grpctest"
)

// deadlineAnalysis is an AnalysisService that answers, in summary, the
// time left before the call's deadline and the authorization it was sent.
type deadlineAnalysis struct {
	logsv1.UnimplementedAnalysisServiceServer
}

func (deadlineAnalysis) AnalyzeLogs(ctx context.Context, req *logsv1.AnalyzeLogsRequest) (*logsv1.AnalyzeLogsResponse, error) {
	d, ok := ctx.Deadline()
	left := "none"
	if ok {
		left = time.Until(d).Round(time.Second).String()
	}
	md, _ := metadata.FromIncomingContext(ctx)
	return &logsv1.AnalyzeLogsResponse{Summary: left + " " + strings.Join(md.Get("authorization"), ",") + " " + strings.Join(req.GetProject(), ",")}, nil
}

// POST /api/logs/analysis reaches the AnalysisService with the session and
// the gateway's analysis time limit, not the shorter one of other calls.
func TestAnalysisRouteCarriesItsOwnTimeLimit(t *testing.T) {
	t.Parallel()
	srv := grpc.NewServer()
	logsv1.RegisterAnalysisServiceServer(srv, deadlineAnalysis{})
	conn := grpctest.Serve(t, srv)
	ctx := context.Background()
	g, err := New(ctx, zaptest.NewLogger(t), Config{RequestTimeout: 5 * time.Second, AnalysisTimeout: 90 * time.Second},
		Backends{Projects: conn, Ingestion: conn, Query: conn, Analysis: conn}, nil, nil)
	require.NoError(t, err)
	hs := httptest.NewServer(g.Handler())
	defer hs.Close()

	req, err := http.NewRequest("POST", hs.URL+"/api/logs/analysis", strings.NewReader(`{"project":["alpha"]}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "tok"})
	req.Header.Set("Origin", hs.URL)
	req.Header.Set(CSRFHeader, csrfToken("tok"))
	res, err := hs.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	require.Contains(t, string(body), `"summary":"1m30s Bearer tok alpha"`)
}

// Without an analysis backend the route is not served.
func TestAnalysisRouteNeedsItsBackend(t *testing.T) {
	t.Parallel()
	srv := grpc.NewServer()
	conn := grpctest.Serve(t, srv)
	g, err := New(context.Background(), zaptest.NewLogger(t), Config{}, Backends{Projects: conn, Ingestion: conn, Query: conn}, nil, nil)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/api/logs/analysis", strings.NewReader(`{}`)))
	require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())
}
