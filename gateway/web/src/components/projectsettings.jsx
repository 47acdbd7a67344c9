// A project's settings: name, description, repository URL, its rate
// limits (docs/rate-limits.md), its retention and its sampling rules
// (PATCH /api/logs/projects/{id}; docs/api.md). Owners, maintainers and
// admins edit them; the list shows the limits and retention to everyone.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAction } from '../hooks.js';
import { formatLocal, formatNumber, formatUTC } from '../lib/format.js';
import { RETENTION_PRESETS, retentionChoice, retentionDays, retentionText, ruleProblems, ruleRows, rulesOf, sameRules } from '../lib/retention.js';
import { Button, Field, InlineError, Modal } from './ui.jsx';

/** The limits as one line: "1,000 requests/min per key · 10,000 logs/s (default)". */
export function RateLimitSummary({ limit }) {
  if (!limit) return null;
  const part = (n, unit) => (n > 0 ? `${formatNumber(n)} ${unit}` : `unlimited ${unit.replace(/^\S+ /, '')}`);
  return (
    <span class="muted small-text" data-testid="rate-limit">
      {part(limit.requests_per_minute, 'requests/min per key')} · {part(limit.logs_per_second, 'logs/s')}
      {limit.is_default ? ' (default)' : ''}
    </span>
  );
}

/** Retention and the oldest entry kept: "Retention 7 days · oldest entry kept 2026-11-29 10:00". */
export function RetentionSummary({ project }) {
  const text = retentionText(project);
  if (!text) return null;
  return (
    <span class="muted small-text" data-testid="retention">
      Retention {text} ·{' '}
      {project.oldest_log_at ? (
        <>
          oldest entry kept{' '}
          <time dateTime={project.oldest_log_at} title={formatUTC(project.oldest_log_at)}>
            {formatLocal(project.oldest_log_at)}
          </time>
        </>
      ) : (
        'no entry kept'
      )}
    </span>
  );
}

// The sampling rules' editor: one row a rule, service empty for all
// services, DEBUG and INFO as percentages kept.
function SamplingRules({ rows, problems, onChange }) {
  const set = (i, field, value) => onChange(rows.map((r, j) => (j === i ? { ...r, [field]: value } : r)));
  return (
    <div data-testid="sampling-rules">
      {rows.length === 0 && <p class="muted small-text">No rule: every entry is kept.</p>}
      {rows.map((r, i) => (
        <div class="grid2" key={i} role="group" aria-label={`Sampling rule ${i + 1}`}>
          <Field label={`Service of rule ${i + 1}`} error={problems[i].service}>
            <input name="service_name" maxLength={200} placeholder="all services" value={r.service} onInput={(e) => set(i, 'service', e.currentTarget.value)} />
          </Field>
          <Field label={`DEBUG % kept, rule ${i + 1}`} hint="TRACE and DEBUG entries." error={problems[i].debug}>
            <input name="debug_rate" inputMode="decimal" value={r.debug} onInput={(e) => set(i, 'debug', e.currentTarget.value)} />
          </Field>
          <Field label={`INFO % kept, rule ${i + 1}`} error={problems[i].info}>
            <input name="info_rate" inputMode="decimal" value={r.info} onInput={(e) => set(i, 'info', e.currentTarget.value)} />
          </Field>
          <div class="form-actions">
            <Button class="small" onClick={() => onChange(rows.filter((_, j) => j !== i))} aria-label={`Remove sampling rule ${i + 1}`}>
              Remove
            </Button>
          </div>
        </div>
      ))}
      <Button class="small" onClick={() => onChange([...rows, { service: '', debug: '100', info: '100' }])} disabled={rows.length >= 100}>
        Add rule
      </Button>
    </div>
  );
}

// limitField is the text of a limit input: empty means the platform's
// default (sent as 0).
function limitText(limit, field) {
  return limit && !limit.is_default && limit[field] > 0 ? String(limit[field]) : '';
}

function limitProblem(text) {
  if (text.trim() === '') return '';
  return /^\d+$/.test(text.trim()) && Number(text) <= 2147483647 ? '' : 'A whole number of at least 1, or empty for the default.';
}

