// The table of entries: paged by next_page_token (a stack of tokens for
// Previous), or live from the SSE tail.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, isAbort } from '../api.js';
import { useAsync } from '../hooks.js';
import { filtersToSearch, queryParams, tailParams } from '../lib/filters.js';
import { countLabel, formatLocal, formatNumber, formatUTC, prettyJSON } from '../lib/format.js';
import { parseJSON } from '../lib/json.js';
import { keptText, standsFor } from '../lib/sampling.js';
import { TailBuffer, TAIL_CAP } from '../lib/tailbuffer.js';
import { Link } from '../router.jsx';
import { Button, CopyButton, InlineError, Spinner } from './ui.jsx';

export const PAGE_SIZE = 100;
const MAX_PAGES_REMEMBERED = 500; // Previous reaches this far back; First always works
const TAIL_CONNECT_TIMEOUT_MS = 15000;

/**
 * The link of an entry's pattern: the same view narrowed to the entry's
 * project and pattern.
 */
function patternHref(filters, e) {
  return '/' + filtersToSearch({ ...filters, projects: [e.project_slug], patterns: [e.pattern_id], view: 'entries' });
}

function EntryRow({ e, open, onToggle, filters }) {
  const detailId = `entry-${e.id}`;
  return (
    <>
      <tr class={`row${open ? ' open' : ''}`} onClick={(ev) => { if (!window.getSelection()?.toString() && !ev.target.closest('button, a')) onToggle(e.id); }}>
        <td class="c-time">
          <button
            type="button"
            class="expander"
            aria-expanded={open ? 'true' : 'false'}
            aria-controls={open ? detailId : undefined}
            aria-label={`${open ? 'Hide' : 'Show'} details of entry ${e.id}`}
            onClick={() => onToggle(e.id)}
          >
            <span aria-hidden="true">{open ? '▾' : '▸'}</span>
          </button>
          <time dateTime={e.timestamp} title={formatUTC(e.timestamp)}>
            {formatLocal(e.timestamp)}
          </time>
        </td>
        <td class="c-level">
          <span class={`badge lvl-${e.level}`}>{e.level}</span>
        </td>
        <td class="c-project">{e.project_slug}</td>
        <td class="c-service">{e.service_name}</td>
        <td class="c-msg">{e.message}</td>
      </tr>
      {open && (
        <tr class="detail" id={detailId}>
          <td colSpan={5}>
            <dl class="meta">
              <dt>Time (UTC)</dt>
              <dd>{formatUTC(e.timestamp)}</dd>
              <dt>Entry</dt>
              <dd>#{e.id}</dd>
              {e.pattern_id && (
                <>
                  <dt>Pattern</dt>
                  <dd>
                    <Link href={patternHref(filters, e)} data-testid="entry-pattern" title="Show every entry of this pattern">
                      {e.pattern_id}
                    </Link>{' '}
                    <span class="muted">(entries of this pattern)</span>
                  </dd>
                </>
              )}
              {e.error_group_id && (
                <>
                  <dt>Error group</dt>
                  <dd>
                    <Link href={`/errors/${encodeURIComponent(e.error_group_id)}`} data-testid="entry-error-group" title="Open this entry's error group">
                      {e.error_group_id}
                    </Link>{' '}
                    <span class="muted">(the recurring error this entry belongs to)</span>
                  </dd>
                </>
              )}
              {keptText(e.sample_rate) && (
                <>
                  <dt>Sampled</dt>
                  <dd data-testid="entry-sampled" title={`A sampling rule stored this entry and left out others like it: it stands for ${standsFor(e.sample_rate)} entries in the estimates`}>
                    {keptText(e.sample_rate)}
                  </dd>
                </>
              )}
            </dl>
            <div class="detail-msg">{e.message}</div>
            <div class="detail-head">
              <h3>Context</h3>
              <CopyButton text={() => prettyJSON(e.context)} label="Copy context" />
              <CopyButton text={() => prettyJSON(e)} label="Copy entry as JSON" />
            </div>
            <pre class="context">{prettyJSON(e.context)}</pre>
          </td>
        </tr>
      )}
    </>
  );
}

