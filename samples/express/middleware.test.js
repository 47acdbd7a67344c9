'use strict';
// Unit tests: node --test (from samples/express, after npm ci).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { spawn } = require('child_process');
const express = require('express');
const { requestLogger, errorHandler } = require('./middleware');
const DevSmithLogger = require('./logger');
const { startFakePlatform } = require('../javascript/testing/fake-platform');

// A logger that records entries and lets a test await them.
function captureLogger() {
  const entries = [];
  const waiters = [];
  return {
    entries,
    log(level, message, context) {
      entries.push({ level, message, context });
      for (const w of waiters.splice(0)) w();
    },
    async waitFor(n, timeoutMs = 3000) {
      const end = Date.now() + timeoutMs;
      while (entries.length < n) {
        if (Date.now() > end) throw new Error(`expected ${n} entries, have ${entries.length}`);
        await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, 50); });
      }
    },
  };
}

async function serve(t, build) {
  const app = express();
  app.set('env', 'test'); // Express's own error handler stays quiet
  build(app);
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return `http://127.0.0.1:${server.address().port}`;
}

function standardApp(log, options) {
  return (app) => {
    app.use(express.json());
    app.use(requestLogger(log, options));
    app.get('/', (req, res) => res.send('ok'));
    app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
    app.post('/login', (req, res) => res.status(204).end());
    app.get('/redirect', (req, res) => res.redirect('/'));
    app.get('/fail', (req, res) => res.status(503).send('unavailable'));
    app.get('/bad', (req, res) => res.status(422).send('bad'));
    app.get('/error', () => { throw new TypeError('boom sync'); });
    app.get('/async-error', async () => { throw new Error('boom async'); });
    app.get('/health', (req, res) => res.send('healthy'));
    app.get('/static/app.css', (req, res) => res.send('css'));
    app.use(errorHandler(log, options));
  };
}

test('logs one entry per request with method, path, route, status, duration_ms and ip', async (t) => {
  const log = captureLogger();
  const base = await serve(t, standardApp(log));
  const res = await fetch(`${base}/users/42?sort=asc`, { headers: { 'User-Agent': 'test-agent' } });
  assert.equal(res.status, 200);
  await log.waitFor(1);
  assert.equal(log.entries.length, 1);
  const e = log.entries[0];
  assert.equal(e.level, 'INFO');
  assert.equal(e.message, 'GET /users/42 200');
  assert.equal(e.context.method, 'GET');
  assert.equal(e.context.path, '/users/42');
  assert.equal(e.context.route, '/users/:id');
  assert.equal(e.context.status, 200);
  assert.equal(typeof e.context.duration_ms, 'number');
  assert.ok(e.context.duration_ms >= 0);
  assert.match(e.context.ip, /127\.0\.0\.1/);
  assert.equal(e.context.user_agent, 'test-agent');
  assert.deepEqual(e.context.query, { sort: 'asc' });
});

test('level follows the status: 5xx ERROR, 4xx WARN, else INFO', async (t) => {
  const log = captureLogger();
  const base = await serve(t, standardApp(log));
  const cases = [['/fail', 503, 'ERROR'], ['/bad', 422, 'WARN'], ['/nowhere', 404, 'WARN'], ['/redirect', 302, 'INFO'], ['/', 200, 'INFO']];
  for (const [p, status, level] of cases) {
    const before = log.entries.length;
    const res = await fetch(base + p, { redirect: 'manual' });
    assert.equal(res.status, status);
    await log.waitFor(before + 1);
    const e = log.entries[before];
    assert.equal(e.context.status, status, p);
    assert.equal(e.level, level, p);
  }
});

test('skips /health by default and configurable paths', async (t) => {
  const log = captureLogger();
  const base = await serve(t, standardApp(log));
  await (await fetch(`${base}/health`)).text();
  await (await fetch(`${base}/`)).text();
  await log.waitFor(1);
  assert.deepEqual(log.entries.map((e) => e.context.path), ['/']);

  const log2 = captureLogger();
  const base2 = await serve(t, standardApp(log2, { skipPaths: ['/', '/static/*'] }));
  await (await fetch(`${base2}/static/app.css`)).text();
  await (await fetch(`${base2}/`)).text();
  await (await fetch(`${base2}/health`)).text();
  await log2.waitFor(1);
  assert.deepEqual(log2.entries.map((e) => e.context.path), ['/health']);
});

