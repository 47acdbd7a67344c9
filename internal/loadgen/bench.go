package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchConfig is a whole ingestion benchmark: which platform, what load,
// which phases.
type BenchConfig struct {
	// URL targets a running platform; empty starts the all-in-one (Server).
	URL         string
	Server      ServerConfig
	DatabaseURL string // the target's database (ceiling, counts); set for a started platform
	IngestAddr  string // gRPC ingestion address (for --transport grpc against URL)
	ServerPID   int    // for RSS against URL (0: not measured)
	PostgresPID int
	Email       string
	Password    string

	Transport   string
	Concurrency int
	BatchSize   int
	Gzip        bool
	BatchIDs    bool // a fresh batch_id with every batch, as the sample loggers send
	Duration    time.Duration
	Warmup      time.Duration
	Settle      time.Duration // CHECKPOINT and pause before each phase after the first
	// Phases run in this order: warmup is implied; "peak" (closed loop),
	// "ceiling" (raw COPY), "half" (open loop at half the peak), "rate"
	// (open loop at Rate), "overload" (open loop at OverloadFactor × peak).
	// Between phases the database is checkpointed and left alone for
	// Settle, so no phase inherits the previous one's dirty buffers.
	Phases           []string
	Rate             float64
	CeilingConns     int
	CeilingRowsPerTx int
	OverloadFactor   float64
	OverloadInFlight int
	// PeakRate replaces the measured peak for half/overload when no peak
	// phase runs.
	PeakRate float64

	// ShowSlowest prints the slowest batches of each phase with when they
	// were sent.
	ShowSlowest int

	// Tails live tails (level=FATAL on the run's project) stay open through
	// every phase, as dashboards watching it would; each must receive every
	// FATAL entry stored.
	Tails int

	// PprofURL is the server's net/http/pprof base (the "serve" wrapper);
	// ProfileDir receives a CPU profile of the peak phase and a heap profile
	// after overload.
	PprofURL   string
	ProfileDir string

	Out io.Writer
}

// PhaseReport is one phase's figures.
type PhaseReport struct {
	Name     string
	RunID    string
	Res      *Result
	Ceiling  *CeilingResult
	Mem      MemSample
	CPU      map[string]float64 // cores used: server, postgres, loadgen
	Stored   int64              // entries found in the database afterwards
	Verified bool
}

