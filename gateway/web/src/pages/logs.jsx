// The Logs page (home): filters kept in the URL, tiles and histogram for
// the range, the Insights panel, and two tabs: the entries (paged or live)
// and their patterns.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAsync } from '../hooks.js';
import { Link, navigate, useLocation } from '../router.jsx';
import {
  CUSTOM,
  LEVELS,
  PRESET_LABELS,
  PRESETS,
  filtersToSearch,
  fromLocalInput,
  parseFilters,
  queryParams,
  resolveWindow,
  toLocalInput,
} from '../lib/filters.js';
import { formatLocal, formatNumber, formatRate, formatUTC } from '../lib/format.js';
import { Button, InlineError, MultiSelect, Spinner } from '../components/ui.jsx';
import { Histogram } from '../components/histogram.jsx';
import { isEstimated, shownStats } from '../lib/sampling.js';
import { LiveEntries, PagedEntries } from '../components/entries.jsx';
import { InsightsPanel, showEntries } from '../components/insights.jsx';
import { PatternsPanel } from '../components/patterns.jsx';

const STATS_REFRESH_MS = 30000;

export function LogsPage() {
  const loc = useLocation();
  const filters = useMemo(() => parseFilters(loc.search), [loc.search]);
  // The view without the live switch and the tab: changing it starts over.
  const viewKey = filtersToSearch({ ...filters, live: false, view: 'entries' });
  const [refresh, setRefresh] = useState(0);
  // The concrete window, fixed once per view so every page and the stats
  // share it (a page token is only valid with the filters it came from).
  // Switching the live tail on or off starts a new window ending now.
  const win = useMemo(() => resolveWindow(filters, Date.now()), [viewKey, refresh, filters.live]);
  // While live, the tiles and histogram of a relative range move with time.
  const [statsTick, setStatsTick] = useState(0);
  useEffect(() => {
    if (!filters.live || filters.range === CUSTOM) return undefined;
    const t = setInterval(() => setStatsTick((n) => n + 1), STATS_REFRESH_MS);
    return () => clearInterval(t);
  }, [filters.live, filters.range]);
  const statsWin = useMemo(() => (filters.live && statsTick ? resolveWindow(filters, Date.now()) : win), [win, statsTick]);
  const update = (changes, opts) => navigate('/' + filtersToSearch({ ...filters, ...changes }), opts);

  return (
    <>
      <div class="page-head">
        <h1>Logs</h1>
        <WindowText filters={filters} win={win} />
      </div>
      <FilterBar filters={filters} update={update} onRefresh={() => setRefresh((r) => r + 1)} />
      <StatsPanel filters={filters} win={statsWin} update={update} />
      <InsightsPanel filters={filters} win={win} />
      <Tabs view={filters.view} onView={(v) => update({ view: v })} />
      <div role="tabpanel" id={`panel-${filters.view}`} aria-labelledby={`tab-${filters.view}`}>
        {filters.view === 'patterns' ? (
          <PatternsPanel
            key={`${viewKey}|${refresh}|${win.since}|${win.until}`}
            filters={filters}
            win={win}
            onPick={(p) => {
              update({ projects: [p.project_slug], patterns: [p.id], view: 'entries' });
              showEntries();
            }}
          />
        ) : filters.live ? (
          <LiveEntries key={`live|${viewKey}|${refresh}`} filters={filters} win={win} />
        ) : (
          <PagedEntries key={`${viewKey}|${refresh}|${win.since}|${win.until}`} filters={filters} win={win} />
        )}
      </div>
    </>
  );
}

const TABS = [
  { id: 'entries', label: 'Entries' },
  { id: 'patterns', label: 'Patterns' },
];

