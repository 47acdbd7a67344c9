import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SingleFlight } from '../src/lib/singleflight.js';

// A call that ends when the test says so, or rejects when its signal aborts
// (as fetch does).
function deferredCall() {
  const calls = [];
  const fn = (signal) => {
    const c = { signal };
    c.promise = new Promise((resolve, reject) => {
      c.resolve = resolve;
      c.reject = reject;
      signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), { once: true });
    });
    calls.push(c);
    return c.promise;
  };
  return { fn, calls };
}

test('ten rapid starts make one call; the others are refused without calling', async () => {
  const g = new SingleFlight();
  const { fn, calls } = deferredCall();
  const results = [];
  for (let i = 0; i < 10; i++) results.push(g.start(fn));
  assert.equal(calls.length, 1);
  assert.ok(results[0] instanceof Promise);
  assert.deepEqual(results.slice(1), Array(9).fill(null));
  assert.equal(g.busy, true);
  calls[0].resolve('report');
  assert.equal(await results[0], 'report');
  assert.equal(g.busy, false);
  // Once it has ended, the next click starts a new call.
  const again = g.start(fn);
  assert.equal(calls.length, 2);
  calls[1].resolve('second');
  assert.equal(await again, 'second');
});

test('a failed call frees the guard and passes its error on', async () => {
  const cases = [
    { name: 'rejects', fn: async () => Promise.reject(new Error('boom')) },
    { name: 'throws synchronously', fn: () => { throw new Error('boom'); } },
  ];
  for (const c of cases) {
    const g = new SingleFlight();
    await assert.rejects(g.start(c.fn), /boom/, c.name);
    assert.equal(g.busy, false, c.name);
  }
});

test('cancel aborts the signal of the call in flight; the guard frees once it has given up', async () => {
  const g = new SingleFlight();
  const { fn, calls } = deferredCall();
  assert.equal(g.cancel(), false, 'nothing to cancel');
  const p = g.start(fn);
  assert.equal(g.start(fn), null);
  assert.equal(g.cancel(), true);
  assert.equal(calls[0].signal.aborted, true);
  await assert.rejects(p, { name: 'AbortError' });
  assert.equal(g.busy, false);
  const next = g.start(fn);
  assert.equal(calls.length, 2);
  assert.equal(calls[1].signal.aborted, false, 'a new call gets a fresh signal');
  calls[1].resolve(1);
  await next;
});

test('a start from inside the running call is refused', async () => {
  const g = new SingleFlight();
  let inner = 'not tried';
  await g.start(async () => {
    inner = g.start(async () => 'nested');
  });
  assert.equal(inner, null);
});