// Bench runs the benchmark and prints its report.
func Bench(ctx context.Context, cfg BenchConfig) ([]*PhaseReport, error) {
	out := cfg.Out
	if out == nil {
		out = os.Stdout
	}
	target := Target{BaseURL: cfg.URL, IngestAddr: cfg.IngestAddr}
	dsn := cfg.DatabaseURL
	serverPID, pgPID := cfg.ServerPID, cfg.PostgresPID
	email, password := cfg.Email, cfg.Password
	if cfg.URL == "" {
		fmt.Fprintf(out, "starting %s (embedded PostgreSQL)...\n", cfg.Server.Bin)
		srv, err := StartServer(ctx, cfg.Server)
		if err != nil {
			return nil, err
		}
		defer srv.Stop()
		target.BaseURL, target.IngestAddr, dsn = srv.BaseURL, srv.IngestAddr, srv.DSN
		serverPID, pgPID = srv.PID(), srv.PostgresPID()
		email, password = AdminEmail, AdminPassword
		fmt.Fprintf(out, "platform at %s (pid %d, postgres pid %d, data %s)\n", srv.BaseURL, serverPID, pgPID, srv.DataDir)
	}
	api := NewAPI(target.BaseURL)
	if err := api.WaitReady(ctx, 2*time.Minute); err != nil {
		return nil, err
	}
	if err := api.Login(ctx, email, password); err != nil {
		return nil, fmt.Errorf("signing in as %s: %w", email, err)
	}
	tag := newRunID()
	proj, err := api.CreateProject(ctx, "Load generator "+tag, "loadgen-"+tag)
	if err != nil {
		return nil, err
	}
	target.APIKey = proj.APIKey
	fmt.Fprintf(out, "project %s (id %d); transport %s, %d clients, %d-entry batches, gzip %v, batch ids %v\n",
		proj.Slug, proj.ID, cfg.Transport, cfg.Concurrency, cfg.BatchSize, cfg.Gzip, cfg.BatchIDs)

	var tails *Tails
	if cfg.Tails > 0 {
		if tails, err = OpenTails(ctx, api, url.Values{"project": {proj.Slug}, "level": {"FATAL"}}, cfg.Tails); err != nil {
			return nil, err
		}
		defer tails.Close()
		fmt.Fprintf(out, "%d live tails open (%s)\n", cfg.Tails, tails.Query.Encode())
	}

	var pool *pgxpool.Pool
	if dsn != "" {
		if pool, err = pgxpool.New(ctx, dsn); err != nil {
			return nil, fmt.Errorf("connecting to the database: %w", err)
		}
		defer pool.Close()
	}
	mctx, stopMem := context.WithCancel(ctx)
	defer stopMem()
	mem := NewMemWatch(serverPID, pgPID, 200*time.Millisecond)
	go mem.Run(mctx)
	cpuServer, cpuPG, cpuSelf := NewCPUMeter(serverPID, false), NewCPUMeter(pgPID, true), NewCPUMeter(os.Getpid(), false)
	resetCPU := func() { cpuServer.Reset(); cpuPG.Reset(); cpuSelf.Reset() }
	takeCPU := func() map[string]float64 {
		return map[string]float64{"server": cpuServer.Cores(), "postgres": cpuPG.Cores(), "loadgen": cpuSelf.Cores()}
	}

	services := []string{"api-server", "worker", "billing", "auth", "frontend-ssr"}
	batchesFor := func(runID string, seed uint64) []*Batch {
		return Shape{RunID: runID, Services: services}.NewBatches(seed, 200, cfg.BatchSize, cfg.Gzip)
	}
	load := LoadConfig{Transport: cfg.Transport, Concurrency: cfg.Concurrency, Duration: cfg.Duration, Gzip: cfg.Gzip, BatchIDs: cfg.BatchIDs}

	var reports []*PhaseReport
	peak := cfg.PeakRate
	if cfg.Warmup > 0 {
		l := load
		l.Duration, l.Batches = cfg.Warmup, batchesFor("warmup-"+tag, 1)
		fmt.Fprintf(out, "\nwarm-up: %s...\n", cfg.Warmup)
		if _, err := Run(ctx, target, l); err != nil {
			return nil, err
		}
		mem.Take()
	}
	var profileDone chan error
	for i, ph := range cfg.Phases {
		if i > 0 && cfg.Settle > 0 {
			if pool != nil {
				// Needs superuser (or pg_checkpoint); without, only the pause.
				_, _ = pool.Exec(ctx, "CHECKPOINT")
			}
			select {
			case <-time.After(cfg.Settle):
			case <-ctx.Done():
				return reports, ctx.Err()
			}
		}
		rep := &PhaseReport{Name: ph, RunID: fmt.Sprintf("%s-%s", ph, tag)}
		batches := batchesFor(rep.RunID, uint64(100+i))
		l := load
		l.Batches = batches
		resetCPU()
		mem.Take()
		switch ph {
		case "peak":
			fmt.Fprintf(out, "\n== peak: closed loop, %d clients, %s\n", cfg.Concurrency, cfg.Duration)
			if cfg.PprofURL != "" && cfg.ProfileDir != "" {
				profileDone = make(chan error, 1)
				secs := max(int(cfg.Duration.Seconds())-2, 1)
				go func() {
					profileDone <- fetchProfile(ctx, cfg.PprofURL+fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), cfg.ProfileDir+"/cpu-peak.pprof")
				}()
			}
			rep.Res, err = Run(ctx, target, l)
			if profileDone != nil {
				if perr := <-profileDone; perr != nil {
					fmt.Fprintf(out, "  (CPU profile failed: %v)\n", perr)
				} else {
					fmt.Fprintf(out, "  CPU profile: %s/cpu-peak.pprof\n", cfg.ProfileDir)
				}
			}
			if err == nil {
				peak = rep.Res.LogsPerSec()
			}
		case "ceiling":
			if pool == nil {
				fmt.Fprintln(out, "\n== ceiling: skipped (no database URL)")
				continue
			}
			fmt.Fprintf(out, "\n== ceiling: pgx CopyFrom into a copy of logs.entries, %d connections, %d rows per transaction, %s\n",
				cfg.CeilingConns, cfg.CeilingRowsPerTx, cfg.Duration)
			rep.Ceiling, err = Ceiling(ctx, pool, batches, CeilingConfig{Conns: cfg.CeilingConns, RowsPerTx: cfg.CeilingRowsPerTx, Duration: cfg.Duration, ProjectID: proj.ID})
		case "half", "rate", "overload":
			rate := cfg.Rate
			l.MaxInFlight = max(4*cfg.Concurrency, 64)
			switch ph {
			case "half":
				rate = peak / 2
			case "overload":
				rate = peak * cfg.OverloadFactor
				l.MaxInFlight = cfg.OverloadInFlight
			}
			if rate <= 0 {
				fmt.Fprintf(out, "\n== %s: skipped (no peak rate; run the peak phase or give --peak-rate)\n", ph)
				continue
			}
			l.Rate = rate
			fmt.Fprintf(out, "\n== %s: open loop at %.0f logs/s (%.0f batches/s), at most %d in flight, %s\n",
				ph, rate, rate/float64(cfg.BatchSize), l.MaxInFlight, cfg.Duration)
			rep.Res, err = Run(ctx, target, l)
			if ph == "overload" && cfg.PprofURL != "" && cfg.ProfileDir != "" {
				if perr := fetchProfile(ctx, cfg.PprofURL+"/debug/pprof/heap", cfg.ProfileDir+"/heap-overload.pprof"); perr != nil {
					fmt.Fprintf(out, "  (heap profile failed: %v)\n", perr)
				}
			}
		default:
			return nil, fmt.Errorf("unknown phase %q", ph)
		}
		if err != nil {
			return reports, fmt.Errorf("phase %s: %w", ph, err)
		}
		rep.CPU = takeCPU()
		rep.Mem = mem.Take()
		printPhase(out, rep, reports)
		if rep.Res != nil && cfg.ShowSlowest > 0 {
			fmt.Fprint(out, "  slowest:")
			for _, s := range rep.Res.Slowest[:min(cfg.ShowSlowest, len(rep.Res.Slowest))] {
				fmt.Fprintf(out, " %s@%.1fs", ms(s.Latency), s.At.Seconds())
			}
			fmt.Fprintln(out)
		}
		reports = append(reports, rep)
	}

	// Every acknowledged entry must be in the database.
	fmt.Fprintln(out, "\n== verification: entries stored per run (context.run) against entries acknowledged")
	stored, err := countRuns(ctx, pool, api, proj, reports)
	if err != nil {
		return reports, err
	}
	var lost bool
	for _, r := range reports {
		if r.Res == nil {
			continue
		}
		r.Stored = stored[r.RunID]
		r.Verified = r.Stored >= r.Res.Logs && r.Stored <= r.Res.Logs+r.Res.UnknownLogs
		verdict := "OK"
		if !r.Verified {
			verdict = "MISMATCH"
			lost = lost || r.Stored < r.Res.Logs
		}
		fmt.Fprintf(out, "  %-9s acknowledged %9d, outcome unknown %6d, stored %9d: %s\n", r.Name, r.Res.Logs, r.Res.UnknownLogs, r.Stored, verdict)
	}
	if tails != nil {
		missed, err := checkTails(ctx, out, api, tails)
		if err != nil {
			return reports, err
		}
		lost = lost || missed
	}
	printSummary(out, reports)
	if lost {
		return reports, errors.New("acknowledged entries are missing from the database or from a live tail")
	}
	return reports, nil
}

