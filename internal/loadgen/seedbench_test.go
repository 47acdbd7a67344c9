package loadgen

import (
	"context"
	"io"
	"testing"
	"time"
)

// BenchmarkSeed is the seed's speed: 200k entries, 2 connections.
func BenchmarkSeed(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		pool := cluster.NewPool(b)
		rate, err := Seed(ctx, pool, SeedConfig{
			Entries: 200_000, Projects: []SeedProject{{ID: 1, Slug: "a"}, {ID: 2, Slug: "b"}}, Services: 5, Days: 2,
			End: time.Now().UTC().Truncate(time.Hour), Conns: 2, Seed: 1, Out: io.Discard,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rate, "rows/s")
	}
}
