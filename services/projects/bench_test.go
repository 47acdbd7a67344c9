package projects

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
	"github.com/devsmith/logs/internal/grpctest"
	"github.com/devsmith/logs/internal/logstore/partition"
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

// BenchmarkListProjectsOldest is ListProjects of 20 projects with 500,000
// entries each over 30 days (DEVSMITH_BENCH_ENTRIES sets the number per
// project), half of them with a retention of 7 days (their own leaves),
// the way the service reads each project's oldest entry kept (from its
// rollups' oldest day, then exact: store.go), against reading it exactly
// over all partitions and against not reading it (docs/api.md, "Oldest
// entry kept").
func BenchmarkListProjectsOldest(b *testing.B) {
	perProject := 500_000
	if v := os.Getenv("DEVSMITH_BENCH_ENTRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("DEVSMITH_BENCH_ENTRIES=%q: %v", v, err)
		}
		perProject = n
	}
	pool := cluster.NewPool(b)
	ctx := context.Background()
	now := time.Now().UTC()
	if err := partition.Ensure(ctx, pool, now, 30*24*time.Hour); err != nil {
		b.Fatal(err)
	}
	if err := partition.EnsureClass(ctx, pool, now, 7); err != nil {
		b.Fatal(err)
	}
	for i := range 20 {
		class := 0
		if i%2 == 1 {
			class = 7
		}
		span := partition.Retention(class, 30*24*time.Hour) - time.Hour
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO logs.projects (name, slug, retention_days) VALUES ($1, $1, nullif($2, 0)) RETURNING id`,
			fmt.Sprintf("bench-%d", i), class).Scan(&id); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO logs.entries (project_id, ts, service_name, level, message, retention_days)
			SELECT $1, $2::timestamptz - (g * $3::bigint / $4) * interval '1 microsecond', 'svc-' || (g % 5), 3, 'message ' || g, $5
			FROM generate_series(1, $4) g`, id, now, span.Microseconds(), perProject, class); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO logs.entry_rollups (project_id, service_name, day, count, last_log_at)
			SELECT project_id, service_name, (ts AT TIME ZONE 'UTC')::date, count(*), max(ts) FROM logs.entries
			WHERE project_id = $1 GROUP BY 1, 2, 3`, id); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
	const admin = 1 // no such user: an admin reads every project
	for _, v := range []struct{ name, oldest string }{
		{"rollups then exact (ListProjects)", projectOldest},
		{"exact over all partitions", `
		LEFT JOIN LATERAL (SELECT min(e.ts) AS oldest FROM logs.entries e WHERE e.project_id = p.id) o ON true`},
		{"not read", `
		LEFT JOIN LATERAL (SELECT NULL::timestamptz AS oldest) o ON true`},
	} {
		q := strings.Replace(`SELECT `+projectColumns+projectFrom+projectRollups+`
			WHERE `+projectReadable+` ORDER BY p.created_at DESC, p.id DESC LIMIT 20`, projectOldest, v.oldest, 1)
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := pool.Query(ctx, q, admin, true)
				if err != nil {
					b.Fatal(err)
				}
				list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (project, error) { return scanProject(r) })
				if err != nil || len(list) != 20 || (v.name != "not read" && list[0].OldestLogAt == nil) {
					b.Fatalf("%v %d", err, len(list))
				}
			}
		})
	}
}
