// Command gin is an example Gin app shipping its logs to DevSmith Logs.
//
//	DEVSMITH_API_KEY=dsk_... PORT=8080 go run .
//
// GET / (200), GET /error (panics: logged at ERROR with its stack, answered
// 500), GET /health (not logged). Two routes fail the way real code does,
// each from one code path whatever the id, so that each is one error group
// on the platform's Errors page: GET /orders/:id/pay (panics with a
// *PaymentError "payment <id> failed: timeout after <n> ms" in chargeCard)
// and GET /users/:id (a runtime error, an assignment to a nil map, in
// loadUser). SIGTERM or Ctrl-C: stop, flush, exit.
package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/devsmith/logs/samples/gin/ginlog"
	"github.com/devsmith/logs/samples/gin/logger" // a copy of samples/go (samples/sync.sh)
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
	r.GET("/orders/:id/pay", payOrder)
	r.GET("/users/:id", showUser)
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

// PaymentError is a payment provider's failure.
type PaymentError struct {
	OrderID string
	Waited  int // milliseconds
}

func (e *PaymentError) Error() string {
	return fmt.Sprintf("payment %s failed: timeout after %d ms", e.OrderID, e.Waited)
}

// chargeCard stands for a payment provider's client that times out.
func chargeCard(orderID string) {
	panic(&PaymentError{OrderID: orderID, Waited: 1000 + rand.IntN(29000)})
}

func payOrder(c *gin.Context) {
	chargeCard(c.Param("id"))
	c.JSON(http.StatusOK, gin.H{"paid": true})
}

// loadUser caches into a map it never made: a runtime error.
func loadUser(id string) string {
	var cache map[string]string
	cache[id] = "loading"
	return cache[id]
}

func showUser(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"name": loadUser(c.Param("id"))}) }
