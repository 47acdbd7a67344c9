// Alerts: a project's rules with their state, a form to create and edit
// them, their last firings with every delivery attempt, and a "Send test
// notification" button (docs/alerts.md).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAction, useAsync, usePages } from '../hooks.js';
import { formatLocal, formatUTC } from '../lib/format.js';
import { Button, Field, InlineError, LoadMore, Modal, Spinner } from '../components/ui.jsx';

const CONDITIONS = {
  count: 'count ≥ threshold',
  rate_change: 'rate changed by threshold % against the previous window',
  spike: 'spike: z-score ≥ threshold against the baseline',
  new_error_group: 'new error group (at least threshold)',
  silence: 'silence: no entries from the services',
};
const MANAGERS = new Set(['owner', 'maintainer', 'admin']);

function summary(a) {
  const c = a.condition || {};
  const q = a.query || {};
  const what = [q.level || 'all levels', q.service ? `service ${q.service}` : '', q.q ? `"${q.q}"` : ''].filter(Boolean).join(', ');
  switch (c.type) {
    case 'count':
      return `${what}: ≥ ${c.threshold} in ${a.window}`;
    case 'rate_change':
      return `${what}: changed by ${c.threshold}% in ${a.window}`;
    case 'spike':
      return `${what}: spike z ≥ ${c.threshold} in ${a.window}`;
    case 'new_error_group':
      return `${what}: new error group in ${a.window}`;
    case 'silence':
      return `${what}: silent for ${a.window}`;
    default:
      return what;
  }
}

function When({ at }) {
  if (!at) return <span class="muted">never</span>;
  return (
    <time dateTime={at} title={formatUTC(at)}>
      {formatLocal(at).slice(0, 19)}
    </time>
  );
}