test('redacts sensitive headers, query fields and body fields', async (t) => {
  const log = captureLogger();
  const base = await serve(t, standardApp(log, { logHeaders: true, logBody: true }));
  const res = await fetch(`${base}/login?password=hunter2&user=bob`, {
    method: 'POST',
    headers: { Authorization: 'Bearer secret-token', Cookie: 'sid=secret-cookie', 'X-Trace': 'keep', 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: 'bob', password: 'hunter2', nested: { Password: 'hunter3' } }),
  });
  assert.equal(res.status, 204);
  await log.waitFor(1);
  const c = log.entries[0].context;
  assert.equal(c.headers.authorization, '[REDACTED]');
  assert.equal(c.headers.cookie, '[REDACTED]');
  assert.equal(c.headers['x-trace'], 'keep');
  assert.deepEqual(c.query, { password: '[REDACTED]', user: 'bob' });
  assert.deepEqual(c.body, { user: 'bob', password: '[REDACTED]', nested: { Password: '[REDACTED]' } });
  const all = JSON.stringify(log.entries);
  for (const secret of ['secret-token', 'secret-cookie', 'hunter2', 'hunter3']) assert.ok(!all.includes(secret), secret);

  const log2 = captureLogger();
  const base2 = await serve(t, standardApp(log2, { logHeaders: true, redact: ['x-trace'] }));
  await (await fetch(`${base2}/`, { headers: { 'X-Trace': 'hide-me' } })).text();
  await log2.waitFor(1);
  assert.equal(log2.entries[0].context.headers['x-trace'], '[REDACTED]');
});

test('an unhandled error is logged at ERROR with its stack, then answered 500', async (t) => {
  const log = captureLogger();
  const base = await serve(t, standardApp(log));
  for (const [p, msg, type] of [['/error', 'boom sync', 'TypeError'], ['/async-error', 'boom async', 'Error']]) {
    const before = log.entries.length;
    const res = await fetch(base + p, { headers: { Authorization: 'Bearer secret-token' } });
    assert.equal(res.status, 500);
    await log.waitFor(before + 1);
    const e = log.entries[before];
    assert.equal(e.level, 'ERROR');
    assert.equal(e.context.status, 500);
    assert.equal(e.context.error, msg);
    assert.equal(e.context.error_type, type);
    assert.match(e.context.stack, new RegExp(`${type}: ${msg}\\n\\s+at `));
    assert.equal(e.context.headers.authorization, '[REDACTED]');
    assert.equal(e.message, `GET ${p} 500: ${type}: ${msg}`);
  }
  assert.equal(log.entries.length, 2, 'exactly one entry per request');
});

test('errorHandler alone logs the error itself', async (t) => {
  const log = captureLogger();
  const base = await serve(t, (app) => {
    app.get('/error', () => { throw new Error('lonely'); });
    app.use(errorHandler(log));
  });
  const res = await fetch(`${base}/error`);
  assert.equal(res.status, 500);
  await log.waitFor(1);
  assert.equal(log.entries[0].level, 'ERROR');
  assert.match(log.entries[0].context.stack, /Error: lonely/);
});

test('a logger that throws never breaks a request', async (t) => {
  const bad = { log() { throw new Error('logger broke'); } };
  const base = await serve(t, standardApp(bad));
  const res = await fetch(`${base}/users/1`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { id: '1' });
});

test('through the real logger to a fake platform', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const log = new DevSmithLogger({ apiKey: 'dsk_x', apiUrl: p.url, serviceName: 'web', flushInterval: '1h', flushOnExit: false });
  const base = await serve(t, standardApp(log));
  await (await fetch(`${base}/`)).text();
  await (await fetch(`${base}/error`)).text();
  await (await fetch(`${base}/health`)).text();
  // The entry is written on 'finish', which may come just after the client has the response.
  const end = Date.now() + 3000;
  while (log.stats().logged < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  assert.equal(await log.close(), true);
  const got = p.entries();
  assert.deepEqual(got.map((e) => [e.level, e.context.path, e.context.status]), [['INFO', '/', 200], ['ERROR', '/error', 500]]);
  assert.equal(p.requests[0].body.service_name, 'web');
});

test('app.js serves /, /error, /health and flushes on SIGTERM', async (t) => {
  const p = await startFakePlatform();
  t.after(() => p.close());
  const child = spawn(process.execPath, [path.join(__dirname, 'app.js')], {
    env: { ...process.env, PORT: '0', DEVSMITH_API_KEY: 'dsk_app', DEVSMITH_URL: p.url, DEVSMITH_SERVICE: 'express-test', NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));
  const base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`app did not start: ${out}`)), 10000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
  assert.equal((await fetch(`${base}/`)).status, 200);
  assert.equal((await fetch(`${base}/error`)).status, 500);
  assert.equal((await fetch(`${base}/health`)).status, 200);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const got = p.entries().filter((e) => e.context && e.context.path);
  assert.deepEqual(got.map((e) => [e.level, e.context.path]), [['INFO', '/'], ['ERROR', '/error']]);
  assert.match(got[1].context.stack, /boom/);
  assert.equal(p.requests[0].body.service_name, 'express-test');
});
