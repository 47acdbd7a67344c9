import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnippets, shellQuote } from '../src/lib/snippets.js';

const key = 'dsk_AbC-123_xyz';

test('every snippet uses the real key and the page origin', () => {
  const s = buildSnippets({ origin: 'http://logs.example:3000', apiKey: key, slug: 'shop', files: { javascript: ['logger.js'], python: ['logger.py'], go: ['logger.go', 'slog.go'] } });
  assert.deepEqual(s.map((x) => x.id), ['curl', 'node', 'python', 'go']);
  for (const sn of s) {
    assert.ok(sn.code.includes(key), sn.id);
    assert.ok(sn.code.includes('http://logs.example:3000/api/logs'), sn.id);
  }
  const curl = s[0].code;
  assert.match(curl, /'http:\/\/logs\.example:3000\/api\/logs\/batch'/);
  assert.match(curl, /'Authorization: Bearer dsk_AbC-123_xyz'/);
  const go = s.find((x) => x.id === 'go').code;
  assert.match(go, /-o logger\/logger\.go 'http:\/\/logs\.example:3000\/samples\/go\/logger\.go'/);
  assert.match(go, /-o logger\/slog\.go/);
  assert.match(go, /logger\.FromEnv\(\)/);
  assert.match(s.find((x) => x.id === 'node').code, /DEVSMITH_SERVICE=/);
});

test('the curl body is valid JSON inside its quotes', () => {
  const curl = buildSnippets({ origin: 'http://localhost:3000', apiKey: key, slug: 's' })[0].code;
  const body = /-d '(.*)'$/.exec(curl)[1];
  const parsed = JSON.parse(body);
  assert.equal(parsed.service_name, 'hello');
  assert.equal(parsed.logs[0].message, 'Hello from curl');
});

test('shell quoting survives single quotes', () => {
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});
