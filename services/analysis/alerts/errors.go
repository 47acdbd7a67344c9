package alerts

import "github.com/devsmith/logs/internal/apierr"

// The errors this package answers with; everything else is internal.
var (
	errNoSecretsKey = apierr.New(apierr.ErrPrecondition, "channel secrets need a secrets key: set DEVSMITH_SECRETS_KEY on the analysis service")
	errNotManager   = apierr.New(apierr.ErrDenied, "only the project's owner, maintainers and admins manage its alerts")
	errBadPageToken = apierr.New(apierr.ErrInvalid, "page_token is not a token of this listing")
)
