// Patterns and insights in a real browser against the real platform: lines
// of a few shapes become patterns with exact counts, a pattern shows exactly
// its entries, ten rapid clicks on Analyze make one request while the page
// stays responsive, the report renders as text and links to the entries of
// its patterns, and Cancel aborts the request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ADMIN, artifacts, eventually, getJSON, launchBrowser, sendBatch, sleep, startPlatform, signIn } from './harness.js';

const SLUG = 'insights-e2e';
const XSS = '<img src=x onerror=alert(1)>';
// The shapes ingested: each is one pattern (its variables masked), with
// this many entries.
const SHAPES = [
  { key: 'login', n: 30, level: 'INFO', service: 'api', msg: (i) => `user ${1000 + i} logged in from 10.0.${i % 7}.${i + 1}`, re: /^user \d+ logged in from 10\.0\.\d+\.\d+$/ },
  { key: 'payment', n: 12, level: 'ERROR', service: 'billing', msg: () => `payment ${randomUUID()} failed: card declined`, re: /^payment [0-9a-f-]{36} failed: card declined$/ },
  { key: 'cache', n: 7, level: 'DEBUG', service: 'worker', msg: (i) => `cache refreshed in ${5 + i * 3} ms`, re: /^cache refreshed in \d+ ms$/ },
  { key: 'xss', n: 1, level: 'WARN', service: 'api', msg: () => XSS, re: /^<img src=x onerror=alert\(1\)>$/ },
];
const TOTAL = SHAPES.reduce((n, s) => n + s.n, 0);
const fmt = new Intl.NumberFormat('en-US').format;

let platform;
let browser;
let page;
let base;
let token;
const pageErrors = [];
const dialogs = [];
const patternIds = {}; // shape key -> pattern id, read back through the API

const shot = (name) => page.screenshot({ path: join(artifacts, name), fullPage: false });
const countText = async () => (await page.locator('[data-testid=count]').innerText()).trim();
const rows = () => page.locator('table[data-testid=entries] tbody tr.row');
const messages = async () => rows().locator('td.c-msg').allInnerTexts();
const url = () => new URL(page.url());
const analyze = () => page.getByTestId('analyze');
const isAnalysis = (req) => req.method() === 'POST' && new URL(req.url()).pathname === '/api/logs/analysis';

async function expectCount(want, timeout = 10_000) {
  await eventually(async () => assert.equal(await countText(), want), { timeout });
}

/** Holds every POST /api/logs/analysis in the browser until release() (then it goes to the server). */
async function holdAnalysis() {
  let release;
  const held = new Promise((r) => (release = r));
  const hold = async (route) => {
    await held;
    await route.fallback().catch(() => {}); // on to the server, unless cancelled meanwhile
  };
  await page.route('**/api/logs/analysis', hold);
  return async () => {
    release();
    await page.unroute('**/api/logs/analysis', hold);
  };
}

/** Waits for the analysis to end, and fails with the page's message when it failed. */
async function reportOrFailure() {
  const done = page.locator('[data-testid=report], [data-testid=analysis-error]');
  await done.first().waitFor({ timeout: 70_000 });
  const failure = page.getByTestId('analysis-error');
  if (await failure.count()) assert.fail(`the analysis failed: ${await failure.innerText()}`);
}

/** The time one evaluate() round trip takes, and one animation frame. */
async function roundTrip() {
  const t = Date.now();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(1))));
  return Date.now() - t;
}

