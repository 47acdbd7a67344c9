// Command gin is an example Gin app shipping its logs to DevSmith Logs.
//
//	DEVSMITH_API_KEY=dsk_... PORT=8080 go run .
//
// GET / (200), GET /error (panics: logged at ERROR with its stack, answered
// 500), GET /health (not logged). SIGTERM or Ctrl-C: stop, flush, exit.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/devsmith/logs/samples/gin/ginlog"
	logger "github.com/devsmith/logs/samples/go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, func(addr string) { fmt.Printf("gin example listening on http://%s\n", addr) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "gin example:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down and flushes the logs.
func run(ctx context.Context, ready func(addr string)) error {
	service := os.Getenv("DEVSMITH_SERVICE")
	if service == "" {
		service = "gin-example"
	}
	log, err := logger.New(logger.Config{ServiceName: service})
	if err != nil {
		return fmt.Errorf("starting the logger: %w", err)
	}
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	r := gin.New()
	r.Use(ginlog.Middleware(log, ginlog.Options{}))
	r.GET("/", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"hello": "world"}) })
	r.GET("/error", func(c *gin.Context) { panic("boom: /error always fails") })
	r.GET("/health", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })

	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		_ = log.Close(context.Background())
		return fmt.Errorf("listening: %w", err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready(ln.Addr().String())
	log.Info("gin example started", map[string]any{"addr": ln.Addr().String()})

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	log.Info("gin example stopping", nil)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = fmt.Errorf("shutting down: %w", serr)
	}
	if cerr := log.Close(shutdownCtx); cerr != nil && err == nil {
		err = fmt.Errorf("flushing logs: %w", cerr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
