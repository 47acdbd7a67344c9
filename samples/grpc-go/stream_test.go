package grpcstream

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func withDetail(t *testing.T, c codes.Code, d ...any) error {
	st := status.New(c, "x")
	for _, v := range d {
		var err error
		switch v := v.(type) {
		case *errdetails.RetryInfo:
			st, err = st.WithDetails(v)
		case *errdetails.ErrorInfo:
			st, err = st.WithDetails(v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

// Which failures are sent again, and after the delay the platform asked.
func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		delay time.Duration
		retry bool
	}{
		{"unavailable with RetryInfo", withDetail(t, codes.Unavailable, &errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)}), 1500 * time.Millisecond, true},
		{"unavailable without", withDetail(t, codes.Unavailable), 0, true},
		{"rate limited", withDetail(t, codes.ResourceExhausted, &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}), time.Second, true},
		{"too large is not retried", withDetail(t, codes.ResourceExhausted, &errdetails.ErrorInfo{Reason: "PAYLOAD_TOO_LARGE", Domain: "logs.devsmith"}), 0, false},
		{"internal: storing failed, retry it", withDetail(t, codes.Internal), 0, true},
		{"bad key", withDetail(t, codes.Unauthenticated), 0, false},
		{"bad batch", withDetail(t, codes.InvalidArgument), 0, false},
		{"wrong project", withDetail(t, codes.PermissionDenied), 0, false},
		{"not a status", errors.New("connection reset"), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := retryDelay(tc.err)
			if ok != tc.retry || d != tc.delay {
				t.Fatalf("retryDelay = %s, %t; want %s, %t", d, ok, tc.delay, tc.retry)
			}
		})
	}
}

func TestBackoffGrowsWithinBounds(t *testing.T) {
	c := New(nil, Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	for n := 1; n <= 12; n++ {
		ceil := min(100*time.Millisecond<<(n-1), time.Second)
		if d := c.backoff(n); d < ceil/2 || d > ceil {
			t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, d, ceil/2, ceil)
		}
	}
}

func TestBatchIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewBatchID()
		if len(id) != 32 || seen[id] {
			t.Fatalf("batch id %q repeated or malformed", id)
		}
		seen[id] = true
	}
}
