// Filter state of the Logs page and its round trip through the URL query
// string, so a link or the back button restores the view. Pure functions.

export const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

// Relative time ranges, in milliseconds.
export const PRESETS = {
  '15m': 15 * 60 * 1000,
  '1h': 60 * 60 * 1000,
  '24h': 24 * 60 * 60 * 1000,
  '7d': 7 * 24 * 60 * 60 * 1000,
};
export const PRESET_LABELS = { '15m': 'Last 15 minutes', '1h': 'Last hour', '24h': 'Last 24 hours', '7d': 'Last 7 days' };
export const DEFAULT_RANGE = '24h';
export const CUSTOM = 'custom';

// The tabs of the Logs page; 'entries' is the default and left out of the URL.
export const VIEWS = ['entries', 'patterns'];
export const DEFAULT_VIEW = 'entries';

// Query-string limits: a hand-edited URL can never make the page hold or
// send an unbounded number of values.
const MAX_VALUES = 200;
const MAX_Q = 1000;

/** The filters when the URL says nothing. */
export function emptyFilters() {
  return { projects: [], services: [], levels: [], patterns: [], errorGroups: [], context: [], range: DEFAULT_RANGE, since: null, until: null, q: '', live: false, view: DEFAULT_VIEW };
}

function uniq(values) {
  const out = [];
  const seen = new Set();
  for (const v of values) {
    const s = String(v).trim();
    if (s === '' || seen.has(s)) continue;
    seen.add(s);
    out.push(s);
    if (out.length >= MAX_VALUES) break;
  }
  return out;
}

/** Levels in canonical order, upper case, unknown ones dropped. */
export function normalizeLevels(values) {
  const want = new Set(values.map((v) => String(v).trim().toUpperCase()));
  return LEVELS.filter((l) => want.has(l));
}

/**
 * Pattern ids (LogEntry.pattern_id: 1 to 16 hex digits, either case) in
 * their canonical form, 16 lower-case digits; anything else is dropped.
 */
export function normalizePatterns(values) {
  const out = [];
  for (const v of values) {
    const s = String(v).trim().toLowerCase();
    if (/^[0-9a-f]{1,16}$/.test(s)) out.push(s.padStart(16, '0'));
  }
  return uniq(out);
}

/**
 * Error group ids (LogEntry.error_group_id: decimal digits) without
 * leading zeros; anything else is dropped.
 */
export function normalizeErrorGroups(values) {
  const out = [];
  for (const v of values) {
    const s = String(v).trim();
    if (/^\d{1,19}$/.test(s) && !/^0+$/.test(s)) out.push(s.replace(/^0+/, ''));
  }
  return uniq(out);
}

// A context filter's key: a top-level context key, as REST takes it after
// "context." (ContextFilter.key).
const CONTEXT_KEY = /^[^\s=&]{1,200}$/;
const MAX_CONTEXT_VALUE = 1000;

/**
 * Context filters [{key, value}] from the `context.<key>=<value>`
 * parameters: keys as written, values cut to 1,000 characters, exact
 * duplicates dropped, order kept.
 */
