package tailnotify_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/services/ingestion/tailnotify"
)

func TestEncodeDecode(t *testing.T) {
	p := tailnotify.Payload{
		ProjectID: 7,
		MinID:     1025,
		MaxID:     2047,
		MinTS:     time.Date(2026, 3, 10, 15, 0, 0, 123456000, time.UTC),
		MaxTS:     time.Date(2026, 3, 10, 17, 0, 0, 0, time.FixedZone("x", 3600)),
	}
	s := tailnotify.Encode(p)
	require.Equal(t, `{"project_id":7,"min_id":1025,"max_id":2047,"min_ts":"2026-03-10T15:00:00.123456Z","max_ts":"2026-03-10T16:00:00Z"}`, s)
	got, err := tailnotify.Decode(s)
	require.NoError(t, err)
	require.Equal(t, p.ProjectID, got.ProjectID)
	require.Equal(t, p.MinID, got.MinID)
	require.Equal(t, p.MaxID, got.MaxID)
	require.True(t, p.MinTS.Equal(got.MinTS))
	require.True(t, p.MaxTS.Equal(got.MaxTS))

	for _, bad := range []string{"", "{", `{"project_id":1,"min_id":5,"max_id":4,"min_ts":"2026-03-10T15:00:00Z","max_ts":"2026-03-10T15:00:00Z"}`, `{"min_id":1}`} {
		_, err := tailnotify.Decode(bad)
		require.Error(t, err, bad)
	}
}
