// Users (admins only): list, add, remove.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAction, usePages } from '../hooks.js';
import { formatLocal, formatUTC } from '../lib/format.js';
import { Button, Field, InlineError, LoadMore, Modal, Spinner } from '../components/ui.jsx';


export function UsersPage({ user }) {
  const [removing, setRemoving] = useState(null);
  const list = usePages('/api/users', 'users');
  const users = list.items;
  return (
    <>
      <div class="page-head">
        <h1>Users</h1>
      </div>
      <AddUser onAdded={list.retry} />
      <InlineError title="Could not load users." error={list.error} onRetry={list.retry} busy={list.loading} />
      {list.loading && !list.data && <Spinner label="Loading users" />}
      {users.length > 0 && (
        <div class="table-scroll">
          <table class="list" data-testid="users">
            <caption class="sr-only">Users</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id}>
                  <td>
                    {u.email} {u.id === user.id && <span class="badge gray">you</span>}
                  </td>
                  <td>{u.role}</td>
                  <td>
                    <time dateTime={u.created_at} title={formatUTC(u.created_at)}>
                      {formatLocal(u.created_at).slice(0, 16)}
                    </time>
                  </td>
                  <td class="actions">
                    {u.id !== user.id && (
                      <Button class="small danger" onClick={() => setRemoving(u)} aria-label={`Remove ${u.email}`}>
                        Remove
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore nextToken={list.nextToken} action={list.loadMore} what="users" />
      {removing && (
        <RemoveUser
          target={removing}
          onClose={() => setRemoving(null)}
          onRemoved={() => {
            setRemoving(null);
            list.retry();
          }}
        />
      )}
    </>
  );
}

function AddUser({ onAdded }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('member');
  const [done, setDone] = useState('');
  const add = useAction(async () => {
    const res = await api.post('/api/users', { email: email.trim(), password, role });
    setDone(`Added ${res.user ? res.user.email : email.trim()}.`);
    setEmail('');
    setPassword('');
    setRole('member');
    onAdded();
  });
  return (
    <form
      class="card create"
      aria-labelledby="add-user-title"
      onSubmit={(e) => {
        e.preventDefault();
        setDone('');
        add.run();
      }}
    >
      <h2 id="add-user-title">Add a user</h2>
      <div class="grid3">
        <Field label="Email">
          <input type="email" required autocomplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        <Field label="Password" hint="At least 8 characters; tell it to the user.">
          <input type="password" required minLength={8} autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <Field label="Role">
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="member">member (their own and shared projects)</option>
            <option value="admin">admin (every project and user)</option>
          </select>
        </Field>
      </div>
      <InlineError title="Could not add the user." error={add.error} />
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      <div class="form-actions">
        <Button type="submit" class="primary" busy={add.busy}>
          Add user
        </Button>
      </div>
    </form>
  );
}

function RemoveUser({ target, onClose, onRemoved }) {
  const remove = useAction(async () => {
    await api.del(`/api/users/${target.id}`);
    onRemoved();
  });
  return (
    <Modal title={`Remove ${target.email}?`} onClose={() => !remove.busy && onClose()}>
      <p>They are signed out at once and can no longer sign in. Their projects stay.</p>
      <InlineError title="Could not remove the user." error={remove.error} />
      <div class="form-actions">
        <Button class="danger" busy={remove.busy} onClick={() => remove.run()}>
          Remove user
        </Button>
        <Button onClick={onClose} disabled={remove.busy}>
          Cancel
        </Button>
      </div>
    </Modal>
  );
}
