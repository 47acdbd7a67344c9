// A project's retention and sampling rules as the Projects page shows and
// the Settings dialog edits them (PATCH /api/logs/projects/{id}
// {retention_days, sampling: {rules}}; docs/api.md).

/** The retention choices offered besides the default and a custom number. */
export const RETENTION_PRESETS = [7, 30, 90];

/** "7 days", "1 day", "30 days · default". */
export function retentionText(project) {
  const d = project?.retention_days;
  if (!d) return '';
  return `${d} ${d === 1 ? 'day' : 'days'}${project.retention_is_default ? ' · default' : ''}`;
}

/** The dialog's retention state from a project: choice is 'default', a preset ('7') or 'custom'. */
export function retentionChoice(project) {
  if (!project || project.retention_is_default) return { choice: 'default', custom: '' };
  const d = project.retention_days;
  return RETENTION_PRESETS.includes(d) ? { choice: String(d), custom: '' } : { choice: 'custom', custom: String(d) };
}

/** The retention_days to send for a choice (0: the default), or null when the custom days are not a whole number of at least 1. */
export function retentionDays(choice, custom) {
  if (choice === 'default') return 0;
  if (choice !== 'custom') return Number(choice);
  const t = custom.trim();
  return /^\d{1,5}$/.test(t) && Number(t) >= 1 ? Number(t) : null;
}

// A rate in (0, 1] as a percentage without float noise: 0.1 → "10".
function percent(rate) {
  return String(Number((rate * 100).toFixed(4)));
}

/** The editor's rows from a project's rules: {service, debug, info} as typed text. */
export function ruleRows(rules) {
  return (rules || []).map((r) => ({ service: r.service_name || '', debug: percent(r.debug_rate), info: percent(r.info_rate) }));
}

function percentProblem(text) {
  const t = text.trim();
  if (!/^\d+(\.\d+)?$/.test(t)) return 'A percentage, more than 0 and at most 100.';
  const n = Number(t);
  return n > 0 && n <= 100 ? '' : 'A percentage, more than 0 and at most 100.';
}

/** Each row's problems ({service, debug, info}, '' when fine), checked as the API does. */
export function ruleProblems(rows) {
  const seen = new Set();
  return rows.map((r) => {
    const service = r.service.trim();
    let svc = '';
    if (service.length > 200) svc = 'At most 200 characters.';
    else if (seen.has(service)) svc = service ? `Another rule is for ${service}.` : 'Another rule is for all services.';
    seen.add(service);
    return { service: svc, debug: percentProblem(r.debug), info: percentProblem(r.info) };
  });
}

// A percentage's text as a rate without float noise: "33.3" → 0.333.
const rate = (text) => Number((Number(text.trim()) / 100).toFixed(6));

/** The rules to send from valid rows. */
export function rulesOf(rows) {
  return rows.map((r) => ({ service_name: r.service.trim(), debug_rate: rate(r.debug), info_rate: rate(r.info) }));
}

/** Whether two rule lists are the same set of rules. */
export function sameRules(a, b) {
  const key = (rules) => JSON.stringify([...rules].map((r) => [r.service_name || '', r.debug_rate, r.info_rate]).sort());
  return key(a || []) === key(b || []);
}
