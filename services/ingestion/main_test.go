package ingestion

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

// TestMain checks, once every test has ended and the cluster is stopped,
// that no goroutine is left: writers, maintenance and gRPC servers end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.WithCluster(m, &cluster)) }
