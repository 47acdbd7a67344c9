import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CUSTOM,
  DEFAULT_RANGE,
  emptyFilters,
  errorGroupSearch,
  filtersToSearch,
  metricSearch,
  normalizeErrorGroups,
  fromLocalInput,
  normalizePatterns,
  parseFilters,
  patternListParams,
  patternSearch,
  queryParams,
  resolveWindow,
  sameFilters,
  tailParams,
  toLocalInput,
} from '../src/lib/filters.js';

test('empty query string gives the default view and back', () => {
  const f = parseFilters('');
  assert.deepEqual(f, emptyFilters());
  assert.equal(f.range, DEFAULT_RANGE);
  assert.equal(filtersToSearch(f), '');
});

test('every filter survives the URL round trip', () => {
  const cases = [
    { ...emptyFilters(), projects: ['shop', 'billing'], services: ['api', 'worker'], levels: ['DEBUG', 'ERROR'], range: '1h', q: 'timeout 5 s' },
    { ...emptyFilters(), range: '15m' },
    { ...emptyFilters(), range: '7d', live: true },
    { ...emptyFilters(), range: CUSTOM, since: '2025-11-11T20:00:00.000Z', until: '2025-11-11T21:30:00.000Z' },
    { ...emptyFilters(), range: CUSTOM, since: '2025-11-11T20:00:00.000Z', until: null },
    { ...emptyFilters(), range: CUSTOM, since: null, until: '2025-11-11T20:00:00.000Z' },
    { ...emptyFilters(), projects: ['a&b=c', 'ü ñ'], q: '<script>&"\'%' },
    { ...emptyFilters(), projects: ['shop'], patterns: ['00000000deadbeef', 'ffffffffffffffff'] },
    { ...emptyFilters(), view: 'patterns', levels: ['ERROR'] },
    { ...emptyFilters(), projects: ['shop'], errorGroups: ['42', '9007199254740993'] },
    { ...emptyFilters(), context: [{ key: 'route', value: '/orders/:id' }, { key: 'status', value: '500' }, { key: 'route', value: 'a&b=c' }] },
  ];
  for (const f of cases) {
    const s = filtersToSearch(f);
    assert.deepEqual(parseFilters(s), f, s);
    assert.equal(filtersToSearch(parseFilters(s)), s, 'canonical form is stable');
  }
});

test('repeated parameters are multi-select values, deduplicated, order kept', () => {
  const f = parseFilters('?project=b&project=a&project=b&service=x&level=error&level=DEBUG&level=bogus&level=Error');
  assert.deepEqual(f.projects, ['b', 'a']);
  assert.deepEqual(f.services, ['x']);
  assert.deepEqual(f.levels, ['DEBUG', 'ERROR'], 'levels are upper case, known ones only, in severity order');
});

test('levels are written in severity order whatever order they were chosen in', () => {
  assert.equal(filtersToSearch({ ...emptyFilters(), levels: ['FATAL', 'TRACE', 'WARN'] }), '?level=TRACE&level=WARN&level=FATAL');
});

test('since/until make the range custom and win over a preset', () => {
  const f = parseFilters('?range=1h&since=2025-11-11T20:00:00Z');
  assert.equal(f.range, CUSTOM);
  assert.equal(f.since, '2025-11-11T20:00:00.000Z');
  assert.equal(f.until, null);
});

test('bad values fall back instead of breaking the page', () => {
  assert.equal(parseFilters('?range=3y').range, DEFAULT_RANGE);
  assert.equal(parseFilters('?since=yesterday').range, DEFAULT_RANGE);
  const inverted = parseFilters('?since=2025-11-11T21:00:00Z&until=2025-11-11T20:00:00Z');
  assert.equal(inverted.range, DEFAULT_RANGE);
  assert.equal(inverted.since, null);
  assert.equal(parseFilters('?live=yes').live, false);
});

test('hand-made URLs cannot make the state unbounded', () => {
  const p = new URLSearchParams();
  for (let i = 0; i < 5000; i++) p.append('project', `p${i}`);
  p.set('q', 'x'.repeat(50000));
  const f = parseFilters(p);
  assert.equal(f.projects.length, 200);
  assert.equal(f.q.length, 1000);
});

