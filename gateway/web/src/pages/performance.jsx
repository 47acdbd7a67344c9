// The Performance page: statistics of a numeric context field (duration_ms
// by default) per group (route by default) from GET /api/logs/metrics, the
// slowest series first, and for the chosen series its p50/p95/p99,
// throughput and error rate over time. A click on a chart's bucket opens
// the logs of that series over that bucket.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useAsync } from '../hooks.js';
import { navigate, useLocation } from '../router.jsx';
import { PRESET_LABELS, metricSearch } from '../lib/filters.js';
import { rangeFromDrag } from '../lib/histogram.js';
import { formatNumber, formatUTC } from '../lib/format.js';
import {
  PERF_RANGES,
  errorRateLine,
  fieldUnit,
  formatShare,
  formatValue,
  latencyLines,
  metricParams,
  moreSeriesText,
  parseKeys,
  parsePerfFilters,
  perMinute,
  perfFiltersToSearch,
  perfWindow,
  seriesKey,
  seriesLabel,
  sortSlowest,
  throughputLine,
} from '../lib/metrics.js';
import { LineChart } from '../components/charts.jsx';
import { Button, InlineError, MultiSelect, Spinner } from '../components/ui.jsx';

const FIELD_SUGGESTIONS = ['duration_ms', 'response_time_ms', 'latency_ms', 'db_ms', 'bytes'];
const GROUP_SUGGESTIONS = ['route', 'service_name', 'route, method', 'method', 'status'];

export function PerformancePage() {
  const loc = useLocation();
  const f = useMemo(() => parsePerfFilters(loc.search), [loc.search]);
  const key = perfFiltersToSearch(f);
  const [refresh, setRefresh] = useState(0);
  const win = useMemo(() => perfWindow(f.range, Date.now()), [key, refresh]);
  const update = (changes) => navigate('/performance' + perfFiltersToSearch({ ...f, ...changes }));
  const params = metricParams(f, win).toString();
  const res = useAsync((signal) => api.get(`/api/logs/metrics?${params}`, { signal }), [params]);
  return (
    <>
      <div class="page-head">
        <h1>Performance</h1>
        <p class="muted window" title={`${formatUTC(win.since)} → ${formatUTC(win.until)}`}>
          {PRESET_LABELS[f.range]}
        </p>
      </div>
      <PerfControls f={f} update={update} onRefresh={() => setRefresh((r) => r + 1)} />
      <InlineError title="Could not load the metrics." error={res.error} onRetry={res.retry} busy={res.loading} />
      {!res.data && res.loading && (
        <p class="muted center">
          <Spinner label="Loading the metrics" />
        </p>
      )}
      {res.data && <Metrics key={params} f={f} data={res.data} loading={res.loading} />}
    </>
  );
}

