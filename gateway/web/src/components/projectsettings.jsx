// A project's settings: name, description, repository URL and its rate
// limits (PATCH /api/logs/projects/{id}; docs/rate-limits.md). Owners,
// maintainers and admins edit them; the list shows the limits to everyone.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAction } from '../hooks.js';
import { formatNumber } from '../lib/format.js';
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
  const problems = { name: name.trim() ? '' : 'A name is required.', rpm: limitProblem(rpm), lps: limitProblem(lps) };
  const save = useAction(async () => {
    const res = await api.patch(`/api/logs/projects/${project.id}`, {
      name: name.trim(),
      description: description.trim(),
      repository_url: repo.trim(),
      rate_limit: { requests_per_minute: Number(rpm.trim() || 0), logs_per_second: Number(lps.trim() || 0) },
    });
    onSaved(res.project);
  });
  const submit = (e) => {
    e.preventDefault();
    if (problems.name || problems.rpm || problems.lps) return;
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
