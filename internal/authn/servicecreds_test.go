package authn

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/devsmith/logs/internal/grpctest"
)

// With RequireTLS the service credential is never sent over a plain
// connection: gRPC refuses to build such a client at all. Without, it
// travels on a plain one (loopback, the cluster network).
func TestServiceCredentialsRequireTLS(t *testing.T) {
	t.Parallel()
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	conn := grpctest.Serve(t, srv, grpc.WithPerRPCCredentials(ServiceCredentials{Token: "t"}))
	_, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)

	_, err = grpc.NewClient(conn.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(ServiceCredentials{Token: "t", RequireTLS: true}))
	require.ErrorContains(t, err, "require transport level security")
}
