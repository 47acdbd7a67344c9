// Charts drawn by hand in SVG for the Errors and Performance pages: line
// charts of values per bucket, bar charts of counts, and sparklines. Every
// chart has a text alternative: an accessible name, and its numbers in a
// table inside a <details> (sparklines: the counts in their aria-label).
import { useId, useRef, useState } from 'preact/hooks';
import { formatNumber, formatShort, formatUTC } from '../lib/format.js';
import { linePath, niceCeil } from '../lib/metrics.js';
import { sparkline } from '../lib/sparkline.js';
import { indexAtX } from '../lib/histogram.js';
import { Link, navigate } from '../router.jsx';

const W = 1000; // viewBox width; the SVG stretches to its container
const H = 160;

/** "5 min", "1 h" for a bucket width in seconds. */
export function widthText(secs) {
  const w = Number(secs) || 0;
  return w >= 86400 ? `${w / 86400} d` : w >= 3600 ? `${w / 3600} h` : w >= 60 ? `${w / 60} min` : `${w} s`;
}

/**
 * Keyboard and pointer picking of a bucket: arrow keys move a cursor,
 * Enter or Space picks it, a click picks the bucket under the pointer.
 */
function usePicker(n, pick) {
  const svgRef = useRef(null);
  const [cursor, setCursor] = useState(null);
  const [hover, setHover] = useState(null);
  const at = (e) => {
    const r = svgRef.current.getBoundingClientRect();
    return indexAtX(e.clientX - r.left, r.width, n);
  };
  const handlers = {
    onKeyDown: (e) => {
      if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') {
        e.preventDefault();
        const c = cursor == null ? n - 1 : cursor;
        const next = e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : Math.min(n - 1, Math.max(0, c + (e.key === 'ArrowLeft' ? -1 : 1)));
        setCursor(next);
      } else if ((e.key === 'Enter' || e.key === ' ') && cursor != null && pick) {
        e.preventDefault();
        pick(cursor);
      } else if (e.key === 'Escape') {
        setCursor(null);
      }
    },
    onBlur: () => setCursor(null),
    onPointerMove: (e) => setHover(at(e)),
    onPointerLeave: () => setHover(null),
    onClick: (e) => {
      if (pick) pick(at(e));
    },
  };
  return { svgRef, cursor, hover, handlers };
}

/**
 * A line chart of one or more lines over the same buckets.
 * - buckets: [{start}], oldest first; stepSeconds their width
 * - lines: [{key, label, values: [number|null], cls}]
 * - format(v): a value as text; hrefAt(i): where a click on bucket i leads
 *   (optional; the table then links every row there too)
 */