function Tabs({ view, onView }) {
  const key = (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const i = TABS.findIndex((t) => t.id === view);
    const next = TABS[(i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
    onView(next.id);
    document.getElementById(`tab-${next.id}`)?.focus();
  };
  return (
    <div class="tabs logs-tabs" role="tablist" aria-label="Entries or patterns" onKeyDown={key}>
      {TABS.map((t) => (
        <button
          key={t.id}
          id={`tab-${t.id}`}
          type="button"
          role="tab"
          aria-selected={view === t.id ? 'true' : 'false'}
          aria-controls={`panel-${t.id}`}
          tabIndex={view === t.id ? 0 : -1}
          class={`tab${view === t.id ? ' on' : ''}`}
          onClick={() => onView(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

function WindowText({ filters, win }) {
  const text =
    filters.range === CUSTOM
      ? `${win.since ? formatLocal(win.since).slice(0, 19) : 'the beginning'} → ${win.until ? formatLocal(win.until).slice(0, 19) : 'now'}`
      : PRESET_LABELS[filters.range];
  return (
    <p class="muted window" title={`${win.since ? formatUTC(win.since) : '…'} → ${win.until ? formatUTC(win.until) : 'now'}`}>
      {text}
      {filters.live && ' · live'}
    </p>
  );
}

function FilterBar({ filters, update, onRefresh }) {
  // Every project the user may read (one page of up to 1,000).
  const projects = useAsync((signal) => api.get('/api/logs/projects?page_size=1000', { signal }), []);
  // Services the chosen projects have sent (every readable project when none
  // is chosen), one page of up to 1,000.
  const projKey = filters.projects.join('\n');
  const services = useAsync(
    (signal) => {
      const p = new URLSearchParams();
      for (const v of filters.projects) p.append('project', v);
      p.set('page_size', '1000');
      return api.get(`/api/logs/services?${p}`, { signal });
    },
    [projKey],
  );
  const projectOptions = ((projects.data && projects.data.projects) || []).map((p) => ({
    value: p.slug,
    label: p.is_active === false ? `${p.name} (${p.slug}, deleted)` : `${p.name} (${p.slug})`,
  }));
  const serviceNames = [...new Set(((services.data && services.data.services) || []).map((s) => s.name))].sort();
  const serviceOptions = serviceNames.map((n) => ({ value: n, label: n }));

  const [q, setQ] = useState(filters.q);
  useEffect(() => setQ(filters.q), [filters.q]);
  const [custom, setCustom] = useState(null); // {since, until} in datetime-local text while editing
  useEffect(() => setCustom(null), [filters.range, filters.since, filters.until]);
  const showCustom = custom !== null || filters.range === CUSTOM;
  const cs = custom || { since: toLocalInput(filters.since), until: toLocalInput(filters.until) };
  const customSince = fromLocalInput(cs.since);
  const customUntil = fromLocalInput(cs.until);
  const customProblem =
    !customSince && !customUntil
      ? 'Choose a start or an end.'
      : (cs.since && !customSince) || (cs.until && !customUntil)
        ? 'Enter a complete date and time.'
        : customSince && customUntil && customSince >= customUntil
          ? 'The start must be before the end.'
          : '';

  const toggleLevel = (l) => {
    const set = new Set(filters.levels);
    if (set.has(l)) set.delete(l);
    else set.add(l);
    update({ levels: LEVELS.filter((x) => set.has(x)) });
  };

  return (
    <section class="filters" aria-label="Filters">
      <div class="filter-row">
        <MultiSelect
          label="Projects"
          allLabel="All projects"
          options={projectOptions}
          selected={filters.projects}
          onChange={(v) => update({ projects: v, services: [] })}
          loading={projects.loading}
          error={projects.error}
          onRetry={projects.retry}
          emptyText="No projects yet."
        />
        <MultiSelect
          label="Services"
          allLabel="All services"
          options={serviceOptions}
          selected={filters.services}
          onChange={(v) => update({ services: v })}
          loading={services.loading}
          error={services.error}
          onRetry={services.retry}
          emptyText="No service has sent logs yet."
        />
        <fieldset class="levels">
          <legend class="sr-only">Levels</legend>
          {LEVELS.map((l) => (
            <label key={l} class={`chip lvl-${l}${filters.levels.includes(l) ? ' on' : ''}`}>
              <input type="checkbox" checked={filters.levels.includes(l)} onChange={() => toggleLevel(l)} />
              <span>{l}</span>
            </label>
          ))}
        </fieldset>
        {filters.patterns.map((id) => (
          <span key={id} class="filter-chip" data-testid="pattern-chip">
            <span>
              Pattern <span class="mono">{id}</span>
            </span>
            <button
              type="button"
              class="chip-remove"
              aria-label={`Remove the filter on pattern ${id}`}
              title="Remove this filter"
              onClick={() => update({ patterns: filters.patterns.filter((x) => x !== id) })}
            >
              ×
            </button>
          </span>
        ))}
        {filters.errorGroups.map((id) => (
          <span key={`g${id}`} class="filter-chip" data-testid="error-group-chip">
            <span>
              Error group <Link href={`/errors/${id}`} class="mono">{id}</Link>
            </span>
            <button
              type="button"
              class="chip-remove"
              aria-label={`Remove the filter on error group ${id}`}
              title="Remove this filter"
              onClick={() => update({ errorGroups: filters.errorGroups.filter((x) => x !== id) })}
            >
              ×
            </button>
          </span>
        ))}
        {filters.context.map((c, i) => (
          <span key={`c${c.key}\n${c.value}`} class="filter-chip" data-testid="context-chip">
            <span>
              <span class="mono">{c.key}</span> = <span class="mono">{c.value}</span>
            </span>
            <button
              type="button"
              class="chip-remove"
              aria-label={`Remove the filter ${c.key} = ${c.value}`}
              title="Remove this filter"
              onClick={() => update({ context: filters.context.filter((_, j) => j !== i) })}
            >
              ×
            </button>
          </span>
        ))}
      </div>
      <div class="filter-row">
        <fieldset class="ranges">
          <legend class="sr-only">Time range</legend>
          {Object.keys(PRESETS).map((r) => (
            <label key={r} class={`seg${filters.range === r && custom === null ? ' on' : ''}`} title={PRESET_LABELS[r]}>
              <input type="radio" name="range" checked={filters.range === r && custom === null} onChange={() => update({ range: r, since: null, until: null })} />
              <span>{r}</span>
            </label>
          ))}
          <label class={`seg${showCustom ? ' on' : ''}`}>
            <input
              type="radio"
              name="range"
              checked={showCustom}
              onChange={() => setCustom({ since: toLocalInput(filters.since || new Date(Date.now() - 3600e3).toISOString()), until: toLocalInput(filters.until || new Date().toISOString()) })}
            />
            <span>Custom</span>
          </label>
        </fieldset>
        {showCustom && (
          <form
            class="custom-range"
            onSubmit={(e) => {
              e.preventDefault();
              if (!customProblem) update({ range: CUSTOM, since: customSince, until: customUntil });
            }}
          >
            <label>
              From <input type="datetime-local" value={cs.since} onInput={(e) => setCustom({ ...cs, since: e.currentTarget.value })} />
            </label>
            <label>
              To <input type="datetime-local" value={cs.until} onInput={(e) => setCustom({ ...cs, until: e.currentTarget.value })} />
            </label>
            <Button type="submit" class="small" disabled={!!customProblem}>
              Apply range
            </Button>
            {customProblem && custom !== null && <span class="field-error">{customProblem}</span>}
          </form>
        )}
        <form
          class="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            update({ q: q.trim() });
          }}
        >
          <input type="search" aria-label="Search messages" placeholder="Search messages" value={q} maxLength={1000} onInput={(e) => setQ(e.currentTarget.value)} />
          <Button type="submit" class="small">
            Search
          </Button>
        </form>
        <span class="spacer" />
        <Button class={`small${filters.live ? ' primary' : ''}`} aria-pressed={filters.live ? 'true' : 'false'} onClick={() => update({ live: !filters.live })} data-testid="live-toggle">
          <span class={`live-dot${filters.live ? ' live' : ''}`} aria-hidden="true" />
          Live tail
        </Button>
        <Button class="small" onClick={onRefresh} title="Run the query again (moves a relative range to now)">
          Refresh
        </Button>
        {filtersToSearch({ ...filters, live: false, view: 'entries' }) !== '' && (
          <Button class="small link" onClick={() => update({ projects: [], services: [], levels: [], patterns: [], errorGroups: [], context: [], q: '', range: '24h', since: null, until: null })}>
            Reset filters
          </Button>
        )}
      </div>
    </section>
  );
}

function StatsPanel({ filters, win, update }) {
  // Not keyed by the view: the last numbers stay up while new ones load.
  // Reloaded whenever a window is made (Refresh, live on/off), even one
  // with the same bounds.
  const params = queryParams(filters, win).toString();
  const stats = useAsync((signal) => api.get(`/api/logs/stats?${params}`, { signal }), [params, win]);
  const s = stats.data;
  // Sampled ranges show estimates of what was sent (docs/sampling.md).
  const shown = s ? shownStats(s) : null;
  const by = (shown && shown.byLevel) || {};
  const total = shown ? shown.total : 0;
  const errors = (Number(by.ERROR) || 0) + (Number(by.FATAL) || 0);
  const approx = (l) => (shown && isEstimated(shown, l) ? '≈ ' : '');
  const estimateNote = shown && shown.sampled
    ? `Estimated: a sampling rule stored only some TRACE, DEBUG and INFO entries; each stored one stands for 1/rate entries sent. ${formatNumber(shown.stored)} entries stored. WARN, ERROR and FATAL are never sampled: their counts are exact.`
    : undefined;
  return (
    <section class="stats" aria-label="Totals for the range" aria-busy={stats.loading ? 'true' : 'false'}>
      <InlineError title="Could not load the totals." error={stats.error} onRetry={stats.retry} busy={stats.loading} />
      <div class="tiles" data-testid="tiles">
        <div class="tile" title={estimateNote}>
          <span class="tile-label">Total</span>
          <span class="tile-value" data-testid="tile-total" aria-label={shown && shown.sampled ? `About ${formatNumber(total)}, estimated from ${formatNumber(shown.stored)} stored entries` : undefined}>
            {shown ? (shown.sampled ? '≈ ' : '') + formatNumber(total) : stats.loading ? <Spinner /> : '–'}
          </span>
          {shown && shown.sampled && (
            <span class="tile-note" data-testid="tile-estimate-note">
              estimated from {formatNumber(shown.stored)} stored
            </span>
          )}
        </div>
        {LEVELS.map((l) => (
          <button
            type="button"
            key={l}
            class={`tile level-tile lvl-${l}${filters.levels.length === 1 && filters.levels[0] === l ? ' on' : ''}`}
            onClick={() => update({ levels: [l] })}
            title={`Show only ${l}${approx(l) ? ` (estimated; ${formatNumber(shown.exactByLevel[l] || 0)} stored)` : ''}`}
            aria-label={`${l}: ${shown ? (approx(l) ? 'about ' : '') + formatNumber(by[l] || 0) + (approx(l) ? `, estimated from ${formatNumber(shown.exactByLevel[l] || 0)} stored` : '') : 'loading'}. Show only ${l}`}
          >
            <span class="tile-label">{l}</span>
            <span class="tile-value" data-testid={`tile-${l}`}>{shown ? approx(l) + formatNumber(by[l] || 0) : '–'}</span>
          </button>
        ))}
        <div class="tile">
          <span class="tile-label" title={`(ERROR + FATAL) / total${shown && shown.sampled ? ' (estimated)' : ''}`}>Error rate</span>
          <span class="tile-value" data-testid="tile-error-rate">{shown ? (shown.sampled ? '≈ ' : '') + formatRate(errors, total) : '–'}</span>
        </div>
      </div>
      {s && <Histogram stats={s} shown={shown} onRange={(r) => update({ range: CUSTOM, since: r.since, until: r.until })} />}
    </section>
  );
}
