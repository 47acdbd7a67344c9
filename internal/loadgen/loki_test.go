package loadgen

import (
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/require"
)

func TestLokiPushCarriesTheBatch(t *testing.T) {
	b := Shape{RunID: "peak-0123abcd", Services: []string{"api"}}.NewBatches(5, 1, 50, false)[0]
	p, err := newLokiPush(b)
	require.NoError(t, err)
	decode := func(body []byte) push.PushRequest {
		raw, err := snappy.Decode(nil, body)
		require.NoError(t, err)
		var req push.PushRequest
		require.NoError(t, req.Unmarshal(raw))
		return req
	}
	first, err := p.body(time.Microsecond)
	require.NoError(t, err)
	req := decode(first)
	n := 0
	byMessage := map[string]push.Entry{}
	for _, s := range req.Streams {
		require.Contains(t, s.Labels, `service_name="api"`)
		for _, e := range s.Entries {
			byMessage[e.Line] = e
			n++
			run := ""
			for _, m := range e.StructuredMetadata {
				if m.Name == "run" {
					run = m.Value
				}
			}
			require.Equal(t, "peak-0123abcd", run, "the stored-entries check counts context.run")
			require.Zero(t, e.Timestamp.Nanosecond()%1000, "whole microseconds: no _timestamp_ns stored")
		}
	}
	require.Equal(t, len(b.Entries), n)
	for _, e := range b.Entries {
		got, ok := byMessage[e.Message]
		require.True(t, ok, "entry %q", e.Message)
		require.True(t, e.TS.Truncate(time.Millisecond).Add(time.Microsecond).Equal(got.Timestamp))
	}

	second, err := p.body(2 * time.Microsecond)
	require.NoError(t, err)
	require.NotEqual(t, first, second, "each request's body differs (the platform dedupes equal bodies)")
}
