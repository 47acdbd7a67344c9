package loadgen

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/partition"
	"github.com/devsmith/logs/internal/logstore/signature"
)

// SeedConfig is a data set to load straight into the database.
type SeedConfig struct {
	Entries  int64
	Projects []SeedProject // created beforehand (through the API)
	Services int
	Days     int
	// End is the newest timestamp; entries spread over [End - Days, End).
	End time.Time
	// Conns load days in parallel (one partition each).
	Conns int
	// ChunkRows are written and committed at a time, with their rollups.
	ChunkRows int
	Seed      uint64
	Out       io.Writer
}

// SeedProject is a project to fill.
type SeedProject struct {
	ID   int64
	Slug string
}

// SeedServices are the service names of a seeded data set.
func SeedServices(n int) []string {
	base := []string{"api-server", "worker", "billing", "auth", "frontend-ssr", "search", "notifier", "scheduler", "gateway", "inventory"}
	out := make([]string, n)
	for i := range out {
		if i < len(base) {
			out[i] = base[i]
		} else {
			out[i] = fmt.Sprintf("service-%02d", i)
		}
	}
	return out
}

type seedRollupKey struct {
	project int64
	service string
	day     time.Time
}

type seedRollup struct {
	count int64
	last  time.Time
}

// Seed loads cfg.Entries entries with COPY, a day (partition) per
// connection at a time, in time order within each day as a live system
// receives them, with each chunk's rollups written in the same transaction
// so logs.entry_rollups always equals the entries. It returns rows/s.
func Seed(ctx context.Context, pool *pgxpool.Pool, cfg SeedConfig) (float64, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 2
	}
	if cfg.ChunkRows <= 0 {
		cfg.ChunkRows = 50_000
	}
	if len(cfg.Projects) == 0 || cfg.Days <= 0 || cfg.Services <= 0 {
		return 0, fmt.Errorf("seed: need projects, days and services")
	}
	start := cfg.End.Add(-time.Duration(cfg.Days) * 24 * time.Hour)
	if err := partition.Ensure(ctx, pool, cfg.End, cfg.End.Sub(start)+24*time.Hour); err != nil {
		return 0, err
	}
	services := SeedServices(cfg.Services)
	// Ids: whole blocks of logs.entries_id_seq, as the writers reserve them.
	blocks := (cfg.Entries + logstore.IDBlock - 1) / logstore.IDBlock
	var firstID int64
	if err := pool.QueryRow(ctx, `SELECT min(v) FROM (SELECT nextval('logs.entries_id_seq') AS v FROM generate_series(1, $1::bigint)) s`, blocks).Scan(&firstID); err != nil {
		return 0, fmt.Errorf("reserving ids: %w", err)
	}
	var lastID int64
	if err := pool.QueryRow(ctx, `SELECT last_value FROM logs.entries_id_seq`).Scan(&lastID); err != nil {
		return 0, fmt.Errorf("reading ids: %w", err)
	}
	if lastID-firstID+logstore.IDBlock < cfg.Entries {
		// Another writer took blocks in between: ids must stay unique.
		return 0, fmt.Errorf("reserving ids: the sequence moved while reserving; seed an idle platform")
	}

	// Per day: the share of entries, the time step between them.
	type dayJob struct {
		day   int
		from  time.Time
		n     int64
		first int64 // first id
	}
	perDay := cfg.Entries / int64(cfg.Days)
	var jobs []dayJob
	next := firstID
	for d := range cfg.Days {
		n := perDay
		if d == cfg.Days-1 {
			n = cfg.Entries - perDay*int64(cfg.Days-1)
		}
		jobs = append(jobs, dayJob{day: d, from: start.Add(time.Duration(d) * 24 * time.Hour), n: n, first: next})
		next += n
	}
	cols := logstore.ColumnNames()
	var done atomic.Int64
	began := time.Now()
	work := make(chan dayJob)
	errs := make(chan error, cfg.Conns)
	var wg sync.WaitGroup
	for range cfg.Conns {
		wg.Go(func() {
			for j := range work {
				if err := seedDay(ctx, pool, cfg, services, cols, j.day, j.from, j.n, j.first, &done); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				n := done.Load()
				fmt.Fprintf(cfg.Out, "  %d of %d entries (%.0f/s)\n", n, cfg.Entries, float64(n)/time.Since(began).Seconds())
			}
		}
	}()
	var err error
feed:
	for _, j := range jobs {
		select {
		case work <- j:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(stop)
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return 0, err
	}
	return float64(done.Load()) / time.Since(began).Seconds(), nil
}

// seedDay loads one day's entries, ChunkRows per transaction.
func seedDay(ctx context.Context, pool *pgxpool.Pool, cfg SeedConfig, services, cols []string, day int, from time.Time, n, firstID int64, done *atomic.Int64) error {
	r := rand.New(rand.NewPCG(cfg.Seed, uint64(day)+1))
	step := float64(24*time.Hour) / float64(n)
	// Projects are equally busy (each holds Entries/len(Projects)); within a
	// project a few services carry most of the traffic (Zipf, s = 0.8: the
	// busiest of 10 has 26%, the quietest 4%).
	projWeights := zipfWeights(len(cfg.Projects), 0)
	svcWeights := zipfWeights(len(services), 0.8)
	received := cfg.End
	for off := int64(0); off < n; off += int64(cfg.ChunkRows) {
		m := min(int64(cfg.ChunkRows), n-off)
		rolls := map[seedRollupKey]*seedRollup{}
		// The chunk's signatures, each once with its first message, as the
		// ingestion writers insert them (so the analysis service mines them).
		var sigs logstore.Signatures
		seenSig := map[[2]int64]bool{}
		var hasher signature.Hasher
		// And its error groups, each once with its first event (errors.go).
		var eg seedGroups
		var metrics seedMetrics
		row := make([]any, len(cols))
		i := int64(0)
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i >= m {
				return nil, nil
			}
			k := off + i
			ts := from.Add(time.Duration(float64(k)*step + r.Float64()*step)).Truncate(time.Microsecond)
			p := cfg.Projects[pick(r, projWeights)]
			svc := services[pick(r, svcWeights)]
			lvl := levelOf(r)
			var msg, cctx string
			if q, ok := requestOf(r, svc, lvl); ok {
				msg, cctx = q.message(), q.context(r, "")
				metrics.add(p.ID, ts, svc, q, lvl)
			} else {
				msg, cctx = entryOf(r, lvl, "", seedErrorShare)
			}
			sig := hasher.Of(msg)
			level := levelNumber(lvl)
			row[0], row[1], row[2], row[3] = p.ID, ts, firstID+k, svc
			row[4], row[5], row[6], row[7], row[8] = level, msg, cctx, received, sig
			row[9] = eg.add(p.ID, svc, level, msg, cctx, sig, ts)
			row[10], row[11] = int16(0), nil // the default retention class, not sampled
			if key := [2]int64{p.ID, sig}; !seenSig[key] {
				seenSig[key] = true
				sigs.Add(p.ID, sig, msg, ts)
			}
			key := seedRollupKey{p.ID, svc, partition.Day(ts)}
			ru := rolls[key]
			if ru == nil {
				ru = &seedRollup{}
				rolls[key] = ru
			}
			ru.count++
			if ts.After(ru.last) {
				ru.last = ts
			}
			i++
			return row, nil
		})
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"logs", "entries"}, cols, src); err != nil {
				return fmt.Errorf("copying entries: %w", err)
			}
			keys := make([]seedRollupKey, 0, len(rolls))
			for k := range rolls {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(a, b int) bool {
				if keys[a].project != keys[b].project {
					return keys[a].project < keys[b].project
				}
				if keys[a].service != keys[b].service {
					return keys[a].service < keys[b].service
				}
				return keys[a].day.Before(keys[b].day)
			})
			var ro logstore.Rollups
			for _, k := range keys {
				ru := rolls[k]
				ro.ProjectIDs, ro.Services, ro.Days = append(ro.ProjectIDs, k.project), append(ro.Services, k.service), append(ro.Days, k.day)
				ro.Counts, ro.LastLogAt = append(ro.Counts, ru.count), append(ro.LastLogAt, ru.last)
			}
			// Rollups, signature and error group rows and metric rollups, as
			// a writer records them; no journal rows (no tail follows a
			// seed).
			if err := logstore.RecordCommitted(ctx, tx, &ro, &logstore.Spans{}, &sigs, &eg.out); err != nil {
				return err
			}
			return logstore.InsertMetricRollups(ctx, tx, metrics.rollups(), false)
		})
		if err != nil {
			return fmt.Errorf("seeding day %d: %w", day, err)
		}
		done.Add(m)
	}
	return nil
}

// zipfWeights are cumulative weights 1/(i+1)^s, normalised to 1.
func zipfWeights(n int, s float64) []float64 {
	w := make([]float64, n)
	total := 0.0
	for i := range w {
		total += 1 / math.Pow(float64(i+1), s)
		w[i] = total
	}
	for i := range w {
		w[i] /= total
	}
	return w
}

// pick draws an index from cumulative weights.
func pick(r *rand.Rand, cum []float64) int {
	f := r.Float64()
	i := sort.SearchFloat64s(cum, f)
	return min(i, len(cum)-1)
}