export function SettingsDialog({ project, onClose, onSaved }) {
  const [name, setName] = useState(project.name);
  const [description, setDescription] = useState(project.description || '');
  const [repo, setRepo] = useState(project.repository_url || '');
  const [rpm, setRpm] = useState(limitText(project.rate_limit, 'requests_per_minute'));
  const [lps, setLps] = useState(limitText(project.rate_limit, 'logs_per_second'));
  const initial = retentionChoice(project);
  const [retention, setRetention] = useState(initial.choice);
  const [customDays, setCustomDays] = useState(initial.custom);
  const [rules, setRules] = useState(ruleRows(project.sampling_rules));
  const days = retentionDays(retention, customDays);
  const ruleErrors = ruleProblems(rules);
  const problems = {
    name: name.trim() ? '' : 'A name is required.',
    rpm: limitProblem(rpm),
    lps: limitProblem(lps),
    days: days === null ? 'A whole number of days, at least 1.' : '',
    rules: ruleErrors.some((p) => p.service || p.debug || p.info),
  };
  const save = useAction(async () => {
    const body = {
      name: name.trim(),
      description: description.trim(),
      repository_url: repo.trim(),
      rate_limit: { requests_per_minute: Number(rpm.trim() || 0), logs_per_second: Number(lps.trim() || 0) },
    };
    // Retention and rules only when changed: each change is audited.
    if (days !== retentionDays(initial.choice, initial.custom)) body.retention_days = days;
    if (!sameRules(rulesOf(rules), project.sampling_rules)) body.sampling = { rules: rulesOf(rules) };
    const res = await api.patch(`/api/logs/projects/${project.id}`, body);
    onSaved(res.project);
  });
  const submit = (e) => {
    e.preventDefault();
    if (problems.name || problems.rpm || problems.lps || problems.days || problems.rules) return;
    save.run();
  };
  return (
    <Modal title={`Settings of “${project.name}”`} onClose={() => !save.busy && onClose()} class="wide">
      <form onSubmit={submit} aria-label="Project settings">
        <div class="grid2">
          <Field label="Name" error={problems.name}>
            <input name="name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field label="Description">
            <input name="description" maxLength={2000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          </Field>
          <Field label="Repository URL">
            <input name="repository_url" type="url" placeholder="https://github.com/you/app" maxLength={2048} value={repo} onInput={(e) => setRepo(e.currentTarget.value)} />
          </Field>
        </div>
        <h3>Rate limits</h3>
        <p class="muted small-text">
          Now: <RateLimitSummary limit={project.rate_limit} />. Leave a field empty for the platform's default. Over a limit, senders get 429 with Retry-After.
        </p>
        <div class="grid2">
          <Field label="Requests a minute, per API key" hint="Every batch, OTLP or Loki push, and read-key query is one request." error={problems.rpm}>
            <input name="requests_per_minute" inputMode="numeric" placeholder="default" value={rpm} onInput={(e) => setRpm(e.currentTarget.value)} />
          </Field>
          <Field label="Log entries a second, for the project" hint="Summed over all the project's keys." error={problems.lps}>
            <input name="logs_per_second" inputMode="numeric" placeholder="default" value={lps} onInput={(e) => setLps(e.currentTarget.value)} />
          </Field>
        </div>
        <h3>Retention</h3>
        <p class="muted small-text">
          Now: <RetentionSummary project={project} />. Entries older than the retention are refused and dropped a day at a time; a shorter retention drops what is past it.
        </p>
        <div class="grid2">
          <Field label="Keep entries for" hint={retention === 'default' ? "The platform's default (DEVSMITH_RETENTION)." : ''}>
            <select name="retention" value={retention} onChange={(e) => setRetention(e.currentTarget.value)}>
              <option value="default">the default</option>
              {RETENTION_PRESETS.map((d) => (
                <option key={d} value={String(d)}>
                  {d} days
                </option>
              ))}
              <option value="custom">a number of days…</option>
            </select>
          </Field>
          {retention === 'custom' && (
            <Field label="Days" hint="Up to the platform's maximum (DEVSMITH_RETENTION_MAX)." error={problems.days}>
              <input name="retention_days" inputMode="numeric" value={customDays} onInput={(e) => setCustomDays(e.currentTarget.value)} />
            </Field>
          )}
        </div>
        <h3>Sampling</h3>
        <p class="muted small-text">
          Keep only a share of a service's DEBUG and INFO entries; WARN and above are always kept, and counts show estimated totals.
          {project.sampled_out_count > 0 ? ` ${formatNumber(project.sampled_out_count)} entries left out so far.` : ''}
        </p>
        <SamplingRules rows={rules} problems={ruleErrors} onChange={setRules} />
        <InlineError title="Could not save the settings." error={save.error} />
        <div class="form-actions">
          <Button type="submit" class="primary" busy={save.busy}>
            Save settings
          </Button>
          <Button onClick={onClose} disabled={save.busy}>
            Cancel
          </Button>
        </div>
      </form>
    </Modal>
  );
}
