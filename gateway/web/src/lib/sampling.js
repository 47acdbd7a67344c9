// Sampled statistics (docs/sampling.md). When entries of a range were kept
// by a sampling rule, the stats carry estimates of what was sent (each kept
// entry counts 1/sample_rate); the tiles and histogram show those, marked
// as estimated, beside the stored counts. Pure.

/**
 * What the tiles and histogram show of a GetStats answer: {sampled, total,
 * stored, byLevel, exactByLevel, histogram}. Not sampled: the counts, as
 * they are. Sampled: the estimates, the histogram's buckets with their
 * estimated counts as `counts`.
 */
export function shownStats(s) {
  const stored = Number(s.total) || 0;
  const exactByLevel = s.by_level || {};
  if (!s.sampled) {
    return { sampled: false, total: stored, stored, byLevel: exactByLevel, exactByLevel, histogram: s.histogram || [] };
  }
  return {
    sampled: true,
    total: Number(s.estimated_total) || 0,
    stored,
    byLevel: s.estimated_by_level || exactByLevel,
    exactByLevel,
    histogram: (s.histogram || []).map((b) => ({ ...b, stored: b.counts, counts: b.estimated_counts || b.counts })),
  };
}

/** Whether a level's figure is an estimate (it differs from its count). */
export function isEstimated(shown, level) {
  return shown.sampled && Number(shown.byLevel[level] || 0) !== Number(shown.exactByLevel[level] || 0);
}

/**
 * How many entries sent one kept at rate stands for, to one decimal (10
 * for 0.1, 3.3 for 0.3); 0 for an entry not sampled.
 */
export function standsFor(rate) {
  const r = Number(rate);
  if (rate == null || !(r > 0) || r >= 1) return 0;
  return Math.round(10 / r) / 10;
}

/** "kept 1 in 10" for an entry kept at rate 0.1; '' for one not sampled. */
export function keptText(rate) {
  const n = standsFor(rate);
  return n ? `kept 1 in ${n}` : '';
}
