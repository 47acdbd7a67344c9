package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/devsmith/logs/internal/loadgen"
)

// sequenced sends numbered entries to a running platform at a steady rate
// until SIGINT/SIGTERM (or --duration), retrying each batch with its
// batch_id until it is acknowledged, then prints the report (acknowledged
// sequence ranges, every answer's status) as one JSON object on stdout.
func sequenced(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devsmith-loadgen sequenced", flag.ContinueOnError)
	var cfg loadgen.SequencedConfig
	var url, key string
	var duration time.Duration
	fs.StringVar(&url, "url", "", "base URL of the running platform (required)")
	fs.StringVar(&key, "api-key", os.Getenv("DEVSMITH_API_KEY"), "the project's ingest key (default $DEVSMITH_API_KEY)")
	fs.StringVar(&cfg.RunID, "run-id", "", "run id every entry's context carries as run_id (required)")
	fs.StringVar(&cfg.Service, "service", "loadgen", "service_name of the batches")
	fs.Float64Var(&cfg.Rate, "rate", 1000, "logs/s, open loop")
	fs.IntVar(&cfg.BatchSize, "batch", 50, "entries per batch")
	fs.IntVar(&cfg.MaxInFlight, "max-inflight", 64, "batches outstanding at most")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "bounds one request")
	fs.DurationVar(&cfg.Drain, "drain", 60*time.Second, "after the stop, how long unacknowledged batches are still retried")
	fs.DurationVar(&duration, "duration", 0, "stop after this long (0: at SIGINT/SIGTERM)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if url == "" || key == "" || cfg.RunID == "" {
		return errors.New("--url, --api-key and --run-id are required")
	}
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	rep, err := loadgen.RunSequenced(ctx, loadgen.Target{BaseURL: url, APIKey: key}, cfg)
	if err != nil {
		return fmt.Errorf("sequenced run: %w", err)
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}
