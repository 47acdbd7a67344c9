// Command devsmith-loadgen benchmarks DevSmith Logs (docs/performance.md):
//
//	devsmith-loadgen ingest [flags]   ingestion: peak, raw-COPY ceiling, half-peak latency, overload
//	devsmith-loadgen sequenced [flags]  numbered entries at a steady rate until SIGTERM; reports what was acknowledged (fault tests)
//	devsmith-loadgen seed [flags]     load N entries straight into the database (COPY, rollups kept)
//	devsmith-loadgen query [flags]    the dashboard's queries over seeded data, p50/p95
//	devsmith-loadgen serve [flags]    the all-in-one with net/http/pprof (for --profile)
//
// Without --url, ingest and query start the all-in-one themselves (bin/devsmith
// with an embedded PostgreSQL in a temporary or given data folder).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" //nolint:gosec // serve only: profiling endpoint on loopback
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/devsmith/logs/internal/loadgen"
	"github.com/devsmith/logs/internal/platform"
)

func main() {
	args := os.Args[1:]
	cmd := "ingest"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd {
	case "ingest":
		err = ingest(ctx, args)
	case "seed":
		err = seed(ctx, args)
	case "query":
		err = query(ctx, args)
	case "sequenced":
		err = sequenced(ctx, args)
	case "serve":
		os.Exit(serve(args))
	default:
		err = fmt.Errorf("unknown command %q: want ingest, sequenced, seed, query or serve", cmd)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "devsmith-loadgen:", err)
		os.Exit(1)
	}
}

// pprofEnv names the address the serve wrapper exposes net/http/pprof on.
const pprofEnv = "DEVSMITH_LOADGEN_PPROF_ADDR"

// serve runs the all-in-one in this process, with pprof on $pprofEnv.
func serve(args []string) int {
	if addr := os.Getenv(pprofEnv); addr != "" {
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pprof:", err)
			return 1
		}
		go func() { _ = http.Serve(lis, http.DefaultServeMux) }()
	}
	return platform.Main(args, "")
}

func freeAddr() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer lis.Close()
	return lis.Addr().String(), nil
}

// serverFlags are the flags of commands that may start the platform.
type serverFlags struct {
	url, bin, dataDir, dbURL, email, password string
	serverPID, postgresPID                    int
	env                                       stringList
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (f *serverFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", "", "base URL of a running platform (default: start bin/devsmith with an embedded PostgreSQL)")
	fs.StringVar(&f.bin, "server-bin", "./bin/devsmith", "the all-in-one binary to start when --url is empty")
	fs.StringVar(&f.dataDir, "data-dir", "", "data folder of the started platform (default: a temporary folder, removed at the end)")
	fs.StringVar(&f.dbURL, "database-url", "", "the target's PostgreSQL (with --url): for the COPY ceiling, seeding and counting")
	fs.StringVar(&f.email, "email", loadgen.AdminEmail, "user to sign in as (with --url)")
	fs.StringVar(&f.password, "password", loadgen.AdminPassword, "password (with --url)")
	fs.IntVar(&f.serverPID, "server-pid", 0, "pid of the platform process (with --url) for its memory and CPU")
	fs.IntVar(&f.postgresPID, "postgres-pid", 0, "pid of the PostgreSQL postmaster (with --url) for its memory and CPU")
	fs.Var(&f.env, "server-env", "KEY=VALUE for the started platform (repeatable)")
}

func ingest(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devsmith-loadgen ingest", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs)
	var (
		cfg      loadgen.BenchConfig
		phases   string
		profile  string
		grpcAddr string
		selfProf string
	)
	fs.StringVar(&cfg.Transport, "transport", "rest", "rest (POST /api/logs/batch), grpc (IngestStream), loki (POST /loki/api/v1/push, snappy protobuf as Promtail sends it) or otlp (POST /v1/logs, OTLP protobuf as OpenTelemetry exporters send it)")
	fs.StringVar(&grpcAddr, "grpc-addr", "", "ingestion gRPC address (with --url and --transport grpc)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "clients of the closed-loop phases")
	fs.IntVar(&cfg.BatchSize, "batch", 100, "entries per batch")
	fs.BoolVar(&cfg.Gzip, "gzip", false, "gzip request bodies")
	fs.BoolVar(&cfg.BatchIDs, "batch-ids", true, "send a fresh batch_id with every batch, as the sample loggers do (false: none, nothing to deduplicate)")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "length of each phase")
	fs.DurationVar(&cfg.Warmup, "warmup", 5*time.Second, "unmeasured warm-up before the first phase")
	fs.StringVar(&phases, "phases", "peak,ceiling,half,overload", "phases in order: peak, ceiling, half, rate, overload")
	fs.DurationVar(&cfg.Settle, "settle", 5*time.Second, "pause between phases, after a CHECKPOINT (each phase starts from a clean database state)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "logs/s of the rate phase")
	fs.Float64Var(&cfg.PeakRate, "peak-rate", 0, "peak logs/s for half/overload when no peak phase runs")
	fs.IntVar(&cfg.CeilingConns, "ceiling-conns", 4, "connections of the raw COPY ceiling")
	fs.IntVar(&cfg.CeilingRowsPerTx, "ceiling-rows", 1000, "rows per transaction of the raw COPY ceiling")
	fs.Float64Var(&cfg.OverloadFactor, "overload-factor", 2, "overload rate as a multiple of the peak")
	fs.IntVar(&cfg.OverloadInFlight, "overload-inflight", 4096, "batches outstanding at most during overload")
	fs.StringVar(&profile, "profile", "", "folder for server CPU/heap profiles (starts the platform through this binary's serve command)")
	fs.IntVar(&cfg.ShowSlowest, "slowest", 0, "print this many slowest batches of each phase, with when they were sent")
	fs.IntVar(&cfg.Tails, "tails", 0, "live tails (SSE, level=FATAL) kept open through the run; each must receive every FATAL entry")
	fs.StringVar(&selfProf, "loadgen-profile", "", "write a CPU profile of the load generator itself to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if selfProf != "" {
		f, err := os.Create(selfProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg.URL, cfg.DatabaseURL, cfg.ServerPID, cfg.PostgresPID, cfg.IngestAddr = sf.url, sf.dbURL, sf.serverPID, sf.postgresPID, grpcAddr
	cfg.Email, cfg.Password = sf.email, sf.password
	cfg.Phases = strings.Split(phases, ",")
	cfg.Server = loadgen.ServerConfig{Bin: sf.bin, DataDir: sf.dataDir, Env: sf.env}
	if profile != "" {
		if sf.url != "" {
			return errors.New("--profile starts the platform itself; it does not combine with --url")
		}
		if err := os.MkdirAll(profile, 0o755); err != nil {
			return err
		}
		self, err := os.Executable()
		if err != nil {
			return err
		}
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		cfg.Server.Bin, cfg.Server.Args = self, []string{"serve"}
		cfg.Server.Env = append(cfg.Server.Env, pprofEnv+"="+addr)
		cfg.PprofURL, cfg.ProfileDir = "http://"+addr, profile
	}
	if sf.url == "" {
		if _, err := os.Stat(cfg.Server.Bin); err != nil {
			return fmt.Errorf("%s not found: run `make build` first, or pass --url", cfg.Server.Bin)
		}
		if abs, err := filepath.Abs(cfg.Server.Bin); err == nil {
			cfg.Server.Bin = abs
		}
	}
	_, err := loadgen.Bench(ctx, cfg)
	return err
}
