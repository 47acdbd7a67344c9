'use strict';
// Unit tests: node --test (from samples/javascript).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const util = require('util');
const { spawn } = require('child_process');
const DevSmithLogger = require('./logger');
const { parseDuration } = require('./logger');
const { startFakePlatform, captureStderr } = require('./testing/fake-platform');

const KEY = 'dsk_test_secret_key_0123456789abcdef';
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function newLogger(platform, opts = {}) {
  return new DevSmithLogger({
    apiKey: KEY, apiUrl: platform.url, serviceName: 'svc', projectSlug: 'proj',
    batchSize: 100, flushInterval: 3600000, retryBaseDelay: 5, closeTimeout: 5000, flushOnExit: false,
    ...opts,
  });
}

test('sends a full batch at batchSize, the rest on flush, in the documented shape', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const log = newLogger(p, { batchSize: 5 });
  for (let i = 0; i < 12; i++) log.info(`m${i}`, { i });
  await p.waitFor(() => p.accepted().length === 2);
  assert.equal(log.stats().buffered, 2);
  assert.equal(await log.flush(), true);
  assert.deepEqual(p.requests.map((r) => r.body.logs.length), [5, 5, 2]);
  const r = p.requests[0];
  assert.equal(r.headers.authorization, `Bearer ${KEY}`);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.equal(r.body.service_name, 'svc');
  assert.equal(r.body.project_slug, 'proj');
  assert.equal(new Set(p.requests.map((x) => x.body.batch_id)).size, 3);
  assert.deepEqual(p.entries().map((e) => e.context.i), [...Array(12).keys()]);
  for (const e of p.entries()) {
    assert.match(e.timestamp, TS);
    assert.equal(e.level, 'INFO');
  }
  await log.close();
});

test('sends a partial batch after flushInterval without a flush call', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const log = newLogger(p, { flushInterval: 50 });
  const start = performance.now();
  log.debug('a'); log.warn('b'); log.error('c', { k: 'v' });
  await p.waitFor(() => p.accepted().length === 1, 3000);
  assert.ok(performance.now() - start >= 40, 'sent before the interval');
  assert.deepEqual(p.entries().map((e) => [e.level, e.message]), [['DEBUG', 'a'], ['WARN', 'b'], ['ERROR', 'c']]);
  assert.deepEqual(p.entries()[2].context, { k: 'v' });
  await log.close();
});

test('caps each batch by bytes (maxBatchBytes)', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const log = newLogger(p, { maxBatchBytes: 2000 });
  const big = 'x'.repeat(400);
  for (let i = 0; i < 10; i++) log.info(big, { i });
  assert.equal(await log.flush(), true);
  assert.ok(p.requests.length >= 3, `expected several batches, got ${p.requests.length}`);
  for (const r of p.requests) assert.ok(Buffer.byteLength(r.raw) <= 2000, `batch of ${Buffer.byteLength(r.raw)} bytes`);
  assert.deepEqual(p.entries().map((e) => e.context.i), [...Array(10).keys()]);
  await log.close();
});

test('retries 5xx with exponential backoff, reusing the batch_id', async (t) => {
  const p = await startFakePlatform((req, n) => (n < 2 ? { status: 503, body: { error: 'busy', code: 'UNAVAILABLE' } } : { status: 201 }));
  t.after(() => p.close());
  const log = newLogger(p, { retryBaseDelay: 40 });
  log.info('once');
  assert.equal(await log.flush(), true);
  assert.equal(p.requests.length, 3);
  assert.equal(new Set(p.requests.map((r) => r.body.batch_id)).size, 1);
  const gap1 = p.requests[1].at - p.requests[0].at;
  const gap2 = p.requests[2].at - p.requests[1].at;
  assert.ok(gap1 >= 19, `first backoff ${gap1} ms`);
  assert.ok(gap2 >= 39, `second backoff ${gap2} ms (should double)`);
  assert.equal(p.entries().length, 1);
  await log.close();
});

