package loadgen

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMergeRanges: acknowledged batches, answered in any order, report as
// the fewest sorted ranges.
func TestMergeRanges(t *testing.T) {
	require.Equal(t, [][2]int64{{0, 149}, {200, 249}},
		mergeRanges([][2]int64{{100, 149}, {0, 49}, {200, 249}, {50, 99}}))
	require.Equal(t, [][2]int64{{0, 9}}, mergeRanges([][2]int64{{0, 9}, {3, 5}}))
	require.Nil(t, mergeRanges(nil))
}
