// The Insights panel's logic: the request for the page's view, the report
// as sections to render, the messages of its failures. Pure functions.

import { formatNumber } from './format.js';

/**
 * The client's own bound on one analysis: the server's deadline (60 s by
 * default) plus a margin for the answer to arrive. The server gives up
 * first and says so; this only catches a server that never answers.
 */
export const ANALYSIS_CLIENT_TIMEOUT_MS = 75_000;

/** The body of POST /api/logs/analysis for the page's projects and window. */
export function analysisBody(filters, win) {
  const body = { project: [...(filters.projects || [])] };
  if (win && win.since) body.since = win.since;
  if (win && win.until) body.until = win.until;
  return body;
}

/**
 * Seconds to wait from a Retry-After header (delay-seconds or an
 * HTTP-date, RFC 9110), at least 1; null when absent or unreadable.
 */
export function retryAfterSeconds(value, now = Date.now()) {
  if (value == null) return null;
  const s = String(value).trim();
  if (/^\d+$/.test(s)) return Math.max(1, Number(s));
  const t = Date.parse(s);
  if (!Number.isFinite(t)) return null;
  return Math.max(1, Math.ceil((t - now) / 1000));
}

/** The message for a failed analysis (an ApiError from api.js). */
export function analysisErrorMessage(err, now = Date.now()) {
  if (!err) return '';
  if (err.status === 429) {
    const secs = retryAfterSeconds(err.retryAfter, now);
    return `The server is already running as many analyses as it allows. Try again ${secs ? `in ${secs} s` : 'in a moment'}.`;
  }
  if (err.status === 504 || err.code === 'DEADLINE_EXCEEDED') {
    return 'The analysis did not finish within the server’s time limit. Try a shorter range or fewer projects.';
  }
  return err.message || String(err);
}

/** "12 s", "1 min 05 s": the time an analysis has been running. */
export function formatElapsed(ms) {
  const s = Math.max(0, Math.floor((Number(ms) || 0) / 1000));
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * How a count changed against the previous window of the same length:
 * "new" (nothing before), "+150%", "−40%", "unchanged".
 */
export function changeText(count, previous) {
  const c = Number(count) || 0;
  const p = Number(previous) || 0;
  if (p === 0) return c > 0 ? 'new in this window' : 'unchanged';
  if (c === p) return 'unchanged';
  const pct = Math.round(((c - p) / p) * 100);
  return pct > 0 ? `+${formatNumber(pct)}% vs previous window` : `−${formatNumber(-pct)}% vs previous window`;
}

// The report's lists in the order the panel shows them: what needs a look
// first, the overview last.
const SECTIONS = [
  { key: 'new_error_patterns', kind: 'pattern', title: 'New error patterns', empty: 'No new pattern with errors.' },
  { key: 'spikes', kind: 'spike', title: 'Spikes', empty: 'No pattern far above its baseline.' },
  { key: 'growing_patterns', kind: 'pattern', title: 'Growing patterns', empty: 'No pattern grew sharply.' },
  { key: 'new_patterns', kind: 'pattern', title: 'New patterns', empty: 'No pattern first seen in this window.' },
  { key: 'affected_services', kind: 'service', title: 'Affected services', empty: 'No service changed sharply.' },
  { key: 'silent_services', kind: 'service', title: 'Silent services', empty: 'No service went silent.' },
  { key: 'top_patterns', kind: 'pattern', title: 'Most frequent patterns', empty: 'No entries in this window.' },
];

const num = (v) => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};

function patternItem(p) {
  const byLevel = {};
  for (const [l, n] of Object.entries(p.counts_by_level || {})) byLevel[l] = num(n);
  return {
    patternId: String(p.pattern_id || ''),
    project: String(p.project_slug || ''),
    template: String(p.template || ''),
    count: num(p.count),
    previous: num(p.previous_count),
    byLevel,
    services: (p.services || []).map(String),
    firstSeen: p.first_seen || null,
    lastSeen: p.last_seen || null,
    examples: p.examples || [],
  };
}

function spikeItem(s) {
  return {
    patternId: String(s.pattern_id || ''),
    project: String(s.project_slug || ''),
    service: String(s.service_name || ''),
    template: String(s.template || ''),
    count: num(s.count),
    baseline: num(s.baseline),
    score: num(s.score),
    examples: s.examples || [],
  };
}

function serviceItem(s) {
  return {
    project: String(s.project_slug || ''),
    service: String(s.service_name || ''),
    count: num(s.count),
    previous: num(s.previous_count),
    errors: num(s.errors),
    previousErrors: num(s.previous_errors),
    lastLogAt: s.last_log_at || null,
    reason: String(s.reason || ''),
  };
}

const ITEM = { pattern: patternItem, spike: spikeItem, service: serviceItem };

/**
 * The answer of POST /api/logs/analysis as what the panel renders: the
 * summary, the notes (sampled, partial), the window, and the report's lists
 * as sections [{key, kind, title, empty, items}] with numbers as numbers
 * (int64 arrives as strings). Missing lists are empty sections.
 */
export function reportView(res) {
  const r = (res && res.report) || {};
  const sections = SECTIONS.map((s) => ({ ...s, items: (r[s.key] || []).map(ITEM[s.kind]) }));
  const notes = [];
  if (res && res.sampled) notes.push(`Counts are estimated from a sample of ${formatNumber(num(res.sample_size))} entries.`);
  if (res && res.partial) notes.push('Partial report: part of the analysis did not finish in time; what is shown was computed.');
  return {
    summary: String((res && res.summary) || ''),
    summarySource: (res && res.summary_source) || 'report',
    notes,
    since: (res && res.since) || null,
    until: (res && res.until) || null,
    generatedAt: (res && res.generated_at) || null,
    sampleSize: num(res && res.sample_size),
    sections,
    findings: sections.reduce((n, s) => n + (s.key === 'top_patterns' ? 0 : s.items.length), 0),
  };
}
