// Sign-in and the one-time "create the first admin" page.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAction } from '../hooks.js';
import { Button, Field, InlineError } from '../components/ui.jsx';
import { Logo } from '../components/logo.jsx';

export function SignInPage({ notice, onSignedIn }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = useAction(async () => {
    const res = await api.post('/api/auth/login', { email: email.trim(), password }, { auth: false });
    onSignedIn(res.user);
  });
  const submit = (e) => {
    e.preventDefault();
    login.run();
  };
  return (
    <main id="main" class="center-page">
      <form class="card auth-card" onSubmit={submit} aria-labelledby="signin-title">
        <div class="auth-brand">
          <Logo /> DevSmith Logs
        </div>
        <h1 id="signin-title">Sign in</h1>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <Field label="Email">
          <input type="email" name="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        <Field label="Password">
          <input type="password" name="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <InlineError title="Sign-in failed." error={login.error} />
        <Button type="submit" class="primary wide" busy={login.busy}>
          Sign in
        </Button>
      </form>
    </main>
  );
}

export function SetupPage({ onDone }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const mismatch = confirm !== '' && confirm !== password;
  const short = password !== '' && password.length < 8;
  const create = useAction(async () => {
    const res = await api.post('/api/auth/setup', { email: email.trim(), password }, { auth: false });
    onDone(res.user);
  });
  const submit = (e) => {
    e.preventDefault();
    if (mismatch || short) return;
    create.run();
  };
  let hint = null;
  if (create.error && create.error.status === 403) {
    hint = 'The first admin can only be created from the machine DevSmith runs on (open the page at http://localhost:PORT there), or set DEVSMITH_ADMIN_EMAIL and DEVSMITH_ADMIN_PASSWORD and restart.';
  } else if (create.error && create.error.status === 409) {
    hint = 'An admin already exists: reload the page to sign in.';
  }
  return (
    <main id="main" class="center-page">
      <form class="card auth-card" onSubmit={submit} aria-labelledby="setup-title">
        <div class="auth-brand">
          <Logo /> DevSmith Logs
        </div>
        <h1 id="setup-title">Create the first admin</h1>
        <p class="muted">No user exists yet. The account you create here administers this DevSmith Logs; this page is offered only until it exists.</p>
        <Field label="Email">
          <input type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        <Field label="Password" hint="At least 8 characters." error={short ? 'At least 8 characters.' : ''}>
          <input type="password" autocomplete="new-password" required minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <Field label="Repeat the password" error={mismatch ? 'The passwords differ.' : ''}>
          <input type="password" autocomplete="new-password" required value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
        </Field>
        <InlineError title="Could not create the admin." error={create.error} />
        {hint && <p class="hint">{hint}</p>}
        <Button type="submit" class="primary wide" busy={create.busy} disabled={mismatch || short}>
          Create admin and sign in
        </Button>
      </form>
    </main>
  );
}