// checkTails reports whether every tail received every stored entry its
// filters match (missed is true when one that was not ended early did not).
func checkTails(ctx context.Context, out io.Writer, api *API, tails *Tails) (missed bool, err error) {
	want, err := api.Count(ctx, tails.Query)
	if err != nil {
		return false, fmt.Errorf("counting the tails' entries: %w", err)
	}
	complete := tails.WaitFor(ctx, want, 10*time.Second)
	ended := tails.Ended()
	fmt.Fprintf(out, "  tails     %s: received %v of %d stored", tails.Query.Encode(), tails.Received(), want)
	switch {
	case complete:
		fmt.Fprintln(out, ": OK")
	case len(ended) > 0:
		fmt.Fprintf(out, ": ended early (%s)\n", strings.Join(ended, "; "))
	default:
		fmt.Fprintln(out, ": MISSED ENTRIES")
		return true, nil
	}
	return false, nil
}

func countRuns(ctx context.Context, pool *pgxpool.Pool, api *API, proj *Project, reports []*PhaseReport) (map[string]int64, error) {
	out := map[string]int64{}
	if pool != nil {
		rows, err := pool.Query(ctx, `SELECT context->>'run', count(*) FROM logs.entries WHERE project_id = $1 GROUP BY 1`, proj.ID)
		if err != nil {
			return nil, fmt.Errorf("counting stored entries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var run *string
			var n int64
			if err := rows.Scan(&run, &n); err != nil {
				return nil, fmt.Errorf("counting stored entries: %w", err)
			}
			if run != nil {
				out[*run] = n
			}
		}
		return out, rows.Err()
	}
	for _, r := range reports {
		if r.Res == nil {
			continue
		}
		n, err := api.CountRun(ctx, proj.Slug, r.RunID)
		if err != nil {
			return nil, err
		}
		out[r.RunID] = n
	}
	return out, nil
}

func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, res.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, res.Body)
	return err
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(kb int64) string { return fmt.Sprintf("%.0f MiB", float64(kb)/1024) }

