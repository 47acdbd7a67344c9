import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analysisBody, analysisErrorMessage, changeText, formatElapsed, reportView, retryAfterSeconds } from '../src/lib/insights.js';
import { ApiError } from '../src/api.js';

test('the request carries the page projects and its window', () => {
  const win = { since: '2025-11-11T19:45:00.000Z', until: '2025-11-11T20:45:00.000Z' };
  assert.deepEqual(analysisBody({ projects: ['shop', 'api'] }, win), { project: ['shop', 'api'], ...win });
  assert.deepEqual(analysisBody({ projects: [] }, { since: null, until: win.until }), { project: [], until: win.until });
});

test('Retry-After in seconds or as a date', () => {
  const now = Date.parse('2025-11-11T20:00:00Z');
  const cases = [
    ['5', 5],
    [' 30 ', 30],
    ['0', 1],
    ['Tue, 11 Nov 2025 20:00:12 GMT', 12],
    ['Tue, 11 Nov 2025 19:00:00 GMT', 1],
    ['soon', null],
    [null, null],
    [undefined, null],
  ];
  for (const [v, want] of cases) assert.equal(retryAfterSeconds(v, now), want, String(v));
});

test('failures get a message fit to show', () => {
  const cases = [
    [new ApiError('too many', { status: 429, code: 'RESOURCE_EXHAUSTED', retryAfter: '7' }), /already running as many analyses.*Try again in 7 s\./],
    [new ApiError('too many', { status: 429, code: 'RESOURCE_EXHAUSTED' }), /Try again in a moment\./],
    [new ApiError('deadline', { status: 504, code: 'DEADLINE_EXCEEDED' }), /did not finish within the server’s time limit/],
    [new ApiError('project "x" not found', { status: 404, code: 'NOT_FOUND' }), /^project "x" not found$/],
  ];
  for (const [err, want] of cases) assert.match(analysisErrorMessage(err), want);
  assert.equal(analysisErrorMessage(null), '');
});

test('elapsed time and change against the previous window', () => {
  assert.equal(formatElapsed(0), '0 s');
  assert.equal(formatElapsed(12_900), '12 s');
  assert.equal(formatElapsed(65_000), '1 min 05 s');
  assert.equal(changeText('30', '10'), '+200% vs previous window');
  assert.equal(changeText(5, 10), '−50% vs previous window');
  assert.equal(changeText(4, 0), 'new in this window');
  assert.equal(changeText(4, 4), 'unchanged');
});

test('the report becomes sections with numbers, in the panel order, missing lists empty', () => {
  const res = {
    report: {
      top_patterns: [
        {
          pattern_id: '00000000000000aa',
          project_slug: 'shop',
          template: 'user <num> logged in',
          count: '12',
          previous_count: '3',
          counts_by_level: { INFO: '10', ERROR: '2' },
          services: ['api'],
          examples: [{ id: '1', message: 'user 7 logged in' }],
        },
      ],
      spikes: [{ pattern_id: '00000000000000bb', project_slug: 'shop', service_name: 'api', template: 'timeout', count: '90', baseline: 2.5, score: 14.2 }],
      silent_services: [{ project_slug: 'shop', service_name: 'cron', count: '0', previous_count: '40', reason: 'went silent' }],
    },
    summary: 'One spike.',
    summary_source: 'report',
    sampled: true,
    sample_size: '100000',
    partial: true,
    generated_at: '2025-11-11T20:45:01Z',
  };
  const v = reportView(res);
  assert.deepEqual(
    v.sections.map((s) => [s.key, s.items.length]),
    [
      ['new_error_patterns', 0],
      ['spikes', 1],
      ['growing_patterns', 0],
      ['new_patterns', 0],
      ['affected_services', 0],
      ['silent_services', 1],
      ['top_patterns', 1],
    ],
  );
  const top = v.sections.find((s) => s.key === 'top_patterns').items[0];
  assert.equal(top.count, 12);
  assert.equal(top.previous, 3);
  assert.deepEqual(top.byLevel, { INFO: 10, ERROR: 2 });
  assert.equal(top.patternId, '00000000000000aa');
  const spike = v.sections.find((s) => s.key === 'spikes').items[0];
  assert.deepEqual([spike.count, spike.baseline, spike.score, spike.service], [90, 2.5, 14.2, 'api']);
  assert.equal(v.sections.find((s) => s.key === 'silent_services').items[0].previous, 40);
  assert.equal(v.findings, 2, 'spikes and silent services; the top list is no finding');
  assert.deepEqual(v.notes, ['Counts are estimated from a sample of 100,000 entries.', 'Partial report: part of the analysis did not finish in time; what is shown was computed.']);
  assert.equal(v.summary, 'One spike.');

  const empty = reportView({});
  assert.equal(empty.sections.length, 7);
  assert.ok(empty.sections.every((s) => s.items.length === 0));
  assert.deepEqual(empty.notes, []);
});
