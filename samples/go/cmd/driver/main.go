// Command driver logs DRIVER_COUNT entries through the Go sample logger and
// exits 0 once all of them were delivered (1 otherwise). For integration tests:
//
//	DEVSMITH_URL=... DEVSMITH_API_KEY=dsk_... DEVSMITH_SERVICE=driver-go \
//	DRIVER_COUNT=10 DRIVER_RUN_ID=r1 go run ./cmd/driver
//
// Entry i (0-based) has level debug/info/warn/error (cycling), message
// "driver go <run_id> <i>" and context {"run_id", "i", "lang": "go"}.
// DRIVER_INTERVAL (a duration, default 0) spaces the log calls out;
// DRIVER_CLOSE_TIMEOUT (default 60s) bounds the final flush.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	logger "github.com/devsmith/logs/samples/go"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "driver go:", err)
		os.Exit(1)
	}
}

func run() error {
	count := 10
	if v := os.Getenv("DRIVER_COUNT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("DRIVER_COUNT: expected a number, got %q", v)
		}
		count = n
	}
	runID := os.Getenv("DRIVER_RUN_ID")
	if runID == "" {
		runID = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	interval, err := durationEnv("DRIVER_INTERVAL", 0)
	if err != nil {
		return err
	}
	closeTimeout, err := durationEnv("DRIVER_CLOSE_TIMEOUT", time.Minute)
	if err != nil {
		return err
	}
	log, err := logger.FromEnv()
	if err != nil {
		return fmt.Errorf("starting the logger: %w", err)
	}
	levels := []string{"DEBUG", "INFO", "WARN", "ERROR"}
	for i := 0; i < count; i++ {
		log.Log(levels[i%len(levels)], fmt.Sprintf("driver go %s %d", runID, i),
			map[string]any{"run_id": runID, "i": i, "lang": "go"})
		if interval > 0 {
			time.Sleep(interval)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := log.Close(ctx); err != nil {
		return fmt.Errorf("delivering: %w", err)
	}
	s := log.Stats()
	fmt.Printf("driver go: run %s: logged %d, sent %d, dropped %d\n", runID, s.Logged, s.Sent, s.Dropped)
	return nil
}

func durationEnv(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := logger.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}
