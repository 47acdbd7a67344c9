package gateway

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests (the batch and tail
// handlers end with their requests).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