export function contextFilters(p) {
  const out = [];
  const seen = new Set();
  for (const [k, v] of p) {
    if (!k.startsWith('context.')) continue;
    const key = k.slice('context.'.length);
    if (!CONTEXT_KEY.test(key)) continue;
    const value = String(v).slice(0, MAX_CONTEXT_VALUE);
    const id = `${key}\n${value}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ key, value });
    if (out.length >= MAX_VALUES) break;
  }
  return out;
}

function appendContext(p, context) {
  for (const c of context || []) p.append(`context.${c.key}`, c.value);
}

/** A valid ISO 8601 instant as the canonical toISOString() text, or null. */
export function normalizeInstant(text) {
  if (text == null || text === '') return null;
  const t = Date.parse(String(text));
  if (!Number.isFinite(t)) return null;
  return new Date(t).toISOString();
}

/**
 * Filters from a query string ("?project=a&level=ERROR...") or
 * URLSearchParams. Invalid values are dropped, never thrown.
 */
export function parseFilters(search) {
  const p = search instanceof URLSearchParams ? search : new URLSearchParams(search || '');
  const f = emptyFilters();
  f.projects = uniq(p.getAll('project'));
  f.services = uniq(p.getAll('service'));
  f.levels = normalizeLevels(p.getAll('level'));
  f.patterns = normalizePatterns(p.getAll('pattern'));
  f.errorGroups = normalizeErrorGroups(p.getAll('error_group'));
  f.context = contextFilters(p);
  f.q = (p.get('q') || '').slice(0, MAX_Q);
  f.live = p.get('live') === '1';
  f.view = VIEWS.includes(p.get('view')) ? p.get('view') : DEFAULT_VIEW;
  const since = normalizeInstant(p.get('since'));
  const until = normalizeInstant(p.get('until'));
  if (since || until) {
    f.range = CUSTOM;
    f.since = since;
    f.until = until;
    if (since && until && Date.parse(since) >= Date.parse(until)) {
      // An empty or inverted range would show nothing; fall back.
      f.range = DEFAULT_RANGE;
      f.since = null;
      f.until = null;
    }
  } else {
    const r = p.get('range');
    f.range = Object.prototype.hasOwnProperty.call(PRESETS, r) ? r : DEFAULT_RANGE;
  }
  return f;
}

/** The query string for the filters ("" or "?..."); defaults are left out. */
export function filtersToSearch(f) {
  const p = new URLSearchParams();
  for (const v of f.projects || []) p.append('project', v);
  for (const v of f.services || []) p.append('service', v);
  for (const v of normalizeLevels(f.levels || [])) p.append('level', v);
  for (const v of normalizePatterns(f.patterns || [])) p.append('pattern', v);
  for (const v of normalizeErrorGroups(f.errorGroups || [])) p.append('error_group', v);
  appendContext(p, f.context);
  if (f.range === CUSTOM) {
    if (f.since) p.set('since', f.since);
    if (f.until) p.set('until', f.until);
  } else if (f.range && f.range !== DEFAULT_RANGE) {
    p.set('range', f.range);
  }
  if (f.q) p.set('q', f.q);
  if (f.live) p.set('live', '1');
  if (f.view && f.view !== DEFAULT_VIEW && VIEWS.includes(f.view)) p.set('view', f.view);
  const s = p.toString();
  return s ? '?' + s : '';
}

/** True when two filter states show the same view. */
export function sameFilters(a, b) {
  return filtersToSearch(a) === filtersToSearch(b);
}

/** A copy of the filters with the changes applied. */
export function withFilters(f, changes) {
  return { ...f, ...changes };
}

/**
 * The concrete time window of the filters at `now` (milliseconds): a
 * preset becomes [now - width, now). The page computes it once per view so
 * every page of entries and the stats share exactly the same window (a
 * page token is only valid with the filters it was issued for).
 */
export function resolveWindow(f, now) {
  if (f.range === CUSTOM) {
    return { since: f.since || null, until: f.until || null };
  }
  const width = PRESETS[f.range] || PRESETS[DEFAULT_RANGE];
  const end = Math.floor(now);
  return { since: new Date(end - width).toISOString(), until: new Date(end).toISOString() };
}

/** Parameters shared by /api/logs/entries and /api/logs/stats. */
export function queryParams(f, win) {
  const p = patternListParams(f, win);
  for (const v of f.patterns || []) p.append('pattern', v);
  for (const v of f.errorGroups || []) p.append('error_group', v);
  return p;
}

/**
 * Parameters of /api/logs/patterns: those of the entries without the
 * pattern and error group filters (ListPatterns has neither).
 */
export function patternListParams(f, win) {
  const p = new URLSearchParams();
  for (const v of f.projects) p.append('project', v);
  for (const v of f.services) p.append('service', v);
  for (const v of f.levels) p.append('level', v);
  if (win && win.since) p.set('since', win.since);
  if (win && win.until) p.set('until', win.until);
  if (f.q) p.set('q', f.q);
  appendContext(p, f.context);
  return p;
}

/**
 * Parameters of /api/logs/tail: the filters without the time range, and
 * without the error group filter, which TailEntries does not take (the
 * live view keeps only the entries of the chosen groups itself).
 */
export function tailParams(f) {
  const p = new URLSearchParams();
  for (const v of f.projects) p.append('project', v);
  for (const v of f.services) p.append('service', v);
  for (const v of f.levels) p.append('level', v);
  for (const v of f.patterns || []) p.append('pattern', v);
  if (f.q) p.set('q', f.q);
  appendContext(p, f.context);
  return p;
}

/**
 * The query string of the entries of one error group of a project over a
 * window ({since, until}, ISO): where a group's "Show its entries" leads.
 */
export function errorGroupSearch(projectSlug, groupId, win) {
  const f = { ...emptyFilters(), projects: projectSlug ? [projectSlug] : [], errorGroups: [groupId] };
  if (win && (win.since || win.until)) {
    f.range = CUSTOM;
    f.since = normalizeInstant(win.since);
    f.until = normalizeInstant(win.until);
  }
  return filtersToSearch(f);
}

/**
 * The query string of the entries of one bucket of a metric series: the
 * projects, the series' group as filters (`service_name` as the service
 * filter, any other key as a context filter; a key whose value is "" means
 * the entries lack it and cannot be filtered on) and the bucket's window.
 */
export function metricSearch(projects, group, win) {
  const f = { ...emptyFilters(), projects: [...(projects || [])] };
  for (const [key, value] of Object.entries(group || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (value === '') continue;
    if (key === 'service_name') f.services.push(value);
    else f.context.push({ key: key.replace(/^context\./, ''), value });
  }
  f.range = CUSTOM;
  f.since = normalizeInstant(win && win.since);
  f.until = normalizeInstant(win && win.until);
  return filtersToSearch(f);
}

/**
 * The query string of the entries of one pattern of a project over a
 * window ({since, until}, ISO): where a pattern links to.
 */
export function patternSearch(projectSlug, patternId, win) {
  const f = { ...emptyFilters(), projects: projectSlug ? [projectSlug] : [], patterns: [patternId] };
  if (win && (win.since || win.until)) {
    f.range = CUSTOM;
    f.since = normalizeInstant(win.since);
    f.until = normalizeInstant(win.until);
  }
  return filtersToSearch(f);
}

/** "2025-11-11T21:45" in local time, for <input type="datetime-local">. */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The ISO instant of a datetime-local value (local time), or null. */
export function fromLocalInput(value) {
  if (!value) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  return Number.isFinite(d.getTime()) ? d.toISOString() : null;
}
