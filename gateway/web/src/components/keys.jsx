// A project's API keys (docs/keys.md): the list (name, scopes, prefix…last
// four, created, last used and from where, expiry), a form to create one
// (its secret shown once, with a copy button and a warning), and revoke
// with a confirmation.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAction, usePages } from '../hooks.js';
import { expireTimeOf, isExpired, keyLabel, SCOPES } from '../lib/keys.js';
import { formatAgo, formatLocal, formatUTC } from '../lib/format.js';
import { Button, CopyButton, Field, InlineError, LoadMore, Modal, Spinner } from './ui.jsx';

export function KeysDialog({ project, onClose }) {
  const keys = usePages(`/api/logs/projects/${project.id}/keys`, 'keys');
  const [created, setCreated] = useState(null); // {key, api_key}
  const [revoking, setRevoking] = useState(null); // a key
  const list = keys.items;
  return (
    <Modal title={`API keys of “${project.name}”`} onClose={onClose} class="wide">
      <p class="muted small-text">
        Give each app or script its own key: <strong>ingest</strong> keys send logs, <strong>read</strong> keys read this project's logs, errors and metrics (scripts, CI, Grafana). The
        default key is the one “Regenerate key” replaces.
      </p>
      {created && <NewKey created={created} onDone={() => setCreated(null)} />}
      <InlineError title="Could not load the keys." error={keys.error} onRetry={keys.retry} busy={keys.loading} />
      {keys.loading && !keys.data && <Spinner label="Loading keys" />}
      {keys.data && list.length === 0 && <p class="muted">No live keys.</p>}
      {list.length > 0 && (
        <div class="table-scroll">
          <table class="list" data-testid="keys">
            <caption class="sr-only">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <tr key={k.id} data-key-name={k.name}>
                  <td>
                    <span class="strong">{k.name}</span> {k.is_default && <span class="badge gray">default</span>}
                  </td>
                  <td>{k.scopes.join(', ')}</td>
                  <td class="mono" data-testid="key-label">
                    {keyLabel(k)}
                  </td>
                  <td>
                    <time dateTime={k.created_at} title={formatUTC(k.created_at)}>
                      {formatLocal(k.created_at).slice(0, 10)}
                    </time>
                  </td>
                  <td data-testid="key-last-used">
                    {k.last_used_at ? (
                      <>
                        <time dateTime={k.last_used_at} title={`${formatUTC(k.last_used_at)} (to the minute)`}>
                          {formatAgo(k.last_used_at)}
                        </time>
                        {k.last_used_address && <div class="mono muted small-text">{k.last_used_address}</div>}
                      </>
                    ) : (
                      <span class="muted">never</span>
                    )}
                  </td>
                  <td>
                    {k.expire_time ? (
                      <time dateTime={k.expire_time} title={formatUTC(k.expire_time)} class={isExpired(k) ? 'danger-text' : ''}>
                        {isExpired(k) ? 'expired ' : ''}
                        {formatLocal(k.expire_time).slice(0, 10)}
                      </time>
                    ) : (
                      <span class="muted">never</span>
                    )}
                  </td>
                  <td class="actions">
                    <Button class="small danger" onClick={() => setRevoking(k)} aria-label={`Revoke the key ${k.name}`}>
                      Revoke
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore nextToken={keys.nextToken} action={keys.loadMore} what="keys" />
      {revoking && (
        <RevokeKey
          project={project}
          k={revoking}
          onCancel={() => setRevoking(null)}
          onRevoked={() => {
            setRevoking(null);
            keys.retry();
          }}
        />
      )}
      {!created && (
        <CreateKey
          project={project}
          onCreated={(res) => {
            setCreated(res);
            keys.retry();
          }}
        />
      )}
      <div class="form-actions">
        <Button onClick={onClose}>Close</Button>
      </div>
    </Modal>
  );
}

function CreateKey({ project, onCreated }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState(['ingest']);
  const [day, setDay] = useState('');
  const [problem, setProblem] = useState('');
  const create = useAction(async (expireTime) => {
    const body = { name: name.trim(), scopes };
    if (expireTime) body.expire_time = expireTime;
    onCreated(await api.post(`/api/logs/projects/${project.id}/keys`, body));
  });
  const toggle = (v, on) => setScopes((s) => (on ? [...s.filter((x) => x !== v), v] : s.filter((x) => x !== v)));
  const submit = (e) => {
    e.preventDefault();
    if (!name.trim()) return setProblem('A name is required.');
    if (scopes.length === 0) return setProblem('Choose at least one scope.');
    let expireTime;
    try {
      expireTime = expireTimeOf(day);
    } catch (err) {
      return setProblem(err.message);
    }
    setProblem('');
    create.run(expireTime);
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="new-key-title" data-testid="create-key">
      <h3 id="new-key-title">New key</h3>
      <div class="grid2">
        <Field label="Key name" hint="What it is for: production, grafana, nightly report…">
          <input name="key-name" maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Expires on (optional)" hint="At the end of that day (UTC); empty: never.">
          <input name="key-expiry" type="date" value={day} onInput={(e) => setDay(e.currentTarget.value)} />
        </Field>
      </div>
      <fieldset class="scopes">
        <legend>Scopes</legend>
        {SCOPES.map((s) => (
          <label key={s.value} class="check">
            <input type="checkbox" name={`scope-${s.value}`} checked={scopes.includes(s.value)} onChange={(e) => toggle(s.value, e.currentTarget.checked)} />
            <span class="mono">{s.label}</span> <span class="muted small-text">{s.hint}</span>
          </label>
        ))}
      </fieldset>
      {problem && (
        <p class="field-error" role="alert">
          {problem}
        </p>
      )}
      <InlineError title="Could not create the key." error={create.error} />
      <div class="form-actions">
        <Button type="submit" class="primary" busy={create.busy}>
          Create key
        </Button>
      </div>
    </form>
  );
}

function NewKey({ created, onDone }) {
  const k = created.key;
  return (
    <div class="card" data-testid="new-key">
      <div class="warning" role="note">
        <strong>Copy the key “{k.name}” now.</strong> It is shown only this once: DevSmith stores only a digest of it. If you lose it, revoke it and create another.
      </div>
      <div class="key-row">
        <label for="new-api-key" class="sr-only">
          The new API key {k.name}
        </label>
        <input id="new-api-key" class="mono key" readOnly value={created.api_key} data-testid="new-api-key" onFocus={(e) => e.currentTarget.select()} />
        <CopyButton text={created.api_key} label="Copy key" class="primary" />
      </div>
      <div class="form-actions">
        <Button onClick={onDone}>I have saved the key</Button>
      </div>
    </div>
  );
}

function RevokeKey({ project, k, onCancel, onRevoked }) {
  const revoke = useAction(async () => {
    await api.del(`/api/logs/projects/${project.id}/keys/${k.id}`);
    onRevoked();
  });
  return (
    <div class="card warning" role="alertdialog" aria-labelledby="revoke-title" data-testid="revoke-key">
      <h3 id="revoke-title">Revoke the key “{k.name}”?</h3>
      <p>
        <span class="mono">{keyLabel(k)}</span> <strong>stops working immediately</strong>, everywhere: whatever uses it is refused (401). This cannot be undone.
      </p>
      <InlineError title="Could not revoke the key." error={revoke.error} />
      <div class="form-actions">
        <Button class="danger" busy={revoke.busy} onClick={() => revoke.run()}>
          Revoke key
        </Button>
        <Button onClick={onCancel} disabled={revoke.busy}>
          Cancel
        </Button>
      </div>
    </div>
  );
}