test('honours Retry-After on 429', async (t) => {
  const p = await startFakePlatform((req, n) => (n === 0
    ? { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'rate limited', code: 'RESOURCE_EXHAUSTED' } }
    : { status: 201 }));
  t.after(() => p.close());
  const log = newLogger(p, { retryBaseDelay: 1 });
  log.info('x');
  assert.equal(await log.flush(), true);
  assert.equal(p.requests.length, 2);
  assert.ok(p.requests[1].at - p.requests[0].at >= 950, 'retried before Retry-After');
  assert.equal(p.requests[0].body.batch_id, p.requests[1].body.batch_id);
  await log.close();
});

for (const status of [400, 401]) {
  test(`does not retry ${status}; reports the server's error once on stderr`, async (t) => {
    const p = await startFakePlatform(() => ({ status, body: { error: `server says no (${status})`, code: 'X' } }));
    t.after(() => p.close());
    const log = newLogger(p, { batchSize: 1 });
    const err = await captureStderr(async () => {
      log.info('a');
      log.info('b');
      assert.equal(await log.flush(), false);
    });
    assert.equal(p.requests.length, 2, 'one request per batch, no retries');
    assert.equal(err.split(`server says no (${status})`).length - 1, 1, err);
    assert.ok(!err.includes(KEY));
    assert.equal(log.stats().discarded, 2);
    await log.close();
  });
}

test('a batch that keeps failing goes back to the buffer whole and keeps its batch_id', async (t) => {
  let up = false;
  const p = await startFakePlatform(() => (up ? { status: 201 } : { status: 500, body: { error: 'down' } }));
  t.after(() => p.close());
  const log = newLogger(p, { maxRetries: 2 });
  for (let i = 0; i < 3; i++) log.info(`m${i}`);
  await captureStderr(async () => { assert.equal(await log.flush(), false); });
  assert.equal(p.requests.length, 3);
  assert.equal(log.stats().buffered, 3);
  up = true;
  assert.equal(await log.flush(), true);
  assert.equal(new Set(p.requests.map((r) => r.body.batch_id)).size, 1);
  assert.deepEqual(p.entries().map((e) => e.message), ['m0', 'm1', 'm2']);
  await log.close();
});

test('413 splits the batch and sends the halves', async (t) => {
  const p = await startFakePlatform((req) => (req.body.logs.length > 3 ? { status: 413, body: { error: 'too large' } } : { status: 201 }));
  t.after(() => p.close());
  const log = newLogger(p);
  for (let i = 0; i < 10; i++) log.info(`m${i}`, { i });
  assert.equal(await log.flush(), true);
  assert.deepEqual(p.entries().map((e) => e.context.i), [...Array(10).keys()]);
  const ids = p.accepted().map((r) => r.body.batch_id);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(!ids.includes(p.requests[0].body.batch_id));
  await log.close();
});

test('bounded buffer drops the oldest entries while the platform is unreachable, and reports it', async (t) => {
  let up = false;
  const p = await startFakePlatform(() => (up ? { status: 201 } : 'destroy'));
  t.after(() => p.close());
  const log = newLogger(p, { batchSize: 5, maxBufferSize: 10, maxRetries: 1 });
  const err = await captureStderr(async () => {
    for (let i = 0; i < 25; i++) log.info(`m${i}`, { i });
    await p.waitFor(() => p.requests.length >= 2);
    // The in-flight batch failed and came back: still at most 10 kept.
    await waitUntil(() => log.stats().failedAttempts >= 2 && log.stats().buffered === 10);
    assert.equal(log.stats().dropped, 15);
    up = true;
    assert.equal(await log.flush(), true);
  });
  const got = p.entries();
  assert.deepEqual(got.filter((e) => e.context.i !== undefined).map((e) => e.context.i), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  const report = got.find((e) => e.context._devsmith_dropped !== undefined);
  assert.equal(report.context._devsmith_dropped, 15);
  assert.equal(report.level, 'WARN');
  assert.match(err, /dropping the oldest/);
  assert.match(err, /dropped 15 log entries/);
  await log.close();
});

test('concurrent producers: every entry arrives exactly once, in order per producer', async (t) => {
  const p = await startFakePlatform(() => ({ status: 201 }));
  t.after(() => p.close());
  const log = newLogger(p, { batchSize: 7 });
  const producers = [...Array(20).keys()].map(async (w) => {
    for (let i = 0; i < 50; i++) {
      log.info(`w${w} i${i}`, { w, i });
      if (i % 3 === 0) await new Promise((r) => setImmediate(r));
    }
  });
  await Promise.all(producers);
  assert.equal(await log.close(), true);
  const got = p.entries();
  assert.equal(got.length, 1000);
  assert.equal(new Set(got.map((e) => e.message)).size, 1000);
  for (let w = 0; w < 20; w++) {
    assert.deepEqual(got.filter((e) => e.context.w === w).map((e) => e.context.i), [...Array(50).keys()]);
  }
});

test('close flushes what is buffered; logging after close is ignored', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const log = newLogger(p);
  log.info('one'); log.info('two'); log.info('three');
  assert.equal(await log.close(), true);
  assert.deepEqual(p.entries().map((e) => e.message), ['one', 'two', 'three']);
  log.info('after close');
  assert.equal(await log.close(), true);
  assert.equal(p.requests.length, 1);
});

