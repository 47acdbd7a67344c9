package query

import (
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// The errors several paths of this service answer with. Client errors of
// apierr's kinds name the field that was wrong (apierr.Invalidf, ...);
// everything else is internal, logged and answered as Internal by the
// server's interceptor (apierr.ToStatus).
var (
	// errBadPageToken is a page token that is garbled or was made for other
	// filters.
	errBadPageToken = apierr.New(apierr.ErrInvalid, "invalid page_token")
	// errFellBehind ends a tail whose subscriber could not keep up.
	errFellBehind = apierr.New(apierr.ErrExhausted, "tail fell behind; reconnect")
	// errLostTrack ends the tails when the journal may have been pruned past
	// what they were sent (the listener was disconnected too long).
	errLostTrack = apierr.Unavailable(0, "tail lost track of new entries while the database was unreachable; reconnect")
	// errShuttingDown refuses a tail while the service stops.
	errShuttingDown = apierr.Unavailable(0, "tail is shutting down; reconnect")
	// errNotUser is returned when a handler is reached without a signed-in
	// user (a wiring mistake, or a test without a principal).
	errNotUser = authn.ErrNoCredentials
	// errNoIdentity: sessions cannot be resolved (no identity client).
	errNoIdentity = apierr.Unavailable(0, "sign-in is not available: the query service has no identity client")
)
