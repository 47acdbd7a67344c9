// The Performance page in a real browser against the real platform:
// request entries with known durations on two routes give a table with the
// slower route first and its p95, the percentile chart's text alternative
// holds the numbers of each bucket, a click on a point (or the keyboard)
// opens the logs page on exactly that route and bucket, and the field and
// group_by choosers ask for what they say.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ADMIN, artifacts, eventually, getJSON, launchBrowser, sendBatch, startPlatform, signIn } from './harness.js';

const SLUG = 'perf-e2e';
// Durations per route: /slow 10, 20, ..., 1000 ms (p50 500, p95 950, p99
// 990), /fast 1..100 ms; one in ten /slow requests answers 500.
const ROUTES = {
  '/slow': { n: 100, duration: (i) => 10 * (i + 1), status: (i) => (i % 10 === 9 ? 500 : 200) },
  '/fast': { n: 100, duration: (i) => i + 1, status: () => 200 },
};
const fmt = new Intl.NumberFormat('en-US').format;

let platform;
let browser;
let page;
let base;
let token;
let metrics; // the API's answer
let drawn; // the answer the page drew
const pageErrors = [];

/** "950 ms" -> 950; "1,000 ms" -> 1000. */
const ms = (text) => Number(text.replace(/ ms$/, '').replace(/,/g, ''));
/** The dashboard's rounding of a value for its tables (lib/metrics.js formatValue). */
const shown = (v) => {
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(v)} ms`;
};
const url = () => new URL(page.url());
const shot = (name) => page.screenshot({ path: join(artifacts, name), fullPage: true });

describe('performance', { timeout: 600_000 }, () => {
  before(async () => {
    platform = await startPlatform({ name: 'platform-performance' });
    base = platform.baseURL;
    browser = await launchBrowser(base);
    page = browser.page;
    page.on('pageerror', (err) => {
      pageErrors.push(err.message);
      console.log(`# page error: ${err.message}`);
    });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ADMIN) });
    ({ token } = await login.json());
    const created = await fetch(`${base}/api/logs/projects`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Performance E2E', slug: SLUG }),
    });
    assert.equal(created.status, 201);
    const { api_key: key } = await created.json();

    // Over the last 12 minutes, interleaved, so each route has several
    // buckets; shuffled durations so no bucket holds only the slowest.
    const now = Date.now();
    for (const [route, r] of Object.entries(ROUTES)) {
      const logs = Array.from({ length: r.n }, (_, i) => {
        const j = (i * 37) % r.n; // a permutation of 0..n-1
        const status = r.status(j);
        return {
          timestamp: new Date(now - 12 * 60e3 + (i * 11 * 60e3) / r.n).toISOString(),
          level: status >= 500 ? 'ERROR' : 'INFO',
          message: `GET ${route} ${status} in ${r.duration(j)} ms`,
          context: { route, duration_ms: r.duration(j), status, method: 'GET' },
        };
      });
      const res = await sendBatch(base, key, 'api', logs);
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    // A value that is not a number is not counted.
    const bad = await sendBatch(base, key, 'api', [{ level: 'INFO', message: 'GET /fast 200', context: { route: '/fast', duration_ms: 'fast' } }]);
    assert.equal(bad.status, 201, JSON.stringify(bad.body));

    await signIn(page);
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) {
      const exit = await platform.stop();
      console.log(`# platform stopped: ${JSON.stringify(exit)}`);
    }
  });

  test('the API measures both routes with the known percentiles', async () => {
    metrics = await eventually(
      async () => {
        const r = await getJSON(base, token, `/api/logs/metrics?project=${SLUG}&field=duration_ms&group_by=route`);
        assert.deepEqual(r.series.map((s) => [s.group.route, Number(s.count)]).sort(), [
          ['/fast', 100],
          ['/slow', 100],
        ]);
        return r;
      },
      { timeout: 30_000, interval: 250 },
    );
    const slow = metrics.series.find((s) => s.group.route === '/slow');
    // Within 1% of the exact order statistics (docs/metrics.md).
    for (const [k, want] of [
      ['p50', 500],
      ['p95', 950],
      ['p99', 990],
      ['max', 1000],
    ]) {
      assert.ok(Math.abs(slow[k] - want) <= want * 0.011, `${k} ${slow[k]} ≈ ${want}`);
    }
    assert.ok(Math.abs(slow.error_rate - 0.1) < 1e-9, `error_rate ${slow.error_rate}`);
    assert.equal(Number(metrics.non_numeric), 1);
  });

  test('the table lists the slower route first with its p95, throughput and error rate', async () => {
    await page.getByRole('link', { name: 'Performance', exact: true }).click();
    await page.getByRole('heading', { name: 'Performance', level: 1 }).waitFor();
    // The answer the page draws from, for the expected numbers.
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/logs/metrics' && new URL(r.url()).searchParams.get('project') === SLUG);
    await page.goto(`/performance?project=${SLUG}`);
    const res = await answer;
    assert.equal(res.status(), 200);
    drawn = await res.json();
    const rows = page.getByTestId('series').locator('tbody tr');
    await eventually(async () => assert.equal(await rows.count(), 2));
    assert.deepEqual(await page.getByTestId('series-name').allInnerTexts(), ['/slow', '/fast']);
    const slow = drawn.series.find((s) => s.group.route === '/slow');
    const fast = drawn.series.find((s) => s.group.route === '/fast');
    const p95s = await page.getByTestId('series-p95').allInnerTexts();
    assert.deepEqual(p95s, [shown(slow.p95), shown(fast.p95)]);
    assert.ok(Math.abs(ms(p95s[0]) - 950) <= 11, p95s[0]);
    const cells = await rows.nth(0).locator('td').allInnerTexts();
    // count, per minute, p50, p95, p99, max, error rate
    assert.equal(cells[0], fmt(100));
    assert.equal(cells[6], '10.0%');
    assert.match(await page.locator('.pager').first().innerText(), /1 entry had duration_ms as something other than a number/);
    // The slowest series is charted.
    assert.match(await page.getByTestId('charts').locator('h2').innerText(), /^\/slow/);
    await shot('performance.png');
  });

  test('the percentile chart’s text alternative holds the numbers of every bucket', async () => {
    const chart = page.getByTestId('latency-chart');
    const svg = chart.locator('svg');
    assert.match(await svg.getAttribute('aria-label'), /percentiles of \/slow: p50, p95, p99 over \d+ buckets/);
    await chart.locator('details summary').click();
    const table = page.getByTestId('latency-chart-table');
    assert.match(await table.getAttribute('aria-label'), /duration_ms percentiles of \/slow, per /);
    const trs = table.locator('tbody tr');
    const rows = await trs.evaluateAll((els) => els.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText)));
    const slow = drawn.series.find((s) => s.group.route === '/slow');
    assert.equal(rows.length, slow.buckets.length, 'a row per bucket');
    assert.deepEqual(
      rows.map((r) => r.slice(0, 3)),
      slow.buckets.map((b) => (Number(b.count) > 0 ? [shown(b.p50), shown(b.p95), shown(b.p99)] : ['–', '–', '–'])),
    );
    const withData = rows.filter((r) => r[1] !== '–');
    assert.ok(withData.length >= 5, `several buckets with data: ${withData.length}`);
    for (const r of withData) assert.ok(ms(r[0]) <= ms(r[1]) && ms(r[1]) <= ms(r[2]), `p50 ≤ p95 ≤ p99: ${r}`);
    // The throughput and error-rate charts have theirs too.
    for (const id of ['throughput-chart', 'error-rate-chart']) {
      await page.getByTestId(id).locator('details summary').click();
      assert.equal(await page.getByTestId(`${id}-table`).locator('tbody tr').count(), rows.length);
    }
    const rates = await page.getByTestId('error-rate-chart-table').locator('tbody td').allInnerTexts();
    assert.ok(rates.some((t) => t !== '–' && t !== '0.0%'), 'some bucket has errors');
  });

  test('clicking a point opens the logs page on that route and bucket', async () => {
    const table = page.getByTestId('latency-chart-table');
    const rows = await table.locator('tbody tr').evaluateAll((els) => els.map((tr) => tr.querySelectorAll('td')[1].innerText));
    const i = rows.findIndex((t) => t !== '–');
    assert.ok(i >= 0);
    const hit = page.getByTestId('latency-chart').locator(`rect.hit[data-index="${i}"]`);
    const start = await hit.getAttribute('data-start');
    await hit.click();
    await eventually(() => assert.equal(url().pathname, '/'));
    const p = url().searchParams;
    assert.deepEqual(p.getAll('context.route'), ['/slow']);
    assert.deepEqual(p.getAll('project'), [SLUG]);
    assert.ok(Date.parse(p.get('since')) >= Date.parse(start), `since ${p.get('since')} at or after the bucket's start ${start}`);
    assert.ok(Date.parse(p.get('until')) - Date.parse(p.get('since')) <= Number(drawn.step_seconds) * 1000);
    assert.match(await page.getByTestId('context-chip').innerText(), /route = \/slow/);
    // Exactly the bucket's entries: as many as the bucket counted.
    const n = Number(drawn.series.find((s) => s.group.route === '/slow').buckets[i].count);
    assert.ok(n > 0);
    await eventually(async () => assert.equal((await page.getByTestId('count').innerText()).trim(), `1-${n} of ${n}`));
    const messages = page.locator('table[data-testid=entries] tbody tr.row td.c-msg');
    assert.equal(await messages.count(), n);
    for (const m of await messages.allInnerTexts()) assert.match(m, /^GET \/slow (200|500) in \d+ ms$/);
    await shot('performance-logs.png');
  });

  test('the chart is usable from the keyboard', async () => {
    await page.goBack();
    const svg = page.getByTestId('latency-chart').locator('svg');
    await svg.waitFor();
    await svg.focus();
    await page.keyboard.press('End');
    assert.match(await svg.getAttribute('aria-label'), /Selected: .*p95/);
    await page.keyboard.press('Enter');
    await eventually(() => assert.equal(url().pathname, '/'));
    assert.deepEqual(url().searchParams.getAll('context.route'), ['/slow']);
  });

  test('the field and group_by choosers: by service, and a field nobody sends', async () => {
    await page.goto(`/performance?project=${SLUG}`);
    await page.getByTestId('series').waitFor();
    await page.getByTestId('perf-group-by').fill('service_name');
    await page.getByRole('button', { name: 'Apply' }).click();
    await eventually(() => assert.deepEqual(url().searchParams.getAll('group_by'), ['service_name']));
    await eventually(async () => assert.deepEqual(await page.getByTestId('series-name').allInnerTexts(), ['api']));
    assert.equal(await page.getByTestId('series').locator('tbody tr td').first().innerText(), fmt(200));
    await page.getByTestId('perf-field').fill('queue_ms');
    await page.getByRole('button', { name: 'Apply' }).click();
    await eventually(() => assert.equal(url().searchParams.get('field'), 'queue_ms'));
    assert.match(await page.getByTestId('no-series').innerText(), /No entry in this range has queue_ms as a number/);
  });

  test('the pages raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
