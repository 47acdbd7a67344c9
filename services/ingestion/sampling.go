package ingestion

import (
	"github.com/devsmith/logs/internal/logstore"
	"github.com/devsmith/logs/internal/logstore/signature"
)

// Sampling (docs/sampling.md). A project's rule keeps a fraction of its
// TRACE/DEBUG entries (debug rate) and of its INFO entries (info rate);
// WARN, ERROR and FATAL are always kept. The decision is a hash of the
// batch (its service and batch_id), the entry's index in it, its timestamp
// and its message's signature, compared with the rate: the same batch sent
// again keeps the same entries (a retry stores what the first attempt would
// have), repeated identical messages are each kept with the rate's
// probability (the index or the time differs: batches without a batch_id
// that send the same message at the same index, say one entry per batch,
// still differ by time), and it costs a few multiplications per entry, with
// no allocation.

// rate is the fraction of entries of level the rule keeps; 1 for the
// levels never sampled.
func (r samplingRule) rate(level logstore.Level) float32 {
	switch {
	case level <= logstore.LevelDebug:
		return r.debug
	case level == logstore.LevelInfo:
		return r.info
	}
	return 1
}

// sampler decides which entries of one batch a rule keeps.
type sampler struct {
	seed uint64
}

// newSampler is the sampler of a batch of service with batchID: its seed
// is the FNV-1a hash package signature computes of tokens, over the two.
func newSampler(service, batchID string) sampler {
	return sampler{seed: signature.Hash([]string{service, batchID})}
}

// mix64 is splitmix64's finaliser: every input bit affects every output
// bit, so consecutive indexes give independent-looking values.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// keep tells whether the entry at index with signature sig and timestamp
// ts (microseconds) is kept at rate (in (0, 1]; 1 keeps every entry): a
// uniform value in [0, 1) from the hash, below rate.
func (s sampler) keep(index int, sig, ts int64, rate float32) bool {
	if rate >= 1 {
		return true
	}
	x := mix64(s.seed ^ mix64(mix64(uint64(ts))^uint64(index)*0x9e3779b97f4a7c15^uint64(sig)))
	return float64(x>>11)*(1.0/(1<<53)) < float64(rate)
}

// sampledDay counts the entries of a batch a rule left out on one UTC day,
// and the newest one's ts (logs.entry_rollups.sampled_out).
type sampledDay struct {
	day  int64 // days since the Unix epoch
	n    int64
	last int64 // microseconds
}

// addSampledOut counts an entry left out at ts.
func (b *batch) addSampledOut(ts int64) {
	b.out.SampledOut++
	d := floorDiv(ts, microsPerDay)
	for i := range b.sampledOut {
		if s := &b.sampledOut[i]; s.day == d {
			s.n++
			s.last = max(s.last, ts)
			return
		}
	}
	b.sampledOut = append(b.sampledOut, sampledDay{day: d, n: 1, last: ts})
}
