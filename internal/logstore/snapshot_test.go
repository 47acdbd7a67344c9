package logstore

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSnapshot(t *testing.T) {
	t.Parallel()
	s, err := parseSnapshot("100:110:107,100,104,104")
	require.NoError(t, err)
	require.Equal(t, Snapshot{Xmax: 110, XIP: []uint64{100, 104, 107}}, s, "sorted, deduplicated")
	s, err = parseSnapshot("5:5:")
	require.NoError(t, err)
	require.Equal(t, Snapshot{Xmax: 5}, s)
	for _, bad := range []string{"", "1:2", "1:2:3:4", "x:5:", "1:x:", "1:5:7", "1:5:3,a", "1:5:3,"} {
		_, err := parseSnapshot(bad)
		require.Error(t, err, "%q", bad)
	}
}
