package pgembed

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

// TestFreezeThawAndImmediateStop: a frozen server answers nothing, not even
// on an open connection, until thawed; after an immediate shutdown the next
// start recovers what was committed.
func TestFreezeThawAndImmediateStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := reachableTempDir(t)
	log := zaptest.NewLogger(t)
	srv, err := Start(ctx, log, Config{DataDir: dir})
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, srv.DSN())
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
	require.NoError(t, err)

	require.NoError(t, srv.Freeze())
	qctx, qcancel := context.WithTimeout(ctx, time.Second)
	_, err = conn.Exec(qctx, "SELECT 1")
	qcancel()
	require.Error(t, err, "a frozen server answered")
	require.NoError(t, srv.Thaw())
	conn2, err := pgx.Connect(ctx, srv.DSN())
	require.NoError(t, err, "thawed, the server accepts connections again")
	require.NoError(t, conn2.Close(ctx))

	require.NoError(t, srv.StopImmediate(ctx))
	srv, err = Start(ctx, log, Config{DataDir: dir})
	require.NoError(t, err, "crash recovery")
	defer srv.Stop(ctx)
	conn, err = pgx.Connect(ctx, srv.DSN())
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v int
	require.NoError(t, conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v))
	require.Equal(t, 7, v)
}