test('sameFilters compares views', () => {
  assert.ok(sameFilters(parseFilters('?level=ERROR&project=a'), parseFilters('?project=a&level=error')));
  assert.ok(!sameFilters(parseFilters('?level=ERROR'), parseFilters('?level=WARN')));
});

test('a preset resolves to a fixed window ending at now', () => {
  const now = Date.parse('2025-11-11T20:45:00.300Z');
  const w = resolveWindow({ ...emptyFilters(), range: '1h' }, now);
  assert.deepEqual(w, { since: '2025-11-11T19:45:00.300Z', until: '2025-11-11T20:45:00.300Z' });
  const w15 = resolveWindow({ ...emptyFilters(), range: '15m' }, now);
  assert.equal(Date.parse(w15.until) - Date.parse(w15.since), 15 * 60 * 1000);
  const custom = resolveWindow({ ...emptyFilters(), range: CUSTOM, since: '2025-11-01T00:00:00.000Z', until: null }, now);
  assert.deepEqual(custom, { since: '2025-11-01T00:00:00.000Z', until: null });
});

test('API parameters carry every filter; the tail leaves out the time range', () => {
  const f = parseFilters('?project=shop&project=api&service=web&level=ERROR&level=FATAL&q=boom');
  const win = { since: '2025-11-11T19:45:00.000Z', until: '2025-11-11T20:45:00.000Z' };
  assert.equal(
    queryParams(f, win).toString(),
    'project=shop&project=api&service=web&level=ERROR&level=FATAL&since=2025-11-11T19%3A45%3A00.000Z&until=2025-11-11T20%3A45%3A00.000Z&q=boom',
  );
  assert.equal(tailParams(f).toString(), 'project=shop&project=api&service=web&level=ERROR&level=FATAL&q=boom');
  assert.equal(queryParams(emptyFilters(), { since: null, until: null }).toString(), '');
});

test('pattern ids are kept as 16 lower-case hex digits; anything else is dropped', () => {
  assert.deepEqual(normalizePatterns(['DEADBEEF', '00000000deadbeef', 'abc', 'xyz', '', '1'.repeat(17), ' 0f ']), [
    '00000000deadbeef',
    '0000000000000abc',
    '000000000000000f',
  ]);
  const f = parseFilters('?pattern=DeadBeef&pattern=nothex&view=bogus');
  assert.deepEqual(f.patterns, ['00000000deadbeef']);
  assert.equal(f.view, 'entries', 'an unknown tab falls back to the entries');
  assert.equal(filtersToSearch(f), '?pattern=00000000deadbeef');
});

test('the pattern filter goes to entries, stats and tail, not to the pattern list', () => {
  const f = parseFilters('?project=shop&level=ERROR&pattern=00000000000000aa&pattern=00000000000000bb&q=x');
  const win = { since: '2025-11-11T19:45:00.000Z', until: '2025-11-11T20:45:00.000Z' };
  assert.deepEqual(queryParams(f, win).getAll('pattern'), ['00000000000000aa', '00000000000000bb']);
  assert.deepEqual(tailParams(f).getAll('pattern'), ['00000000000000aa', '00000000000000bb']);
  const list = patternListParams(f, win);
  assert.deepEqual(list.getAll('pattern'), []);
  assert.equal(list.toString(), 'project=shop&level=ERROR&since=2025-11-11T19%3A45%3A00.000Z&until=2025-11-11T20%3A45%3A00.000Z&q=x');
});

test('a pattern links to its project and entries over the window it was found in', () => {
  const s = patternSearch('shop', '00000000000000AA', { since: '2025-11-11T19:45:00Z', until: '2025-11-11T20:45:00Z' });
  assert.equal(s, '?project=shop&pattern=00000000000000aa&since=2025-11-11T19%3A45%3A00.000Z&until=2025-11-11T20%3A45%3A00.000Z');
  const f = parseFilters(s);
  assert.deepEqual(f.projects, ['shop']);
  assert.deepEqual(f.patterns, ['00000000000000aa']);
  assert.equal(f.range, CUSTOM);
  assert.equal(patternSearch('shop', 'ab', null), '?project=shop&pattern=00000000000000ab');
});

