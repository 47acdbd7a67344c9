// State of the Performance page and its round trip through the URL, the
// parameters of /api/logs/metrics, the order of its series and the
// geometry of its line charts. Pure functions.

import { PRESETS } from './filters.js';
import { formatNumber } from './format.js';

export const PERF_RANGES = ['15m', '1h', '24h', '7d'];
export const DEFAULT_PERF_RANGE = '1h';
export const DEFAULT_FIELD = 'duration_ms';
export const DEFAULT_GROUP_BY = ['route'];
export const MAX_GROUP_BY = 3;

const MAX_PROJECTS = 200;
const KEY = /^[^\s=&,]{1,200}$/;

/** The Performance page's state when the URL says nothing. */
export function emptyPerfFilters() {
  return { projects: [], field: DEFAULT_FIELD, groupBy: [...DEFAULT_GROUP_BY], range: DEFAULT_PERF_RANGE };
}

/** Context keys from text ("route, method"): trimmed, valid, unique, at most 3. */
export function parseKeys(text) {
  const out = [];
  for (const raw of String(text || '').split(',')) {
    const k = raw.trim();
    if (KEY.test(k) && !out.includes(k)) out.push(k);
    if (out.length >= MAX_GROUP_BY) break;
  }
  return out;
}

/**
 * The state from a query string. `group_by` is repeatable; absent means
 * the default (route), one empty value means none (one series of
 * everything). Bad values fall back.
 */
export function parsePerfFilters(search) {
  const p = search instanceof URLSearchParams ? search : new URLSearchParams(search || '');
  const f = emptyPerfFilters();
  const seen = new Set();
  for (const v of p.getAll('project')) {
    const s = v.trim();
    if (s && !seen.has(s) && seen.size < MAX_PROJECTS) {
      seen.add(s);
      f.projects.push(s);
    }
  }
  const field = (p.get('field') || '').trim();
  if (KEY.test(field)) f.field = field;
  if (p.has('group_by')) f.groupBy = parseKeys(p.getAll('group_by').join(','));
  const range = p.get('range');
  if (PERF_RANGES.includes(range)) f.range = range;
  return f;
}

/** The query string of the state ("" or "?..."); defaults left out. */
export function perfFiltersToSearch(f) {
  const p = new URLSearchParams();
  for (const v of f.projects || []) p.append('project', v);
  if (f.field && f.field !== DEFAULT_FIELD) p.set('field', f.field);
  const g = f.groupBy || [];
  if (g.join(',') !== DEFAULT_GROUP_BY.join(',')) {
    if (g.length === 0) p.set('group_by', '');
    for (const k of g) p.append('group_by', k);
  }
  if (f.range && f.range !== DEFAULT_PERF_RANGE) p.set('range', f.range);
  const s = p.toString();
  return s ? '?' + s : '';
}

/** The concrete window of a range preset at `now` (ms): {since, until}. */
export function perfWindow(range, now) {
  const width = PRESETS[range] || PRESETS[DEFAULT_PERF_RANGE];
  const end = Math.floor(now);
  return { since: new Date(end - width).toISOString(), until: new Date(end).toISOString() };
}

/** Parameters of GET /api/logs/metrics for the state over a window. */
export function metricParams(f, win, pageSize = 100) {
  const p = new URLSearchParams();
  for (const v of f.projects || []) p.append('project', v);
  p.set('field', f.field || DEFAULT_FIELD);
  for (const k of f.groupBy || []) p.append('group_by', k);
  if (win && win.since) p.set('since', win.since);
  if (win && win.until) p.set('until', win.until);
  p.set('page_size', String(pageSize));
  return p;
}

/** A stable key of a series' group ({route: "/a"}), for React keys and selection. */
export function seriesKey(group) {
  return Object.keys(group || {})
    .sort()
    .map((k) => `${k}=${group[k]}`)
    .join('\n');
}

/**
 * A series' name for people: the value alone with one key, `key=value`
 * joined by ", " with several; "(none)" for an entry without the key, and
 * "All entries" with no grouping.
 */
export function seriesLabel(group) {
  const keys = Object.keys(group || {}).sort();
  if (keys.length === 0) return 'All entries';
  const v = (k) => (group[k] === '' ? '(none)' : group[k]);
  if (keys.length === 1) return v(keys[0]);
  return keys.map((k) => `${k}=${v(k)}`).join(', ');
}

