package platform

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Main runs a DevSmith process until SIGINT or SIGTERM and returns the exit
// code. target, if not empty, fixes --target (the single-service binaries).
func Main(args []string, target string) int {
	fs := flag.NewFlagSet("devsmith", flag.ContinueOnError)
	var cfg Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if target != "" {
		cfg.Target = target
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devsmith:", err)
		return 2
	}
	defer log.Sync() //nolint:errcheck

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	p, err := Start(ctx, log, cfg)
	if err != nil {
		log.Error("startup failed", zap.Error(err))
		fmt.Fprintln(os.Stderr, "devsmith:", err)
		return 1
	}
	if p.HTTPAddr != "" {
		log.Info("DevSmith Logs is ready", zap.String("url", "http://"+displayAddr(p.HTTPAddr)))
		fmt.Fprintf(os.Stderr, "\nDevSmith Logs is running at http://%s  (Ctrl-C stops it)\n\n", displayAddr(p.HTTPAddr))
	}
	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-p.Failed():
		log.Error("stopping after a failure", zap.Error(err))
		code = 1
	}
	stop()
	p.Stop(context.Background())
	log.Info("stopped")
	return code
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
