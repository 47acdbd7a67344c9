// Command devsmith-stream ships the lines of stdin to DevSmith Logs over
// gRPC IngestStream, in batches of up to 100 lines or 1 second, and exits
// once the platform has confirmed every one (exit 0), or with exit 1 and
// the reason when it could not.
//
//	DEVSMITH_API_KEY=dsk_... devsmith-stream --addr localhost:9102 --service app < app.log
//
// SIGINT/SIGTERM stop the reading; what was read is still sent.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	grpcstream "github.com/devsmith/logs/samples/grpc-go"
	"github.com/devsmith/logs/samples/grpc-go/ingestpb"
)

func main() {
	addr := flag.String("addr", envOr("DEVSMITH_GRPC_ADDR", "localhost:9102"), "the ingestion service's gRPC address (env DEVSMITH_GRPC_ADDR)")
	service := flag.String("service", envOr("DEVSMITH_SERVICE", "devsmith-stream"), "service name of the entries (env DEVSMITH_SERVICE)")
	project := flag.String("project", os.Getenv("DEVSMITH_PROJECT"), "optional project slug, checked against the key (env DEVSMITH_PROJECT)")
	level := flag.String("level", "INFO", "level of every line")
	batchSize := flag.Int("batch-size", 100, "lines per batch")
	interval := flag.Duration("flush-interval", time.Second, "send a partial batch after this long")
	useTLS := flag.Bool("tls", false, "connect with TLS (system roots)")
	flag.Parse()
	key := os.Getenv("DEVSMITH_API_KEY")
	if key == "" {
		fmt.Fprintln(os.Stderr, "devsmith-stream: set DEVSMITH_API_KEY to the project's API key")
		os.Exit(2)
	}
	creds := insecure.NewCredentials()
	if *useTLS {
		creds = credentials.NewClientTLSFromCert(nil, "")
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		fmt.Fprintln(os.Stderr, "devsmith-stream:", err)
		os.Exit(2)
	}
	defer conn.Close()

	sig, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	batches := make(chan []*ingestpb.LogInput, 4) // bounded: the reader waits for the sender
	go readBatches(sig, bufio.NewScanner(os.Stdin), *level, *batchSize, *interval, batches)

	c := grpcstream.New(conn, grpcstream.Config{
		APIKey: key, Service: *service, Project: *project,
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "devsmith-stream: "+f+"\n", a...) },
	})
	res, err := c.Run(context.Background(), batches)
	fmt.Fprintf(os.Stderr, "devsmith-stream: %d entries stored in %d batches over %d streams (%d retried), %d rejected\n",
		res.Entries, res.Batches, res.Streams, res.Retries, res.Rejected)
	for _, r := range res.Reasons {
		fmt.Fprintln(os.Stderr, "devsmith-stream: rejected:", r)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devsmith-stream:", err)
		os.Exit(1)
	}
}

// readBatches groups lines into batches of up to size lines, sending a
// partial one after interval, and closes out at EOF or on a signal.
func readBatches(ctx context.Context, sc *bufio.Scanner, level string, size int, interval time.Duration, out chan<- []*ingestpb.LogInput) {
	defer close(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	lines := make(chan string)
	go func() {
		defer close(lines)
		for sc.Scan() {
			if sc.Text() != "" {
				lines <- sc.Text()
			}
		}
	}()
	var batch []*ingestpb.LogInput
	tick := time.NewTimer(interval)
	flush := func() {
		if len(batch) > 0 {
			out <- batch
			batch = nil
		}
		tick.Reset(interval)
	}
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				flush()
				return
			}
			batch = append(batch, &ingestpb.LogInput{Level: level, Message: l, Timestamp: time.Now().UTC().Format(time.RFC3339Nano)})
			if len(batch) >= size {
				flush()
			}
		case <-tick.C:
			flush()
		case <-ctx.Done():
			flush()
			return
		}
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
