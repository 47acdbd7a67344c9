import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csrfToken } from '../src/api.js';

test('csrfToken reads the devsmith_csrf cookie among others', () => {
  assert.equal(csrfToken('a=1; devsmith_csrf=abc-_DEF; theme=dark'), 'abc-_DEF');
  assert.equal(csrfToken('devsmith_csrf=x%3Dy'), 'x=y');
  assert.equal(csrfToken('devsmith_csrfx=no; other=1'), '');
  assert.equal(csrfToken(''), '');
});