export function EntriesTable({ entries, scrollRef, onScroll, busy, filters }) {
  const [expanded, setExpanded] = useState(() => new Set());
  // Forget expansions of rows no longer shown, so the set stays bounded.
  useEffect(() => {
    setExpanded((s) => {
      if (s.size === 0) return s;
      const ids = new Set(entries.map((e) => e.id));
      const next = new Set([...s].filter((id) => ids.has(id)));
      return next.size === s.size ? s : next;
    });
  }, [entries]);
  const toggle = (id) =>
    setExpanded((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return (
    <div class={`table-wrap${busy ? ' busy' : ''}`} ref={scrollRef} onScroll={onScroll} tabIndex={-1}>
      <table class="entries" data-testid="entries">
        <caption class="sr-only">Log entries, newest first. Expand a row for its context.</caption>
        <thead>
          <tr>
            <th scope="col" class="c-time">Time</th>
            <th scope="col" class="c-level">Level</th>
            <th scope="col" class="c-project">Project</th>
            <th scope="col" class="c-service">Service</th>
            <th scope="col" class="c-msg">Message</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <EntryRow key={e.id} e={e} open={expanded.has(e.id)} onToggle={toggle} filters={filters} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Entries of the filters and window, a page at a time. */
export function PagedEntries({ filters, win }) {
  // The tokens of the pages walked through, for Previous: the first page
  // has the empty token. Each remembers how many entries came before it,
  // so the counts stay exact.
  const [pages, setPages] = useState([{ token: '', offset: 0 }]);
  const cur = pages[pages.length - 1];
  const scrollRef = useRef(null);
  const res = useAsync(
    async (signal) => {
      const p = queryParams(filters, win);
      p.set('page_size', String(PAGE_SIZE));
      if (cur.token) p.set('page_token', cur.token);
      const r = await api.get(`/api/logs/entries?${p}`, { signal });
      return { ...r, offset: cur.offset, token: cur.token };
    },
    [cur.token, cur.offset],
  );
  const data = res.data;
  const entries = (data && data.entries) || [];
  useEffect(() => {
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
  }, [data]);
  const [moved, setMoved] = useState(null); // which pager button started the load
  const go = (where) => {
    if (res.loading) return;
    if (where === 'next') {
      if (!data || !data.next_page_token) return;
      setPages((ps) => [...ps, { token: data.next_page_token, offset: data.offset + entries.length }].slice(-MAX_PAGES_REMEMBERED));
    } else if (where === 'prev') {
      setPages((ps) => (ps.length > 1 ? ps.slice(0, -1) : ps));
    } else {
      setPages([{ token: '', offset: 0 }]);
    }
    setMoved(where);
  };
  const label = data
    ? countLabel({ offset: data.offset, shown: entries.length, total: Number(data.total_size) || 0, exact: data.total_size_exact !== false })
    : '';
  const pager = (where) => (
    <div class="pager" role="group" aria-label={`Pages (${where})`}>
      <span class="count" data-testid={where === 'top' ? 'count' : undefined} aria-live={where === 'top' ? 'polite' : undefined}>
        {res.loading && <Spinner />} {label}
      </span>
      <span class="pager-buttons">
        {(pages.length > 2 || (pages.length === 1 && cur.offset > 0)) && (
          <Button class="small" onClick={() => go('first')} disabled={res.loading} busy={res.loading && moved === 'first'}>
            First
          </Button>
        )}
        <Button class="small" onClick={() => go('prev')} disabled={pages.length === 1 || res.loading} busy={res.loading && moved === 'prev'}>
          Previous
        </Button>
        <Button class="small" onClick={() => go('next')} disabled={!data || !data.next_page_token || res.loading} busy={res.loading && moved === 'next'}>
          Next
        </Button>
      </span>
    </div>
  );
  return (
    <section class="entries-panel" aria-label="Entries">
      {pager('top')}
      <InlineError title="Could not load entries." error={res.error} onRetry={res.retry} busy={res.loading} />
      {!data && res.loading && (
        <p class="muted center">
          <Spinner label="Loading entries" />
        </p>
      )}
      {data && entries.length === 0 && !res.error && (
        <p class="empty">No entries match these filters in this time range. Widen the range, clear filters, or turn on Live tail.</p>
      )}
      {entries.length > 0 && <EntriesTable entries={entries} scrollRef={scrollRef} busy={res.loading} filters={filters} />}
      {entries.length > 20 && pager('bottom')}
    </section>
  );
}

/**
 * The live tail: the newest page, then every new matching entry from
 * GET /api/logs/tail on top, at most TAIL_CAP rows. Scrolling away from the
 * top pauses it; new entries wait and a button jumps back.
 */
export function LiveEntries({ filters, win }) {
  const bufRef = useRef(null);
  if (!bufRef.current) bufRef.current = new TailBuffer(TAIL_CAP);
  const buf = bufRef.current;
  const [, setTick] = useState(0);
  const [status, setStatus] = useState('connecting'); // connecting | live | reconnecting | stopped
  const [error, setError] = useState(null);
  const [seedError, setSeedError] = useState(null);
  const [attempt, setAttempt] = useState(0);
  const scrollRef = useRef(null);

  useEffect(() => {
    let frame = 0;
    const rerender = () => {
      if (!frame) frame = requestAnimationFrame(() => {
        frame = 0;
        setTick((t) => t + 1);
      });
    };
    const ctl = new AbortController();
    let seeded = false;
    let early = []; // arrived before the first page did
    let everOpen = false;
    setStatus('connecting');
    setError(null);
    setSeedError(null);

    // The tail takes no error group filter: keep only the chosen groups.
    const groups = new Set(filters.errorGroups || []);
    const add = (entry) => {
      if (groups.size && !groups.has(entry.error_group_id)) return;
      if (!seeded) {
        early.push(entry);
        if (early.length > TAIL_CAP) early = early.slice(-TAIL_CAP);
      } else {
        buf.push(entry);
      }
      rerender();
    };
    // The newest page of the filters: the rows the tail starts from, and
    // after a reconnection the entries that arrived while disconnected.
    const load = async () => {
      const p = queryParams(filters, { since: win.since, until: null });
      p.set('page_size', String(PAGE_SIZE));
      const r = await api.get(`/api/logs/entries?${p}`, { signal: ctl.signal });
      return r.entries || [];
    };
    load().then(
      (entries) => {
        buf.seed(entries);
        seeded = true;
        for (const e of early) buf.push(e);
        early = [];
        rerender();
      },
      (err) => {
        if (isAbort(err)) return;
        buf.seed([]);
        seeded = true;
        for (const e of early) buf.push(e);
        early = [];
        setSeedError(err);
        rerender();
      },
    );

    const es = new EventSource(`/api/logs/tail?${tailParams(filters)}`);
    const fail = (err) => {
      es.close();
      clearTimeout(timer);
      setStatus('stopped');
      setError(err);
    };
    const timer = setTimeout(() => {
      if (es.readyState !== EventSource.OPEN) fail(new ApiError('The live tail did not connect within 15 s.', { code: 'TIMEOUT' }));
    }, TAIL_CONNECT_TIMEOUT_MS);
    es.onopen = () => {
      clearTimeout(timer);
      setStatus('live');
      setError(null);
      if (everOpen) {
        // Back after a drop. The browser sent the last event's id
        // (Last-Event-ID) and the tail resumes from it, but only within the
        // server's 10-minute journal: re-read the newest page as well (ids
        // already shown are dropped).
        load().then(
          (entries) => {
            for (const e of entries.slice().reverse()) buf.push(e);
            rerender();
          },
          () => {},
        );
      }
      everOpen = true;
    };
    es.onmessage = (ev) => {
      try {
        add(parseJSON(ev.data));
      } catch {
        /* not an entry */
      }
    };
    es.addEventListener('error', (ev) => {
      if (typeof ev.data === 'string') {
        // The server's `event: error`: the stream ended for a reason.
        let msg = ev.data;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          /* plain text */
        }
        fail(new ApiError(`Live tail stopped: ${msg}`));
        return;
      }
      if (es.readyState === EventSource.CLOSED) {
        // Refused (401, 403, 400...): EventSource hides the answer, so ask
        // the entries endpoint with the same filters for the reason.
        const p = tailParams(filters);
        p.set('page_size', '1');
        api.get(`/api/logs/entries?${p}`, { signal: ctl.signal }).then(
          () => fail(new ApiError('The server refused the live tail.')),
          (err) => {
            if (!isAbort(err)) fail(err);
          },
        );
        return;
      }
      setStatus('reconnecting'); // the browser retries by itself
    });
    return () => {
      ctl.abort();
      clearTimeout(timer);
      es.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [attempt]);

  const onScroll = (ev) => {
    const away = ev.currentTarget.scrollTop > 40;
    if (away && !buf.paused) {
      buf.pause();
      setTick((t) => t + 1);
    } else if (!away && buf.paused) {
      buf.resume();
      setTick((t) => t + 1);
    }
  };
  const jump = () => {
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
    buf.resume();
    setTick((t) => t + 1);
  };
  const statusText = {
    connecting: 'Connecting…',
    live: buf.paused ? 'Paused while you scroll' : 'Live',
    reconnecting: 'Connection lost, reconnecting…',
    stopped: 'Stopped',
  }[status];
  return (
    <section class="entries-panel" aria-label="Live entries">
      <div class="pager">
        <span class="count" data-testid="count" aria-live="polite">
          <span class={`live-dot ${status}${buf.paused ? ' paused' : ''}`} aria-hidden="true" />
          {statusText} · {formatNumber(buf.rows.length)} newest {buf.rows.length === 1 ? 'entry' : 'entries'} (at most {formatNumber(TAIL_CAP)} kept)
        </span>
        {buf.pendingCount > 0 && (
          <Button class="small primary" onClick={jump} data-testid="jump">
            {formatNumber(buf.pendingCount)} new — jump to top
          </Button>
        )}
      </div>
      <InlineError title="Live tail failed." error={error} onRetry={() => setAttempt((a) => a + 1)} busy={status === 'connecting'} />
      <InlineError title="Could not load the latest entries." error={seedError} onRetry={() => setAttempt((a) => a + 1)} />
      {buf.rows.length === 0 && status !== 'stopped' && <p class="empty">Waiting for entries that match these filters…</p>}
      {buf.rows.length > 0 && <EntriesTable entries={buf.rows} scrollRef={scrollRef} onScroll={onScroll} filters={filters} />}
    </section>
  );
}
