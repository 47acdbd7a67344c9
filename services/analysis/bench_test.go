package analysis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/signature"
	"github.com/devsmith/logs/services/analysis/patterns"
)

// benchSignatures is how many distinct signatures BenchmarkMine mines.
const benchSignatures = 50_000

// BenchmarkMine measures the miner's loop through the database: one op
// mines benchSignatures new signature rows (word variables, so each message
// is its own signature; 40 templates, 10 per project) in chunks of the
// default size, and replays them as a new leader does.
//
//	go test -run XXX -bench BenchmarkMine -benchtime 3x ./services/analysis/
func BenchmarkMine(b *testing.B) {
	pool := cluster.NewPool(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	words := make([]string, 5000)
	for i := range words {
		words[i] = fmt.Sprintf("w%c%c%c", 'a'+r.IntN(26), 'a'+r.IntN(26), 'a'+r.IntN(26)) + fmt.Sprint(string(rune('a'+i%26)))
	}
	kinds := []string{"cache", "queue", "auth", "billing", "search", "upload", "mailer", "sched", "report", "proxy"}
	var sigs logstore.Signatures
	var h signature.Hasher
	seen := map[[2]int64]bool{}
	for sigs.Len() < benchSignatures {
		t := r.IntN(40)
		msg := fmt.Sprintf("%s%c service %s handled %s for %s in %dms", kinds[t%10], 'a'+t/10, words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(900))
		project := int64(1 + t/10)
		s := h.Of(msg)
		if seen[[2]int64{project, s}] {
			continue
		}
		seen[[2]int64{project, s}] = true
		sigs.Add(project, s, msg, time.Now())
	}
	require.NoError(b, logstore.RecordCommitted(ctx, pool, &logstore.Rollups{}, &logstore.Spans{}, &sigs, nil))
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	require.NoError(b, err)
	defer conn.Close(ctx)

	var mineTime, replayTime time.Duration
	for b.Loop() {
		b.StopTimer()
		_, err := pool.Exec(ctx, `UPDATE logs.pattern_signatures SET pattern_id = NULL, mined_seq = NULL`)
		require.NoError(b, err)
		_, err = pool.Exec(ctx, `DELETE FROM logs.patterns`)
		require.NoError(b, err)
		_, err = pool.Exec(ctx, `VACUUM ANALYZE logs.pattern_signatures`)
		require.NoError(b, err)
		b.StartTimer()

		start := time.Now()
		st := newMinerState(patterns.Config{})
		total := 0
		for {
			n, err := st.mineChunk(ctx, conn, defaultMineBatch, zap.NewNop())
			require.NoError(b, err)
			total += n
			if n < defaultMineBatch {
				break
			}
		}
		require.Equal(b, benchSignatures, total)
		mineTime += time.Since(start)

		start = time.Now()
		n, err := newMinerState(patterns.Config{}).replay(ctx, conn, zap.NewNop())
		require.NoError(b, err)
		require.Equal(b, benchSignatures, n)
		replayTime += time.Since(start)
	}
	b.ReportMetric(float64(benchSignatures)*float64(b.N)/mineTime.Seconds(), "mined_sigs/s")
	b.ReportMetric(float64(benchSignatures)*float64(b.N)/replayTime.Seconds(), "replayed_sigs/s")
	var live int
	require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM logs.patterns WHERE merged_into IS NULL`).Scan(&live))
	b.ReportMetric(float64(live), "live_patterns")
}