test('a log call never throws, whatever it is given', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const log = newLogger(p);
  const circular = { name: 'c' };
  circular.self = circular;
  const hostile = { get boom() { throw new Error('getter'); } };
  const badJSON = { toJSON() { throw new Error('toJSON'); } };
  assert.doesNotThrow(() => {
    log.info('circular', circular);
    log.info('bigint', { n: 10n });
    log.info('getter', hostile);
    log.info('toJSON', badJSON);
    log.info(undefined);
    log.info(Symbol('s'));
    log.info({ an: 'object' });
    log.error(new Error('an error'));
    log.log('nonsense-level', 'x', 'not an object');
    log.info('null context', null);
  });
  assert.equal(await log.flush(), true);
  const byMsg = Object.fromEntries(p.entries().map((e) => [e.message, e]));
  assert.equal(byMsg.circular.context.self, '[Circular]');
  assert.equal(byMsg.bigint.context.n, '10');
  assert.ok(byMsg.getter.context._unserializable);
  assert.equal(byMsg['{"an":"object"}'].level, 'INFO');
  assert.match(byMsg['an error'].context.stack, /an error/);
  assert.equal(byMsg.x.level, 'NONSENSE-LEVEL');
  assert.equal(byMsg.x.context.value, 'not an object');
  assert.equal(p.entries().length, 10);
  for (const e of p.entries()) assert.ok(e.message.length > 0);
  await log.close();
  assert.doesNotThrow(() => log.info('after close'));
});

test('never prints the API key', async (t) => {
  const p = await startFakePlatform((req, n) => [
    { status: 401, body: { error: 'invalid API key', code: 'UNAUTHENTICATED' } },
    { status: 500, body: { error: 'oops' } },
    'destroy',
  ][n % 3]);
  t.after(() => p.close());
  const err = await captureStderr(async () => {
    const log = newLogger(p, { batchSize: 1, maxRetries: 1 });
    log.info('a'); log.info('b');
    await log.flush();
    assert.ok(!util.inspect(log).includes(KEY));
    assert.ok(!JSON.stringify(log).includes(KEY));
    assert.ok(!String(log).includes(KEY));
    await log.close({ timeout: 200 });
  });
  assert.match(err, /invalid API key/);
  assert.ok(!err.includes(KEY));
});

test('gzip bodies when asked', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const log = newLogger(p, { gzip: true });
  log.info('compressed');
  assert.equal(await log.close(), true);
  assert.equal(p.requests[0].headers['content-encoding'], 'gzip');
  assert.equal(p.entries()[0].message, 'compressed');
});

