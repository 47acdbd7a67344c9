package apierr

import (
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// DatabaseUnavailable reports whether err says the database could not be
// reached or went away under the statement - it is starting, shutting
// down, restarting after a crash, out of connections, or the connection
// broke - rather than that the statement itself failed. Such a request may
// be answered Unavailable and retried: nothing about it was wrong.
func DatabaseUnavailable(err error) bool {
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case len(pgErr.Code) == 5 && pgErr.Code[:2] == "08": // connection exception
			return true
		case pgErr.Code == "57P01", // admin_shutdown: the server is stopping
			pgErr.Code == "57P02", // crash_shutdown: another backend crashed
			pgErr.Code == "57P03", // cannot_connect_now: starting or recovering
			pgErr.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	// The server's socket closed under a statement (a killed or
	// stopped server): pgx reports the read or write that failed.
	var netErr *net.OpError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &netErr)
}
