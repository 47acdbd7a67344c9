// Volume over time stacked by level, drawn by hand in SVG. Dragging across
// bars (or arrow keys + Enter) narrows the time range to them.
import { useRef, useState } from 'preact/hooks';
import { LEVELS } from '../lib/filters.js';
import { bucketTotal, indexAtX, niceMax, rangeFromDrag, stackSegments } from '../lib/histogram.js';
import { formatNumber, formatShort } from '../lib/format.js';

const W = 1000; // viewBox width; the SVG stretches to the container
const H = 140;

// shown is lib/sampling.js's shownStats(stats): when sampled, the bars
// are the estimated counts.
export function Histogram({ stats, shown, onRange }) {
  const svgRef = useRef(null);
  const [drag, setDrag] = useState(null); // {a, b} bucket indexes while dragging
  const [cursor, setCursor] = useState(null); // keyboard selection {a, b}
  const sampled = !!(shown && shown.sampled);
  const hist = shown ? shown.histogram : stats.histogram || [];
  const n = hist.length;
  if (n === 0) return <p class="muted">No histogram for this range.</p>;
  const max = niceMax(Math.max(...hist.map(bucketTotal)));
  const bw = W / n;
  const y = (v) => H - (v / max) * H;

  const indexOf = (e) => {
    const r = svgRef.current.getBoundingClientRect();
    return indexAtX(e.clientX - r.left, r.width, n);
  };
  const commit = (a, b) => {
    const r = rangeFromDrag(hist, Number(stats.bucket_seconds) || 60, a, b, { since: stats.since, until: stats.until });
    if (r) onRange(r);
  };
  const down = (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    svgRef.current.setPointerCapture?.(e.pointerId);
    const i = indexOf(e);
    setDrag({ a: i, b: i });
  };
  const move = (e) => {
    if (!drag) return;
    const i = indexOf(e);
    if (i !== drag.b) setDrag({ a: drag.a, b: i });
  };
  const up = (e) => {
    if (!drag) return;
    const d = { a: drag.a, b: indexOf(e) };
    setDrag(null);
    commit(d.a, d.b);
  };
  const key = (e) => {
    const c = cursor || { a: n - 1, b: n - 1 };
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      e.preventDefault();
      const step = e.key === 'ArrowLeft' ? -1 : 1;
      const b = Math.min(n - 1, Math.max(0, c.b + step));
      setCursor(e.shiftKey ? { a: c.a, b } : { a: b, b });
    } else if ((e.key === 'Enter' || e.key === ' ') && cursor) {
      e.preventDefault();
      commit(cursor.a, cursor.b);
      setCursor(null);
    } else if (e.key === 'Escape') {
      setCursor(null);
    }
  };
  const sel = drag || cursor;
  const selA = sel ? Math.min(sel.a, sel.b) : -1;
  const selB = sel ? Math.max(sel.a, sel.b) : -1;
  const bucketLabel = (i) => {
    const b = hist[i];
    const parts = LEVELS.filter((l) => (b.counts || {})[l]).map((l) => `${formatNumber(b.counts[l])} ${l}`);
    const n = `${sampled ? '≈ ' : ''}${formatNumber(bucketTotal(b))} entries${parts.length ? ' (' + parts.join(', ') + ')' : ''}`;
    return `${formatShort(b.start, Number(stats.bucket_seconds) < 60)}: ${n}${sampled ? `, estimated from ${formatNumber(bucketTotal({ counts: b.stored }))} stored` : ''}`;
  };
  const ticks = [0, Math.floor(n / 4), Math.floor(n / 2), Math.floor((3 * n) / 4), n - 1].filter((v, i, a) => a.indexOf(v) === i);
  const width = Number(stats.bucket_seconds) || 0;
  const widthText = width >= 86400 ? `${width / 86400} d` : width >= 3600 ? `${width / 3600} h` : width >= 60 ? `${width / 60} min` : `${width} s`;
  return (
    <figure class="histogram">
      <div class="hist-y" aria-hidden="true">
        <span>{formatNumber(max)}</span>
        <span>0</span>
      </div>
      <div class="hist-plot">
        <svg
          ref={svgRef}
          viewBox={`0 0 ${W} ${H}`}
          preserveAspectRatio="none"
          role="img"
          tabIndex={0}
          aria-label={`${sampled ? 'Estimated entries' : 'Entries'} over time by level, ${n} bars of ${widthText}. Drag across bars, or use the arrow keys (Shift to extend) and Enter, to narrow the time range.${cursor ? ' Selected: ' + bucketLabel(selA) + (selB !== selA ? ' to ' + bucketLabel(selB) : '') : ''}`}
          data-testid="histogram"
          onPointerDown={down}
          onPointerMove={move}
          onPointerUp={up}
          onPointerCancel={() => setDrag(null)}
          onKeyDown={key}
          onBlur={() => setCursor(null)}
        >
          {[0.25, 0.5, 0.75].map((f) => (
            <line key={f} x1="0" x2={W} y1={H * f} y2={H * f} class="grid" vector-effect="non-scaling-stroke" />
          ))}
          {stackSegments(hist).map((s) => (
            <rect
              key={`${s.index}-${s.level}`}
              class={`bar lvl-${s.level}`}
              x={s.index * bw + bw * 0.08}
              width={bw * 0.84}
              y={y(s.y1)}
              height={Math.max(0, y(s.y0) - y(s.y1))}
            />
          ))}
          {sel && <rect class="hist-sel" x={selA * bw} width={(selB - selA + 1) * bw} y="0" height={H} />}
          {hist.map((b, i) => (
            <rect key={`hit-${i}`} class="hit" x={i * bw} width={bw} y="0" height={H} data-index={i}>
              <title>{bucketLabel(i)}</title>
            </rect>
          ))}
        </svg>
        <div class="hist-x" aria-hidden="true">
          {ticks.map((i) => (
            <span key={i} style={{ left: `${((i + 0.5) / n) * 100}%` }}>
              {formatShort(hist[i].start)}
            </span>
          ))}
        </div>
      </div>
      {sampled ? (
        <figcaption class="hist-note" data-testid="histogram-estimated">
          ≈ Estimated: sampled TRACE, DEBUG and INFO entries count 1/rate each. Each bar counts {widthText} of entries, stacked by level.
        </figcaption>
      ) : (
        <figcaption class="sr-only">Each bar counts {widthText} of entries, stacked by level.</figcaption>
      )}
    </figure>
  );
}