export function AlertsPage() {
  const projects = useAsync((signal) => api.get('/api/logs/projects?page_size=1000', { signal }), []);
  const list = usePages('/api/alerts', 'alerts');
  const [editing, setEditing] = useState(null); // null, 'new' or an alert
  const [open, setOpen] = useState(null); // id whose firings show
  const [deleting, setDeleting] = useState(null);
  const all = (projects.data && projects.data.projects) || [];
  const roleOf = Object.fromEntries(all.map((p) => [p.slug, p.role]));
  const managed = all.filter((p) => MANAGERS.has(p.role) && p.is_active);
  const alerts = list.items;
  return (
    <>
      <div class="page-head">
        <h1>Alerts</h1>
        {managed.length > 0 && !editing && (
          <Button class="primary" onClick={() => setEditing('new')}>
            New alert
          </Button>
        )}
      </div>
      {editing && (
        <AlertForm
          key={editing === 'new' ? 'new' : editing.id}
          alert={editing === 'new' ? null : editing}
          projects={managed}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            list.retry();
          }}
        />
      )}
      <InlineError title="Could not load the alerts." error={list.error} onRetry={list.retry} busy={list.loading} />
      {list.loading && !list.data && <Spinner label="Loading alerts" />}
      {list.data && alerts.length === 0 && <p class="muted">No alert rules yet.{managed.length > 0 ? ' Create one with New alert.' : ''}</p>}
      {alerts.length > 0 && (
        <div class="table-scroll">
          <table class="list" data-testid="alerts">
            <caption class="sr-only">Alert rules</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Project</th>
                <th scope="col">Condition</th>
                <th scope="col">State</th>
                <th scope="col">Last value</th>
                <th scope="col">Evaluated</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => (
                <AlertRow
                  key={a.id}
                  alert={a}
                  canManage={MANAGERS.has(roleOf[a.project])}
                  open={open === a.id}
                  onToggle={() => setOpen(open === a.id ? null : a.id)}
                  onEdit={() => setEditing(a)}
                  onDelete={() => setDeleting(a)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore nextToken={list.nextToken} action={list.loadMore} what="alerts" />
      {open && <Firings key={open} id={open} alert={alerts.find((a) => a.id === open)} canManage={MANAGERS.has(roleOf[(alerts.find((a) => a.id === open) || {}).project])} />}
      {deleting && (
        <DeleteAlert
          target={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            setDeleting(null);
            if (open === deleting.id) setOpen(null);
            list.retry();
          }}
        />
      )}
    </>
  );
}

function AlertRow({ alert: a, canManage, open, onToggle, onEdit, onDelete }) {
  return (
    <tr data-alert={a.name}>
      <td>
        {a.name} {!a.enabled && <span class="badge gray">disabled</span>}
      </td>
      <td>{a.project}</td>
      <td>{summary(a)}</td>
      <td>
        <span class={`badge ${a.state === 'firing' ? 'lvl-ERROR' : 'gray'}`} data-testid="alert-state">
          {a.state}
        </span>{' '}
        <span class="muted">
          since <When at={a.state_since} />
        </span>
      </td>
      <td>{Math.round(a.last_value * 100) / 100}</td>
      <td>
        <When at={a.last_evaluated_at} />
      </td>
      <td class="actions">
        <Button class="small" onClick={onToggle} aria-expanded={open ? 'true' : 'false'}>
          {open ? 'Hide firings' : 'Firings'}
        </Button>
        {canManage && (
          <>
            <Button class="small" onClick={onEdit} aria-label={`Edit ${a.name}`}>
              Edit
            </Button>
            <Button class="small danger" onClick={onDelete} aria-label={`Delete ${a.name}`}>
              Delete
            </Button>
          </>
        )}
      </td>
    </tr>
  );
}

function AlertForm({ alert, projects, onClose, onSaved }) {
  const q = (alert && alert.query) || {};
  const [f, setF] = useState({
    name: alert ? alert.name : '',
    project: alert ? alert.project : projects.length ? projects[0].slug : '',
    level: alert ? q.level : 'ERROR',
    service: alert ? q.service : '',
    text: alert ? q.q : '',
    window: alert ? alert.window : '5m',
    type: alert ? alert.condition.type : 'count',
    threshold: alert ? String(alert.condition.threshold) : '5',
    cooldown: alert ? alert.cooldown : '10m',
    channels: alert ? alert.channels.map((c) => ({ type: c.type, url: c.url, secret: '', has_secret: c.has_secret })) : [{ type: 'webhook', url: '', secret: '' }],
  });
  const set = (k) => (e) => {
    const v = e.currentTarget.value;
    setF((s) => ({ ...s, [k]: v }));
  };
  const setChannel = (i, k, v) => setF((s) => ({ ...s, channels: s.channels.map((c, j) => (j === i ? { ...c, [k]: v } : c)) }));
  const save = useAction(async () => {
    const body = {
      name: f.name.trim(),
      query: { level: f.level, service: f.service, q: f.text, context: (alert && alert.query.context) || {} },
      window: f.window.trim(),
      condition: { type: f.type, threshold: Number(f.threshold) || 0 },
      channels: f.channels.map((c) => ({ type: c.type, url: c.url.trim(), secret: c.secret })),
      cooldown: f.cooldown.trim() || '0s',
    };
    if (alert) await api.patch(`/api/alerts/${alert.id}`, body);
    else await api.post('/api/alerts', { ...body, project: f.project });
    onSaved();
  });
  return (
    <form
      class="card create"
      aria-labelledby="alert-form-title"
      onSubmit={(e) => {
        e.preventDefault();
        save.run();
      }}
    >
      <h2 id="alert-form-title">{alert ? `Edit ${alert.name}` : 'New alert'}</h2>
      <div class="grid3">
        <Field label="Name">
          <input required maxLength={200} value={f.name} onInput={set('name')} />
        </Field>
        <Field label="Project">
          <select value={f.project} onChange={set('project')} disabled={!!alert}>
            {projects.map((p) => (
              <option key={p.slug} value={p.slug}>
                {p.name} ({p.slug})
              </option>
            ))}
          </select>
        </Field>
        <Field label="Levels" hint="Comma-separated, e.g. ERROR,FATAL; empty: all.">
          <input value={f.level} onInput={set('level')} />
        </Field>
        <Field label="Services" hint="Comma-separated; empty: all.">
          <input value={f.service} onInput={set('service')} />
        </Field>
        <Field label="Text" hint="The message contains it (any case).">
          <input value={f.text} onInput={set('text')} />
        </Field>
        <Field label="Window" hint="1m to 24h, e.g. 60s, 5m, 1h.">
          <input required value={f.window} onInput={set('window')} />
        </Field>
        <Field label="Condition">
          <select value={f.type} onChange={set('type')}>
            {Object.entries(CONDITIONS).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Threshold" hint={f.type === 'silence' ? 'Unused for silence.' : f.type === 'rate_change' ? 'Percent; negative for a drop.' : ''}>
          <input type="number" step="any" value={f.threshold} onInput={set('threshold')} disabled={f.type === 'silence'} />
        </Field>
        <Field label="Cooldown" hint="No new notification within this long of the last, e.g. 10m; 0s for none.">
          <input value={f.cooldown} onInput={set('cooldown')} />
        </Field>
      </div>
      <fieldset class="channels">
        <legend>Channels</legend>
        {f.channels.map((c, i) => (
          <div class="grid3" key={i} data-testid="channel">
            <Field label="Type">
              <select value={c.type} onChange={(e) => setChannel(i, 'type', e.currentTarget.value)}>
                <option value="webhook">webhook (signed JSON)</option>
                <option value="slack">Slack incoming webhook</option>
              </select>
            </Field>
            <Field label="URL">
              <input type="url" required value={c.url} onInput={(e) => setChannel(i, 'url', e.currentTarget.value)} />
            </Field>
            {c.type === 'webhook' ? (
              <Field label="Secret" hint={c.has_secret ? 'Set; leave empty to keep it.' : 'Signs the body (X-DevSmith-Signature); stored encrypted, never shown again.'}>
                <input type="password" autocomplete="new-password" value={c.secret} onInput={(e) => setChannel(i, 'secret', e.currentTarget.value)} />
              </Field>
            ) : (
              <div />
            )}
            {f.channels.length > 1 && (
              <Button class="small" onClick={() => setF((s) => ({ ...s, channels: s.channels.filter((_, j) => j !== i) }))}>
                Remove channel
              </Button>
            )}
          </div>
        ))}
        {f.channels.length < 10 && (
          <Button class="small" onClick={() => setF((s) => ({ ...s, channels: [...s.channels, { type: 'webhook', url: '', secret: '' }] }))}>
            Add channel
          </Button>
        )}
      </fieldset>
      <InlineError title={alert ? 'Could not save the alert.' : 'Could not create the alert.'} error={save.error} />
      <div class="form-actions">
        <Button type="submit" class="primary" busy={save.busy}>
          {alert ? 'Save alert' : 'Create alert'}
        </Button>
        <Button onClick={onClose} disabled={save.busy}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

function Attempts({ delivery: d }) {
  return (
    <li>
      <span class={`badge ${d.status === 'delivered' ? 'gray' : d.status === 'failed' ? 'lvl-ERROR' : 'lvl-WARN'}`}>{d.status}</span> {d.channel_type} {d.url}
      {d.status === 'pending' && d.next_attempt_time && (
        <span class="muted">
          {' '}
          (next attempt <When at={d.next_attempt_time} />)
        </span>
      )}
      <ol class="attempts">
        {(d.attempts || []).map((a, i) => (
          <li key={i} data-testid="attempt">
            <When at={a.time} /> — {a.http_status ? `HTTP ${a.http_status}` : 'no answer'} in {a.duration_ms} ms
            {a.error && <span class="field-error"> {a.error}</span>}
            {a.response_snippet && <code class="snippet">{a.response_snippet}</code>}
          </li>
        ))}
      </ol>
    </li>
  );
}

function Firings({ id, alert, canManage }) {
  const firings = useAsync((signal) => api.get(`/api/alerts/${id}/firings?page_size=10`, { signal }), [id]);
  const [tested, setTested] = useState(null);
  const test = useAction(async () => {
    const r = await api.post(`/api/alerts/${id}/test`, {});
    setTested(r.deliveries || []);
    firings.retry();
  });
  const list = (firings.data && firings.data.firings) || [];
  return (
    <section class="card" aria-labelledby="firings-title" data-testid="firings">
      <div class="page-head">
        <h2 id="firings-title">Last firings of {alert ? alert.name : `alert ${id}`}</h2>
        {canManage && (
          <Button busy={test.busy} onClick={() => test.run()}>
            Send test notification
          </Button>
        )}
      </div>
      <InlineError title="Could not send the test notification." error={test.error} />
      {tested && (
        <div role="status" data-testid="test-result">
          <p>Test notification sent:</p>
          <ul>
            {tested.map((d) => (
              <Attempts key={d.id} delivery={d} />
            ))}
          </ul>
        </div>
      )}
      <InlineError title="Could not load the firings." error={firings.error} onRetry={firings.retry} busy={firings.loading} />
      {firings.loading && !firings.data && <Spinner label="Loading firings" />}
      {firings.data && list.length === 0 && <p class="muted">It has not fired yet.</p>}
      <ul class="firings">
        {list.map((f) => (
          <li key={f.id} data-testid="firing">
            <strong>{f.state}</strong> at <When at={f.create_time} /> — value {Math.round(f.value * 100) / 100} (threshold {f.threshold}), window <When at={f.since} /> to{' '}
            <When at={f.until} />
            {!f.notified && <span class="muted"> (not notified: cooldown)</span>}
            {(f.sample_entries || []).length > 0 && (
              <ul class="samples">
                {f.sample_entries.map((e) => (
                  <li key={e.id}>
                    <span class={`badge lvl-${e.level}`}>{e.level}</span> {e.service_name}: {e.message}
                  </li>
                ))}
              </ul>
            )}
            <ul class="deliveries">
              {(f.deliveries || []).map((d) => (
                <Attempts key={d.id} delivery={d} />
              ))}
            </ul>
          </li>
        ))}
      </ul>
      <p>
        <Button class="small" busy={firings.loading} onClick={firings.retry}>
          Refresh
        </Button>
      </p>
    </section>
  );
}

function DeleteAlert({ target, onClose, onDeleted }) {
  const remove = useAction(async () => {
    await api.del(`/api/alerts/${target.id}`);
    onDeleted();
  });
  return (
    <Modal title={`Delete ${target.name}?`} onClose={() => !remove.busy && onClose()}>
      <p>The rule stops at once; its firings and their deliveries are deleted with it.</p>
      <InlineError title="Could not delete the alert." error={remove.error} />
      <div class="form-actions">
        <Button class="danger" busy={remove.busy} onClick={() => remove.run()}>
          Delete alert
        </Button>
        <Button onClick={onClose} disabled={remove.busy}>
          Cancel
        </Button>
      </div>
    </Modal>
  );
}
