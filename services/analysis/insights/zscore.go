package insights

import "slices"

// RobustZ is the robust z-score spikes are judged by (score.go's baseline:
// the median of the baseline counts and 1.4826 × their median absolute
// deviation, floored by the Poisson noise) of the count c against the
// counts of the baseline windows, and the baseline's median. The alert
// rules' spike condition uses it (services/analysis/alerts).
func RobustZ(baseline []float64, c float64) (z, median float64) {
	b := baselineOf(slices.Clone(baseline), 1)
	return b.score(c), b.median
}
