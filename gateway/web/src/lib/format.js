// Number, count and time formatting. Pure functions.

const nf = new Intl.NumberFormat('en-US');

/** 3412 -> "3,412". */
export function formatNumber(n) {
  return nf.format(Number(n) || 0);
}

/**
 * The position of a page in the result: "1-100 of 3,412". `offset` is the
 * number of entries before this page, `shown` the entries on it, `total`
 * the total_size of the answer and `exact` its total_size_exact. With an
 * inexact total the count is a lower bound: "1-100 of at least 10,000".
 */
export function countLabel({ offset = 0, shown = 0, total = 0, exact = true }) {
  const t = Math.max(Number(total) || 0, offset + shown);
  if (shown === 0) {
    if (offset === 0) return exact ? 'No entries' : 'No entries';
    return `No more entries (${exact ? '' : 'at least '}${formatNumber(t)} in all)`;
  }
  const range = `${formatNumber(offset + 1)}-${formatNumber(offset + shown)}`;
  return `${range} of ${exact ? '' : 'at least '}${formatNumber(t)}`;
}

/** Error rate as a percentage with one decimal, or "–" without entries. */
export function formatRate(part, total) {
  if (!total) return '–';
  const pct = (100 * part) / total;
  if (pct > 0 && pct < 0.1) return '<0.1%';
  return `${pct.toFixed(1)}%`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** "2025-11-11 21:45:00.123" in the browser's time zone. */
export function formatLocal(iso) {
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return String(iso ?? '');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** "2025-11-11 20:45:00.123 UTC". */
export function formatUTC(iso) {
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return String(iso ?? '');
  return d.toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** A short local date-time for axis labels and lists: "Nov 11, 21:45". */
export function formatShort(iso, withSeconds = false) {
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return '';
  const opts = { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false };
  if (withSeconds) opts.second = '2-digit';
  return d.toLocaleString('en-US', opts);
}

/** "3 min ago" relative to now (milliseconds); "never" for null. */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return 'never';
  const s = Math.round((now - t) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Pretty JSON of a context object, as text. */
export function prettyJSON(value) {
  try {
    return JSON.stringify(value ?? {}, null, 2);
  } catch {
    return String(value);
  }
}
