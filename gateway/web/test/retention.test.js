import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retentionChoice, retentionDays, retentionText, ruleProblems, ruleRows, rulesOf, sameRules } from '../src/lib/retention.js';

test('retention as text', () => {
  assert.equal(retentionText({ retention_days: 7, retention_is_default: false }), '7 days');
  assert.equal(retentionText({ retention_days: 1, retention_is_default: false }), '1 day');
  assert.equal(retentionText({ retention_days: 30, retention_is_default: true }), '30 days · default');
  assert.equal(retentionText({}), '');
});

test('retention choice and days round trip', () => {
  const cases = [
    [{ retention_days: 30, retention_is_default: true }, { choice: 'default', custom: '' }, 0],
    [{ retention_days: 7, retention_is_default: false }, { choice: '7', custom: '' }, 7],
    [{ retention_days: 90, retention_is_default: false }, { choice: '90', custom: '' }, 90],
    [{ retention_days: 45, retention_is_default: false }, { choice: 'custom', custom: '45' }, 45],
  ];
  for (const [project, want, days] of cases) {
    const got = retentionChoice(project);
    assert.deepEqual(got, want);
    assert.equal(retentionDays(got.choice, got.custom), days);
  }
  for (const bad of ['', '0', '-3', '1.5', 'abc', '123456']) assert.equal(retentionDays('custom', bad), null, bad);
});

test('rules ↔ rows keep the percentages exact', () => {
  const rules = [
    { service_name: '', debug_rate: 0.1, info_rate: 1 },
    { service_name: 'api', debug_rate: 0.07, info_rate: 0.333 },
  ];
  const rows = ruleRows(rules);
  assert.deepEqual(rows, [
    { service: '', debug: '10', info: '100' },
    { service: 'api', debug: '7', info: '33.3' },
  ]);
  assert.ok(sameRules(rulesOf(rows), rules));
  assert.ok(!sameRules(rulesOf(rows.slice(1)), rules));
  assert.deepEqual(rulesOf([{ service: '  web ', debug: '50', info: '25' }]), [{ service_name: 'web', debug_rate: 0.5, info_rate: 0.25 }]);
});

test('rule problems name the row and field', () => {
  const got = ruleProblems([
    { service: 'api', debug: '10', info: '100' },
    { service: ' api', debug: '0', info: '101' },
    { service: '', debug: 'x', info: '5' },
    { service: ' ', debug: '1', info: '1' },
    { service: 'é'.repeat(201), debug: '1', info: '1' },
  ]);
  assert.deepEqual(got[0], { service: '', debug: '', info: '' });
  assert.equal(got[1].service, 'Another rule is for api.');
  assert.match(got[1].debug, /more than 0/);
  assert.match(got[1].info, /at most 100/);
  assert.match(got[2].debug, /percentage/);
  assert.equal(got[3].service, 'Another rule is for all services.');
  assert.equal(got[4].service, 'At most 200 characters.');
});