/** The series slowest first: by p95, then p99, then count, then name. */
export function sortSlowest(series) {
  return [...(series || [])].sort(
    (a, b) =>
      (Number(b.p95) || 0) - (Number(a.p95) || 0) ||
      (Number(b.p99) || 0) - (Number(a.p99) || 0) ||
      (Number(b.count) || 0) - (Number(a.count) || 0) ||
      (seriesLabel(a.group) < seriesLabel(b.group) ? -1 : seriesLabel(a.group) > seriesLabel(b.group) ? 1 : 0),
  );
}

/** Entries per minute: `count` over `seconds`, or 0 for an empty span. */
export function perMinute(count, seconds) {
  const s = Number(seconds) || 0;
  return s > 0 ? ((Number(count) || 0) * 60) / s : 0;
}

/** The unit of a field, from its name: "ms" for *_ms, "s" for *_seconds/_s, else "". */
export function fieldUnit(field) {
  if (/(_ms|Ms|_millis|_milliseconds)$/.test(field || '')) return 'ms';
  if (/(_s|_sec|_seconds)$/.test(field || '')) return 's';
  return '';
}

/** A measured value for tables: at most 3 significant decimals, with the field's unit. */
export function formatValue(v, unit = '') {
  const n = Number(v);
  if (!Number.isFinite(n)) return '–';
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  const text = new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(n);
  return unit ? `${text} ${unit}` : text;
}

/** A share (0..1) as a percentage with one decimal. */
export function formatShare(r) {
  const n = Number(r);
  if (!Number.isFinite(n)) return '–';
  if (n > 0 && n < 0.001) return '<0.1%';
  return `${(n * 100).toFixed(1)}%`;
}

/** "3 more series not shown" when the answer was cut off, else "". */
export function moreSeriesText(total, shown) {
  const more = (Number(total) || 0) - (Number(shown) || 0);
  if (more <= 0) return '';
  return `${formatNumber(more)} more series not shown`;
}

/**
 * The lines of a series' percentile chart: per bucket its p50, p95 and p99,
 * null where the bucket counted no value (a gap, not a zero).
 */
export function latencyLines(buckets) {
  const pick = (k) => (buckets || []).map((b) => (Number(b.count) > 0 ? Number(b[k]) || 0 : null));
  return { p50: pick('p50'), p95: pick('p95'), p99: pick('p99') };
}

/** Values per minute of each bucket of `stepSeconds`. */
export function throughputLine(buckets, stepSeconds) {
  return (buckets || []).map((b) => perMinute(b.count, stepSeconds));
}

/** The error share of each bucket, null where it counted nothing. */
export function errorRateLine(buckets) {
  return (buckets || []).map((b) => (Number(b.count) > 0 ? Number(b.error_rate) || 0 : null));
}

/** A round number ≥ n for a y axis: 1, 2, 5 × a power of ten (n ≤ 0 gives 1). */
export function niceCeil(n) {
  if (!(n > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n * (1 - 1e-12)) return m * p;
  return 10 * p;
}

/**
 * An SVG path through `values` in a width × height box, one point per
 * bucket at the middle of its column (n columns over the width), y = 0 at
 * the top for `max`; a null value leaves a gap, and a point alone between
 * gaps is a short flat stroke so it shows. {d, dots, points: [[x, y] | null]}:
 * `dots` marks every point.
 */
export function linePath(values, { width = 1000, height = 160, max = 1 } = {}) {
  const n = (values || []).length;
  if (!n) return { d: '', dots: '', points: [] };
  const m = max > 0 ? max : 1;
  const col = width / n;
  const points = values.map((v, i) => (v == null || !Number.isFinite(Number(v)) ? null : [round(col * (i + 0.5)), round(height - (Math.max(0, Number(v)) / m) * height)]));
  const parts = [];
  for (let i = 0; i < n; i++) {
    const p = points[i];
    if (!p) continue;
    const prev = i > 0 ? points[i - 1] : null;
    const next = i < n - 1 ? points[i + 1] : null;
    if (prev) parts.push(`L${p[0]},${p[1]}`);
    else if (next) parts.push(`M${p[0]},${p[1]}`);
    else parts.push(`M${round(p[0] - col * 0.3)},${p[1]} L${round(p[0] + col * 0.3)},${p[1]}`);
  }
  // One zero-length segment per point: with round caps and a non-scaling
  // stroke each is a round dot, whatever the SVG's aspect ratio.
  const dots = points
    .filter(Boolean)
    .map(([x, y]) => `M${x},${y} h0`)
    .join(' ');
  return { d: parts.join(' '), dots, points };
}

function round(v) {
  return Math.round(v * 100) / 100;
}