describe('patterns and insights', { timeout: 600_000 }, () => {
  before(async () => {
    platform = await startPlatform({ name: 'platform-insights' });
    base = platform.baseURL;
    browser = await launchBrowser(base);
    page = browser.page;
    page.on('pageerror', (err) => {
      pageErrors.push(err.message);
      console.log(`# page error: ${err.message}`);
    });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ADMIN) });
    ({ token } = await login.json());
    const created = await fetch(`${base}/api/logs/projects`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Insights E2E', slug: SLUG }),
    });
    assert.equal(created.status, 201);
    const { api_key: key } = await created.json();

    // Spread over the last 20 minutes, so the trends have several buckets.
    const now = Date.now();
    let k = 0;
    for (const s of SHAPES) {
      const logs = Array.from({ length: s.n }, (_, i) => ({ timestamp: new Date(now - 20 * 60e3 + (k++ * 20 * 60e3) / TOTAL).toISOString(), level: s.level, message: s.msg(i) }));
      const r = await sendBatch(base, key, s.service, logs);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }

    await signIn(page);
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) {
      const exit = await platform.stop();
      console.log(`# platform stopped: ${JSON.stringify(exit)}`);
    }
  });

  test('every shape becomes one pattern with its exact count, and the pattern filter returns exactly its entries', async () => {
    const t0 = Date.now();
    // Poll until the miner has given every entry its pattern: one pattern
    // per shape, counts exact.
    const list = await eventually(
      async () => {
        const r = await getJSON(base, token, `/api/logs/patterns?project=${SLUG}&page_size=100`);
        assert.deepEqual(
          r.patterns.map((p) => Number(p.count)),
          SHAPES.map((s) => s.n),
          JSON.stringify(r.patterns.map((p) => [p.template, p.count])),
        );
        return r;
      },
      { timeout: 30_000, interval: 250 },
    );
    console.log(`# patterns complete ${Date.now() - t0} ms after the batches were accepted`);
    for (const [i, s] of SHAPES.entries()) {
      const p = list.patterns[i];
      assert.match(p.id, /^[0-9a-f]{16}$/);
      assert.deepEqual(p.services, [s.service]);
      assert.equal(Number(p.counts_by_level[s.level]), s.n);
      patternIds[s.key] = p.id;
    }
    const payment = await getJSON(base, token, `/api/logs/entries?project=${SLUG}&pattern=${patternIds.payment}&page_size=100`);
    assert.equal(payment.entries.length, 12);
    for (const e of payment.entries) {
      assert.match(e.message, SHAPES[1].re);
      assert.equal(e.pattern_id, patternIds.payment);
    }
  });

  test('the Patterns tab lists them with counts, levels, services and a sparkline', async () => {
    await page.goto(`/?project=${SLUG}`);
    await expectCount(`1-${TOTAL} of ${TOTAL}`);
    await page.getByRole('tab', { name: 'Patterns' }).click();
    assert.equal(url().searchParams.get('view'), 'patterns');
    const table = page.getByTestId('patterns');
    await table.waitFor();
    const trs = table.locator('tbody tr');
    await eventually(async () => assert.equal(await trs.count(), SHAPES.length));
    assert.deepEqual(await table.getByTestId('pattern-count').allInnerTexts(), SHAPES.map((s) => fmt(s.n)));
    assert.deepEqual(
      await trs.evaluateAll((els) => els.map((el) => el.dataset.pattern)),
      SHAPES.map((s) => patternIds[s.key]),
    );
    for (const [i, s] of SHAPES.entries()) {
      const tr = trs.nth(i);
      assert.match(await tr.innerText(), new RegExp(`${s.level} ${s.n}`));
      assert.match(await tr.innerText(), new RegExp(s.service));
      const d = await tr.locator('[data-testid=sparkline] path.spark-line').getAttribute('d');
      assert.match(d, /^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+)+$/, 'a line through the trend buckets');
    }
    // The malicious message is a template of text, not an element.
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    assert.match(await trs.nth(3).getByTestId('pattern-template').innerText(), /^<img /);
    await shot('patterns.png');
  });

  test('clicking a pattern shows exactly its entries, behind a removable chip', async () => {
    await page.locator(`tr[data-pattern="${patternIds.payment}"]`).getByTestId('pattern-template').click();
    await eventually(() => assert.deepEqual(url().searchParams.getAll('pattern'), [patternIds.payment]));
    assert.equal(url().searchParams.get('view'), null, 'back on the entries');
    await expectCount('1-12 of 12');
    const shown = await messages();
    assert.equal(shown.length, 12);
    for (const m of shown) assert.match(m, SHAPES[1].re);
    await eventually(async () => assert.equal((await page.getByTestId('tile-total').innerText()).trim(), '12'), {});
    const chip = page.getByTestId('pattern-chip');
    assert.match(await chip.innerText(), new RegExp(patternIds.payment));
    await chip.getByRole('button', { name: `Remove the filter on pattern ${patternIds.payment}` }).click();
    await expectCount(`1-${TOTAL} of ${TOTAL}`);
    assert.equal(await page.getByTestId('pattern-chip').count(), 0);

    // An entry's detail links to its pattern.
    await page.locator('td.c-msg', { hasText: 'cache refreshed in' }).first().click();
    const link = page.locator('tr.detail').getByTestId('entry-pattern');
    assert.equal(await link.innerText(), patternIds.cache);
    await link.click();
    await expectCount('1-7 of 7');
    for (const m of await messages()) assert.match(m, SHAPES[2].re);
  });

  test('ten rapid clicks on Analyze make one request; the page stays responsive while it runs', async () => {
    await page.goto(`/?project=${SLUG}`);
    await expectCount(`1-${TOTAL} of ${TOTAL}`);
    const posts = [];
    const onRequest = (req) => {
      if (isAnalysis(req)) posts.push(req);
    };
    page.on('request', onRequest);
    const release = await holdAnalysis();
    try {
      // Ten clicks in one task (before any re-render), then ten real mouse
      // clicks on the button while the first runs.
      await analyze().evaluate((b) => {
        for (let i = 0; i < 10; i++) b.click();
      });
      const box = await analyze().boundingBox();
      for (let i = 0; i < 10; i++) await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      assert.equal(await analyze().isDisabled(), true);
      assert.equal(await analyze().getAttribute('aria-busy'), 'true');
      await page.getByTestId('analyze-cancel').waitFor();
      // The elapsed time moves: the page keeps rendering.
      await eventually(async () => assert.match(await page.getByTestId('analysis-progress').innerText(), /Analyzing… [1-9]\d* s/), { timeout: 5000 });
      const trips = [];
      for (let i = 0; i < 5; i++) trips.push(await roundTrip());
      console.log(`# evaluate + animation frame round trips while the analysis runs: ${trips.join(', ')} ms`);
      assert.ok(Math.max(...trips) < 1000, `round trips ${trips}`);
      assert.equal(posts.length, 1, 'one request so far');
    } finally {
      await release();
    }
    await reportOrFailure();
    await eventually(async () => assert.equal(await analyze().isDisabled(), false));
    page.off('request', onRequest);
    assert.equal(posts.length, 1, 'exactly one POST /api/logs/analysis');
    const res = await posts[0].response();
    assert.equal(res.status(), 200);
    assert.deepEqual(posts[0].postDataJSON().project, [SLUG]);
  });

  test('the report renders as text, with the malicious message as text, and links to a pattern’s entries', async () => {
    const report = page.getByTestId('report');
    assert.ok((await page.getByTestId('summary').innerText()).trim().length > 0, 'a summary');
    const text = await report.innerText();
    assert.match(text, /Most frequent patterns/);
    // The example of the malicious entry is its text.
    await eventually(async () => assert.ok((await report.getByTestId('finding-example').allInnerTexts()).some((t) => t.includes(XSS)), 'the XSS message shows as text'));
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    assert.equal(await report.locator('img, script').count(), 0);
    await sleep(300);
    assert.deepEqual(dialogs, [], 'no alert ran');
    await shot('insights-report.png');

    const link = report.locator('section[data-section=top_patterns]').getByTestId('finding-pattern').filter({ hasText: 'payment' });
    await link.click();
    await eventually(() => assert.deepEqual(url().searchParams.getAll('pattern'), [patternIds.payment]));
    assert.deepEqual(url().searchParams.getAll('project'), [SLUG]);
    await expectCount('1-12 of 12');
    for (const m of await messages()) assert.match(m, SHAPES[1].re);
  });

  test('Cancel aborts the request and frees the button', async () => {
    await page.goto(`/?project=${SLUG}&range=1h`);
    await expectCount(`1-${TOTAL} of ${TOTAL}`);
    const release = await holdAnalysis();
    try {
      const failed = page.waitForEvent('requestfailed', { predicate: isAnalysis, timeout: 10_000 });
      await analyze().click();
      const cancel = page.getByTestId('analyze-cancel');
      await cancel.waitFor();
      await cancel.click();
      const req = await failed;
      console.log(`# cancelled analysis request: ${req.failure()?.errorText}`);
      await page.getByTestId('analysis-cancelled').waitFor();
      assert.equal(await analyze().isDisabled(), false);
      assert.equal(await page.getByTestId('analysis-progress').count(), 0);
    } finally {
      await release();
    }
  });

  test('the pages raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
