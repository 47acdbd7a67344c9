package grpctest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServeAnswersAndStopsWithTheTest(t *testing.T) {
	g := grpc.NewServer()
	healthpb.RegisterHealthServer(g, health.NewServer())
	var conn *grpc.ClientConn
	t.Run("serving", func(t *testing.T) {
		conn = Serve(t, g)
		res, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
		require.Equal(t, healthpb.HealthCheckResponse_SERVING, res.GetStatus())
	})
	// The subtest's cleanup stopped the server and closed the connection.
	_, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.Error(t, err)
}
