package patterns

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/logstore/signature"
)

// TestMiningSignaturesGroupsAsMiningLines: the platform mines each distinct
// signature once (its first message, in first-seen order) and puts every
// entry in the pattern of its signature. That must group the LogHub lines
// exactly as mining every line does, and a new pattern's id must be the
// signature of the message that founded it.
func TestMiningSignaturesGroupsAsMiningLines(t *testing.T) {
	t.Parallel()
	for _, sys := range systems {
		t.Run(sys.name, func(t *testing.T) {
			t.Parallel()
			data := loadLogHub(t, sys.name)
			lines := make([]string, len(data))
			for i, d := range data {
				lines[i] = d.content
			}
			all, _ := mineAll(lines)

			var h signature.Hasher
			m := New(Config{})
			bySig := make(map[int64]ID)
			sigs := make([]int64, len(lines))
			for i, l := range lines {
				s := h.Of(l)
				sigs[i] = s
				if _, ok := bySig[s]; !ok {
					before := len(m.Patterns())
					id := m.Add(l)
					bySig[s] = id
					if len(m.Patterns()) > before {
						require.Equal(t, ID(uint64(s)), id, "a new pattern's id is its founding signature")
					}
				}
			}
			got := make([]ID, len(lines))
			for i, s := range sigs {
				got[i] = m.Resolve(bySig[s])
			}
			// The same partition of the lines.
			require.InDelta(t, 1.0, groupingAccuracy(stringsOf(all), got), 1e-9)
		})
	}
}

func stringsOf(ids []ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
