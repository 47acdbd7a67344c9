// State of the Errors pages and its round trip through the URL, the
// parameters of /api/logs/errors, and who may change a group's status.
// Pure functions.

import { PRESETS, normalizeInstant } from './filters.js';

export const ERROR_RANGES = ['15m', '1h', '24h', '7d'];
export const DEFAULT_ERROR_RANGE = '24h';

// Statuses to list; the default is the open groups, "all" sends none.
export const STATUSES = ['open', 'resolved', 'ignored'];
export const STATUS_CHOICES = [...STATUSES, 'all'];
export const DEFAULT_STATUS = 'open';

// The level choices and the levels each sends (none: the server's default,
// ERROR and FATAL).
export const LEVEL_CHOICES = {
  errors: { label: 'ERROR and FATAL', levels: [] },
  warn: { label: 'WARN', levels: ['WARN'] },
  all: { label: 'WARN, ERROR and FATAL', levels: ['WARN', 'ERROR', 'FATAL'] },
};
export const DEFAULT_LEVEL = 'errors';

export const SORTS = {
  last_seen: 'Last seen',
  count: 'Count',
  first_seen: 'First seen',
};
export const DEFAULT_SORT = 'last_seen';

const MAX_PROJECTS = 200;
const MAX_Q = 1000;

/** The Errors page's state when the URL says nothing. */
export function emptyErrorFilters() {
  return { projects: [], status: DEFAULT_STATUS, level: DEFAULT_LEVEL, range: DEFAULT_ERROR_RANGE, q: '', sort: DEFAULT_SORT };
}

/** The Errors page's state from a query string; bad values fall back. */
export function parseErrorFilters(search) {
  const p = search instanceof URLSearchParams ? search : new URLSearchParams(search || '');
  const f = emptyErrorFilters();
  const seen = new Set();
  for (const v of p.getAll('project')) {
    const s = v.trim();
    if (s && !seen.has(s) && seen.size < MAX_PROJECTS) {
      seen.add(s);
      f.projects.push(s);
    }
  }
  const status = p.get('status');
  if (STATUS_CHOICES.includes(status)) f.status = status;
  const level = p.get('level');
  if (Object.prototype.hasOwnProperty.call(LEVEL_CHOICES, level)) f.level = level;
  const range = p.get('range');
  if (ERROR_RANGES.includes(range)) f.range = range;
  f.q = (p.get('q') || '').slice(0, MAX_Q);
  const sort = p.get('sort');
  if (Object.prototype.hasOwnProperty.call(SORTS, sort)) f.sort = sort;
  return f;
}

/** The query string of the state ("" or "?..."); defaults left out. */
export function errorFiltersToSearch(f) {
  const p = new URLSearchParams();
  for (const v of f.projects || []) p.append('project', v);
  if (f.status && f.status !== DEFAULT_STATUS) p.set('status', f.status);
  if (f.level && f.level !== DEFAULT_LEVEL) p.set('level', f.level);
  if (f.range && f.range !== DEFAULT_ERROR_RANGE) p.set('range', f.range);
  if (f.q) p.set('q', f.q);
  if (f.sort && f.sort !== DEFAULT_SORT) p.set('sort', f.sort);
  const s = p.toString();
  return s ? '?' + s : '';
}

/** The concrete window of a range preset at `now` (ms): {since, until}. */
export function errorWindow(range, now) {
  const width = PRESETS[range] || PRESETS[DEFAULT_ERROR_RANGE];
  const end = Math.floor(now);
  return { since: new Date(end - width).toISOString(), until: new Date(end).toISOString() };
}

/** Parameters of GET /api/logs/errors for the state over a window. */
export function errorListParams(f, win) {
  const p = new URLSearchParams();
  for (const v of f.projects || []) p.append('project', v);
  if (f.status && f.status !== 'all') p.append('status', f.status);
  for (const l of (LEVEL_CHOICES[f.level] || LEVEL_CHOICES[DEFAULT_LEVEL]).levels) p.append('level', l);
  if (win && win.since) p.set('since', win.since);
  if (win && win.until) p.set('until', win.until);
  if (f.q) p.set('q', f.q);
  p.set('sort', f.sort || DEFAULT_SORT);
  return p;
}

/**
 * A group page's window from its query string: `since`/`until` when both
 * are valid and in order, else the `range` preset (default 24 h) at now.
 */
export function groupWindow(search, now) {
  const p = search instanceof URLSearchParams ? search : new URLSearchParams(search || '');
  const since = normalizeInstant(p.get('since'));
  const until = normalizeInstant(p.get('until'));
  if (since && until && Date.parse(since) < Date.parse(until)) return { since, until, range: null };
  const r = p.get('range');
  const range = ERROR_RANGES.includes(r) ? r : DEFAULT_ERROR_RANGE;
  return { ...errorWindow(range, now), range };
}

/** The address of a group's page, over the list's range. */
export function groupHref(id, range) {
  const r = range && range !== DEFAULT_ERROR_RANGE && ERROR_RANGES.includes(range) ? `?range=${range}` : '';
  return `/errors/${encodeURIComponent(id)}${r}`;
}

// Project roles that may set a group's status (UpdateErrorGroup:
// maintainers and admins; an owner maintains their project).
const TRIAGE_ROLES = new Set(['owner', 'maintainer', 'admin']);

/**
 * Whether the user may resolve, ignore or reopen the groups of a project:
 * an admin always; otherwise by their role on the project
 * (ProjectInfo.role from /api/logs/projects), unknown meaning no.
 */
export function canTriage(user, projectRole) {
  if (user && user.role === 'admin') return true;
  return TRIAGE_ROLES.has(projectRole || '');
}

/**
 * The status changes offered for a status, as [{status, label}]: an open
 * group can be resolved or ignored, a resolved one reopened or ignored, an
 * ignored one reopened or resolved.
 */
export function statusActions(status) {
  const all = { resolved: 'Resolve', ignored: 'Ignore', open: 'Reopen' };
  const order = { open: ['resolved', 'ignored'], resolved: ['open', 'ignored'], ignored: ['open', 'resolved'] }[status] || ['resolved', 'ignored'];
  return order.map((s) => ({ status: s, label: all[s] }));
}

/** Width of the trend's buckets in seconds, from their starts (0 when unknown). */
export function trendBucketSeconds(trend) {
  if (!trend || trend.length < 2) return 0;
  const a = Date.parse(trend[0].start);
  const b = Date.parse(trend[1].start);
  return Number.isFinite(a) && Number.isFinite(b) && b > a ? Math.round((b - a) / 1000) : 0;
}

/** Entries of a count map ({key: n}) as [key, n] pairs, most first, ties by key. */
export function countsByKey(map) {
  return Object.entries(map || {})
    .map(([k, v]) => [k, Number(v) || 0])
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
