import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnippets, shellQuote } from '../src/lib/snippets.js';

const key = 'dsk_AbC-123_xyz';

test('every snippet uses the real key and the page origin', () => {
  const s = buildSnippets({
    origin: 'http://logs.example:3000', apiKey: key, slug: 'shop',
    files: { javascript: ['logger.js'], python: ['logger.py'], go: ['logger.go', 'slog.go'], java: ['devsmith/DevSmithHandler.java', 'devsmith/DevSmithLogger.java'], ruby: ['devsmith_logger.rb'], php: ['DevSmithLogger.php'], shell: ['devsmith-log.sh'] },
  });
  assert.deepEqual(s.map((x) => x.id), ['curl', 'node', 'python', 'go', 'java', 'ruby', 'php', 'shell']);
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
  const java = s.find((x) => x.id === 'java').code;
  assert.match(java, /-o devsmith\/DevSmithLogger\.java 'http:\/\/logs\.example:3000\/samples\/java\/devsmith\/DevSmithLogger\.java'/);
  assert.match(java, /-o devsmith\/DevSmithHandler\.java/);
  assert.match(java, /javac -d build devsmith\/\*\.java Hello\.java && java -cp build Hello/);
  assert.match(s.find((x) => x.id === 'ruby').code, /-o devsmith_logger\.rb 'http:\/\/logs\.example:3000\/samples\/ruby\/devsmith_logger\.rb'/);
  assert.match(s.find((x) => x.id === 'php').code, /-o DevSmithLogger\.php 'http:\/\/logs\.example:3000\/samples\/php\/DevSmithLogger\.php'/);
  const shell = s.find((x) => x.id === 'shell').code;
  assert.match(shell, /-o devsmith-log\.sh 'http:\/\/logs\.example:3000\/samples\/shell\/devsmith-log\.sh'/);
  assert.match(shell, /^devsmith-log info 'Hello from the shell'$/m);
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
