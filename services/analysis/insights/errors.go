package insights

import (
	"time"

	"github.com/devsmith/logs/internal/apierr"
)

// retryAfter is the delay a refused analysis is told to wait: about the
// time an analysis of a large range takes.
const retryAfter = 2 * time.Second

// The client errors of the analyses (apierr.ToStatus maps them).
var (
	// errBusy refuses an analysis while the replica computes its maximum
	// (ResourceExhausted with RetryInfo, 429 with Retry-After over REST).
	errBusy = apierr.Throttled(retryAfter, "too many analyses are running; retry shortly")
	// errTimedOut is an analysis whose counts were not read within the
	// timeout (DeadlineExceeded, 504).
	errTimedOut = apierr.New(apierr.ErrDeadline, "the analysis did not finish in time; analyse a shorter range")
	// errTooMany refuses an analysis whose range holds more pattern series
	// than an analysis may hold (413).
	errTooMany = apierr.TooLargef("the range holds more than %d patterns of services; analyse fewer projects", maxSeries)
	// errClosed refuses an analysis once the Analyzer is closed (the
	// replica is stopping).
	errClosed = apierr.Unavailable(0, "the analysis service is shutting down; retry")
)
