import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sparkline } from '../src/lib/sparkline.js';

const trend = (...counts) => counts.map((count, i) => ({ start: new Date(Date.UTC(2025, 10, 11, 20, i)).toISOString(), count }));

test('one point per bucket, spread over the width, the highest at the top', () => {
  const s = sparkline(trend('0', '5', '10', '5'), { width: 30, height: 12, pad: 1 });
  assert.deepEqual(s.points, [
    [0, 11],
    [10, 6],
    [20, 1],
    [30, 6],
  ]);
  assert.equal(s.line, 'M0,11 L10,6 L20,1 L30,6');
  assert.equal(s.area, 'M0,11 L10,6 L20,1 L30,6 L30,11 L0,11 Z');
  assert.equal(s.max, 10);
  assert.equal(s.total, 20);
});

test('edge cases: no buckets, one bucket, all zero, bad counts', () => {
  const cases = [
    { name: 'no buckets', in: [], line: '', max: 0, total: 0 },
    { name: 'missing trend', in: undefined, line: '', max: 0, total: 0 },
    { name: 'one bucket is a flat line at the top', in: trend(7), line: 'M0,1 L100,1', max: 7, total: 7 },
    { name: 'all zero lies on the baseline', in: trend(0, 0, 0), line: 'M0,19 L50,19 L100,19', max: 0, total: 0 },
    { name: 'negative, missing and non-numeric counts count as zero', in: [{ count: -3 }, {}, { count: 'x' }, { count: '4' }], line: 'M0,19 L33.33,19 L66.67,19 L100,1', max: 4, total: 4 },
  ];
  for (const c of cases) {
    const s = sparkline(c.in);
    assert.equal(s.line, c.line, c.name);
    assert.equal(s.max, c.max, c.name);
    assert.equal(s.total, c.total, c.name);
  }
});

test('every point stays inside the box, whatever the counts', () => {
  const big = trend(...Array.from({ length: 30 }, (_, i) => String(2 ** 40 * ((i * 7) % 11))));
  const s = sparkline(big, { width: 120, height: 24, pad: 2 });
  assert.equal(s.points.length, 30);
  for (const [x, y] of s.points) {
    assert.ok(x >= 0 && x <= 120, `x ${x}`);
    assert.ok(y >= 2 && y <= 22, `y ${y}`);
  }
  assert.ok(s.points.some(([, y]) => y === 2), 'the highest bucket touches the top');
});
