package insights

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/logstore/signature"
	"github.com/devsmith/logs/internal/pgtest"
	"github.com/devsmith/logs/services/analysis/llm"
)

var cluster *pgtest.Cluster

// TestMain checks, once every test has ended, that no computation is left
// running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.WithCluster(m, &cluster)) }

// entry is one entry to seed.
type entry struct {
	project int64
	ts      time.Time
	service string
	level   logstore.Level
	message string
}

// seeder writes entries with COPY (signature included, as ingestion
// computes it), their signatures' rows, and the rollups.
type seeder struct {
	t      testing.TB
	pool   *pgxpool.Pool
	hasher signature.Hasher
	nextID int64
	days   map[time.Time]bool
}

func newSeeder(t testing.TB, pool *pgxpool.Pool) *seeder {
	return &seeder{t: t, pool: pool, days: map[time.Time]bool{}}
}

// write stores es; each new (project, signature) gets its unmined row with
// the first message written.
func (s *seeder) write(es []entry) {
	s.t.Helper()
	ctx := context.Background()
	rows := make([][]any, 0, len(es))
	var sigs logstore.Signatures
	seen := map[[2]int64]bool{}
	for _, e := range es {
		if d := partition.Day(e.ts); !s.days[d] {
			require.NoError(s.t, partition.Create(ctx, s.pool, d))
			s.days[d] = true
		}
		s.nextID++
		sig := s.hasher.Of(e.message)
		rows = append(rows, []any{e.project, e.ts, s.nextID, e.service, e.level, e.message, "{}", e.ts, sig, int64(0), int16(0), nil})
		if k := [2]int64{e.project, sig}; !seen[k] {
			seen[k] = true
			sigs.Add(e.project, sig, e.message, e.ts)
		}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"logs", "entries"}, logstore.ColumnNames(), pgx.CopyFromRows(rows))
	require.NoError(s.t, err)
	_, err = s.pool.Exec(ctx, `INSERT INTO logs.pattern_signatures (project_id, signature, message, first_seen)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[])
		ON CONFLICT (project_id, signature) DO UPDATE SET first_seen = least(logs.pattern_signatures.first_seen, excluded.first_seen)`,
		sigs.ProjectIDs, sigs.Signatures, sigs.Messages, sigs.FirstSeen)
	require.NoError(s.t, err)
}

// rollups recomputes the per-day rollups from the entries (the writer keeps
// them exact in the same transaction).
func (s *seeder) rollups() {
	s.t.Helper()
	_, err := s.pool.Exec(context.Background(), `DELETE FROM logs.entry_rollups;
		INSERT INTO logs.entry_rollups (project_id, service_name, day, count, last_log_at)
		SELECT project_id, service_name, (ts AT TIME ZONE 'UTC')::date, count(*), max(ts) FROM logs.entries GROUP BY 1, 2, 3;
		ANALYZE logs.entries`)
	require.NoError(s.t, err)
}

// mine marks the signature of message in project as mined into the
// pattern founded by founder (the pattern's id is founder's signature),
// with template.
func (s *seeder) mine(project int64, founder, template string, messages ...string) int64 {
	s.t.Helper()
	id := s.hasher.Of(founder)
	sigs := []int64{id}
	for _, m := range messages {
		sigs = append(sigs, s.hasher.Of(m))
	}
	ctx := context.Background()
	_, err := s.pool.Exec(ctx, `INSERT INTO logs.patterns (project_id, id, template, first_seen)
		SELECT $1, $2, $3, coalesce((SELECT min(first_seen) FROM logs.pattern_signatures WHERE project_id = $1 AND signature = $2), now())
		ON CONFLICT (project_id, id) DO UPDATE SET template = excluded.template`, project, id, template)
	require.NoError(s.t, err)
	_, err = s.pool.Exec(ctx, `UPDATE logs.pattern_signatures SET pattern_id = $2, mined_seq = 1
		WHERE project_id = $1 AND signature = ANY($3)`, project, id, sigs)
	require.NoError(s.t, err)
	return id
}

// sig is the signature of message.
func (s *seeder) sig(message string) int64 { return s.hasher.Of(message) }

func testLogger(t testing.TB) *zap.Logger {
	if tt, ok := t.(*testing.T); ok {
		return zaptest.NewLogger(tt, zaptest.Level(zap.WarnLevel))
	}
	return zap.NewNop()
}

func newAnalyzer(t testing.TB, pool *pgxpool.Pool, cfg Config, summarizer *llm.Client) *Analyzer {
	return New(testLogger(t), pool, cfg, summarizer)
}

// every returns n timestamps spread evenly over [from, from+span).
func every(from time.Time, span time.Duration, n int) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = from.Add(time.Duration(float64(span) * float64(i) / float64(n))).Truncate(time.Microsecond)
	}
	return ts
}
