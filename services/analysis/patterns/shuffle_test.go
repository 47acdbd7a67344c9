package patterns

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGroupingAccuracyShuffled mines each LogHub system in three random
// orders: the result must not hang on the order the lines happen to come in.
func TestGroupingAccuracyShuffled(t *testing.T) {
	t.Parallel()
	var rows []string
	for seed := uint64(1); seed <= 3; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		sum, lowest := 0.0, 1.0
		for _, sys := range systems {
			data := loadLogHub(t, sys.name)
			r.Shuffle(len(data), func(i, j int) { data[i], data[j] = data[j], data[i] })
			lines := make([]string, len(data))
			truth := make([]string, len(data))
			for i, d := range data {
				lines[i], truth[i] = d.content, d.event
			}
			ids, _ := mineAll(lines)
			ga := groupingAccuracy(truth, ids)
			sum += ga
			lowest = min(lowest, ga)
			rows = append(rows, fmt.Sprintf("seed %d %-10s %.4f", seed, sys.name, ga))
		}
		avg := sum / float64(len(systems))
		rows = append(rows, fmt.Sprintf("seed %d average    %.4f", seed, avg))
		require.GreaterOrEqual(t, avg, 0.95, "average, order seed %d", seed)
		require.GreaterOrEqual(t, lowest, 0.85, "lowest system, order seed %d", seed)
	}
	t.Log("shuffled orders\n" + strings.Join(rows, "\n"))
}
