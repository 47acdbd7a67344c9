package platform

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/devsmith/logs/migrations"
)

// Main runs a DevSmith process until SIGINT or SIGTERM and returns the exit
// code. target, if not empty, fixes --target (the single-service binaries).
func Main(args []string, target string) int {
	return run(args, target, os.LookupEnv, os.Stdout, os.Stderr)
}

func run(args []string, target string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	name := "devsmith"
	if target != "" {
		name += "-" + target
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are written below
	var cfg Config
	cfg.RegisterFlags(fs)
	if err := Parse(fs, args, lookupEnv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeHelp(stdout, name, fs)
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v\n(%s --help lists every setting)\n", name, err, name)
		return 2
	}
	if target != "" {
		cfg.Target = target
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(stderr, name+":", err)
		return 2
	}
	defer log.Sync() //nolint:errcheck

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if cfg.Target == TargetMigrate {
		if err := migrate(ctx, cfg.DatabaseURL); err != nil {
			log.Error("migrating failed", zap.Error(err))
			fmt.Fprintln(stderr, name+":", err)
			return 1
		}
		log.Info("migrations applied")
		return 0
	}
	p, err := Start(ctx, log, cfg)
	if err != nil {
		log.Error("startup failed", zap.Error(err))
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
	if p.HTTPAddr != "" {
		log.Info("DevSmith Logs is ready", zap.String("url", "http://"+displayAddr(p.HTTPAddr)))
		fmt.Fprintf(stderr, "\nDevSmith Logs is running at http://%s  (Ctrl-C stops it)\n\n", displayAddr(p.HTTPAddr))
	}
	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down", zap.Duration("drain_delay", cfg.ShutdownDrainDelay))
	case err := <-p.Failed():
		log.Error("stopping after a failure", zap.Error(err))
		code = 1
	}
	// A second signal now ends the process at once.
	stop()
	p.Stop(context.Background())
	log.Info("stopped")
	return code
}

// writeHelp lists every flag by component, with its variable and default.
func writeHelp(w io.Writer, name string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [--flag=value ...]\n\n", name)
	fmt.Fprintln(w, "Every setting is a flag and an environment variable (named after it); a flag on")
	fmt.Fprintln(w, "the command line wins, and then its variable is not read.")
	var layout Config
	for _, s := range layout.sections() {
		section := flag.NewFlagSet(s.title, flag.ContinueOnError)
		s.register(section)
		fmt.Fprintf(w, "\n%s:\n", s.title)
		section.VisitAll(func(sf *flag.Flag) {
			f := fs.Lookup(sf.Name)
			kind, usage := flag.UnquoteUsage(f)
			if t, ok := f.Value.(interface{ Type() string }); ok {
				kind = t.Type()
			}
			def := f.DefValue
			if def == "" {
				def = "(empty)"
			}
			if kind != "" {
				kind = " " + kind
			}
			fmt.Fprintf(w, "  --%s%s\n        %s\n        env %s, default %s\n", f.Name, kind, usage, EnvName(f.Name), def)
		})
	}
}

func displayAddr(addr string) string {
	if len(addr) > 0 && addr[0] == ':' {
		return "localhost" + addr
	}
	if len(addr) > 8 && addr[:8] == "0.0.0.0:" {
		return "localhost" + addr[7:]
	}
	if len(addr) > 5 && addr[:5] == "[::]:" {
		return "localhost" + addr[4:]
	}
	return addr
}

func newLogger(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	cfg := zap.NewProductionConfig()
	if format == "console" {
		cfg = zap.NewDevelopmentConfig()
	} else if format != "json" {
		return nil, fmt.Errorf("--log-format %q: want json or console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.DisableStacktrace = true
	return cfg.Build()
}

// migrate applies the migrations to the database at dsn (--target=migrate).
func migrate(ctx context.Context, dsn string) error {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer pool.Close()
	return migrations.Apply(ctx, pool)
}
