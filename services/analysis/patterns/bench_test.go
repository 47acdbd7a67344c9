package patterns

import (
	"testing"
)

// BenchmarkAdd mines the 8 LogHub systems' 16,000 lines, each system into a
// fresh miner as a project would; one op is one line.
func BenchmarkAdd(b *testing.B) {
	var sets [][]string
	for _, sys := range systems {
		var lines []string
		for _, d := range loadLogHub(b, sys.name) {
			lines = append(lines, d.content)
		}
		sets = append(sets, lines)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for n < b.N {
		for _, lines := range sets {
			m := New(Config{})
			for _, l := range lines {
				m.Add(l)
				n++
				if n == b.N {
					break
				}
			}
			if n == b.N {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
