package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/devsmith/logs/internal/loadgen"
)

// dataSetFlags describe the seeded data set.
type dataSetFlags struct {
	entries          int64
	projects, svcs   int
	days, conns      int
	iterations, deep int
	export           bool
}

func (d *dataSetFlags) register(fs *flag.FlagSet) {
	fs.Int64Var(&d.entries, "entries", 10_000_000, "entries to seed")
	fs.IntVar(&d.projects, "projects", 20, "projects to spread them over (seed-01, seed-02, ...)")
	fs.IntVar(&d.svcs, "services", 10, "services per project")
	fs.IntVar(&d.days, "days", 7, "days, ending now")
	fs.IntVar(&d.conns, "conns", 2, "connections loading days in parallel")
}

// platformFor starts the all-in-one on dataDir (kept between runs) unless
// --url is given, and signs in.
func platformFor(ctx context.Context, sf *serverFlags) (api *loadgen.API, dsn string, stop func(), err error) {
	stop = func() {}
	dsn = sf.dbURL
	base := sf.url
	email, password := sf.email, sf.password
	if base == "" {
		if _, err := os.Stat(sf.bin); err != nil {
			return nil, "", stop, fmt.Errorf("%s not found: run `make build` first, or pass --url", sf.bin)
		}
		bin, _ := filepath.Abs(sf.bin)
		fmt.Printf("starting %s on %s...\n", bin, sf.dataDir)
		srv, err := loadgen.StartServer(ctx, loadgen.ServerConfig{Bin: bin, DataDir: sf.dataDir, Env: sf.env})
		if err != nil {
			return nil, "", stop, err
		}
		stop = srv.Stop
		base, dsn = srv.BaseURL, srv.DSN
		sf.serverPID = srv.PID()
		email, password = loadgen.AdminEmail, loadgen.AdminPassword
	}
	api = loadgen.NewAPI(base)
	if err := api.WaitReady(ctx, 2*time.Minute); err != nil {
		stop()
		return nil, "", func() {}, err
	}
	if err := api.Login(ctx, email, password); err != nil {
		stop()
		return nil, "", func() {}, fmt.Errorf("signing in as %s: %w", email, err)
	}
	return api, dsn, stop, nil
}

// seededPlatform is platformFor with the data folder the seeded data set
// lives in by default and a pool on the database, which the seed writes
// straight into; needs says why a given --url must come with
// --database-url. stop closes both.
func seededPlatform(ctx context.Context, sf *serverFlags, needs string) (*loadgen.API, *pgxpool.Pool, func(), error) {
	if sf.dataDir == "" {
		sf.dataDir = "./data/bench"
	}
	api, dsn, stop, err := platformFor(ctx, sf)
	if err != nil {
		return nil, nil, nil, err
	}
	if dsn == "" {
		stop()
		return nil, nil, nil, errors.New(needs + ": pass --database-url with --url")
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("connecting to the database: %w", err)
	}
	return api, pool, func() { pool.Close(); stop() }, nil
}

// seedProjects finds or creates seed-01..seed-NN.
func seedProjects(ctx context.Context, api *loadgen.API, n int, create bool) ([]loadgen.SeedProject, error) {
	var list struct {
		Projects []struct {
			ID   json.Number `json:"id"`
			Slug string      `json:"slug"`
		} `json:"projects"`
	}
	if err := api.Get(ctx, "/api/logs/projects", nil, &list); err != nil {
		return nil, err
	}
	have := map[string]int64{}
	for _, p := range list.Projects {
		id, _ := p.ID.Int64()
		have[p.Slug] = id
	}
	var out []loadgen.SeedProject
	for i := 1; i <= n; i++ {
		slug := fmt.Sprintf("seed-%02d", i)
		id, ok := have[slug]
		if !ok {
			if !create {
				return nil, nil
			}
			p, err := api.CreateProject(ctx, fmt.Sprintf("Seeded project %02d", i), slug)
			if err != nil {
				return nil, err
			}
			id = p.ID
		}
		out = append(out, loadgen.SeedProject{ID: id, Slug: slug})
	}
	return out, nil
}

