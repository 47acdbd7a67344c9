package analysis

import (
	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// The errors several paths of this service answer with. Client errors of
// apierr's kinds name the field that was wrong (apierr.Invalidf, ...);
// everything else is internal, logged and answered as Internal by the
// server's interceptor (apierr.ToStatus).
var (
	// errNotUser is returned when a handler is reached without a signed-in
	// user (a wiring mistake, or a test without a principal).
	errNotUser = authn.ErrNoCredentials
	// errNoIdentity: sessions cannot be resolved (no identity client).
	errNoIdentity = apierr.Unavailable(0, "sign-in is not available: the analysis service has no identity client")
	// errSinceAfterUntil is a window that ends before it starts.
	errSinceAfterUntil = apierr.New(apierr.ErrInvalid, "since must be before until")
)
