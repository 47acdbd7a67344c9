import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SLUG_RE, slugProblem, suggestSlug } from '../src/lib/slug.js';

test('slug suggested from the name', () => {
  const cases = [
    ['My Shop', 'my-shop'],
    ['  My   Shop API (EU)  ', 'my-shop-api-eu'],
    ['Café Crème', 'cafe-creme'],
    ['billing_service.v2', 'billing-service-v2'],
    ['---', ''],
    ['日本語', ''],
    ['ABC123', 'abc123'],
  ];
  for (const [name, want] of cases) assert.equal(suggestSlug(name), want, name);
});

test('suggestions always pass the server rule when not empty', () => {
  const long = suggestSlug('word '.repeat(60));
  assert.ok(long.length <= 100);
  assert.ok(!long.endsWith('-'));
  for (const name of ['a', 'Hello World!', long, 'x'.repeat(300)]) {
    const s = suggestSlug(name);
    assert.match(s, SLUG_RE);
    assert.equal(slugProblem(s), '');
  }
});

test('slug problems are explained', () => {
  assert.equal(slugProblem(''), 'A slug is required.');
  assert.equal(slugProblem('Bad Slug'), 'Only lowercase letters, digits and dashes.');
  assert.equal(slugProblem('x'.repeat(101)), 'At most 100 characters.');
});
