import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countLabel, formatAgo, formatNumber, formatRate, formatUTC, prettyJSON } from '../src/lib/format.js';

test('count of a page: first, middle and last pages', () => {
  const cases = [
    [{ offset: 0, shown: 100, total: 3412, exact: true }, '1-100 of 3,412'],
    [{ offset: 100, shown: 100, total: 3412, exact: true }, '101-200 of 3,412'],
    [{ offset: 3400, shown: 12, total: 3412, exact: true }, '3,401-3,412 of 3,412'],
    [{ offset: 0, shown: 3, total: 3, exact: true }, '1-3 of 3'],
    [{ offset: 0, shown: 1, total: 1, exact: true }, '1-1 of 1'],
    [{ offset: 0, shown: 0, total: 0, exact: true }, 'No entries'],
    [{ offset: 0, shown: 100, total: 1234567, exact: true }, '1-100 of 1,234,567'],
  ];
  for (const [args, want] of cases) assert.equal(countLabel(args), want);
});

test('an inexact total is shown as a lower bound', () => {
  assert.equal(countLabel({ offset: 0, shown: 100, total: 10000, exact: false }), '1-100 of at least 10,000');
  // A bound below what was already seen is raised to it.
  assert.equal(countLabel({ offset: 10000, shown: 100, total: 10000, exact: false }), '10,001-10,100 of at least 10,100');
});

test('numbers, rates and times', () => {
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber(1000000), '1,000,000');
  assert.equal(formatRate(0, 0), '–');
  assert.equal(formatRate(1, 3), '33.3%');
  assert.equal(formatRate(1, 10000), '<0.1%');
  assert.equal(formatRate(0, 10), '0.0%');
  assert.equal(formatUTC('2025-11-11T20:45:00.123Z'), '2025-11-11 20:45:00.123 UTC');
  const now = Date.parse('2025-11-11T20:45:00Z');
  assert.equal(formatAgo('2025-11-11T20:44:30Z', now), '30 s ago');
  assert.equal(formatAgo('2025-11-11T20:15:00Z', now), '30 min ago');
  assert.equal(formatAgo(null, now), 'never');
});

test('context is pretty-printed JSON text', () => {
  assert.equal(prettyJSON({ a: 1, b: { c: '<b>' } }), '{\n  "a": 1,\n  "b": {\n    "c": "<b>"\n  }\n}');
  assert.equal(prettyJSON(null), '{}');
});
