// The Patterns tab: the patterns of the page's filters and window, most
// frequent first, 100 at a time, each with its level counts, services and
// a sparkline of its trend; picking one shows its entries.
import { usePages } from '../hooks.js';
import { LEVELS, patternListParams } from '../lib/filters.js';
import { formatLocal, formatNumber, formatShort, formatUTC } from '../lib/format.js';
import { sparkline } from '../lib/sparkline.js';
import { InlineError, LoadMore, Spinner } from './ui.jsx';

export const PATTERNS_PAGE_SIZE = 100;
const SPARK_W = 120;
const SPARK_H = 24;

/** A trend ([{start, count}]) as a small inline SVG, with a text twin for screen readers. */
export function Sparkline({ trend, bucketSeconds }) {
  const s = sparkline(trend, { width: SPARK_W, height: SPARK_H, pad: 2 });
  if (!s.line) return <span class="muted">–</span>;
  const first = trend.length ? formatShort(trend[0].start) : '';
  const label = `${formatNumber(s.total)} entries in ${trend.length} buckets${bucketSeconds ? ` of ${widthText(bucketSeconds)}` : ''} from ${first}; the busiest holds ${formatNumber(s.max)}`;
  return (
    <svg class="sparkline" viewBox={`0 0 ${SPARK_W} ${SPARK_H}`} width={SPARK_W} height={SPARK_H} role="img" aria-label={label} data-testid="sparkline">
      <path class="spark-area" d={s.area} />
      <path class="spark-line" d={s.line} vector-effect="non-scaling-stroke" />
    </svg>
  );
}

function widthText(secs) {
  const w = Number(secs) || 0;
  return w >= 86400 ? `${w / 86400} d` : w >= 3600 ? `${w / 3600} h` : w >= 60 ? `${w / 60} min` : `${w} s`;
}

/** Level counts of a pattern as small badges, in severity order. */
export function LevelCounts({ counts }) {
  const c = counts || {};
  const shown = LEVELS.filter((l) => Number(c[l]) > 0);
  if (!shown.length) return null;
  return (
    <span class="level-counts">
      {shown.map((l) => (
        <span key={l} class={`badge lvl-${l}`} title={`${formatNumber(c[l])} ${l}`}>
          {l} {formatNumber(c[l])}
        </span>
      ))}
    </span>
  );
}

export function PatternsPanel({ filters, win, onPick }) {
  const path = `/api/logs/patterns?${patternListParams(filters, win)}`;
  const list = usePages(path, 'patterns', PATTERNS_PAGE_SIZE);
  const bucketSeconds = list.data ? Number(list.data.bucket_seconds) || 0 : 0;
  const several = filters.projects.length !== 1;
  // The list ignores the pattern filter; the patterns it names are marked.
  const filtered = new Set(filters.patterns);
  return (
    <section class="entries-panel" aria-label="Patterns" aria-busy={list.loading ? 'true' : 'false'}>
      <div class="pager">
        <span class="count" data-testid="patterns-count" aria-live="polite">
          {list.loading && <Spinner />}
          {list.data && (list.items.length === 1 ? '1 pattern' : `${formatNumber(list.items.length)} patterns`)}
          {list.data && list.nextToken && ' (more to load)'}
        </span>
        <span class="muted small-text">Messages that differ only where the template shows a variable. Pick one to see its entries.</span>
      </div>
      <InlineError title="Could not load the patterns." error={list.error} onRetry={list.retry} busy={list.loading} />
      {!list.data && list.loading && (
        <p class="muted center">
          <Spinner label="Loading patterns" />
        </p>
      )}
      {list.data && list.items.length === 0 && !list.error && <p class="empty">No patterns: no entries match these filters in this time range.</p>}
      {list.items.length > 0 && (
        <div class="table-scroll patterns-scroll">
          <table class="list patterns" data-testid="patterns">
            <caption class="sr-only">Log patterns, most frequent first.</caption>
            <thead>
              <tr>
                <th scope="col" class="num">Count</th>
                <th scope="col">Pattern</th>
                <th scope="col">Levels</th>
                <th scope="col">Services</th>
                <th scope="col">Trend</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((p) => (
                <tr key={`${p.project_slug}/${p.id}`} class={filtered.has(p.id) ? 'on' : undefined} data-pattern={p.id} data-project={p.project_slug}>
                  <td class="num strong" data-testid="pattern-count">{formatNumber(p.count)}</td>
                  <td class="c-template">
                    <button type="button" class="pattern-link" onClick={() => onPick(p)} title={`Show the entries of pattern ${p.id}`} data-testid="pattern-template">
                      {p.template}
                    </button>
                    {several && <span class="muted small-text"> · {p.project_slug}</span>}
                  </td>
                  <td>
                    <LevelCounts counts={p.counts_by_level} />
                  </td>
                  <td class="small-text">{(p.services || []).join(', ')}</td>
                  <td>
                    <Sparkline trend={p.trend || []} bucketSeconds={bucketSeconds} />
                  </td>
                  <td class="small-text nowrap">
                    {p.last_seen && (
                      <time dateTime={p.last_seen} title={formatUTC(p.last_seen)}>
                        {formatLocal(p.last_seen).slice(0, 19)}
                      </time>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore nextToken={list.nextToken} action={list.loadMore} what="patterns" />
    </section>
  );
}
