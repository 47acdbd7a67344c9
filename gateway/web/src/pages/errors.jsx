// The Errors page (the error groups of every readable project, filters in
// the URL, a page of 50 at a time) and a group's page (its stack, counts by
// service and release, trend, examples, and Resolve / Ignore / Reopen for
// those who may).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAction, useAsync, usePages } from '../hooks.js';
import { Link, navigate, useLocation } from '../router.jsx';
import { PRESET_LABELS, emptyFilters, errorGroupSearch } from '../lib/filters.js';
import {
  ERROR_RANGES,
  LEVEL_CHOICES,
  SORTS,
  STATUS_CHOICES,
  canTriage,
  countsByKey,
  errorFiltersToSearch,
  errorListParams,
  errorWindow,
  groupHref,
  groupWindow,
  parseErrorFilters,
  statusActions,
  trendBucketSeconds,
} from '../lib/errors.js';
import { formatLocal, formatNumber, formatUTC } from '../lib/format.js';
import { BarChart, CountSparkline } from '../components/charts.jsx';
import { EntriesTable } from '../components/entries.jsx';
import { Button, InlineError, LoadMore, MultiSelect, Spinner } from '../components/ui.jsx';

export const ERRORS_PAGE_SIZE = 50;
const EXAMPLES = 10;

const STATUS_LABELS = { open: 'Open', resolved: 'Resolved', ignored: 'Ignored', all: 'All' };

function When({ iso }) {
  if (!iso) return <span class="muted">–</span>;
  return (
    <time dateTime={iso} title={formatUTC(iso)}>
      {formatLocal(iso).slice(0, 19)}
    </time>
  );
}

export function StatusBadge({ group }) {
  return (
    <span class="status-badges">
      <span class={`badge status-${group.status}`} data-testid="group-status">
        {group.status}
      </span>
      {group.regression && (
        <span class="badge regression" data-testid="regression" title="It was resolved and happened again">
          regression
        </span>
      )}
    </span>
  );
}

/** Every project the user may read, with their role on each: {slug: role}. */
function useProjectRoles() {
  const projects = useAsync((signal) => api.get('/api/logs/projects?page_size=1000', { signal }), []);
  const list = (projects.data && projects.data.projects) || [];
  const roles = {};
  for (const p of list) roles[p.slug] = p.role;
  return { projects, list, roles };
}

export function ErrorsPage() {
  const loc = useLocation();
  const f = useMemo(() => parseErrorFilters(loc.search), [loc.search]);
  const key = errorFiltersToSearch(f);
  const [refresh, setRefresh] = useState(0);
  // One window per view, so every page of the list shares it (a page
  // token is only valid with the filters it came from).
  const win = useMemo(() => errorWindow(f.range, Date.now()), [key, refresh]);
  const update = (changes) => navigate('/errors' + errorFiltersToSearch({ ...f, ...changes }));
  return (
    <>
      <div class="page-head">
        <h1>Errors</h1>
        <p class="muted window" title={`${formatUTC(win.since)} → ${formatUTC(win.until)}`}>
          {PRESET_LABELS[f.range]}
        </p>
      </div>
      <ErrorFilters f={f} update={update} onRefresh={() => setRefresh((r) => r + 1)} />
      <GroupList key={`${key}|${refresh}`} f={f} win={win} />
    </>
  );
}

