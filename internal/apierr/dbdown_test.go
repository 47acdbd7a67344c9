package apierr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestDatabaseUnavailable(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"server stopping (57P01)", &pgconn.PgError{Code: "57P01"}, true},
		{"crash of another backend (57P02)", &pgconn.PgError{Code: "57P02"}, true},
		{"starting or recovering (57P03)", &pgconn.PgError{Code: "57P03"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"connection exception class", &pgconn.PgError{Code: "08006"}, true},
		{"connection cut under a statement", fmt.Errorf("writing batch: %w", io.ErrUnexpectedEOF), true},
		{"socket error", &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, true},
		{"pool's closed connection", fmt.Errorf("begin: %w", pgconn.ErrConnClosed), true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"bad statement", &pgconn.PgError{Code: "42601"}, false},
		{"anything else", errors.New("boom"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, DatabaseUnavailable(fmt.Errorf("doing X: %w", c.err)))
		})
	}
}

// TestToStatusDatabaseStopping: an error of a server that is shutting down
// is Unavailable with a retry delay (503 and Retry-After at the gateway),
// never Internal.
func TestToStatusDatabaseStopping(t *testing.T) {
	err := ToStatus(context.Background(), zap.NewNop(), "/m", fmt.Errorf("querying: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}))
	st := status.Convert(err)
	require.Equal(t, codes.Unavailable, st.Code())
	require.Equal(t, MsgDBDown, st.Message())
	_, retry := HTTPStatus(st)
	require.Positive(t, retry)
}
