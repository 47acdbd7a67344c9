// The audit trail (docs/audit.md): who signed in, changed or deleted what,
// from where. Admins see every event; owners and maintainers their
// projects' events. Filters live in the address (?project=&action=...), so
// a filtered view can be shared and survives a reload.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAsync, usePages } from '../hooks.js';
import { navigate, useLocation } from '../router.jsx';
import { formatLocal, formatUTC } from '../lib/format.js';
import { Button, Field, InlineError, LoadMore, Spinner } from '../components/ui.jsx';

// The actions and their families, for the action filter.
const ACTIONS = [
  ['', 'All actions'],
  ['auth.*', 'Sign-in (auth.*)'],
  ['auth.login', 'auth.login'],
  ['auth.login_failed', 'auth.login_failed'],
  ['auth.logout', 'auth.logout'],
  ['auth.lockout', 'auth.lockout'],
  ['user.*', 'Users (user.*)'],
  ['project.*', 'Projects (project.*)'],
  ['project.create', 'project.create'],
  ['project.update', 'project.update'],
  ['project.delete', 'project.delete'],
  ['project.key_create', 'project.key_create'],
  ['project.key_rotate', 'project.key_rotate'],
  ['project.key_revoke', 'project.key_revoke'],
  ['project.member_add', 'project.member_add'],
  ['project.member_remove', 'project.member_remove'],
  ['key.new_address', 'key.new_address'],
];

const FIELDS = ['project', 'action', 'actor', 'since', 'until'];

/** The projects whose audit trail the user may read. */
export function useAuditableProjects(user) {
  return useAsync(
    async (signal) => {
      const r = await api.get('/api/logs/projects?page_size=1000', { signal });
      return (r.projects || []).filter((p) => user.role === 'admin' || p.role === 'owner' || p.role === 'maintainer');
    },
    [user.id, user.role],
  );
}

/** Whether the Audit page is for this user: admins, owners and maintainers. */
export function canAudit(user, auditable) {
  return user.role === 'admin' || (auditable.data || []).length > 0;
}

function readFilters(search) {
  const q = new URLSearchParams(search);
  const f = {};
  for (const k of FIELDS) f[k] = q.get(k) || '';
  return f;
}

// datetime-local values are local times; the API takes RFC 3339.
function toRFC3339(local) {
  if (!local) return '';
  const d = new Date(local);
  return Number.isFinite(d.getTime()) ? d.toISOString() : '';
}

function apiPath(f) {
  const q = new URLSearchParams();
  for (const k of ['project', 'action', 'actor']) if (f[k]) q.set(k, f[k]);
  for (const k of ['since', 'until']) if (toRFC3339(f[k])) q.set(k, toRFC3339(f[k]));
  const s = q.toString();
  return '/api/audit' + (s ? `?${s}` : '');
}

function actorText(a) {
  if (!a) return '';
  if (a.key_prefix) return `key ${a.key_prefix}…`;
  return a.email || '(the platform)';
}

export function AuditPage({ user, auditable }) {
  const loc = useLocation();
  const applied = readFilters(loc.search);
  const [draft, setDraft] = useState(applied);
  const list = usePages(apiPath(applied), 'events', 50);
  const events = list.items;
  const set = (k) => (e) => setDraft({ ...draft, [k]: e.currentTarget.value });
  const apply = (f) => {
    const q = new URLSearchParams();
    for (const k of FIELDS) if (f[k]) q.set(k, f[k]);
    const s = q.toString();
    navigate('/audit' + (s ? `?${s}` : ''));
  };
  const projects = auditable.data || [];
  return (
    <>
      <div class="page-head">
        <h1>Audit</h1>
      </div>
      <p class="muted">
        Who signed in, changed or deleted what, and from where.{' '}
        {user.role === 'admin' ? 'As an admin you see every event.' : 'You see the events of the projects you own or maintain.'}
      </p>
      <form
        class="filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          apply(draft);
        }}
      >
        <div class="grid3">
          <Field label="Project">
            <select value={draft.project} onChange={set('project')} data-testid="audit-project">
              <option value="">{user.role === 'admin' ? 'All projects and none' : 'All my projects'}</option>
              {projects.map((p) => (
                <option key={p.id} value={p.slug}>
                  {p.name} ({p.slug})
                </option>
              ))}
            </select>
          </Field>
          <Field label="Action">
            <select value={draft.action} onChange={set('action')} data-testid="audit-action">
              {ACTIONS.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Actor" hint="An email, or a key prefix (dsk_…).">
            <input type="search" value={draft.actor} onInput={set('actor')} data-testid="audit-actor" />
          </Field>
          <Field label="From">
            <input type="datetime-local" step="1" value={draft.since} onInput={set('since')} />
          </Field>
          <Field label="To">
            <input type="datetime-local" step="1" value={draft.until} onInput={set('until')} />
          </Field>
        </div>
        <div class="form-actions">
          <Button type="submit" class="primary">
            Apply
          </Button>
          <Button
            onClick={() => {
              const empty = Object.fromEntries(FIELDS.map((k) => [k, '']));
              setDraft(empty);
              apply(empty);
            }}
          >
            Clear
          </Button>
        </div>
      </form>
      <InlineError title="Could not load the audit trail." error={list.error} onRetry={list.retry} busy={list.loading} />
      {list.loading && !list.data && <Spinner label="Loading the audit trail" />}
      {list.data && events.length === 0 && <p class="muted">No events match.</p>}
      {events.length > 0 && (
        <div class="table-scroll">
          <table class="list" data-testid="audit-events">
            <caption class="sr-only">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Project</th>
                <th scope="col">Address</th>
                <th scope="col">User agent</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id}>
                  <td>
                    <time dateTime={e.time} title={formatUTC(e.time)}>
                      {formatLocal(e.time).slice(0, 19)}
                    </time>
                  </td>
                  <td>{actorText(e.actor)}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{e.project_slug}</td>
                  <td>{e.client_ip}</td>
                  <td class="muted" title={e.user_agent}>
                    {e.user_agent.length > 40 ? e.user_agent.slice(0, 40) + '…' : e.user_agent}
                  </td>
                  <td>
                    <code class="details">{e.details && Object.keys(e.details).length ? JSON.stringify(e.details) : ''}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore nextToken={list.nextToken} action={list.loadMore} what="events" />
    </>
  );
}