export function LineChart({ title, buckets, stepSeconds, lines, format, hrefAt, testid, describe = '' }) {
  const n = buckets.length;
  const all = lines.flatMap((l) => l.values.filter((v) => v != null));
  const max = niceCeil(all.length ? Math.max(...all) : 0);
  const pick = hrefAt ? (i) => navigate(hrefAt(i)) : null;
  const { svgRef, cursor, hover, handlers } = usePicker(n, pick);
  const tableId = useId();
  if (n === 0) return <p class="muted">No buckets in this range.</p>;
  const col = W / n;
  const bucketText = (i) => `${formatShort(buckets[i].start, Number(stepSeconds) < 60)}: ${lines.map((l) => `${l.label} ${l.values[i] == null ? 'no data' : format(l.values[i])}`).join(', ')}`;
  const mark = cursor != null ? cursor : hover;
  const ticks = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n - 1].filter((v, i, a) => a.indexOf(v) === i);
  const label = `${title}: ${lines.map((l) => l.label).join(', ')} over ${n} buckets of ${widthText(stepSeconds)}, from 0 to ${format(max)}.${describe ? ' ' + describe : ''}${
    pick ? ' Use the arrow keys and Enter, or click, to open the logs of a bucket.' : ''
  }${cursor != null ? ' Selected: ' + bucketText(cursor) : ''} The numbers are in the table below.`;
  return (
    <figure class="chart" data-testid={testid}>
      <figcaption class="chart-head">
        <span class="chart-title">{title}</span>
        <span class="legend" aria-hidden="true">
          {lines.map((l) => (
            <span key={l.key} class={`legend-item ${l.cls}`}>
              <span class="swatch" /> {l.label}
            </span>
          ))}
        </span>
      </figcaption>
      <div class="chart-body">
        <div class="chart-y" aria-hidden="true">
          <span>{format(max)}</span>
          <span>{format(max / 2)}</span>
          <span>0</span>
        </div>
        <div class="chart-plot">
          <svg
            ref={svgRef}
            viewBox={`0 0 ${W} ${H}`}
            preserveAspectRatio="none"
            role="img"
            tabIndex={0}
            aria-label={label}
            aria-describedby={tableId}
            class={pick ? 'pickable' : undefined}
            {...handlers}
          >
            {[0, 0.5].map((f) => (
              <line key={f} x1="0" x2={W} y1={H * f} y2={H * f} class="grid" vector-effect="non-scaling-stroke" />
            ))}
            {mark != null && <rect class="chart-cursor" x={mark * col} width={col} y="0" height={H} />}
            {lines.map((l) => {
              const p = linePath(l.values, { width: W, height: H, max });
              return (
                <g key={l.key} class={`chart-series ${l.cls}`} data-line={l.key}>
                  <path class="chart-line" d={p.d} vector-effect="non-scaling-stroke" />
                  <path class="chart-dots" d={p.dots} vector-effect="non-scaling-stroke" />
                </g>
              );
            })}
            {buckets.map((b, i) => (
              <rect key={i} class="hit" x={i * col} width={col} y="0" height={H} data-index={i} data-start={b.start}>
                <title>{bucketText(i)}</title>
              </rect>
            ))}
          </svg>
          <div class="chart-x" aria-hidden="true">
            {ticks.map((i) => (
              <span key={i} style={{ left: `${((i + 0.5) / n) * 100}%` }}>
                {formatShort(buckets[i].start)}
              </span>
            ))}
          </div>
        </div>
      </div>
      <details class="chart-data">
        <summary>Numbers of the chart “{title}”</summary>
        <table class="list compact" id={tableId} aria-label={`${title}, per ${widthText(stepSeconds)}`} data-testid={testid ? `${testid}-table` : undefined}>
          <caption class="sr-only">
            {title}, one row per {widthText(stepSeconds)} bucket, oldest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Bucket start</th>
              {lines.map((l) => (
                <th scope="col" key={l.key} class="num">
                  {l.label}
                </th>
              ))}
              {hrefAt && (
                <th scope="col">
                  <span class="sr-only">Logs</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {buckets.map((b, i) => (
              <tr key={i}>
                <th scope="row" class="nowrap">
                  <time dateTime={b.start} title={formatUTC(b.start)}>
                    {formatShort(b.start, Number(stepSeconds) < 60)}
                  </time>
                </th>
                {lines.map((l) => (
                  <td key={l.key} class="num">
                    {l.values[i] == null ? '–' : format(l.values[i])}
                  </td>
                ))}
                {hrefAt && (
                  <td>
                    <Link href={hrefAt(i)}>Logs</Link>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** Counts per bucket as bars ([{start, count}]), with their table. */
export function BarChart({ title, buckets, stepSeconds, testid, unit = 'entries' }) {
  const tableId = useId();
  const n = buckets.length;
  const { svgRef, cursor, hover, handlers } = usePicker(n, null);
  if (n === 0) return <p class="muted">No buckets in this range.</p>;
  const counts = buckets.map((b) => Math.max(0, Number(b.count) || 0));
  const total = counts.reduce((a, b) => a + b, 0);
  const max = niceCeil(Math.max(...counts));
  const col = W / n;
  const mark = cursor != null ? cursor : hover;
  const bucketText = (i) => `${formatShort(buckets[i].start)}: ${formatNumber(counts[i])} ${unit}`;
  const ticks = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n - 1].filter((v, i, a) => a.indexOf(v) === i);
  const label = `${title}: ${formatNumber(total)} ${unit} in ${n} bars of ${widthText(stepSeconds)}; the highest holds ${formatNumber(Math.max(...counts))}.${
    cursor != null ? ' Selected: ' + bucketText(cursor) + '.' : ' Use the arrow keys to read each bar.'
  } The numbers are in the table below.`;
  return (
    <figure class="chart" data-testid={testid}>
      <figcaption class="chart-head">
        <span class="chart-title">{title}</span>
      </figcaption>
      <div class="chart-body">
        <div class="chart-y" aria-hidden="true">
          <span>{formatNumber(max)}</span>
          <span>{Number.isInteger(max / 2) ? formatNumber(max / 2) : ''}</span>
          <span>0</span>
        </div>
        <div class="chart-plot">
          <svg ref={svgRef} viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" tabIndex={0} aria-label={label} aria-describedby={tableId} {...handlers}>
            <line x1="0" x2={W} y1={H / 2} y2={H / 2} class="grid" vector-effect="non-scaling-stroke" />
            {mark != null && <rect class="chart-cursor" x={mark * col} width={col} y="0" height={H} />}
            {counts.map((c, i) => (
              <rect key={i} class="chart-bar" x={i * col + col * 0.1} width={col * 0.8} y={H - (c / max) * H} height={(c / max) * H} data-index={i}>
                <title>{bucketText(i)}</title>
              </rect>
            ))}
          </svg>
          <div class="chart-x" aria-hidden="true">
            {ticks.map((i) => (
              <span key={i} style={{ left: `${((i + 0.5) / n) * 100}%` }}>
                {formatShort(buckets[i].start)}
              </span>
            ))}
          </div>
        </div>
      </div>
      <details class="chart-data">
        <summary>Numbers of the chart “{title}”</summary>
        <table class="list compact" id={tableId} aria-label={`${title}, per ${widthText(stepSeconds)}`} data-testid={testid ? `${testid}-table` : undefined}>
          <caption class="sr-only">
            {title}, one row per {widthText(stepSeconds)} bucket, oldest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Bucket start</th>
              <th scope="col" class="num">
                Count
              </th>
            </tr>
          </thead>
          <tbody>
            {buckets.map((b, i) => (
              <tr key={i}>
                <th scope="row" class="nowrap">
                  <time dateTime={b.start} title={formatUTC(b.start)}>
                    {formatShort(b.start)}
                  </time>
                </th>
                <td class="num">{formatNumber(counts[i])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

const SPARK_W = 120;
const SPARK_H = 24;

/** A trend as a sparkline whose aria-label holds every bucket's count. */
export function CountSparkline({ trend, bucketSeconds, what = 'entries' }) {
  const s = sparkline(trend, { width: SPARK_W, height: SPARK_H, pad: 2 });
  if (!s.line) return <span class="muted">–</span>;
  const counts = (trend || []).map((b) => formatNumber(b.count));
  const label = `Trend: ${formatNumber(s.total)} ${what}${bucketSeconds ? `; per ${widthText(bucketSeconds)}` : ''}${trend.length ? ` from ${formatShort(trend[0].start)}` : ''}: ${counts.join(', ')}`;
  return (
    <svg class="sparkline" viewBox={`0 0 ${SPARK_W} ${SPARK_H}`} width={SPARK_W} height={SPARK_H} role="img" aria-label={label} data-testid="sparkline">
      <path class="spark-area" d={s.area} />
      <path class="spark-line" d={s.line} vector-effect="non-scaling-stroke" />
    </svg>
  );
}