function PerfControls({ f, update, onRefresh }) {
  const projects = useAsync((signal) => api.get('/api/logs/projects?page_size=1000', { signal }), []);
  const options = ((projects.data && projects.data.projects) || []).map((p) => ({ value: p.slug, label: `${p.name} (${p.slug})` }));
  const [field, setField] = useState(f.field);
  const [groupBy, setGroupBy] = useState(f.groupBy.join(', '));
  useEffect(() => setField(f.field), [f.field]);
  useEffect(() => setGroupBy(f.groupBy.join(', ')), [f.groupBy.join(',')]);
  return (
    <section class="filters" aria-label="What to measure">
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
        <form
          class="perf-form"
          onSubmit={(e) => {
            e.preventDefault();
            update({ field: field.trim() || 'duration_ms', groupBy: parseKeys(groupBy) });
          }}
        >
          <label class="select-label">
            Field{' '}
            <input type="text" list="perf-fields" value={field} size={16} maxLength={200} onInput={(e) => setField(e.currentTarget.value)} data-testid="perf-field" />
          </label>
          <datalist id="perf-fields">
            {FIELD_SUGGESTIONS.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
          <label class="select-label">
            Group by{' '}
            <input
              type="text"
              list="perf-groups"
              value={groupBy}
              size={18}
              maxLength={600}
              placeholder="nothing: one series"
              aria-describedby="group-by-hint"
              onInput={(e) => setGroupBy(e.currentTarget.value)}
              data-testid="perf-group-by"
            />
          </label>
          <datalist id="perf-groups">
            {GROUP_SUGGESTIONS.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
          <span id="group-by-hint" class="sr-only">
            Up to three context keys, separated by commas, or service_name.
          </span>
          <Button type="submit" class="small">
            Apply
          </Button>
        </form>
      </div>
      <div class="filter-row">
        <fieldset class="ranges">
          <legend class="sr-only">Time range</legend>
          {PERF_RANGES.map((r) => (
            <label key={r} class={`seg${f.range === r ? ' on' : ''}`} title={PRESET_LABELS[r]}>
              <input type="radio" name="range" checked={f.range === r} onChange={() => update({ range: r })} />
              <span>{r}</span>
            </label>
          ))}
        </fieldset>
        <span class="spacer" />
        <Button class="small" onClick={onRefresh} title="Measure again (moves the range to now)">
          Refresh
        </Button>
      </div>
    </section>
  );
}

function Metrics({ f, data, loading }) {
  const series = useMemo(() => sortSlowest(data.series), [data]);
  const [picked, setPicked] = useState(null);
  const unit = fieldUnit(data.field || f.field);
  const step = Number(data.step_seconds) || 60;
  const since = data.since || null;
  const until = data.until || null;
  const span = since && until ? (Date.parse(until) - Date.parse(since)) / 1000 : 0;
  const more = moreSeriesText(data.total_series, series.length);
  const current = series.find((s) => seriesKey(s.group) === picked) || series[0];
  const fmt = (v) => formatValue(v, unit);
  const nonNumeric = Number(data.non_numeric) || 0;
  if (series.length === 0) {
    return (
      <p class="empty" data-testid="no-series">
        No entry in this range has <span class="mono">{data.field || f.field}</span> as a number.
        {nonNumeric > 0 && ` ${formatNumber(nonNumeric)} have it as something else.`}
      </p>
    );
  }
  const hrefAt = (i) => '/' + metricSearch(f.projects, current.group, rangeFromDrag(current.buckets || [], step, i, i, { since, until }) || {});
  const lat = latencyLines(current.buckets || []);
  const name = seriesLabel(current.group);
  return (
    <>
      <section class="entries-panel" aria-label="Series" aria-busy={loading ? 'true' : 'false'}>
        <div class="pager">
          <span class="count" data-testid="series-count" aria-live="polite">
            {loading && <Spinner />}
            {series.length === 1 ? '1 series' : `${formatNumber(series.length)} series`}, slowest p95 first
          </span>
          <span class="muted small-text">
            {more && <span data-testid="more-series">{more}. </span>}
            {nonNumeric > 0 && `${formatNumber(nonNumeric)} ${nonNumeric === 1 ? 'entry' : 'entries'} had ${data.field} as something other than a number and ${nonNumeric === 1 ? 'is' : 'are'} not counted. `}
            Pick a series to chart it.
          </span>
        </div>
        <div class="table-scroll series-scroll">
          <table class="list series" data-testid="series">
            <caption class="sr-only">
              {data.field} per {f.groupBy.length ? f.groupBy.join(', ') : 'everything'}, slowest p95 first
            </caption>
            <thead>
              <tr>
                <th scope="col">{f.groupBy.length ? f.groupBy.join(', ') : 'Series'}</th>
                <th scope="col" class="num">
                  Count
                </th>
                <th scope="col" class="num">
                  Per minute
                </th>
                <th scope="col" class="num">
                  p50
                </th>
                <th scope="col" class="num">
                  p95
                </th>
                <th scope="col" class="num">
                  p99
                </th>
                <th scope="col" class="num">
                  Max
                </th>
                <th scope="col" class="num">
                  Error rate
                </th>
              </tr>
            </thead>
            <tbody>
              {series.map((s) => {
                const k = seriesKey(s.group);
                const on = s === current;
                return (
                  <tr key={k} class={on ? 'on' : undefined} data-series={seriesLabel(s.group)}>
                    <th scope="row">
                      <button type="button" class="pattern-link" aria-pressed={on ? 'true' : 'false'} onClick={() => setPicked(k)} data-testid="series-name">
                        {seriesLabel(s.group)}
                      </button>
                      {s.exact === false && <span class="muted small-text" title="Percentiles from a sketch, within 1% relative error"> ≈</span>}
                    </th>
                    <td class="num">{formatNumber(s.count)}</td>
                    <td class="num">{formatValue(perMinute(s.count, span))}</td>
                    <td class="num">{fmt(s.p50)}</td>
                    <td class="num strong" data-testid="series-p95">
                      {fmt(s.p95)}
                    </td>
                    <td class="num">{fmt(s.p99)}</td>
                    <td class="num">{fmt(s.max)}</td>
                    <td class="num">{formatShare(s.error_rate)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>
      <section class="charts" aria-label={`Charts of ${name}`} data-testid="charts">
        <h2>
          {name} <span class="muted small-text">per {step >= 60 ? `${step / 60} min` : `${step} s`}</span>
        </h2>
        <LineChart
          title={`${data.field} percentiles of ${name}`}
          buckets={current.buckets || []}
          stepSeconds={step}
          lines={[
            { key: 'p50', label: 'p50', values: lat.p50, cls: 's1' },
            { key: 'p95', label: 'p95', values: lat.p95, cls: 's2' },
            { key: 'p99', label: 'p99', values: lat.p99, cls: 's3' },
          ]}
          format={fmt}
          hrefAt={hrefAt}
          testid="latency-chart"
        />
        <div class="grid2">
          <LineChart
            title={`Throughput of ${name} (per minute)`}
            buckets={current.buckets || []}
            stepSeconds={step}
            lines={[{ key: 'rpm', label: 'per minute', values: throughputLine(current.buckets || [], step), cls: 's1' }]}
            format={(v) => formatValue(v)}
            hrefAt={hrefAt}
            testid="throughput-chart"
          />
          <LineChart
            title={`Error rate of ${name}`}
            buckets={current.buckets || []}
            stepSeconds={step}
            lines={[{ key: 'err', label: 'error rate', values: errorRateLine(current.buckets || []), cls: 's4' }]}
            format={formatShare}
            hrefAt={hrefAt}
            testid="error-rate-chart"
            describe="Errors: status 500 or more, or level ERROR or FATAL."
          />
        </div>
      </section>
    </>
  );
}
