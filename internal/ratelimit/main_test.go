package ratelimit

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/devsmith/logs/internal/pgtest"
)

var cluster *pgtest.Cluster

// TestMain runs the tests against a real PostgreSQL and checks that no
// goroutine outlives them (Run ends with its context).
func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.WithCluster(m, &cluster)) }
