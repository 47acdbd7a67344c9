import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TailBuffer, TAIL_CAP } from '../src/lib/tailbuffer.js';

const entry = (id) => ({ id, message: `m${id}` });
const ids = (list) => list.map((e) => e.id);

test('new entries go on top, newest first', () => {
  const b = new TailBuffer(5);
  b.seed([entry(3), entry(2), entry(1)]);
  b.push(entry(4));
  b.push(entry(5));
  assert.deepEqual(ids(b.rows), [5, 4, 3, 2, 1]);
});

test('never more than the cap: the oldest rows go', () => {
  assert.equal(TAIL_CAP, 1000);
  const b = new TailBuffer();
  for (let i = 1; i <= 2500; i++) b.push(entry(i));
  assert.equal(b.rows.length, 1000);
  assert.equal(b.rows[0].id, 2500);
  assert.equal(b.rows[999].id, 1501);
  assert.equal(b.ids.size, 1000, 'the duplicate index shrinks with the rows');
  const seeded = new TailBuffer();
  seeded.seed(Array.from({ length: 1500 }, (_, i) => entry(1500 - i)));
  assert.equal(seeded.rows.length, 1000);
});

test('duplicates (the first page overlapping the stream) are dropped', () => {
  const b = new TailBuffer(10);
  b.seed([entry(2), entry(1)]);
  assert.equal(b.push(entry(2)), false);
  assert.equal(b.push(entry(3)), true);
  assert.deepEqual(ids(b.rows), [3, 2, 1]);
});

test('paused: shown rows stay put, new ones wait, resume puts them on top', () => {
  const b = new TailBuffer(5);
  b.seed([entry(2), entry(1)]);
  b.pause();
  b.push(entry(3));
  b.push(entry(4));
  assert.deepEqual(ids(b.rows), [2, 1], 'what the user reads does not move');
  assert.equal(b.pendingCount, 2);
  b.resume();
  assert.deepEqual(ids(b.rows), [4, 3, 2, 1]);
  assert.equal(b.pendingCount, 0);
  assert.equal(b.paused, false);
  b.push(entry(5));
  assert.deepEqual(ids(b.rows), [5, 4, 3, 2, 1]);
});

test('paused for long: pending is bounded too, and the count says how many came', () => {
  const b = new TailBuffer(1000);
  b.seed(Array.from({ length: 1000 }, (_, i) => entry(1000 - i)));
  b.pause();
  for (let i = 1001; i <= 3500; i++) b.push(entry(i));
  assert.equal(b.rows.length, 1000);
  assert.equal(b.pending.length, 1000);
  assert.equal(b.pendingCount, 2500);
  assert.ok(b.size <= 2000);
  b.resume();
  assert.equal(b.rows.length, 1000);
  assert.deepEqual([b.rows[0].id, b.rows[999].id], [3500, 2501]);
  assert.equal(b.pendingCount, 0);
});
