package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/devsmith/logs/internal/apierr"
	"github.com/devsmith/logs/internal/authn"
)

// clock is a settable time for the buckets.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func key(project int64, secret string) *authn.Principal {
	return &authn.Principal{Kind: authn.KindProject, ProjectID: project, ProjectSlug: "p", KeyDigest: authn.Digest(secret)}
}

func newLocal(t *testing.T, cfg Config) (*Limiter, *clock) {
	t.Helper()
	l := New(zap.NewNop(), nil, cfg)
	c := newClock()
	l.now = c.now
	return l, c
}

func TestRequestBudgetIsATokenBucketPerKey(t *testing.T) {
	l, c := newLocal(t, Config{RequestsPerMinute: 60})
	a, b := key(1, "dsk_a"), key(1, "dsk_b")
	for i := range 60 {
		d := l.Check(a, 1)
		require.NoError(t, d.Err, "request %d of a full bucket", i)
		require.Equal(t, 60, d.Budget.Limit)
		require.Equal(t, 59-i, d.Budget.Remaining)
	}
	d := l.Check(a, 1)
	require.Error(t, d.Err, "the 61st request within the minute")
	require.Equal(t, 0, d.Budget.Remaining)
	require.Equal(t, time.Minute, d.Budget.Reset, "an empty bucket is full again after the window")

	st := status.Convert(apierr.ToStatus(context.Background(), zap.NewNop(), "/m", d.Err))
	require.Equal(t, codes.ResourceExhausted, st.Code())
	require.Contains(t, st.Message(), "60 requests a minute")
	var retry time.Duration
	for _, det := range st.Details() {
		if ri, ok := det.(*errdetails.RetryInfo); ok {
			retry = ri.GetRetryDelay().AsDuration()
		}
	}
	require.Equal(t, time.Second, retry, "one token refills in a second at 60 a minute")
	rl, ok := apierr.RateLimitOf(st)
	require.True(t, ok)
	require.Equal(t, apierr.RateLimit{Limit: 60, Remaining: 0, Reset: time.Minute, Window: time.Minute}, rl)
	httpStatus, after := apierr.HTTPStatus(st)
	require.Equal(t, 429, httpStatus)
	require.Equal(t, time.Second, after)

	require.NoError(t, l.Check(b, 1).Err, "another key of the same project has its own budget")

	c.advance(time.Second)
	require.NoError(t, l.Check(a, 1).Err, "a second later one request is allowed again")
	require.Error(t, l.Check(a, 1).Err, "and only one")
	c.advance(time.Hour)
	require.Equal(t, 59, l.Check(a, 1).Budget.Remaining, "the bucket holds no more than the limit")
}

func TestLogsBudgetPerProjectCountsEntries(t *testing.T) {
	l, c := newLocal(t, Config{RequestsPerMinute: 0, LogsPerSecond: 100})
	a1, a2, other := key(1, "dsk_a1"), key(1, "dsk_a2"), key(2, "dsk_o")
	require.NoError(t, l.Check(a1, 60).Err)
	require.NoError(t, l.Check(a2, 40).Err, "the project's keys share its budget")
	d := l.Check(a1, 1)
	require.Error(t, d.Err)
	require.Contains(t, status.Convert(apierr.ToStatus(context.Background(), zap.NewNop(), "/m", d.Err)).Message(), "100 log entries a second")
	require.Equal(t, apierr.RateLimit{Limit: 100, Remaining: 0, Reset: time.Second, Window: time.Second}, d.Budget)
	require.NoError(t, l.Check(other, 100).Err, "another project's budget is untouched")

	require.NoError(t, l.Check(a1, 0).Err, "a call without entries costs no entries")
	c.advance(500 * time.Millisecond)
	require.Error(t, l.Check(a1, 51).Err, "half a second refills 50")
	require.NoError(t, l.Check(a1, 50).Err)

	// A batch larger than the limit passes once the bucket is full, and
	// the debt refuses until it is paid.
	c.advance(time.Second)
	require.NoError(t, l.Check(a1, 250).Err)
	c.advance(time.Second)
	require.Error(t, l.Check(a1, 1).Err, "150 entries of debt are not paid in a second")
	c.advance(1500 * time.Millisecond)
	require.NoError(t, l.Check(a1, 1).Err)
}

func TestRefusedCallCostsNeitherBudget(t *testing.T) {
	l, _ := newLocal(t, Config{RequestsPerMinute: 5, LogsPerSecond: 10})
	a := key(1, "dsk_a")
	require.NoError(t, l.Check(a, 10).Err)
	d := l.Check(a, 10)
	require.Error(t, d.Err, "over the entries")
	require.Equal(t, 10, d.Budget.Limit, "the headers name the budget that refused")
	require.Equal(t, 3, l.Check(a, 0).Budget.Remaining, "the refused call took no request: 5, less the first and this one")
}

func TestUnlimited(t *testing.T) {
	l, _ := newLocal(t, Config{})
	for range 10_000 {
		d := l.Check(key(1, "dsk_a"), 10_000)
		require.NoError(t, d.Err)
		require.Zero(t, d.Budget.Limit)
	}
	require.Nil(t, HeaderMD(l.Check(key(1, "dsk_a"), 1).Budget), "no X-RateLimit headers without a limit")
	require.Equal(t, []string{"7"}, HeaderMD(apierr.RateLimit{Limit: 9, Remaining: 7, Reset: 1500 * time.Millisecond})[HeaderRemaining])
	require.Equal(t, []string{"2"}, HeaderMD(apierr.RateLimit{Limit: 9, Remaining: 7, Reset: 1500 * time.Millisecond})[HeaderReset], "Reset rounds up to whole seconds")
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, Config{}.Validate())
	err := Config{RequestsPerMinute: -1, LogsPerSecond: -2}.Validate()
	require.ErrorContains(t, err, "--rate-limit-requests-per-minute -1")
	require.ErrorContains(t, err, "--rate-limit-logs-per-second -2")
	r, l := int32(5), int32(7)
	require.Equal(t, Limits{RequestsPerMinute: 1000, LogsPerSecond: 10, IsDefault: true}, Config{RequestsPerMinute: 1000, LogsPerSecond: 10}.Effective(nil, nil))
	require.Equal(t, Limits{RequestsPerMinute: 5, LogsPerSecond: 10}, Config{RequestsPerMinute: 1000, LogsPerSecond: 10}.Effective(&r, nil))
	require.Equal(t, Limits{RequestsPerMinute: 1000, LogsPerSecond: 7}, Config{RequestsPerMinute: 1000, LogsPerSecond: 10}.Effective(nil, &l))
	require.True(t, errors.Is(apierr.RateLimited(time.Second, "x", apierr.RateLimit{}), apierr.ErrExhausted))
}

// BenchmarkCheck is the limiter's cost per batch on the hot path: both
// budgets, parallel callers of a few keys and projects.
func BenchmarkCheck(b *testing.B) {
	l := New(zap.NewNop(), nil, Config{RequestsPerMinute: 1 << 30, LogsPerSecond: 1 << 30})
	keys := []*authn.Principal{key(1, "dsk_1"), key(2, "dsk_2"), key(3, "dsk_3"), key(4, "dsk_4")}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if d := l.Check(keys[i%len(keys)], 100); d.Err != nil {
				b.Fatal(d.Err)
			}
			i++
		}
	})
}
