package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// copySampleAlone copies samples/<name> into an empty folder outside the
// repository, as a user would, so nothing from the repository leaks in.
func copySampleAlone(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "samples", name)
	dst := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	return dst
}

// The gRPC streaming sample, copied alone out of the repository and built
// there, ships stdin over IngestStream to the all-in-one; the platform is
// restarted on the same database and address while lines keep coming. The
// client retries the failed stream with the same batch ids: every line is
// stored exactly once.
func TestGRPCStreamSampleAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := copySampleAlone(t, "grpc-go")
	bin := filepath.Join(t.TempDir(), "devsmith-stream")
	build := exec.Command("go", "build", "-o", bin, "./cmd/devsmith-stream")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the sample copied alone:\n%s", out)

	dsn := cluster.NewDatabase(t)
	ingestion := freeAddr(t)
	pl, p := startOnDatabase(t, dsn, "DEVSMITH_INGESTION_ADDR="+ingestion)
	admin := pl.login(t, adminEmail, adminPassword)
	key := pl.do(t, "POST", "/api/logs/projects", map[string]string{"name": "Stream", "slug": "stream"}, bearer(admin)).
		expect(t, 201).JSON["api_key"].(string)
	db := openDB(t, dsn)
	stored := func() (total, distinct int) {
		require.NoError(t, db.QueryRow(context.Background(),
			`SELECT count(*), count(DISTINCT message) FROM logs.entries WHERE service_name = 'grpc-sample'`).Scan(&total, &distinct))
		return
	}

	cmd := exec.Command(bin, "--addr", ingestion, "--service", "grpc-sample", "--project", "stream")
	cmd.Env = append(os.Environ(), "DEVSMITH_API_KEY="+key)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	const n = 6000
	written := make(chan int, n)
	go func() {
		defer stdin.Close()
		for i := range n {
			if _, err := fmt.Fprintf(stdin, "grpc line %05d\n", i); err != nil {
				return
			}
			written <- i
			if i%4 == 0 {
				time.Sleep(time.Millisecond) // a steady flow, not one burst
			}
		}
	}()

	// Once the first lines are stored, restart the platform mid-stream.
	require.Eventually(t, func() bool { total, _ := stored(); return total >= 1000 }, 60*time.Second, 20*time.Millisecond)
	p.stop(t)
	require.Equal(t, 0, p.cmd.ProcessState.ExitCode())
	restartedAfter := len(written)
	startOnDatabase(t, dsn, "DEVSMITH_INGESTION_ADDR="+ingestion)

	select {
	case err := <-exited:
		require.NoError(t, err, "the sample failed:\n%s", stderr.String())
	case <-time.After(120 * time.Second):
		t.Fatalf("the sample did not finish:\n%s", stderr.String())
	}
	require.Less(t, restartedAfter, n, "the restart happened while lines were still coming")
	total, distinct := stored()
	require.Equal(t, n, total, "every line stored once:\n%s", stderr.String())
	require.Equal(t, n, distinct)
	m := regexp.MustCompile(`(\d+) entries stored in (\d+) batches over (\d+) streams \((\d+) retried\)`).FindStringSubmatch(stderr.String())
	require.NotNil(t, m, stderr.String())
	require.Equal(t, strconv.Itoa(n), m[1], "the client counted what the platform confirmed")
	retried, _ := strconv.Atoi(m[4])
	require.Positive(t, retried, "the restart made a stream fail and be retried:\n%s", stderr.String())
}