function ErrorFilters({ f, update, onRefresh }) {
  const { projects, list } = useProjectRoles();
  const options = list.map((p) => ({ value: p.slug, label: p.is_active === false ? `${p.name} (${p.slug}, deleted)` : `${p.name} (${p.slug})` }));
  const [q, setQ] = useState(f.q);
  useEffect(() => setQ(f.q), [f.q]);
  return (
    <section class="filters" aria-label="Filters">
      <div class="filter-row">
        <MultiSelect
          label="Projects"
          allLabel="All projects"
          options={options}
          selected={f.projects}
          onChange={(v) => update({ projects: v })}
          loading={projects.loading}
          error={projects.error}
          onRetry={projects.retry}
          emptyText="No projects yet."
        />
        <fieldset class="ranges" data-testid="status-filter">
          <legend class="sr-only">Status</legend>
          {STATUS_CHOICES.map((s) => (
            <label key={s} class={`seg${f.status === s ? ' on' : ''}`}>
              <input type="radio" name="status" checked={f.status === s} onChange={() => update({ status: s })} />
              <span>{STATUS_LABELS[s]}</span>
            </label>
          ))}
        </fieldset>
        <label class="select-label">
          Levels{' '}
          <select value={f.level} onChange={(e) => update({ level: e.currentTarget.value })}>
            {Object.entries(LEVEL_CHOICES).map(([k, c]) => (
              <option key={k} value={k}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <label class="select-label">
          Sort by{' '}
          <select value={f.sort} onChange={(e) => update({ sort: e.currentTarget.value })}>
            {Object.entries(SORTS).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div class="filter-row">
        <fieldset class="ranges">
          <legend class="sr-only">Time range</legend>
          {ERROR_RANGES.map((r) => (
            <label key={r} class={`seg${f.range === r ? ' on' : ''}`} title={PRESET_LABELS[r]}>
              <input type="radio" name="range" checked={f.range === r} onChange={() => update({ range: r })} />
              <span>{r}</span>
            </label>
          ))}
        </fieldset>
        <form
          class="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            update({ q: q.trim() });
          }}
        >
          <input type="search" aria-label="Search titles and culprits" placeholder="Search titles and culprits" value={q} maxLength={1000} onInput={(e) => setQ(e.currentTarget.value)} />
          <Button type="submit" class="small">
            Search
          </Button>
        </form>
        <span class="spacer" />
        <Button class="small" onClick={onRefresh} title="Run the query again (moves the range to now)">
          Refresh
        </Button>
      </div>
    </section>
  );
}

function GroupList({ f, win }) {
  const list = usePages(`/api/logs/errors?${errorListParams(f, win)}`, 'groups', ERRORS_PAGE_SIZE);
  const bucketSeconds = list.data ? Number(list.data.bucket_seconds) || 0 : 0;
  const n = list.items.length;
  return (
    <section class="entries-panel" aria-label="Error groups" aria-busy={list.loading ? 'true' : 'false'}>
      <div class="pager">
        <span class="count" data-testid="groups-count" aria-live="polite">
          {list.loading && <Spinner />}
          {list.data && (n === 1 ? '1 error group' : `${formatNumber(n)} error groups`)}
          {list.data && list.nextToken && ' (more to load)'}
        </span>
        <span class="muted small-text">Entries with the same exception and in-app frames (or message pattern) are one group. Counts cover the range.</span>
      </div>
      <InlineError title="Could not load the error groups." error={list.error} onRetry={list.retry} busy={list.loading} />
      {!list.data && list.loading && (
        <p class="muted center">
          <Spinner label="Loading error groups" />
        </p>
      )}
      {list.data && n === 0 && !list.error && <p class="empty">No error groups match these filters in this time range.</p>}
      {n > 0 && (
        <div class="table-scroll groups-scroll">
          <table class="list groups" data-testid="groups">
            <caption class="sr-only">Error groups, sorted by {SORTS[f.sort].toLowerCase()}.</caption>
            <thead>
              <tr>
                <th scope="col">Error</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Count
                </th>
                <th scope="col">Services</th>
                <th scope="col">Trend</th>
                <th scope="col">First seen</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((g) => (
                <tr key={g.id} data-group={g.id} data-project={g.project_slug}>
                  <td class="c-error">
                    <Link href={groupHref(g.id, f.range)} class="group-title" data-testid="group-title">
                      {g.title || '(no message)'}
                    </Link>
                    <div class="muted small-text">
                      <span class="mono" data-testid="group-culprit">
                        {g.culprit}
                      </span>
                      {' · '}
                      {g.project_slug}
                      {g.also_in && g.also_in.length > 0 && <span data-testid="also-in"> · also in: {g.also_in.join(', ')}</span>}
                    </div>
                  </td>
                  <td>
                    <span class={`badge lvl-${g.level}`}>{g.level}</span> <StatusBadge group={g} />
                  </td>
                  <td class="num strong" data-testid="group-count">
                    {formatNumber(g.count)}
                  </td>
                  <td class="small-text" data-testid="group-services">
                    {(g.services || []).join(', ')}
                  </td>
                  <td>
                    <CountSparkline trend={g.trend || []} bucketSeconds={bucketSeconds} what="events" />
                  </td>
                  <td class="small-text nowrap">
                    <When iso={g.first_seen} />
                  </td>
                  <td class="small-text nowrap">
                    <When iso={g.last_seen} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore nextToken={list.nextToken} action={list.loadMore} what="error groups" />
    </section>
  );
}

export function ErrorGroupPage({ user, id }) {
  const loc = useLocation();
  const [refresh, setRefresh] = useState(0);
  const win = useMemo(() => groupWindow(loc.search, Date.now()), [loc.search, refresh]);
  const range = new URLSearchParams({ since: win.since, until: win.until });
  const res = useAsync((signal) => api.get(`/api/logs/errors/${encodeURIComponent(id)}?${range}`, { signal }), [id, win]);
  const { roles, projects } = useProjectRoles();
  const g = res.data && res.data.group;
  useEffect(() => {
    if (g) document.title = `${g.title} · Errors · DevSmith Logs`;
  }, [g && g.title]);
  const change = useAction(async (status) => {
    const r = await api.patch(`/api/logs/errors/${encodeURIComponent(id)}`, { status });
    const after = r.group || {};
    // The answer counts the last 24 hours; keep this page's counts and take
    // the status fields.
    res.setData((d) => ({ ...d, group: { ...d.group, status: after.status || status, regression: !!after.regression, resolve_time: after.resolve_time ?? null } }));
  });

  return (
    <>
      <p class="crumbs">
        <Link href="/errors">← Errors</Link>
      </p>
      {res.error && (
        <InlineError
          title={res.error.status === 404 ? 'No such error group, or it belongs to a project you cannot read.' : 'Could not load the error group.'}
          error={res.error}
          onRetry={res.retry}
          busy={res.loading}
        />
      )}
      {!g && res.loading && (
        <p class="muted center">
          <Spinner label="Loading the error group" />
        </p>
      )}
      {g && (
        <article class="group-page" aria-busy={res.loading ? 'true' : 'false'}>
          <div class="page-head">
            <h1 class="group-h1" data-testid="group-heading">
              {g.title || '(no message)'}
            </h1>
            <StatusBadge group={g} />
          </div>
          <p class="mono culprit" data-testid="culprit">
            {g.culprit}
          </p>
          <div class="group-actions">
            <GroupRange win={win} id={id} onRefresh={() => setRefresh((r) => r + 1)} />
            <span class="spacer" />
            <Triage group={g} user={user} role={roles[g.project_slug]} rolesLoading={projects.loading} change={change} />
          </div>
          <InlineError title="Could not change the status." error={change.error} />
          <dl class="meta group-meta">
            <dt>Project</dt>
            <dd>{g.project_slug}</dd>
            <dt>Exception type</dt>
            <dd data-testid="exception-type">{g.exception_type || '–'}</dd>
            <dt>Level</dt>
            <dd>
              <span class={`badge lvl-${g.level}`}>{g.level}</span>
            </dd>
            <dt>Events in the range</dt>
            <dd data-testid="group-count">{formatNumber(g.count)}</dd>
            <dt>First seen (range)</dt>
            <dd>
              <When iso={g.first_seen} />
            </dd>
            <dt>Last seen (range)</dt>
            <dd>
              <When iso={g.last_seen} />
            </dd>
            <dt>First seen ever</dt>
            <dd>
              <When iso={g.create_time} />
            </dd>
            {g.resolve_time && (
              <>
                <dt>Resolved</dt>
                <dd>
                  <When iso={g.resolve_time} />
                </dd>
              </>
            )}
            {g.also_in && g.also_in.length > 0 && (
              <>
                <dt>Also in</dt>
                <dd data-testid="also-in">{g.also_in.join(', ')}</dd>
              </>
            )}
          </dl>
          <BarChart title="Events over time" buckets={g.trend || []} stepSeconds={trendBucketSeconds(g.trend)} testid="group-trend" unit="events" />
          <section aria-labelledby="stack-h">
            <h2 id="stack-h">Stack trace</h2>
            {g.stack ? (
              <pre class="code stack" data-testid="stack" tabIndex={0} aria-label="Stack trace of the newest event">
                {g.stack}
              </pre>
            ) : (
              <p class="muted">The newest event in the range has no stack trace.</p>
            )}
          </section>
          <div class="grid2 counts">
            <CountsTable title="By service" what="Service" map={g.counts_by_service} testid="by-service" />
            <CountsTable title="By release" what="Release" map={g.counts_by_release} testid="by-release" empty="No event in the range names a release (context.release or context.version)." />
          </div>
          <Examples group={g} win={win} />
        </article>
      )}
    </>
  );
}

function GroupRange({ win, id, onRefresh }) {
  return (
    <span class="group-range">
      <span class="ranges" role="group" aria-label="Time range">
        {ERROR_RANGES.map((r) => (
          <Link key={r} href={`/errors/${encodeURIComponent(id)}${r === '24h' ? '' : `?range=${r}`}`} class={`seg-link${win.range === r ? ' on' : ''}`} aria-current={win.range === r ? 'true' : undefined} title={PRESET_LABELS[r]}>
            {r}
          </Link>
        ))}
      </span>
      <Button class="small" onClick={onRefresh}>
        Refresh
      </Button>
    </span>
  );
}

function Triage({ group, user, role, rolesLoading, change }) {
  if (!canTriage(user, role)) {
    if (rolesLoading) return null;
    return <span class="muted small-text" data-testid="triage-readonly">Viewers cannot change the status; maintainers and admins can.</span>;
  }
  return (
    <span class="triage" role="group" aria-label="Change the status">
      {statusActions(group.status).map((a) => (
        <Button key={a.status} class={a.status === 'resolved' ? 'small primary' : 'small'} busy={change.busy} onClick={() => change.run(a.status)} data-testid={`set-${a.status}`}>
          {a.label}
        </Button>
      ))}
    </span>
  );
}

function CountsTable({ title, what, map, testid, empty = 'None.' }) {
  const rows = countsByKey(map);
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p class="muted small-text">{empty}</p>
      ) : (
        <div class="table-scroll">
          <table class="list" data-testid={testid}>
            <thead>
              <tr>
                <th scope="col">{what}</th>
                <th scope="col" class="num">
                  Events
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([k, n]) => (
                <tr key={k}>
                  <td class="mono">{k}</td>
                  <td class="num">{formatNumber(n)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Examples({ group, win }) {
  const p = new URLSearchParams({ error_group: group.id, since: win.since, until: win.until, page_size: String(EXAMPLES) });
  if (group.project_slug) p.append('project', group.project_slug);
  const res = useAsync((signal) => api.get(`/api/logs/entries?${p}`, { signal }), [p.toString()]);
  const entries = (res.data && res.data.entries) || [];
  const logs = '/' + errorGroupSearch(group.project_slug, group.id, win);
  return (
    <section aria-labelledby="examples-h" class="examples-section">
      <div class="detail-head">
        <h2 id="examples-h">Examples</h2>
        <Link href={logs} data-testid="group-logs" class="btn small">
          Show all its entries in Logs
        </Link>
      </div>
      <InlineError title="Could not load examples." error={res.error} onRetry={res.retry} busy={res.loading} />
      {!res.data && res.loading && <Spinner label="Loading examples" />}
      {res.data && entries.length === 0 && !res.error && <p class="muted">No entries of this group in the range.</p>}
      {entries.length > 0 && <EntriesTable entries={entries} filters={emptyFilters()} />}
    </section>
  );
}
