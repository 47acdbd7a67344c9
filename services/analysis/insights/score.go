package insights

import (
	"fmt"
	"math"
	"slices"
)

// The thresholds of the report's lists (docs/analysis.md, "Insights").
const (
	// listLen is the length of every list of the report.
	listLen = 10
	// examplesPerItem is the example entries of one item, newest first.
	examplesPerItem = 3

	// spikeMinCount: a pattern of a service is a spike only with at least
	// this many entries in the window.
	spikeMinCount = 10
	// spikeScore is the robust z-score a spike must reach, against the
	// baseline windows and against each seasonal reference.
	spikeScore = 3.5
	// madScale turns a median absolute deviation into a standard deviation
	// (for normal data).
	madScale = 1.4826
	// medianVariance: the variance of the median of n counts of variance
	// v is about medianVariance·v/n (π/2).
	medianVariance = 1.57
	// maxBaselineWindows bounds the baseline: windows of the window's
	// length just before it, as many as cover the previous 24 h, at most
	// this many (windows shorter than 15 min get a shorter baseline).
	maxBaselineWindows = 96

	// growMinCount and growFactor: a growing pattern has at least this
	// many entries and at least growFactor times its previous count.
	growMinCount = 20
	growFactor   = 2

	// serviceMinCount: a volume change is judged only when the larger of
	// the two windows has at least this many entries; serviceMinErrors the
	// same for errors. serviceFactor is the change that counts as sharp.
	serviceMinCount  = 20
	serviceMinErrors = 10
	serviceFactor    = 3
	// rateMinRise: an error rate that at least doubles must also rise by
	// this much (5 percentage points) to count.
	rateMinRise = 0.05
)

// robust is the baseline of one count: the median m of the n baseline
// windows and the scale of their spread, 1.4826 × their median absolute
// deviation, floored at max(1, √(m·(1 + 1.57/n))) (1 and m counted in
// entries read, when sampled) so that a flat baseline
// (all 0 or 1, or a steady rate whose MAD is 0) does not make every small
// rise infinite. The floor is the noise of a Poisson count of mean m plus
// that of the median of n such counts (variance ≈ 1.57·m/n): with one
// baseline window (a 24 h analysis) a rise must be 1.6 times larger than
// with 24 to count (BenchmarkAnalyze1M's random 24 h counts fired at 17%
// above the previous day without it).
type robust struct {
	median, scale float64
	unit          float64 // what one entry read counts for: 1, or 1/share when sampled
}

// baselineOf computes the robust baseline of counts (one per baseline
// window, zeros included), each entry read counting for unit entries (the
// inverse of the sampled share: the Poisson noise of a scaled count c is
// √(unit·c)). It sorts counts.
func baselineOf(counts []float64, unit float64) robust {
	if len(counts) == 0 {
		return robust{scale: unit, unit: unit}
	}
	slices.Sort(counts)
	med := median(counts)
	dev := make([]float64, len(counts))
	for i, c := range counts {
		dev[i] = math.Abs(c - med)
	}
	slices.Sort(dev)
	return robust{median: med, unit: unit, scale: max(madScale*median(dev), unit, math.Sqrt(unit*med*(1+medianVariance/float64(len(counts)))))}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// score is the robust z-score of c against b.
func (b robust) score(c float64) float64 { return (c - b.median) / b.scale }

// seasonalScore is the z-score of c against one seasonal reference: the
// count ref of the same window a day (or a week) earlier, on the scale of
// the baseline floored at √ref (the reference's own Poisson noise).
func (b robust) seasonalScore(c, ref float64) float64 {
	return (c - ref) / max(b.scale, math.Sqrt(b.unit*ref))
}

// spike tells whether a count c of a pattern of a service is a spike: at
// least spikeMinCount, a score against the baseline of at least spikeScore,
// and the same score against each seasonal reference that exists (refs:
// the counts of the same window 24 h and 7 d earlier, for the references
// in which the service sent entries). It returns the baseline score.
func spike(c float64, b robust, refs []float64) (float64, bool) {
	z := b.score(c)
	if c < spikeMinCount || z < spikeScore {
		return z, false
	}
	for _, r := range refs {
		if b.seasonalScore(c, r) < spikeScore {
			return z, false
		}
	}
	return z, true
}

// growth ranks a rise from prev to c: how many Poisson standard deviations
// of the previous rate it is, (c − prev) / √(prev + 1). ok tells whether it
// is a growing pattern at all (growMinCount, growFactor).
func growth(c, prev float64) (rank float64, ok bool) {
	return (c - prev) / math.Sqrt(prev+1), c >= growMinCount && c >= growFactor*prev
}

// serviceChange judges a service's window against the previous one: why it
// is affected ("" when it is not) and how much (the largest factor of its
// changes, for ranking).
func serviceChange(count, prev, errs, prevErrs float64) (reason string, magnitude float64) {
	var reasons []string
	add := func(r string, m float64) {
		reasons = append(reasons, r)
		magnitude = max(magnitude, m)
	}
	switch {
	case max(count, prev) < serviceMinCount:
	case count >= serviceFactor*prev:
		if prev == 0 {
			add(fmt.Sprintf("volume up from 0 to %.0f", count), count)
		} else {
			add(fmt.Sprintf("volume up %.0fx", count/prev), count/prev)
		}
	case count*serviceFactor <= prev && count > 0:
		add(fmt.Sprintf("volume down %.0f%%", 100*(1-count/prev)), prev/count)
	}
	if errs >= serviceMinErrors && errs >= serviceFactor*prevErrs {
		if prevErrs == 0 {
			add(fmt.Sprintf("errors up from 0 to %.0f", errs), errs)
		} else {
			add(fmt.Sprintf("errors up %.0fx", errs/prevErrs), errs/prevErrs)
		}
	} else if errs >= serviceMinErrors && count > 0 && prev > 0 {
		rate, prevRate := errs/count, prevErrs/prev
		if rate >= 2*prevRate && rate-prevRate >= rateMinRise {
			add(fmt.Sprintf("error rate %.0f%% → %.0f%%", 100*prevRate, 100*rate), rate/max(prevRate, 0.001))
		}
	}
	if len(reasons) == 0 {
		return "", 0
	}
	r := reasons[0]
	for _, s := range reasons[1:] {
		r += ", " + s
	}
	return r, magnitude
}
