// Geometry of the stacked histogram and the drag-to-zoom gesture. Pure.

import { LEVELS } from './filters.js';

/** Total entries of a bucket (its counts summed over levels). */
export function bucketTotal(bucket) {
  let n = 0;
  for (const v of Object.values(bucket.counts || {})) n += Number(v) || 0;
  return n;
}

/** A round number ≥ n for the y axis: 1, 2, 5, 10, 20, 50, ... */
export function niceMax(n) {
  if (!(n > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/**
 * Stacked segments of each bucket, bottom up in level order (TRACE at the
 * bottom, FATAL on top): [{index, level, count, y0, y1}] with y in units of
 * entries.
 */
export function stackSegments(histogram) {
  const out = [];
  histogram.forEach((b, index) => {
    let y = 0;
    for (const level of LEVELS) {
      const c = Number((b.counts || {})[level]) || 0;
      if (c <= 0) continue;
      out.push({ index, level, count: c, y0: y, y1: y + c });
      y += c;
    }
  });
  return out;
}

/** The bucket under x (0..width) of n equal-width buckets, clamped. */
export function indexAtX(x, width, n) {
  if (n <= 0 || !(width > 0)) return 0;
  const i = Math.floor((x / width) * n);
  return Math.min(n - 1, Math.max(0, i));
}

/**
 * The time range covered by a drag from bucket i to bucket j (either
 * order, inclusive): {since, until} as ISO strings, clipped to the range
 * the stats covered (`bounds.since`/`bounds.until`) since the first and
 * last buckets are aligned to round widths and may stick out.
 */
export function rangeFromDrag(histogram, bucketSeconds, i, j, bounds = {}) {
  if (!histogram.length) return null;
  const n = histogram.length;
  const a = Math.max(0, Math.min(i, j, n - 1));
  const b = Math.min(n - 1, Math.max(i, j, 0));
  let since = Date.parse(histogram[a].start);
  let until = Date.parse(histogram[b].start) + bucketSeconds * 1000;
  const lo = bounds.since ? Date.parse(bounds.since) : NaN;
  const hi = bounds.until ? Date.parse(bounds.until) : NaN;
  if (Number.isFinite(lo) && since < lo) since = lo;
  if (Number.isFinite(hi) && until > hi) until = hi;
  if (!(until > since)) return null;
  return { since: new Date(since).toISOString(), until: new Date(until).toISOString() };
}
