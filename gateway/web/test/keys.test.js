import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expireTimeOf, isExpired, keyLabel } from '../src/lib/keys.js';

test('keyLabel shows the prefix and last four, or the prefix alone for a migrated key', () => {
  assert.equal(keyLabel({ prefix: 'dsk_Qm3x', last_four: '8GfA' }), 'dsk_Qm3x…8GfA');
  assert.equal(keyLabel({ prefix: 'dsk_', last_four: '' }), 'dsk_…');
});

test('expireTimeOf: the end of the day in UTC, none when empty, refused when not in the future', () => {
  const now = new Date('2026-05-06T12:00:00Z');
  assert.equal(expireTimeOf('', now), null);
  assert.equal(expireTimeOf('2026-05-06', now), '2026-05-06T23:59:59.000Z');
  assert.equal(expireTimeOf('2027-01-31', now), '2027-01-31T23:59:59.000Z');
  assert.throws(() => expireTimeOf('2026-05-05', now), /must be in the future/);
  assert.throws(() => expireTimeOf('May 5', now), /Pick a day/);
});

test('isExpired', () => {
  const now = new Date('2026-05-06T12:00:00Z');
  assert.equal(isExpired({ expire_time: null }, now), false);
  assert.equal(isExpired({ expire_time: '2026-05-06T11:59:59Z' }, now), true);
  assert.equal(isExpired({ expire_time: '2026-05-07T00:00:00Z' }, now), false);
});
