import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_ERROR_RANGE,
  canTriage,
  countsByKey,
  emptyErrorFilters,
  errorFiltersToSearch,
  errorListParams,
  errorWindow,
  groupHref,
  groupWindow,
  parseErrorFilters,
  statusActions,
  trendBucketSeconds,
} from '../src/lib/errors.js';

test('the Errors page state survives the URL round trip; defaults are left out', () => {
  assert.deepEqual(parseErrorFilters(''), emptyErrorFilters());
  assert.equal(errorFiltersToSearch(emptyErrorFilters()), '');
  const cases = [
    { ...emptyErrorFilters(), projects: ['shop', 'billing'] },
    { ...emptyErrorFilters(), status: 'all', level: 'warn', range: '7d', q: 'TypeError: x', sort: 'count' },
    { ...emptyErrorFilters(), status: 'resolved', level: 'all', sort: 'first_seen', range: '1h' },
  ];
  for (const f of cases) {
    const s = errorFiltersToSearch(f);
    assert.deepEqual(parseErrorFilters(s), f, s);
  }
});

test('bad values fall back to the defaults', () => {
  const f = parseErrorFilters('?status=closed&level=INFO&range=3y&sort=random&project=&project=a&project=a');
  assert.deepEqual(f, { ...emptyErrorFilters(), projects: ['a'] });
});

test('list parameters: open by default, no status for "all", the levels of each choice, sort always sent', () => {
  const win = { since: '2025-11-11T19:45:00.000Z', until: '2025-11-11T20:45:00.000Z' };
  const cases = [
    { search: '', want: 'status=open&since=2025-11-11T19%3A45%3A00.000Z&until=2025-11-11T20%3A45%3A00.000Z&sort=last_seen' },
    { search: '?status=all&level=warn', want: 'level=WARN&since=2025-11-11T19%3A45%3A00.000Z&until=2025-11-11T20%3A45%3A00.000Z&sort=last_seen' },
    { search: '?project=a&level=all&sort=count&q=boom', want: 'project=a&status=open&level=WARN&level=ERROR&level=FATAL&since=2025-11-11T19%3A45%3A00.000Z&until=2025-11-11T20%3A45%3A00.000Z&q=boom&sort=count' },
  ];
  for (const c of cases) assert.equal(errorListParams(parseErrorFilters(c.search), win).toString(), c.want, c.search);
});

test('windows: a preset ends at now; a group page takes since/until when both are valid and in order', () => {
  const now = Date.parse('2025-11-11T20:45:00.000Z');
  assert.deepEqual(errorWindow('1h', now), { since: '2025-11-11T19:45:00.000Z', until: '2025-11-11T20:45:00.000Z' });
  assert.deepEqual(errorWindow('bogus', now), errorWindow(DEFAULT_ERROR_RANGE, now));
  assert.deepEqual(groupWindow('?since=2025-11-11T10:00:00Z&until=2025-11-11T11:00:00Z', now), {
    since: '2025-11-11T10:00:00.000Z',
    until: '2025-11-11T11:00:00.000Z',
    range: null,
  });
  assert.equal(groupWindow('?since=2025-11-11T11:00:00Z&until=2025-11-11T10:00:00Z', now).range, '24h', 'inverted: the default');
  assert.deepEqual(groupWindow('?range=7d', now), { since: '2025-11-04T20:45:00.000Z', until: '2025-11-11T20:45:00.000Z', range: '7d' });
  assert.equal(groupHref('12', '24h'), '/errors/12');
  assert.equal(groupHref('12', '7d'), '/errors/12?range=7d');
});

test('who may change a status: admins, and owners, maintainers and admins of the project', () => {
  const cases = [
    { user: { role: 'admin' }, role: undefined, want: true },
    { user: { role: 'admin' }, role: 'viewer', want: true },
    { user: { role: 'user' }, role: 'owner', want: true },
    { user: { role: 'user' }, role: 'maintainer', want: true },
    { user: { role: 'user' }, role: 'admin', want: true },
    { user: { role: 'user' }, role: 'viewer', want: false },
    { user: { role: 'user' }, role: undefined, want: false },
    { user: null, role: '', want: false },
  ];
  for (const c of cases) assert.equal(canTriage(c.user, c.role), c.want, JSON.stringify(c));
});

test('the status changes offered for each status', () => {
  assert.deepEqual(statusActions('open').map((a) => a.label), ['Resolve', 'Ignore']);
  assert.deepEqual(statusActions('resolved').map((a) => a.label), ['Reopen', 'Ignore']);
  assert.deepEqual(statusActions('ignored').map((a) => a.label), ['Reopen', 'Resolve']);
  assert.deepEqual(statusActions('resolved').map((a) => a.status), ['open', 'ignored']);
});

test('trend bucket width and count tables', () => {
  assert.equal(trendBucketSeconds([{ start: '2025-11-11T20:00:00Z' }, { start: '2025-11-11T20:05:00Z' }]), 300);
  assert.equal(trendBucketSeconds([{ start: '2025-11-11T20:00:00Z' }]), 0);
  assert.equal(trendBucketSeconds(undefined), 0);
  assert.deepEqual(countsByKey({ worker: 2, api: '5', web: 2 }), [
    ['api', 5],
    ['web', 2],
    ['worker', 2],
  ], 'most first, ties by name');
  assert.deepEqual(countsByKey(undefined), []);
});
