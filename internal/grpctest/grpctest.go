// Package grpctest runs a real gRPC server on loopback for a test: the
// services' tests call them through the same interceptors and wire as
// production, not by calling handlers directly.
package grpctest

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Serve starts g on a free loopback port and returns a client connection to
// it, dialled with opts. When the test ends the connection is closed, g is
// stopped and Serve has returned (so leak checks see no goroutine of it).
func Serve(tb testing.TB, g *grpc.Server, opts ...grpc.DialOption) *grpc.ClientConn {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Serve(lis)
	}()
	tb.Cleanup(func() {
		g.Stop()
		<-done
	})
	conn, err := grpc.NewClient(lis.Addr().String(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}