test('datetime-local values round trip through ISO instants', () => {
  for (const v of ['2025-11-11T20:45', '2024-02-29T00:00', '2025-01-01T23:59']) {
    const iso = fromLocalInput(v);
    assert.match(iso, /Z$/);
    assert.equal(toLocalInput(iso), v);
  }
  assert.equal(fromLocalInput(''), null);
  assert.equal(fromLocalInput('2025-11-11'), null);
  assert.equal(toLocalInput(null), '');
});

test('error group ids are decimal digits without leading zeros; anything else is dropped', () => {
  assert.deepEqual(normalizeErrorGroups(['42', '0042', '42', 'x1', '', '0', '-3', '1'.repeat(20), ' 7 ']), ['42', '7']);
  const f = parseFilters('?error_group=12&error_group=abc');
  assert.deepEqual(f.errorGroups, ['12']);
  assert.equal(filtersToSearch(f), '?error_group=12');
});

test('context filters come from context.<key> parameters, keep their order and go to every query', () => {
  const f = parseFilters('?context.route=%2Forders%2F%3Aid&context.status=500&context.=x&context.route=%2Forders%2F%3Aid&level=ERROR');
  assert.deepEqual(f.context, [
    { key: 'route', value: '/orders/:id' },
    { key: 'status', value: '500' },
  ]);
  const win = { since: '2025-11-11T19:45:00.000Z', until: '2025-11-11T20:45:00.000Z' };
  for (const p of [queryParams(f, win), patternListParams(f, win), tailParams(f)]) {
    assert.deepEqual(p.getAll('context.route'), ['/orders/:id']);
    assert.deepEqual(p.getAll('context.status'), ['500']);
  }
});

test('the error group filter goes to entries and stats, not to the pattern list or the tail', () => {
  const f = parseFilters('?project=shop&error_group=5&error_group=6');
  const win = { since: '2025-11-11T19:45:00.000Z', until: '2025-11-11T20:45:00.000Z' };
  assert.deepEqual(queryParams(f, win).getAll('error_group'), ['5', '6']);
  assert.deepEqual(patternListParams(f, win).getAll('error_group'), []);
  assert.deepEqual(tailParams(f).getAll('error_group'), [], 'TailEntries has no error_group: the live view filters itself');
});

test('a group links to its project and entries over its window', () => {
  const s = errorGroupSearch('shop', '17', { since: '2025-11-11T19:45:00Z', until: '2025-11-11T20:45:00Z' });
  assert.equal(s, '?project=shop&error_group=17&since=2025-11-11T19%3A45%3A00.000Z&until=2025-11-11T20%3A45%3A00.000Z');
  const f = parseFilters(s);
  assert.deepEqual(f.errorGroups, ['17']);
  assert.equal(f.range, CUSTOM);
});

test('a metric bucket links to the logs of its series: service_name as the service, other keys as context filters', () => {
  const win = { since: '2025-11-11T20:00:00Z', until: '2025-11-11T20:01:00Z' };
  const cases = [
    { group: { route: '/orders/:id' }, want: { services: [], context: [{ key: 'route', value: '/orders/:id' }] } },
    { group: { service_name: 'api', route: '/a' }, want: { services: ['api'], context: [{ key: 'route', value: '/a' }] } },
    { group: { 'context.method': 'GET' }, want: { services: [], context: [{ key: 'method', value: 'GET' }] } },
    { group: { route: '' }, want: { services: [], context: [] }, note: 'an entry without the key cannot be filtered on' },
    { group: {}, want: { services: [], context: [] } },
  ];
  for (const c of cases) {
    const f = parseFilters(metricSearch(['shop'], c.group, win));
    assert.deepEqual(f.projects, ['shop']);
    assert.deepEqual(f.services, c.want.services, JSON.stringify(c.group));
    assert.deepEqual(f.context, c.want.context, JSON.stringify(c.group));
    assert.equal(f.range, CUSTOM);
    assert.equal(f.since, '2025-11-11T20:00:00.000Z');
    assert.equal(f.until, '2025-11-11T20:01:00.000Z');
  }
});