test('configuration falls back to DEVSMITH_* environment variables', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const saved = { ...process.env };
  t.after(() => { process.env = saved; });
  Object.assign(process.env, {
    DEVSMITH_API_KEY: KEY, DEVSMITH_URL: p.url + '/', DEVSMITH_PROJECT: 'envproj', DEVSMITH_SERVICE: 'envsvc',
    DEVSMITH_BATCH_SIZE: '2', DEVSMITH_FLUSH_INTERVAL: '1h',
  });
  const log = new DevSmithLogger({ flushOnExit: false });
  log.info('a'); log.info('b');
  await p.waitFor(() => p.accepted().length === 1);
  assert.equal(p.requests[0].body.service_name, 'envsvc');
  assert.equal(p.requests[0].body.project_slug, 'envproj');
  assert.equal(p.requests[0].headers.authorization, `Bearer ${KEY}`);
  await log.close();
  process.env.DEVSMITH_BATCH_SIZE = 'lots';
  assert.throws(() => new DevSmithLogger({ flushOnExit: false }), /DEVSMITH_BATCH_SIZE/);
  process.env.DEVSMITH_BATCH_SIZE = '2';
  process.env.DEVSMITH_FLUSH_INTERVAL = 'soon';
  assert.throws(() => new DevSmithLogger({ flushOnExit: false }), /DEVSMITH_FLUSH_INTERVAL/);
});

test('parseDuration', () => {
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('5'), 5000);
  assert.equal(parseDuration('1.5'), 1500);
  assert.equal(parseDuration('2m'), 120000);
  assert.equal(parseDuration('1h'), 3600000);
  assert.throws(() => parseDuration('5 parsecs'));
  assert.throws(() => parseDuration('-1s'));
});

test('flushes on beforeExit without keeping the process alive', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const script = `
    const L = require(${JSON.stringify(path.join(__dirname, 'logger.js'))});
    const log = new L({ serviceName: 'child', flushInterval: '1h' });
    log.info('from child 1'); log.info('from child 2');
  `;
  const { code, elapsed } = await runNode(script, { DEVSMITH_API_KEY: KEY, DEVSMITH_URL: p.url });
  assert.equal(code, 0);
  assert.deepEqual(p.entries().map((e) => e.message), ['from child 1', 'from child 2']);
  assert.ok(elapsed < 5000, `child took ${elapsed} ms`);
});

test('an unreachable platform delays exit by at most closeTimeout', async () => {
  const script = `
    const L = require(${JSON.stringify(path.join(__dirname, 'logger.js'))});
    const log = new L({ serviceName: 'child', closeTimeout: 300, retryBaseDelay: 20 });
    log.info('lost');
  `;
  // Port 9 (discard) on loopback: connection refused.
  const { code, elapsed, stderr } = await runNode(script, { DEVSMITH_API_KEY: KEY, DEVSMITH_URL: 'http://127.0.0.1:9/api/logs' });
  assert.equal(code, 0);
  assert.ok(elapsed < 3000, `child took ${elapsed} ms`);
  assert.match(stderr, /1 log entries were not delivered before exit/);
  assert.ok(!stderr.includes(KEY));
});

function runNode(script, env) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child did not exit')); }, 15000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, elapsed: performance.now() - start, stderr }); });
  });
}

async function waitUntil(pred, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('examples/driver.js logs DRIVER_COUNT entries and exits 0, or 1 when refused', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const env = { DEVSMITH_API_KEY: KEY, DEVSMITH_URL: p.url, DEVSMITH_SERVICE: 'driver-js', DRIVER_COUNT: '6', DRIVER_RUN_ID: 'r42' };
  const res = await runFile(path.join(__dirname, 'examples', 'driver.js'), env);
  assert.equal(res.code, 0, res.stderr);
  const got = p.entries();
  assert.deepEqual(got.map((e) => e.level), ['DEBUG', 'INFO', 'WARN', 'ERROR', 'DEBUG', 'INFO']);
  got.forEach((e, i) => {
    assert.equal(e.message, `driver javascript r42 ${i}`);
    assert.deepEqual(e.context, { run_id: 'r42', i, lang: 'javascript' });
  });
  assert.equal(p.requests[0].body.service_name, 'driver-js');

  const refusing = await startFakePlatform(() => ({ status: 401, body: { error: 'invalid API key', code: 'UNAUTHENTICATED' } }));
  t.after(() => refusing.close());
  const bad = await runFile(path.join(__dirname, 'examples', 'driver.js'), { ...env, DEVSMITH_URL: refusing.url });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid API key/);
});

function runFile(file, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.resume();
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child did not exit')); }, 15000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}
