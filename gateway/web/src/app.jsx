import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, setUnauthorizedHandler } from './api.js';
import { useAction, useAsync } from './hooks.js';
import { Link, useLocation } from './router.jsx';
import { Button, InlineError, Spinner } from './components/ui.jsx';
import { Logo } from './components/logo.jsx';
import { AuditPage, canAudit, useAuditableProjects } from './pages/audit.jsx';
import { AlertsPage } from './pages/alerts.jsx';
import { SignInPage, SetupPage } from './pages/auth.jsx';
import { ErrorGroupPage, ErrorsPage } from './pages/errors.jsx';
import { LogsPage } from './pages/logs.jsx';
import { PerformancePage } from './pages/performance.jsx';
import { ProjectsPage } from './pages/projects.jsx';
import { UsersPage } from './pages/users.jsx';

// Whether this browser had a session, so a 401 on load can say "expired"
// rather than just asking to sign in. Only a flag: the session token lives
// in the HttpOnly cookie and never in script-readable storage.
const FLAG = 'devsmith.signedIn';
const flag = {
  get: () => {
    try {
      return localStorage.getItem(FLAG) === '1';
    } catch {
      return false;
    }
  },
  set: (on) => {
    try {
      if (on) localStorage.setItem(FLAG, '1');
      else localStorage.removeItem(FLAG);
    } catch {
      /* storage disabled: the message is just less precise */
    }
  },
};

export function App() {
  // auth: {state: 'loading'|'signedOut'|'setup'|'signedIn', user, notice}
  const [auth, setAuth] = useState({ state: 'loading', user: null, notice: '' });
  const boot = useAsync(
    async (signal) => {
      try {
        const me = await api.get('/api/auth/me', { signal, auth: false });
        setAuth({ state: 'signedIn', user: me.user, notice: '' });
        flag.set(true);
        return true;
      } catch (err) {
        if (err.status !== 401) throw err;
      }
      const setup = await api.get('/api/auth/setup', { signal, auth: false });
      if (setup.setup_required) {
        setAuth({ state: 'setup', user: null, notice: '' });
      } else {
        const expired = flag.get();
        flag.set(false);
        setAuth({ state: 'signedOut', user: null, notice: expired ? 'Your session has expired. Sign in again.' : '' });
      }
      return true;
    },
    [],
  );

  const signedIn = useCallback((user) => {
    flag.set(true);
    setAuth({ state: 'signedIn', user, notice: '' });
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      flag.set(false);
      setAuth((a) => (a.state === 'signedIn' ? { state: 'signedOut', user: null, notice: 'Your session has expired. Sign in again.' } : a));
    });
    return () => setUnauthorizedHandler(null);
  }, []);

  const signOut = useAction(async () => {
    await api.post('/api/auth/logout', {});
    flag.set(false);
    setAuth({ state: 'signedOut', user: null, notice: 'You have signed out.' });
  });

  if (auth.state === 'loading') {
    return (
      <main id="main" class="center-page">
        {boot.error ? (
          <InlineError title="DevSmith Logs is not reachable." error={boot.error} onRetry={boot.retry} busy={boot.loading} />
        ) : (
          <Spinner label="Loading" />
        )}
      </main>
    );
  }
  if (auth.state === 'setup') {
    return <SetupPage onDone={signedIn} />;
  }
  if (auth.state === 'signedOut') {
    return <SignInPage notice={auth.notice} onSignedIn={signedIn} />;
  }
  return <Shell user={auth.user} signOut={signOut} />;
}

function Shell({ user, signOut }) {
  const loc = useLocation();
  const isAdmin = user.role === 'admin';
  const auditable = useAuditableProjects(user);
  const showAudit = canAudit(user, auditable);
  let page;
  let title;
  switch (loc.path) {
    case '/':
    case '/logs':
      page = <LogsPage user={user} />;
      title = 'Logs';
      break;
    case '/errors':
      page = <ErrorsPage user={user} />;
      title = 'Errors';
      break;
    case '/performance':
      page = <PerformancePage user={user} />;
      title = 'Performance';
      break;
    case '/alerts':
      page = <AlertsPage user={user} />;
      title = 'Alerts';
      break;
    case '/projects':
      page = <ProjectsPage user={user} />;
      title = 'Projects';
      break;
    case '/audit':
      page = showAudit || auditable.loading ? (
        <AuditPage user={user} auditable={auditable} />
      ) : (
        <NotFound text="The audit trail is for admins and for the owners and maintainers of a project." />
      );
      title = 'Audit';
      break;
    case '/users':
      page = isAdmin ? <UsersPage user={user} /> : <NotFound text="Only admins manage users." />;
      title = 'Users';
      break;
    default: {
      const group = /^\/errors\/(\d{1,19})$/.exec(loc.path);
      if (group) {
        page = <ErrorGroupPage key={group[1]} user={user} id={group[1]} />;
        title = 'Error group';
      } else {
        page = <NotFound text="There is no page at this address." />;
        title = 'Not found';
      }
    }
  }
  useEffect(() => {
    document.title = `${title} · DevSmith Logs`;
  }, [title]);
  const nav = [
    ['/', 'Logs'],
    ['/errors', 'Errors'],
    ['/performance', 'Performance'],
    ['/alerts', 'Alerts'],
    ['/projects', 'Projects'],
    ...(showAudit ? [['/audit', 'Audit']] : []),
    ...(isAdmin ? [['/users', 'Users']] : []),
  ];
  const active = loc.path === '/logs' ? '/' : loc.path.startsWith('/errors/') ? '/errors' : loc.path;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand" aria-label="DevSmith Logs home">
          <Logo /> DevSmith Logs
        </Link>
        <nav aria-label="Main">
          {nav.map(([href, label]) => (
            <Link key={href} href={href} class={`nav-link${active === href ? ' active' : ''}`} aria-current={active === href ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <div class="who">
          <span class="muted" title={`Signed in as ${user.email} (${user.role})`}>
            {user.email}
          </span>
          <Button class="small" busy={signOut.busy} onClick={() => signOut.run()}>
            Sign out
          </Button>
        </div>
      </header>
      {signOut.error && (
        <div class="page">
          <InlineError title="Could not sign out." error={signOut.error} onRetry={() => signOut.run()} busy={signOut.busy} />
        </div>
      )}
      <main id="main" class="page" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

function NotFound({ text }) {
  return (
    <section>
      <h1>Not found</h1>
      <p>{text}</p>
      <p>
        <Link href="/">Go to the logs</Link>
      </p>
    </section>
  );
}
