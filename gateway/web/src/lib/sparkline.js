// Geometry of a pattern's sparkline: its trend (count buckets, oldest
// first) as the points of an SVG path. Pure; the component only draws it.

/**
 * The sparkline of `trend` ([{start, count}], counts as numbers or the
 * strings int64 arrives as) in a width × height box with `pad` units kept
 * free at the top and bottom so the stroke is not clipped:
 * {line, area, max, total, points}. `line` is an SVG path through one point
 * per bucket (x evenly spread over the width, y = 0 at the top), `area` the
 * same line closed down to the baseline. A single bucket is a flat line
 * across the box; no bucket gives empty paths. The y scale starts at zero,
 * so all-zero buckets lie on the baseline and the highest bucket touches
 * the top.
 */
export function sparkline(trend, { width = 100, height = 20, pad = 1 } = {}) {
  const counts = (trend || []).map((b) => {
    const n = Number(b && b.count);
    return Number.isFinite(n) && n > 0 ? n : 0;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  const max = counts.reduce((a, b) => Math.max(a, b), 0);
  if (counts.length === 0) return { line: '', area: '', max: 0, total: 0, points: [] };
  const base = height - pad;
  const span = Math.max(0, height - 2 * pad);
  const y = (c) => (max > 0 ? base - (c / max) * span : base);
  const pts =
    counts.length === 1
      ? [
          [0, y(counts[0])],
          [width, y(counts[0])],
        ]
      : counts.map((c, i) => [(i * width) / (counts.length - 1), y(c)]);
  const points = pts.map(([x, yy]) => [round(x), round(yy)]);
  const line = points.map(([x, yy], i) => `${i ? 'L' : 'M'}${x},${yy}`).join(' ');
  const area = `${line} L${points[points.length - 1][0]},${round(base)} L${points[0][0]},${round(base)} Z`;
  return { line, area, max, total, points };
}

// Two decimals keep the path short and its text stable.
function round(v) {
  return Math.round(v * 100) / 100;
}
