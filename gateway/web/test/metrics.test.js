import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  emptyPerfFilters,
  errorRateLine,
  fieldUnit,
  formatShare,
  formatValue,
  latencyLines,
  linePath,
  metricParams,
  moreSeriesText,
  niceCeil,
  parseKeys,
  parsePerfFilters,
  perMinute,
  perfFiltersToSearch,
  seriesKey,
  seriesLabel,
  sortSlowest,
  throughputLine,
} from '../src/lib/metrics.js';

test('the Performance page state survives the URL round trip; group_by none differs from the default', () => {
  assert.deepEqual(parsePerfFilters(''), emptyPerfFilters());
  assert.equal(perfFiltersToSearch(emptyPerfFilters()), '');
  const cases = [
    { ...emptyPerfFilters(), projects: ['shop'], field: 'latency_ms', range: '24h' },
    { ...emptyPerfFilters(), groupBy: [] },
    { ...emptyPerfFilters(), groupBy: ['service_name', 'route'] },
  ];
  for (const f of cases) {
    const s = perfFiltersToSearch(f);
    assert.deepEqual(parsePerfFilters(s), f, s);
  }
  assert.equal(perfFiltersToSearch({ ...emptyPerfFilters(), groupBy: [] }), '?group_by=');
});

test('keys: trimmed, unique, at most three, bad ones dropped', () => {
  assert.deepEqual(parseKeys(' route, method ,route,,a b,status,extra'), ['route', 'method', 'status']);
  assert.deepEqual(parseKeys(''), []);
  assert.deepEqual(parsePerfFilters('?field=a%20b&range=2y').field, 'duration_ms');
});

test('metric parameters', () => {
  const win = { since: '2025-11-11T19:45:00.000Z', until: '2025-11-11T20:45:00.000Z' };
  assert.equal(
    metricParams(parsePerfFilters('?project=a&group_by=route&group_by=method'), win).toString(),
    'project=a&field=duration_ms&group_by=route&group_by=method&since=2025-11-11T19%3A45%3A00.000Z&until=2025-11-11T20%3A45%3A00.000Z&page_size=100',
  );
  assert.equal(metricParams(parsePerfFilters('?group_by='), win).getAll('group_by').length, 0);
});

test('series: slowest p95 first, then p99, count and name; labels and keys', () => {
  const s = [
    { group: { route: '/fast' }, p95: 10, p99: 12, count: 100 },
    { group: { route: '/slow' }, p95: 900, p99: 990, count: 5 },
    { group: { route: '/b' }, p95: 50, p99: 60, count: 7 },
    { group: { route: '/a' }, p95: 50, p99: 60, count: 7 },
    { group: { route: '/c' }, p95: 50, p99: 70, count: 1 },
  ];
  assert.deepEqual(sortSlowest(s).map((x) => x.group.route), ['/slow', '/c', '/a', '/b', '/fast']);
  assert.equal(seriesLabel({ route: '/a' }), '/a');
  assert.equal(seriesLabel({ route: '' }), '(none)');
  assert.equal(seriesLabel({}), 'All entries');
  assert.equal(seriesLabel({ service_name: 'api', route: '/a' }), 'route=/a, service_name=api');
  assert.equal(seriesKey({ b: '1', a: '2' }), seriesKey({ a: '2', b: '1' }));
  assert.notEqual(seriesKey({ a: '1' }), seriesKey({ a: '2' }));
});

test('rates and formats', () => {
  assert.equal(perMinute(120, 3600), 2);
  assert.equal(perMinute(5, 0), 0);
  assert.equal(fieldUnit('duration_ms'), 'ms');
  assert.equal(fieldUnit('elapsed_seconds'), 's');
  assert.equal(fieldUnit('bytes'), '');
  assert.equal(formatValue(990, 'ms'), '990 ms');
  assert.equal(formatValue(12.345, 'ms'), '12.3 ms');
  assert.equal(formatValue(1.234), '1.23');
  assert.equal(formatValue(1234.5), '1,235');
  assert.equal(formatValue(undefined), '–');
  assert.equal(formatShare(0.25), '25.0%');
  assert.equal(formatShare(0), '0.0%');
  assert.equal(formatShare(0.0004), '<0.1%');
  assert.equal(moreSeriesText(105, 100), '5 more series not shown');
  assert.equal(moreSeriesText(3, 3), '');
  assert.equal(moreSeriesText('1200', 100), '1,100 more series not shown');
});

test('chart lines: empty buckets are gaps in percentiles and error rate, zero in throughput', () => {
  const b = [
    { count: 2, p50: 10, p95: 20, p99: 30, error_rate: 0.5 },
    { count: 0, p50: 0, p95: 0, p99: 0, error_rate: 0 },
    { count: '4', p50: 11, p95: 21, p99: 31, error_rate: 0 },
  ];
  assert.deepEqual(latencyLines(b), { p50: [10, null, 11], p95: [20, null, 21], p99: [30, null, 31] });
  assert.deepEqual(errorRateLine(b), [0.5, null, 0]);
  assert.deepEqual(throughputLine(b, 120), [1, 0, 2]);
});

test('a y axis ends at a round number at or above the largest value', () => {
  const cases = [
    [0, 1],
    [1, 1],
    [3, 5],
    [7, 10],
    [990, 1000],
    [1001, 2000],
    [0.25, 0.5],
    [0.3, 0.5],
  ];
  for (const [n, want] of cases) assert.equal(niceCeil(n), want, String(n));
});

test('line paths: a point per bucket at its middle, gaps for null, a lone point is a short stroke', () => {
  assert.deepEqual(linePath([], {}), { d: '', dots: '', points: [] });
  const p = linePath([0, 50, 100, 50], { width: 400, height: 100, max: 100 });
  assert.equal(p.d, 'M50,100 L150,50 L250,0 L350,50');
  assert.equal(p.dots, 'M50,100 h0 M150,50 h0 M250,0 h0 M350,50 h0');
  const gaps = linePath([10, null, 10, 20, null], { width: 500, height: 100, max: 20 });
  assert.equal(gaps.d, 'M20,50 L80,50 M250,50 L350,0');
  assert.equal(gaps.points[1], null);
  assert.equal(gaps.dots, 'M50,50 h0 M250,50 h0 M350,0 h0');
});
