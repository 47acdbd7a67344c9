// Projects: list, create (key shown once, with setup snippets), manage its
// API keys (components/keys.jsx), rotate the default key, delete, share,
// settings (name, description, repository, rate limits; components/projectsettings.jsx).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAction, usePages } from '../hooks.js';
import { Link } from '../router.jsx';
import { suggestSlug, slugProblem } from '../lib/slug.js';
import { buildSnippets, DEFAULT_FILES } from '../lib/snippets.js';
import { formatAgo, formatLocal, formatNumber, formatUTC } from '../lib/format.js';
import { Button, CopyButton, Field, InlineError, LoadMore, Modal, Spinner } from '../components/ui.jsx';
import { KeysDialog } from '../components/keys.jsx';
import { RateLimitSummary, RetentionSummary, SettingsDialog } from '../components/projectsettings.jsx';

/* global __SAMPLE_FILES__ */
const SAMPLE_FILES = typeof __SAMPLE_FILES__ !== 'undefined' ? __SAMPLE_FILES__ : DEFAULT_FILES;

export function ProjectsPage({ user }) {
  const [creating, setCreating] = useState(false);
  const [reveal, setReveal] = useState(null); // {title, name, slug, apiKey}
  const [dialog, setDialog] = useState(null); // {kind: 'rotate'|'delete'|'members'|'settings', project}
  const list = usePages('/api/logs/projects', 'projects');
  const projects = list.items;
  const isAdmin = user.role === 'admin';

  return (
    <>
      <div class="page-head">
        <h1>Projects</h1>
        {!creating && (
          <Button class="primary" onClick={() => setCreating(true)}>
            New project
          </Button>
        )}
      </div>
      {creating && (
        <CreateProject
          onCancel={() => setCreating(false)}
          onCreated={(res) => {
            setCreating(false);
            setReveal({ title: `Project “${res.name}” created`, name: res.name, slug: res.slug, apiKey: res.api_key });
            list.retry();
          }}
        />
      )}
      <InlineError title="Could not load projects." error={list.error} onRetry={list.retry} busy={list.loading} />
      {list.loading && !list.data && (
        <p class="center">
          <Spinner label="Loading projects" />
        </p>
      )}
      {list.data && projects.length === 0 && (
        <div class="empty">
          <p>No projects yet. Create one to get an API key and start sending logs.</p>
        </div>
      )}
      {projects.length > 0 && (
        <div class="table-scroll">
          <table class="list" data-testid="projects">
            <caption class="sr-only">Your projects</caption>
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col">Your role</th>
                <th scope="col" class="num">Logs</th>
                <th scope="col">Last log</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {projects.map((p) => {
                const role = isAdmin && p.role !== 'owner' ? 'admin' : p.role;
                const manage = isAdmin || p.role === 'owner' || p.role === 'admin';
                const rotate = manage || p.role === 'maintainer';
                return (
                  <tr key={p.id} class={p.is_active === false ? 'inactive' : ''} data-slug={p.slug}>
                    <td>
                      <div class="strong">{p.name}</div>
                      <div class="mono muted">{p.slug}</div>
                      {p.description && <div class="muted small-text">{p.description}</div>}
                      <div>
                        <RateLimitSummary limit={p.rate_limit} />
                      </div>
                      <div>
                        <RetentionSummary project={p} />
                      </div>
                      {p.is_active === false && <span class="badge gray">deleted</span>}
                    </td>
                    <td>{role}</td>
                    <td class="num">{formatNumber(p.log_count)}</td>
                    <td>
                      {p.last_log_at ? (
                        <time dateTime={p.last_log_at} title={`${formatLocal(p.last_log_at)} (${formatUTC(p.last_log_at)})`}>
                          {formatAgo(p.last_log_at)}
                        </time>
                      ) : (
                        <span class="muted">never</span>
                      )}
                    </td>
                    <td>
                      <time dateTime={p.created_at} title={formatUTC(p.created_at)}>
                        {formatLocal(p.created_at).slice(0, 10)}
                      </time>
                    </td>
                    <td class="actions">
                      <Link class="btn small" href={`/?project=${encodeURIComponent(p.slug)}`} aria-label={`View logs of ${p.slug}`}>
                        Logs
                      </Link>
                      {p.is_active !== false && manage && (
                        <Button class="small" onClick={() => setDialog({ kind: 'members', project: p })} aria-label={`Members of ${p.slug}`}>
                          Members
                        </Button>
                      )}
                      {p.is_active !== false && rotate && (
                        <Button class="small" onClick={() => setDialog({ kind: 'keys', project: p })} aria-label={`API keys of ${p.slug}`}>
                          Keys
                        </Button>
                      )}
                      {p.is_active !== false && rotate && (
                        <Button class="small" onClick={() => setDialog({ kind: 'settings', project: p })} aria-label={`Settings of ${p.slug}`}>
                          Settings
                        </Button>
                      )}
                      {p.is_active !== false && rotate && (
                        <Button class="small" onClick={() => setDialog({ kind: 'rotate', project: p })} aria-label={`Regenerate the key of ${p.slug}`}>
                          Regenerate key
                        </Button>
                      )}
                      {p.is_active !== false && manage && (
                        <Button class="small danger" onClick={() => setDialog({ kind: 'delete', project: p })} aria-label={`Delete ${p.slug}`}>
                          Delete
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore nextToken={list.nextToken} action={list.loadMore} what="projects" />

      {reveal && <KeyReveal {...reveal} onClose={() => setReveal(null)} />}
      {dialog && dialog.kind === 'rotate' && (
        <RotateDialog
          project={dialog.project}
          onClose={() => setDialog(null)}
          onRotated={(res) => {
            setDialog(null);
            setReveal({ title: `New key for “${dialog.project.name}”`, name: dialog.project.name, slug: dialog.project.slug, apiKey: res.api_key });
          }}
        />
      )}
      {dialog && dialog.kind === 'delete' && (
        <DeleteDialog
          project={dialog.project}
          onClose={() => setDialog(null)}
          onDeleted={() => {
            setDialog(null);
            list.retry();
          }}
        />
      )}
      {dialog && dialog.kind === 'keys' && <KeysDialog project={dialog.project} onClose={() => setDialog(null)} />}
      {dialog && dialog.kind === 'settings' && (
        <SettingsDialog
          project={dialog.project}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            list.retry();
          }}
        />
      )}
      {dialog && dialog.kind === 'members' && <MembersDialog project={dialog.project} user={user} onClose={() => setDialog(null)} />}
    </>
  );
}

function CreateProject({ onCancel, onCreated }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [description, setDescription] = useState('');
  const [repo, setRepo] = useState('');
  const [touched, setTouched] = useState(false);
  const nameRef = useRef(null);
  useEffect(() => nameRef.current?.focus(), []);
  const effectiveSlug = slugEdited ? slug : suggestSlug(name);
  const problem = slugProblem(effectiveSlug);
  const create = useAction(async () => {
    const res = await api.post('/api/logs/projects', { name: name.trim(), slug: effectiveSlug, description: description.trim(), repository_url: repo.trim() });
    onCreated(res);
  });
  const submit = (e) => {
    e.preventDefault();
    setTouched(true);
    if (!name.trim() || problem) return;
    create.run();
  };
  return (
    <form class="card create" onSubmit={submit} aria-labelledby="create-title">
      <h2 id="create-title">New project</h2>
      <div class="grid2">
        <Field label="Name" error={touched && !name.trim() ? 'A name is required.' : ''}>
          <input ref={nameRef} name="name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Slug" hint={slugEdited ? 'Lowercase letters, digits and dashes; used in filters and URLs.' : 'Suggested from the name; edit to change.'} error={(touched || slugEdited) && problem ? problem : ''}>
          <input
            name="slug"
            class="mono"
            required
            maxLength={100}
            value={effectiveSlug}
            onInput={(e) => {
              setSlugEdited(true);
              setSlug(e.currentTarget.value);
            }}
          />
        </Field>
        <Field label="Description (optional)">
          <input name="description" maxLength={2000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        <Field label="Repository URL (optional)">
          <input name="repository_url" type="url" placeholder="https://github.com/you/app" maxLength={2048} value={repo} onInput={(e) => setRepo(e.currentTarget.value)} />
        </Field>
      </div>
      <InlineError title="Could not create the project." error={create.error} />
      <div class="form-actions">
        <Button type="submit" class="primary" busy={create.busy}>
          Create project
        </Button>
        <Button onClick={onCancel} disabled={create.busy}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

/** The API key, shown once, with copy and the setup snippets. */
function KeyReveal({ title, slug, apiKey, onClose }) {
  const snippets = buildSnippets({ origin: window.location.origin, apiKey, slug, service: 'hello', files: SAMPLE_FILES });
  const [tab, setTab] = useState('curl');
  const current = snippets.find((s) => s.id === tab) || snippets[0];
  const tabKey = (e) => {
    const i = snippets.findIndex((s) => s.id === tab);
    let j = -1;
    if (e.key === 'ArrowRight') j = (i + 1) % snippets.length;
    if (e.key === 'ArrowLeft') j = (i - 1 + snippets.length) % snippets.length;
    if (j >= 0) {
      e.preventDefault();
      setTab(snippets[j].id);
      document.getElementById(`tab-${snippets[j].id}`)?.focus();
    }
  };
  return (
    <Modal title={title} onClose={onClose} class="wide">
      <div class="warning" role="note">
        <strong>Copy this API key now.</strong> It is shown only this once: DevSmith stores only a digest of it. If you lose it, regenerate the key.
      </div>
      <div class="key-row">
        <label for="api-key" class="sr-only">
          API key of {slug}
        </label>
        <input id="api-key" class="mono key" readOnly value={apiKey} data-testid="api-key" onFocus={(e) => e.currentTarget.select()} />
        <CopyButton text={apiKey} label="Copy key" class="primary" />
      </div>
      <h3>Send your first logs</h3>
      <p class="muted small-text">Paste one of these into a terminal, then open Logs and turn on Live tail.</p>
      <div class="tabs" role="tablist" aria-label="Setup snippets" onKeyDown={tabKey}>
        {snippets.map((s) => (
          <button
            key={s.id}
            id={`tab-${s.id}`}
            type="button"
            role="tab"
            aria-selected={tab === s.id ? 'true' : 'false'}
            aria-controls="snippet-panel"
            tabIndex={tab === s.id ? 0 : -1}
            class={`tab${tab === s.id ? ' on' : ''}`}
            onClick={() => setTab(s.id)}
          >
            {s.label}
          </button>
        ))}
      </div>
      <div id="snippet-panel" role="tabpanel" aria-labelledby={`tab-${current.id}`} class="snippet">
        <p class="muted small-text">{current.note}</p>
        <pre class="code" data-testid={`snippet-${current.id}`}>{current.code}</pre>
        <CopyButton text={current.code} label={`Copy ${current.label} snippet`} />
      </div>
      <div class="form-actions">
        <Link class="btn" href={`/?project=${encodeURIComponent(slug)}&live=1`} onClick={onClose}>
          Open its logs (live)
        </Link>
        <Button class="primary" onClick={onClose}>
          I have saved the key
        </Button>
      </div>
    </Modal>
  );
}

function RotateDialog({ project, onClose, onRotated }) {
  const rotate = useAction(async () => {
    const res = await api.put(`/api/logs/projects/${project.id}/regenerate-key`, {});
    onRotated(res);
  });
  return (
    <Modal title={`Regenerate the key of “${project.name}”?`} onClose={() => !rotate.busy && onClose()}>
      <p>
        The current key of <strong class="mono">{project.slug}</strong> <strong>stops working immediately</strong>: every app that sends logs with it is refused (401) until you give
        it the new key. Logs already stored stay.
      </p>
      <InlineError title="Could not regenerate the key." error={rotate.error} />
      <div class="form-actions">
        <Button class="danger" busy={rotate.busy} onClick={() => rotate.run()}>
          Regenerate key
        </Button>
        <Button onClick={onClose} disabled={rotate.busy}>
          Cancel
        </Button>
      </div>
    </Modal>
  );
}

function DeleteDialog({ project, onClose, onDeleted }) {
  const [typed, setTyped] = useState('');
  const del = useAction(async () => {
    await api.del(`/api/logs/projects/${project.id}`);
    onDeleted();
  });
  const ok = typed.trim() === project.slug;
  return (
    <Modal title={`Delete “${project.name}”?`} onClose={() => !del.busy && onClose()}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (ok) del.run();
        }}
      >
        <p>
          Its API key stops working at once and no new logs are accepted. Logs already stored stay readable until retention removes them. The slug cannot be reused.
        </p>
        <Field label={`Type ${project.slug} to confirm`}>
          <input class="mono" autocomplete="off" spellcheck={false} value={typed} onInput={(e) => setTyped(e.currentTarget.value)} data-testid="confirm-slug" />
        </Field>
        <InlineError title="Could not delete the project." error={del.error} />
        <div class="form-actions">
          <Button type="submit" class="danger" busy={del.busy} disabled={!ok}>
            Delete project
          </Button>
          <Button onClick={onClose} disabled={del.busy}>
            Cancel
          </Button>
        </div>
      </form>
    </Modal>
  );
}

function MembersDialog({ project, onClose }) {
  const members = usePages(`/api/logs/projects/${project.id}/members`, 'members');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('viewer');
  const add = useAction(async () => {
    await api.post(`/api/logs/projects/${project.id}/members`, { email: email.trim(), role });
    setEmail('');
    members.retry();
  });
  const list = members.items;
  return (
    <Modal title={`Members of “${project.name}”`} onClose={onClose} class="wide">
      <p class="muted small-text">Viewers read the project's logs; maintainers also regenerate its key. The owner and admins also delete and share it.</p>
      <InlineError title="Could not load members." error={members.error} onRetry={members.retry} busy={members.loading} />
      {members.loading && !members.data && <Spinner label="Loading members" />}
      {members.data && list.length === 0 && <p class="muted">Not shared with anyone yet.</p>}
      {list.length > 0 && (
        <table class="list">
          <caption class="sr-only">Members</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Since</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((m) => (
              <MemberRow key={m.user_id} project={project} m={m} onRemoved={members.retry} />
            ))}
          </tbody>
        </table>
      )}
      <LoadMore nextToken={members.nextToken} action={members.loadMore} what="members" />
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          add.run();
        }}
      >
        <h3>Share with a user</h3>
        <Field label="Email of an existing user">
          <input type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        <Field label="Role">
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="viewer">viewer (reads logs)</option>
            <option value="maintainer">maintainer (also regenerates the key)</option>
          </select>
        </Field>
        <Button type="submit" class="primary" busy={add.busy}>
          Share
        </Button>
      </form>
      <InlineError title="Could not share the project." error={add.error} />
      <div class="form-actions">
        <Button onClick={onClose}>Close</Button>
      </div>
    </Modal>
  );
}

function MemberRow({ project, m, onRemoved }) {
  const remove = useAction(async () => {
    await api.del(`/api/logs/projects/${project.id}/members/${m.user_id}`);
    onRemoved();
  });
  return (
    <tr>
      <td>{m.email}</td>
      <td>{m.role}</td>
      <td>
        <time dateTime={m.created_at} title={formatUTC(m.created_at)}>
          {formatLocal(m.created_at).slice(0, 10)}
        </time>
      </td>
      <td class="actions">
        <Button class="small danger" busy={remove.busy} onClick={() => remove.run()} aria-label={`Remove ${m.email}`}>
          Remove
        </Button>
        {remove.error && <InlineError error={remove.error} onRetry={() => remove.run()} busy={remove.busy} compact />}
      </td>
    </tr>
  );
}
