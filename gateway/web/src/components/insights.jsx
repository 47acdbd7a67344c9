// The Insights panel: one analysis of the page's projects and window at a
// time (POST /api/logs/analysis), with its elapsed time and Cancel while it
// runs, and the report rendered as text (never as HTML).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, isAbort } from '../api.js';
import { patternSearch } from '../lib/filters.js';
import { formatLocal, formatNumber, formatUTC } from '../lib/format.js';
import { ANALYSIS_CLIENT_TIMEOUT_MS, analysisBody, analysisErrorMessage, changeText, formatElapsed, reportView } from '../lib/insights.js';
import { SingleFlight } from '../lib/singleflight.js';
import { Link } from '../router.jsx';
import { LevelCounts } from './patterns.jsx';
import { Button, Spinner } from './ui.jsx';

const EXAMPLES_SHOWN = 3;

/** Brings the entries (where a pattern link leads) into view after the navigation renders. */
export function showEntries() {
  requestAnimationFrame(() => document.getElementById('tab-entries')?.scrollIntoView({ block: 'start' }));
}

export function InsightsPanel({ filters, win }) {
  const guardRef = useRef(null);
  if (!guardRef.current) guardRef.current = new SingleFlight();
  const guard = guardRef.current;
  // idle | running | done | failed | cancelled; the last report stays shown
  // while a new one runs or after one fails.
  const [state, setState] = useState({ status: 'idle', started: 0, result: null, scope: null, error: null });
  const [now, setNow] = useState(0);
  const [hidden, setHidden] = useState(false);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      guard.cancel(); // leaving the page ends the analysis (the server cancels its SQL)
    };
  }, []);
  const running = state.status === 'running';
  useEffect(() => {
    if (!running) return undefined;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [running]);

  const analyze = (ev) => {
    const button = ev && ev.currentTarget;
    const body = analysisBody(filters, win);
    const scope = { projects: body.project, since: body.since || null, until: body.until || null };
    const call = guard.start((signal) => api.post('/api/logs/analysis', body, { signal, timeout: ANALYSIS_CLIENT_TIMEOUT_MS }));
    if (!call) return; // one is running: this click does nothing
    // Disabled now, not at the next render: clicks queued behind this one
    // find it disabled (the guard refuses them anyway).
    if (button) button.disabled = true;
    const started = Date.now();
    setNow(started);
    setState((s) => ({ ...s, status: 'running', started, error: null }));
    call.then(
      (result) => {
        if (mounted.current) setState({ status: 'done', started, result, scope, error: null });
      },
      (error) => {
        if (!mounted.current) return;
        if (isAbort(error)) setState((s) => ({ ...s, status: 'cancelled', error: null }));
        else setState((s) => ({ ...s, status: 'failed', error }));
      },
    );
  };

  const elapsed = running ? Math.max(0, now - state.started) : 0;
  return (
    <section class="insights" aria-label="Insights" data-testid="insights">
      <div class="insights-head">
        <h2>Insights</h2>
        <p class="muted small-text">
          New, growing and frequent patterns, spikes, and services that changed or went silent in{' '}
          {filters.projects.length ? `${filters.projects.length === 1 ? 'project' : 'projects'} ${filters.projects.join(', ')}` : 'every project you can read'}, over this time range.
        </p>
        <span class="spacer" />
        <button type="button" class="btn primary" disabled={running} aria-busy={running ? 'true' : undefined} onClick={analyze} data-testid="analyze">
          {running && <Spinner />}
          Analyze
        </button>
        {running && (
          <Button class="small" onClick={() => guard.cancel()} data-testid="analyze-cancel">
            Cancel
          </Button>
        )}
        {state.result && (
          <Button class="small link" aria-expanded={hidden ? 'false' : 'true'} onClick={() => setHidden((h) => !h)}>
            {hidden ? 'Show report' : 'Hide report'}
          </Button>
        )}
      </div>
      {running && (
        <div class="analysis-progress" data-testid="analysis-progress">
          <progress aria-label="Analysis running" />
          {/* Announced once; the ticking seconds are for the eyes only. */}
          <span role="status" class="sr-only">
            Analyzing
          </span>
          <span aria-hidden="true">
            Analyzing… {formatElapsed(elapsed)} (the server stops at its time limit, 60 s by default)
          </span>
        </div>
      )}
      {state.status === 'cancelled' && (
        <p class="muted small-text" role="status" data-testid="analysis-cancelled">
          Analysis cancelled.
        </p>
      )}
      {state.status === 'failed' && (
        <div class="error-box" role="alert" data-testid="analysis-error">
          <span class="error-text">
            <strong>The analysis failed. </strong>
            {analysisErrorMessage(state.error)}
          </span>
        </div>
      )}
      {state.result && !hidden && <Report result={state.result} scope={state.scope} stale={running} />}
    </section>
  );
}