func printPhase(out io.Writer, rep *PhaseReport, before []*PhaseReport) {
	if rep.Ceiling != nil {
		fmt.Fprintf(out, "  ceiling: %.0f rows/s (%d rows in %s)\n", rep.Ceiling.RowsPerSec(), rep.Ceiling.Rows, rep.Ceiling.Elapsed.Round(time.Millisecond))
		for _, p := range before {
			if p.Name == "peak" && p.Res != nil {
				fmt.Fprintf(out, "  end-to-end ÷ ceiling: %.0f ÷ %.0f = %.2f\n", p.Res.LogsPerSec(), rep.Ceiling.RowsPerSec(), p.Res.LogsPerSec()/rep.Ceiling.RowsPerSec())
			}
		}
	}
	if r := rep.Res; r != nil {
		fmt.Fprintf(out, "  logs/s %.0f   batches/s %.0f   MB/s %.1f (message+context) %.1f (wire)\n",
			r.LogsPerSec(), float64(r.Batches)/r.Elapsed.Seconds(), float64(r.PayloadBytes)/r.Elapsed.Seconds()/1e6, float64(r.WireBytes)/r.Elapsed.Seconds()/1e6)
		fmt.Fprintf(out, "  latency p50 %s  p90 %s  p99 %s  max %s  (%d answered batches)\n",
			ms(r.Percentile(50)), ms(r.Percentile(90)), ms(r.Percentile(99)), ms(r.Percentile(100)), len(r.Latencies))
		keys := make([]string, 0, len(r.Statuses))
		for k := range r.Statuses {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, r.Statuses[k]))
		}
		fmt.Fprintf(out, "  answers: %s\n", strings.Join(parts, ", "))
		if r.Refused > 0 {
			fmt.Fprintf(out, "  refused (429/503): %d, of which without Retry-After: %d\n", r.Refused, r.MissingRetryAfter)
		}
		if r.NotSent > 0 {
			fmt.Fprintf(out, "  not sent (client at its in-flight limit): %d batches\n", r.NotSent)
		}
	}
	if rep.Mem.ServerPeakRSSKB > 0 || rep.Mem.PostgresPeakPssKB > 0 {
		fmt.Fprintf(out, "  memory: platform RSS peak %s (VmHWM so far %s); PostgreSQL %s (private + shared once) (largest process RSS %s)\n",
			mib(rep.Mem.ServerPeakRSSKB), mib(rep.Mem.ServerHWMKB), mib(rep.Mem.PostgresPeakPssKB), mib(rep.Mem.PostgresPeakRSSKB))
	}
	if rep.CPU != nil {
		fmt.Fprintf(out, "  CPU (cores): platform %.2f, PostgreSQL %.2f, load generator %.2f\n", rep.CPU["server"], rep.CPU["postgres"], rep.CPU["loadgen"])
	}
}

func printSummary(out io.Writer, reports []*PhaseReport) {
	find := func(name string) *PhaseReport {
		i := slices.IndexFunc(reports, func(r *PhaseReport) bool { return r.Name == name })
		if i < 0 {
			return nil
		}
		return reports[i]
	}
	fmt.Fprintln(out, "\n== targets")
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	peak, ceil, half, over := find("peak"), find("ceiling"), find("half"), find("overload")
	if peak != nil && peak.Res != nil {
		v := peak.Res.LogsPerSec()
		fmt.Fprintf(out, "  peak ingestion >= 100,000 logs/s: %.0f (%s)\n", v, check(v >= 100_000))
		if ceil != nil && ceil.Ceiling != nil {
			r := v / ceil.Ceiling.RowsPerSec()
			fmt.Fprintf(out, "  end-to-end / ceiling >= 0.5: %.2f (%s)\n", r, check(r >= 0.5))
		}
	}
	if half != nil && half.Res != nil {
		p := half.Res.Percentile(99)
		fmt.Fprintf(out, "  p99 at half the peak < 20 ms: %s (%s)\n", ms(p), check(p < 20*time.Millisecond && half.Res.Refused == 0))
	}
	if over != nil && over.Res != nil {
		rss := over.Mem.ServerPeakRSSKB
		fmt.Fprintf(out, "  at %s: platform RSS < 256 MiB: %s (%s); 429/503 answers: %d, all with Retry-After: %v; acknowledged entries all stored: %v\n",
			"overload", mib(rss), check(rss < 256*1024), over.Res.Refused, over.Res.MissingRetryAfter == 0, over.Verified)
	}
}