func ids(ps []loadgen.SeedProject) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// ensureSeeded loads the data set unless it is there already.
func ensureSeeded(ctx context.Context, api *loadgen.API, pool *pgxpool.Pool, d dataSetFlags) ([]loadgen.SeedProject, error) {
	projects, err := seedProjects(ctx, api, d.projects, true)
	if err != nil {
		return nil, err
	}
	var have int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(sum(count), 0)::bigint FROM logs.entry_rollups WHERE project_id = ANY($1)`, ids(projects)).Scan(&have); err != nil {
		return nil, fmt.Errorf("counting seeded entries: %w", err)
	}
	switch {
	case have == d.entries:
		fmt.Printf("data set present: %d entries over %d projects\n", have, len(projects))
		return projects, nil
	case have != 0:
		return nil, fmt.Errorf("the seed projects hold %d entries, not %d: use another --data-dir (or remove this one) to seed afresh", have, d.entries)
	}
	fmt.Printf("seeding %d entries: %d projects × %d services over %d days, %d connections...\n", d.entries, d.projects, d.svcs, d.days, d.conns)
	t0 := time.Now()
	rate, err := loadgen.Seed(ctx, pool, loadgen.SeedConfig{
		Entries: d.entries, Projects: projects, Services: d.svcs, Days: d.days,
		End: time.Now().UTC().Truncate(time.Second), Conns: d.conns, Seed: 42, Out: os.Stdout,
	})
	if err != nil {
		return nil, err
	}
	fmt.Printf("seeded in %s (%.0f entries/s); VACUUM ANALYZE...\n", time.Since(t0).Round(time.Second), rate)
	t1 := time.Now()
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE logs.entries"); err != nil {
		return nil, fmt.Errorf("vacuuming: %w", err)
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE logs.entry_rollups"); err != nil {
		return nil, fmt.Errorf("vacuuming: %w", err)
	}
	fmt.Printf("vacuumed in %s\n", time.Since(t1).Round(time.Second))
	var rolled, counted int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT coalesce(sum(count), 0)::bigint FROM logs.entry_rollups WHERE project_id = ANY($1)),
		(SELECT count(*) FROM logs.entries WHERE project_id = ANY($1))`, ids(projects)).Scan(&rolled, &counted); err != nil {
		return nil, fmt.Errorf("checking rollups: %w", err)
	}
	if rolled != counted || counted != d.entries {
		return nil, fmt.Errorf("rollups count %d, entries %d, wanted %d", rolled, counted, d.entries)
	}
	fmt.Printf("rollups agree with count(*): %d\n", counted)
	return projects, nil
}

func seed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devsmith-loadgen seed", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs)
	var d dataSetFlags
	d.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	api, pool, stop, err := seededPlatform(ctx, &sf, "seeding writes straight into the database")
	if err != nil {
		return err
	}
	defer stop()
	_, err = ensureSeeded(ctx, api, pool, d)
	return err
}

func query(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devsmith-loadgen query", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs)
	var d dataSetFlags
	d.register(fs)
	fs.IntVar(&d.iterations, "iterations", 40, "timed runs of each query")
	fs.IntVar(&d.deep, "deep-pages", 50, "pages a deep-pagination walk follows")
	var cases string
	fs.StringVar(&cases, "cases", "", "regular expression: run only the query cases whose name it matches (e.g. '^errors')")
	fs.BoolVar(&d.export, "export", true, "also time exports of the last 24 h (one project, then all: the whole day)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var only *regexp.Regexp
	if cases != "" {
		var err error
		if only, err = regexp.Compile(cases); err != nil {
			return fmt.Errorf("--cases: %w", err)
		}
	}
	api, pool, stop, err := seededPlatform(ctx, &sf, "the query benchmark seeds and checks counts in the database")
	if err != nil {
		return err
	}
	defer stop()
	projects, err := ensureSeeded(ctx, api, pool, d)
	if err != nil {
		return err
	}
	var end time.Time
	if err := pool.QueryRow(ctx, `SELECT max(last_log_at) FROM logs.entry_rollups WHERE project_id = ANY($1)`, ids(projects)).Scan(&end); err != nil {
		return fmt.Errorf("finding the newest entry: %w", err)
	}
	services := loadgen.SeedServices(d.svcs)
	if err := loadgen.CheckExactCounts(ctx, api, pool, projects[0], services[0], end); err != nil {
		return fmt.Errorf("counts are not exact: %w", err)
	}
	fmt.Printf("counts checked against SQL count(*): exact\n\n%d entries, newest %s; \"24 h\" = the 24 hours before it; %d timed runs each (2 warm-up)\n",
		d.entries, end.Format(time.RFC3339), d.iterations)
	qc := loadgen.QueryBenchConfig{
		Projects: projects, Services: services, End: end, Iterations: d.iterations, Warmup: 2, DeepPages: d.deep, Cases: only, Out: os.Stdout,
	}
	if _, err := loadgen.QueryBench(ctx, api, qc); err != nil {
		return err
	}
	if !d.export {
		return nil
	}
	var watch *loadgen.MemWatch
	if sf.serverPID > 0 {
		watch = loadgen.NewMemWatch(sf.serverPID, 0, 100*time.Millisecond)
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go watch.Run(wctx)
	}
	return loadgen.ExportBench(ctx, api, qc, watch)
}