function Report({ result, scope, stale }) {
  const v = reportView(result);
  const win = { since: v.since || scope.since, until: v.until || scope.until };
  const shown = v.sections.filter((s) => s.items.length > 0);
  const empty = v.sections.filter((s) => s.items.length === 0);
  return (
    <div class={`report${stale ? ' busy' : ''}`} data-testid="report">
      <p class="muted small-text report-scope">
        {scope.projects.length ? scope.projects.join(', ') : 'Every project'} ·{' '}
        <span title={`${win.since ? formatUTC(win.since) : '…'} → ${win.until ? formatUTC(win.until) : 'now'}`}>
          {win.since ? formatLocal(win.since).slice(0, 19) : '…'} → {win.until ? formatLocal(win.until).slice(0, 19) : 'now'}
        </span>
        {v.generatedAt && ` · computed ${formatLocal(v.generatedAt).slice(0, 19)}`}
        {` · ${formatNumber(v.sampleSize)} entries read`}
      </p>
      {v.summary && (
        <div class="summary">
          <p data-testid="summary">{v.summary}</p>
          <p class="muted small-text">{v.summarySource === 'llm' ? 'Summary written by a language model from the report.' : 'Summary built from the report.'}</p>
        </div>
      )}
      {v.notes.map((n) => (
        <p key={n} class="warning small-text" data-testid="report-note">
          {n}
        </p>
      ))}
      {shown.map((s) => (
        <section key={s.key} class="report-section" data-section={s.key}>
          <h3>
            {s.title} <span class="badge gray">{formatNumber(s.items.length)}</span>
          </h3>
          <ul class="findings">
            {s.items.map((it, i) => (
              <li key={`${it.project}/${it.patternId || it.service}/${i}`} class="finding">
                {s.kind === 'service' ? <ServiceFinding it={it} /> : <PatternFinding it={it} kind={s.kind} win={win} />}
              </li>
            ))}
          </ul>
        </section>
      ))}
      {empty.length > 0 && <p class="muted small-text">Nothing found for: {empty.map((s) => s.title.toLowerCase()).join(', ')}.</p>}
    </div>
  );
}

function PatternFinding({ it, kind, win }) {
  const href = '/' + patternSearch(it.project, it.patternId, win);
  return (
    <>
      <div class="finding-head">
        <span class="finding-count">{formatNumber(it.count)}</span>
        <Link href={href} class="template" data-testid="finding-pattern" title="Show the entries of this pattern" onClick={showEntries}>
          {it.template}
        </Link>
      </div>
      <div class="finding-meta small-text muted">
        {it.project}
        {kind === 'spike'
          ? ` · ${it.service} · expected about ${formatNumber(Math.round(it.baseline * 10) / 10)} · score ${it.score.toFixed(1)}`
          : ` · ${changeText(it.count, it.previous)}${it.services.length ? ` · ${it.services.join(', ')}` : ''}`}{' '}
        {kind !== 'spike' && <LevelCounts counts={it.byLevel} />}
      </div>
      {it.examples.length > 0 && (
        <ul class="examples">
          {it.examples.slice(0, EXAMPLES_SHOWN).map((e, i) => (
            <li key={e.id || i} data-testid="finding-example">
              {e.level && <span class={`badge lvl-${e.level}`}>{e.level}</span>} {e.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function ServiceFinding({ it }) {
  return (
    <>
      <div class="finding-head">
        <span class="strong">
          {it.project} / {it.service}
        </span>
        {it.reason && <span class="badge gray">{it.reason}</span>}
      </div>
      <div class="finding-meta small-text muted">
        {formatNumber(it.count)} entries ({formatNumber(it.previous)} before) · {formatNumber(it.errors)} errors ({formatNumber(it.previousErrors)} before)
        {it.lastLogAt && ` · last log ${formatLocal(it.lastLogAt).slice(0, 19)}`}
      </div>
    </>
  );
}
