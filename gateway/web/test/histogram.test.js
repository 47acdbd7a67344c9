import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketTotal, indexAtX, niceMax, rangeFromDrag, stackSegments } from '../src/lib/histogram.js';

// 60 one-minute buckets from 20:00 UTC.
const start = Date.parse('2025-11-11T20:00:00Z');
const hist = Array.from({ length: 60 }, (_, i) => ({
  start: new Date(start + i * 60000).toISOString(),
  counts: i % 2 ? { INFO: 2, ERROR: 1 } : {},
}));

test('pointer x maps to a bucket, clamped to the plot', () => {
  assert.equal(indexAtX(0, 600, 60), 0);
  assert.equal(indexAtX(9.9, 600, 60), 0);
  assert.equal(indexAtX(10, 600, 60), 1);
  assert.equal(indexAtX(599, 600, 60), 59);
  assert.equal(indexAtX(-50, 600, 60), 0);
  assert.equal(indexAtX(5000, 600, 60), 59);
});

test('dragging across bars gives the range they cover, in either direction', () => {
  const want = { since: '2025-11-11T20:10:00.000Z', until: '2025-11-11T20:21:00.000Z' };
  assert.deepEqual(rangeFromDrag(hist, 60, 10, 20), want);
  assert.deepEqual(rangeFromDrag(hist, 60, 20, 10), want);
  // A click (no movement) narrows to one bucket.
  assert.deepEqual(rangeFromDrag(hist, 60, 5, 5), { since: '2025-11-11T20:05:00.000Z', until: '2025-11-11T20:06:00.000Z' });
});

test('the range is clipped to what the stats covered', () => {
  const bounds = { since: '2025-11-11T20:00:30.000Z', until: '2025-11-11T20:59:10.000Z' };
  assert.deepEqual(rangeFromDrag(hist, 60, 0, 59, bounds), bounds);
  assert.deepEqual(rangeFromDrag(hist, 60, -3, 500, {}), { since: '2025-11-11T20:00:00.000Z', until: '2025-11-11T21:00:00.000Z' });
  assert.equal(rangeFromDrag([], 60, 0, 1), null);
});

test('bars stack levels bottom up, skipping empty ones', () => {
  const segs = stackSegments([{ start: 'x', counts: { ERROR: 1, INFO: 2, DEBUG: 0 } }]);
  assert.deepEqual(segs, [
    { index: 0, level: 'INFO', count: 2, y0: 0, y1: 2 },
    { index: 0, level: 'ERROR', count: 1, y0: 2, y1: 3 },
  ]);
  assert.equal(bucketTotal(hist[1]), 3);
  assert.equal(niceMax(0), 1);
  assert.equal(niceMax(3), 5);
  assert.equal(niceMax(10), 10);
  assert.equal(niceMax(11), 20);
  assert.equal(niceMax(3412), 5000);
});
