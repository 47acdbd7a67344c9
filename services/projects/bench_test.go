package projects

import (
	"context"
	"crypto/sha256"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/grpctest"
)

// BenchmarkResolveAPIKey is resolving an API key as the ingestion service
// does for a key it does not know yet (services/ingestion/keys.go): an
// IdentityService.ResolveApiKey call over gRPC to a real projects service,
// which looks the key's SHA-256 up by unique index.
func BenchmarkResolveAPIKey(b *testing.B) {
	pool := cluster.NewPool(b)
	ctx := context.Background()
	const key = "dsk_benchmark-key-0123456789abcdefghijklmnopqrstu"
	sum := sha256.Sum256([]byte(key))
	if _, err := pool.Exec(ctx, `WITH p AS (INSERT INTO logs.projects (name, slug) VALUES ('Bench', 'bench') RETURNING id)
		INSERT INTO logs.api_keys (project_id, name, key_hash, prefix, scopes) SELECT id, 'default', $1, 'dsk_', '{ingest}' FROM p`, sum[:]); err != nil {
		b.Fatal(err)
	}
	svc := New(zap.NewNop(), pool, Config{ServiceToken: "bench-token"})
	srv := grpc.NewServer(apierr.ServerOptions(zap.NewNop(), authn.UnaryServerInterceptor(svc.Authenticator()), authn.StreamServerInterceptor(svc.Authenticator()))...)
	svc.Register(srv)
	conn := grpctest.Serve(b, srv, grpc.WithPerRPCCredentials(authn.ServiceCredentials{Token: "bench-token"}))
	ic := authn.NewIdentityClient(identityv1.NewIdentityServiceClient(conn))
	md := metadata.Pairs("x-api-key", key)
	check := func() {
		p, err := ic.APIKey(ctx, md)
		if err != nil || p.ProjectSlug != "bench" {
			b.Fatalf("%v %+v", err, p)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			check()
		}
	})
	b.Run("16 callers", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8) // × GOMAXPROCS
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				check()
			}
		})
	})
}
