package keyuse

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	identityv1 "github.com/devsmith/logs/gen/devsmith/identity/v1"
)

// calls records the reports a Reporter sends (the projects service's side
// is tested in services/projects, TestRecordKeyUse, and end to end in
// e2e/keys_test.go).
type calls struct {
	mu   sync.Mutex
	got  [][]*identityv1.KeyUse
	fail error
}

func (c *calls) RecordKeyUse(_ context.Context, uses []*identityv1.KeyUse) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, uses)
	return c.fail
}

func TestReporterSendsAKeyOnceAMinutePerAddress(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	c := &calls{}
	r := New(zaptest.NewLogger(t), c, func() time.Time { return now })
	for range 1000 {
		r.Note(1, "10.0.0.1")
	}
	r.Note(2, "10.0.0.9")
	r.Flush(context.Background())
	require.Len(t, c.got, 1, "one call for every pending key")
	require.Len(t, c.got[0], 2)

	r.Note(1, "10.0.0.1")
	r.Flush(context.Background())
	require.Len(t, c.got, 1, "same minute, same address: nothing to send")

	r.Note(1, "10.0.0.2")
	now = now.Add(time.Minute)
	r.Note(2, "10.0.0.9")
	r.Flush(context.Background())
	require.Len(t, c.got, 2)
	byKey := map[int64]*identityv1.KeyUse{}
	for _, u := range c.got[1] {
		byKey[u.GetKeyId()] = u
	}
	require.Equal(t, "10.0.0.2", byKey[1].GetAddress(), "a new address is sent at once")
	require.Equal(t, time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC), byKey[1].GetUseTime().AsTime())
	require.Equal(t, time.Date(2026, 3, 4, 5, 7, 0, 0, time.UTC), byKey[2].GetUseTime().AsTime(), "a new minute, to the minute")

	// A failed report is sent again at the key's next use.
	c.fail = errors.New("projects service unreachable")
	r.Note(3, "10.0.0.3")
	r.Flush(context.Background())
	c.fail = nil
	r.Note(3, "10.0.0.3")
	r.Flush(context.Background())
	require.Len(t, c.got, 4)
	require.Equal(t, int64(3), c.got[3][0].GetKeyId())

	var nilReporter *Reporter
	nilReporter.Note(1, "x") // services without an identity client have none
}
