package ingestion

import (
	"fmt"
	"time"

	"github.com/devsmith/logs/internal/apierr"
)

// The errors this service answers with; apierr.ToStatus (the server's
// interceptor) turns them into statuses. Everything else is internal.

// retryAfter is how long refused callers are told to wait.
const retryAfter = time.Second

var (
	// errOverloaded: the write queue is full.
	errOverloaded = apierr.Unavailable(retryAfter, "ingestion is overloaded; retry later")
	// errStarting: partitions are not ensured yet.
	errStarting = apierr.Unavailable(retryAfter, "ingestion is starting; retry later")
	// errStopping: the service is shutting down.
	errStopping = apierr.Unavailable(retryAfter, "ingestion is shutting down; retry later")
	// errKeyRefused: a batch's key no longer belongs to an active project.
	errKeyRefused = apierr.New(apierr.ErrUnauthenticated, "invalid or revoked API key")
	// errNoIngestScope: a key that may only read.
	errNoIngestScope = apierr.New(apierr.ErrDenied, "this API key lacks the ingest scope: it may not send logs")
	// errTimedOut: the caller's deadline passed while the batch was queued
	// or being written (wrap the context's error with apierr.WithCause).
	errTimedOut = apierr.New(apierr.ErrDeadline, "request deadline exceeded; the batch may or may not be stored: retry it with the same batch_id")
	// errUnknownMethod: the authenticator was asked about another service's
	// method.
	errUnknownMethod = apierr.Unimplementedf("unknown method")
	// errDatabaseDown: a batch's write met an unreachable database.
	errDatabaseDown = apierr.Unavailable(retryAfter, "the database is unavailable; the batch may not be stored: retry it with the same batch_id")
	// errNoVerifier: API keys cannot be resolved (no identity client).
	errNoVerifier = apierr.Unavailable(0, "API key verification is not configured")
)

// errKeyExpired: a key past its expire_time.
func errKeyExpired(at time.Time) error {
	return apierr.New(apierr.ErrUnauthenticated, "API key expired at "+at.UTC().Format(time.RFC3339))
}

// The envelope errors refuse a batch whole.
var (
	errNoServiceName = apierr.Invalidf("service_name is required")
	errNoEntries     = apierr.Invalidf("logs must contain at least one entry")
)

func errLongServiceName() error {
	return apierr.Invalidf("service_name is longer than %d characters", maxNameChars)
}

func errLongBatchID() error {
	return apierr.Invalidf("batch_id is longer than %d characters", maxNameChars)
}

func errTooManyEntries(entries, limit int) error {
	return apierr.TooLargef("batch has %d entries; the limit is %d", entries, limit)
}

func errSlugMismatch(projectSlug string) error {
	return apierr.Deniedf("project_slug %q does not match the API key's project", cutRunes(projectSlug, 120))
}

// errWriteFailed wraps a failed write of a batch: the cause is logged, the
// client told the batch was not stored. A database that is down, stopping,
// recovering or whose connection broke is Unavailable with Retry-After:
// the batch is fine and a retry will do. When the connection broke during
// the commit the outcome is unknown, so the answer says to retry with the
// same batch_id (which deduplicates).
func errWriteFailed(err error) error {
	if apierr.DatabaseUnavailable(err) {
		return apierr.WithCause(errDatabaseDown, fmt.Errorf("writing batch: %w", err))
	}
	return apierr.Internal(fmt.Errorf("writing batch: %w", err), "storing the batch failed; it was not stored, retry it")
}

// streamPrefix names the batch of a stream that failed, for its error.
func streamPrefix(batches, count int64) string {
	return fmt.Sprintf("batch %d of the stream (the %d before it are committed, %d entries): ", batches+1, batches, count)
}
