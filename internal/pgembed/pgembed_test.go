package pgembed

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

func TestStartReuseStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := reachableTempDir(t)
	log := zaptest.NewLogger(t)

	srv, err := Start(ctx, log, Config{DataDir: dir})
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, srv.DSN())
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	require.NoError(t, srv.Stop(ctx))

	_, err = pgx.Connect(ctx, srv.DSN())
	require.Error(t, err, "server must be down after Stop")

	// The next start reuses the cluster: what was committed is still there.
	srv, err = Start(ctx, log, Config{DataDir: dir})
	require.NoError(t, err)
	defer srv.Stop(ctx)
	conn, err = pgx.Connect(ctx, srv.DSN())
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v int
	require.NoError(t, conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v))
	require.Equal(t, 42, v)

	// A second server on the same folder is refused with a clear error.
	_, err = Start(ctx, log, Config{DataDir: dir})
	require.ErrorContains(t, err, "already running")
}

func TestUnreachableDataDirNamesTheFix(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Log("not root: the server runs as the calling user, so no other user needs to reach the folder")
		return
	}
	locked := filepath.Join(reachableTempDir(t), "home")
	require.NoError(t, os.Mkdir(locked, 0o700))
	_, err := Start(context.Background(), zaptest.NewLogger(t), Config{DataDir: filepath.Join(locked, "data")})
	require.ErrorContains(t, err, "cannot reach")
	require.ErrorContains(t, err, "DEVSMITH_DATA_DIR")
}

// reachableTempDir is a temporary folder that the server's OS user can enter
// (t.TempDir's parent is 0700).
func reachableTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "pgembed-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
