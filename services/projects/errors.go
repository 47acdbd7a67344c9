package projects

import (
	"fmt"
	"math"
	"time"

	"github.com/devsmith/logs/internal/apierr"
)

// Errors are client errors of apierr's kinds (apierr.Invalidf, ...), or
// wrapped errors the server's interceptor (apierr.ToStatus) logs and
// answers as Internal. These are the ones several paths share.

// Messages shared by several paths (and the tests).
const (
	msgBadSession  = "session is invalid or expired; sign in again"
	msgBadLogin    = "invalid email or password"
	msgBadAPIKey   = "invalid or revoked API key"
	msgAdminOnly   = "admin role required"
	msgBadPage     = "invalid page_token"
	msgUnavailable = "credentials cannot be checked right now; retry shortly"
)

var (
	errBadSession = apierr.New(apierr.ErrUnauthenticated, msgBadSession)
	errBadLogin   = apierr.New(apierr.ErrUnauthenticated, msgBadLogin)
	errBadAPIKey  = apierr.New(apierr.ErrUnauthenticated, msgBadAPIKey)
	errAdminOnly  = apierr.New(apierr.ErrDenied, msgAdminOnly)
	errBadPage    = apierr.New(apierr.ErrInvalid, msgBadPage)
	// errBadServiceToken: an IdentityService call with a wrong service
	// credential.
	errBadServiceToken = apierr.New(apierr.ErrUnauthenticated, "invalid service credential")
	// errKeyNotSession: a project API key where a session token is needed.
	errKeyNotSession = apierr.New(apierr.ErrUnauthenticated, "this method needs a user's session token, not a project API key")
	// errNoAPIKey: ResolveApiKey without a key.
	errNoAPIKey = apierr.New(apierr.ErrUnauthenticated, "API key required: send `Authorization: Bearer dsk_...` or `X-API-Key: dsk_...`")
)

// errKeyExpired: an API key past its expire_time.
func errKeyExpired(at time.Time) error {
	return apierr.New(apierr.ErrUnauthenticated, "API key expired at "+at.UTC().Format(time.RFC3339))
}

// errCredentialsUnchecked: a session could not be resolved for a reason
// other than the session itself (the cause is logged).
func errCredentialsUnchecked(cause error) error {
	return apierr.WithCause(apierr.Unavailable(0, msgUnavailable), cause)
}

// Answers during a lockout (lockout.go), completed with the seconds left.
const (
	msgSignInLocked = "too many failed sign-ins; retry in %d s"
	msgKeysLocked   = "too many invalid API keys from this address; retry in %d s"
)

// errLockedOut: the caller's address or account is locked out for wait;
// msg is msgSignInLocked or msgKeysLocked.
func errLockedOut(wait time.Duration, msg string) error {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	return apierr.Throttled(wait, fmt.Sprintf(msg, secs))
}
