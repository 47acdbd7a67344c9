import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEstimated, keptText, shownStats, standsFor } from '../src/lib/sampling.js';

const hist = [
  { start: '2026-12-02T10:00:00Z', counts: { INFO: 3, ERROR: 1 }, estimated_counts: { INFO: 30, ERROR: 1 } },
  { start: '2026-12-02T10:01:00Z', counts: {}, estimated_counts: {} },
];

test('unsampled stats are shown as counted', () => {
  const s = { total: 4, by_level: { INFO: 3, ERROR: 1 }, histogram: hist, sampled: false, estimated_total: 4 };
  const v = shownStats(s);
  assert.equal(v.sampled, false);
  assert.equal(v.total, 4);
  assert.deepEqual(v.histogram[0].counts, { INFO: 3, ERROR: 1 });
  assert.equal(isEstimated(v, 'INFO'), false);
});

test('sampled stats show the estimates, the stored counts beside them', () => {
  const s = {
    total: 4, by_level: { INFO: 3, ERROR: 1 }, histogram: hist, sampled: true,
    estimated_total: '31', estimated_by_level: { INFO: 30, ERROR: 1 },
  };
  const v = shownStats(s);
  assert.equal(v.sampled, true);
  assert.equal(v.total, 31);
  assert.equal(v.stored, 4);
  assert.deepEqual(v.histogram[0].counts, { INFO: 30, ERROR: 1 });
  assert.deepEqual(v.histogram[0].stored, { INFO: 3, ERROR: 1 });
  assert.equal(isEstimated(v, 'INFO'), true);
  assert.equal(isEstimated(v, 'ERROR'), false, 'ERROR is never sampled: exact');
});

test('an entry kept by a rule says how many it stands for', () => {
  assert.equal(keptText(0.1), 'kept 1 in 10');
  assert.equal(keptText(0.25), 'kept 1 in 4');
  assert.equal(keptText(0.33333334), 'kept 1 in 3');
  assert.equal(keptText(0.3), 'kept 1 in 3.3');
  assert.equal(keptText(null), '');
  assert.equal(keptText(undefined), '');
  assert.equal(keptText(1), '');
});

test('what a kept entry stands for', () => {
  assert.equal(standsFor(0.1), 10);
  assert.equal(standsFor(0.3), 3.3);
  assert.equal(standsFor(null), 0);
});
