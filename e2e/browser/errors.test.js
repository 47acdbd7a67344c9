// Error groups in a real browser against the real platform: ERROR entries
// with stacks from two code paths (varying ids, numbers and line numbers)
// become two groups with exact counts on the Errors page; a group's page
// shows its stack, counts, trend (and the trend's numbers as a table) and
// examples; an admin resolves it and it shows resolved, a new event makes
// it a regression; a viewer gets no buttons; an ERROR entry on the logs
// page links to its group, and the group links back to exactly its entries;
// markup in a message or stack stays text.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ADMIN, artifacts, eventually, launchBrowser, sendBatch, sleep, startPlatform } from './harness.js';

const SLUG = 'errors-e2e';
const OTHER = 'errors-e2e-worker';
const MANY = 'errors-e2e-many';
const VIEWER = { email: 'error-viewer@example.com', password: 'viewer-password-1' };
const fmt = new Intl.NumberFormat('en-US').format;
const XSS = '<img src=x onerror="window.__xss=1">';

// Two code paths of a Node service: the same exception at the same in-app
// frames, with ids, numbers, line numbers and request paths that differ per
// event; library frames under node_modules.
const PATHS = {
  order: {
    n: 5,
    type: 'TypeError',
    fn: 'getOrder',
    message: (i) => `TypeError: Cannot read properties of undefined (reading 'total') for order ${randomUUID()}`,
    stack: (i) =>
      [
        `TypeError: Cannot read properties of undefined (reading 'total')`,
        `    at getOrder (/srv/app/src/orders.js:${40 + i}:${7 + i})`,
        `    at handleGet (/srv/app/src/routes/orders.js:${12 + 2 * i}:3)`,
        `    at Layer.handle [as handle_request] (/srv/app/node_modules/express/lib/router/layer.js:95:5)`,
        `    at next (/srv/app/node_modules/express/lib/router/route.js:149:13)`,
      ].join('\n'),
    context: (i) => ({ route: '/orders/:id', path: `/orders/${1000 + i}`, release: i < 3 ? '1.4.0' : '1.4.1' }),
    service: 'api',
  },
  payment: {
    n: 3,
    type: 'RangeError',
    fn: 'chargeCard',
    message: (i) => `RangeError: amount ${17 + i * 991} out of range for customer ${8000 + i} ${XSS}`,
    stack: (i) =>
      [
        `RangeError: amount ${17 + i * 991} out of range ${XSS}`,
        `    at chargeCard (/srv/app/src/billing.js:${88 + i}:11)`,
        `    at processPayment (/srv/app/src/payments.js:${20 + i}:5)`,
        `    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)`,
      ].join('\n'),
    context: (i) => ({ route: '/payments', customer: 8000 + i }),
    service: 'billing',
  },
};

let platform;
let browser;
let page;
let base;
let token;
const keys = {};
const groups = {}; // path -> group (from the API)
const pageErrors = [];

async function call(method, path, body, bearer = token) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  const data = await r.json().catch(() => null);
  return { status: r.status, body: data };
}

async function apiGet(path) {
  const r = await call('GET', path);
  assert.equal(r.status, 200, `GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function createProject(name, slug) {
  const r = await call('POST', '/api/logs/projects', { name, slug });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function send(key, path, from, n, at) {
  const p = PATHS[path];
  const logs = Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { timestamp: at(i), level: 'ERROR', message: p.message(i), context: { ...p.context(i), stack: p.stack(i) } };
  });
  const r = await sendBatch(base, key, p.service, logs);
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function signIn(p, who) {
  await p.goto('/');
  await p.getByLabel('Email').fill(who.email);
  await p.getByLabel('Password', { exact: true }).fill(who.password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Logs', level: 1 }).waitFor();
}

const shot = (name) => page.screenshot({ path: join(artifacts, name), fullPage: true });
const url = () => new URL(page.url());
const rowsOf = (p) => p.getByTestId('groups').locator('tbody tr');

describe('error groups', { timeout: 600_000 }, () => {
  before(async () => {
    platform = await startPlatform({ name: 'platform-errors' });
    base = platform.baseURL;
    browser = await launchBrowser(base);
    page = browser.page;
    page.on('pageerror', (err) => {
      pageErrors.push(err.message);
      console.log(`# page error: ${err.message}`);
    });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ADMIN) });
    ({ token } = await login.json());
    const a = await createProject('Errors E2E', SLUG);
    keys[SLUG] = a.api_key;
    const b = await createProject('Errors E2E worker', OTHER);
    keys[OTHER] = b.api_key;

    // Spread over the last 20 minutes, so the trends have several buckets.
    const now = Date.now();
    const at = (offset) => (i) => new Date(now - 20 * 60e3 + (offset + i) * 60e3).toISOString();
    await send(keys[SLUG], 'order', 0, PATHS.order.n, at(0));
    await send(keys[SLUG], 'payment', 0, PATHS.payment.n, at(8));
    // The same code path in another project: a group of its own there.
    await send(keys[OTHER], 'order', 10, 2, at(2));

    const u = await call('POST', '/api/users', { email: VIEWER.email, password: VIEWER.password, role: 'member' });
    assert.equal(u.status, 201, JSON.stringify(u.body));
    const m = await call('POST', `/api/logs/projects/${a.project_id}/members`, { email: VIEWER.email, role: 'viewer' });
    assert.ok(m.status === 200 || m.status === 201, JSON.stringify(m.body));

    await signIn(page, ADMIN);
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) {
      const exit = await platform.stop();
      console.log(`# platform stopped: ${JSON.stringify(exit)}`);
    }
  });

  test('each code path is one group with its exact count, whatever its ids and line numbers', async () => {
    const t0 = Date.now();
    const list = await eventually(
      async () => {
        const r = await apiGet(`/api/logs/errors?project=${SLUG}&sort=count`);
        assert.deepEqual(
          r.groups.map((g) => Number(g.count)),
          [PATHS.order.n, PATHS.payment.n],
          JSON.stringify(r.groups.map((g) => [g.title, g.count])),
        );
        return r;
      },
      { timeout: 30_000, interval: 250 },
    );
    console.log(`# groups complete ${Date.now() - t0} ms after the batches were accepted`);
    [groups.order, groups.payment] = list.groups;
    assert.match(groups.order.id, /^\d+$/);
    assert.equal(groups.order.exception_type, 'TypeError');
    assert.equal(groups.payment.exception_type, 'RangeError');
    assert.match(groups.order.culprit, /getOrder/);
    assert.match(groups.payment.culprit, /chargeCard/);
    assert.deepEqual(groups.order.services, ['api']);
    assert.deepEqual(groups.order.also_in, [OTHER]);
    assert.deepEqual(groups.payment.also_in, []);
  });

  test('the Errors page lists the two groups with counts, services, a trend and "also in"', async () => {
    await page.getByRole('link', { name: 'Errors', exact: true }).click();
    await page.getByRole('heading', { name: 'Errors', level: 1 }).waitFor();
    await page.goto(`/errors?project=${SLUG}&sort=count`);
    const rows = rowsOf(page);
    await eventually(async () => assert.equal(await rows.count(), 2));
    assert.equal((await page.getByTestId('groups-count').innerText()).trim(), '2 error groups');
    assert.deepEqual(
      await rows.evaluateAll((els) => els.map((el) => el.dataset.group)),
      [groups.order.id, groups.payment.id],
    );
    assert.deepEqual(await page.getByTestId('group-count').allInnerTexts(), [fmt(PATHS.order.n), fmt(PATHS.payment.n)]);
    assert.deepEqual(await page.getByTestId('group-services').allInnerTexts(), ['api', 'billing']);
    const first = rows.nth(0);
    assert.equal(await first.getByTestId('group-title').innerText(), groups.order.title);
    assert.match(await first.getByTestId('also-in').innerText(), new RegExp(`also in: ${OTHER}`));
    assert.equal(await rows.nth(1).getByTestId('also-in').count(), 0);
    assert.match(await first.innerText(), /open/);
    // The sparkline's accessible name holds the counts of its buckets.
    const label = await first.getByTestId('sparkline').getAttribute('aria-label');
    assert.match(label, new RegExp(`^Trend: ${PATHS.order.n} events`));
    const counts = label.split(': ').pop().split(', ').map(Number);
    assert.equal(counts.reduce((a, b) => a + b, 0), PATHS.order.n, label);
    await shot('errors.png');

    // Filters live in the URL: the status filter shows none resolved.
    await page.getByTestId('status-filter').getByRole('radio', { name: 'Resolved' }).check();
    await eventually(() => assert.equal(url().searchParams.get('status'), 'resolved'));
    await page.getByText('No error groups match these filters').waitFor();
    await page.goBack();
    await eventually(async () => assert.equal(await rowsOf(page).count(), 2));
  });

  test('search narrows the list; more than a page of groups loads page by page', async () => {
    await page.goto(`/errors?project=${SLUG}`);
    await page.getByRole('searchbox', { name: 'Search titles and culprits' }).fill('chargecard');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await eventually(() => assert.equal(url().searchParams.get('q'), 'chargecard'));
    await eventually(async () => assert.deepEqual(await rowsOf(page).evaluateAll((els) => els.map((el) => el.dataset.group)), [groups.payment.id]));

    // 51 code paths: a page of 50, then the last one.
    const many = await createProject('Errors E2E many', MANY);
    const now = Date.now();
    const logs = Array.from({ length: 51 }, (_, i) => ({
      timestamp: new Date(now - 60e3 + i).toISOString(),
      level: 'ERROR',
      message: `Error: step ${i} failed`,
      context: { stack: `Error: step ${i} failed\n    at step${i} (/srv/app/src/steps.js:${i + 1}:3)\n    at run (/srv/app/src/main.js:9:1)` },
    }));
    const r = await sendBatch(base, many.api_key, 'jobs', logs);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await eventually(async () => assert.equal((await apiGet(`/api/logs/errors?project=${MANY}&page_size=1000`)).groups.length, 51), { timeout: 30_000, interval: 250 });
    await page.goto(`/errors?project=${MANY}`);
    await eventually(async () => assert.equal((await page.getByTestId('groups-count').innerText()).trim(), '50 error groups (more to load)'));
    await page.getByRole('button', { name: 'Load more error groups' }).click();
    await eventually(async () => assert.equal((await page.getByTestId('groups-count').innerText()).trim(), '51 error groups'));
    const ids = await rowsOf(page).evaluateAll((els) => els.map((el) => el.dataset.group));
    assert.equal(new Set(ids).size, 51, 'no group twice');
    assert.equal(await page.getByRole('button', { name: 'Load more error groups' }).count(), 0);
  });

  test('a group’s page: stack, exception, counts by service and release, trend with its numbers, examples', async () => {
    await page.goto(`/errors?project=${SLUG}&sort=count`);
    await eventually(async () => assert.equal(await rowsOf(page).count(), 2));
    await rowsOf(page).nth(0).getByTestId('group-title').focus();
    await page.keyboard.press('Enter');
    await eventually(() => assert.equal(url().pathname, `/errors/${groups.order.id}`));
    assert.equal(await page.getByTestId('group-heading').innerText(), groups.order.title);
    assert.match(await page.getByTestId('culprit').innerText(), /getOrder/);
    assert.equal(await page.getByTestId('exception-type').innerText(), 'TypeError');
    assert.equal(await page.getByTestId('group-count').innerText(), fmt(PATHS.order.n));
    const stack = await page.getByTestId('stack').innerText();
    assert.match(stack, /^TypeError: Cannot read properties of undefined/);
    assert.match(stack, /\n {4}at getOrder \(\/srv\/app\/src\/orders\.js:\d+:\d+\)/, 'the stack keeps its lines and indentation');
    assert.equal(await page.getByTestId('stack').evaluate((el) => getComputedStyle(el).whiteSpace), 'pre');
    assert.deepEqual(await page.getByTestId('by-service').locator('tbody tr').allInnerTexts(), [`api\t${PATHS.order.n}`]);
    assert.deepEqual(await page.getByTestId('by-release').locator('tbody tr').allInnerTexts(), ['1.4.0\t3', '1.4.1\t2']);

    // The trend chart has an accessible name and its numbers in a table.
    const chart = page.getByTestId('group-trend');
    assert.match(await chart.locator('svg').getAttribute('aria-label'), new RegExp(`^Events over time: ${PATHS.order.n} events in \\d+ bars`));
    await chart.locator('details summary').click();
    const cells = await page.getByTestId('group-trend-table').locator('tbody td').allInnerTexts();
    assert.ok(cells.length >= 2, 'a row per bucket');
    assert.equal(cells.map(Number).reduce((a, b) => a + b, 0), PATHS.order.n);

    // Examples: the group's entries.
    const examples = page.locator('table[data-testid=entries] tbody tr.row');
    await eventually(async () => assert.equal(await examples.count(), PATHS.order.n));
    for (const m of await examples.locator('td.c-msg').allInnerTexts()) assert.match(m, /^TypeError: Cannot read properties of undefined \(reading 'total'\) for order /);
    await shot('error-group.png');
  });

  test('the group links to exactly its entries on the logs page', async () => {
    await page.getByTestId('group-logs').click();
    await eventually(() => assert.deepEqual(url().searchParams.getAll('error_group'), [groups.order.id]));
    assert.equal(url().pathname, '/');
    await eventually(async () => assert.equal((await page.getByTestId('count').innerText()).trim(), `1-${PATHS.order.n} of ${PATHS.order.n}`));
    assert.match(await page.getByTestId('error-group-chip').innerText(), new RegExp(groups.order.id));
    await page.getByRole('button', { name: `Remove the filter on error group ${groups.order.id}` }).click();
    await eventually(() => assert.deepEqual(url().searchParams.getAll('error_group'), []));
  });

  test('an ERROR entry on the logs page links to its group', async () => {
    await page.goto(`/?project=${SLUG}&level=ERROR`);
    await eventually(async () => assert.equal((await page.getByTestId('count').innerText()).trim(), `1-8 of 8`));
    await page.locator('td.c-msg', { hasText: 'RangeError: amount' }).first().click();
    const link = page.locator('tr.detail').getByTestId('entry-error-group');
    assert.equal(await link.innerText(), groups.payment.id);
    await link.click();
    await eventually(() => assert.equal(url().pathname, `/errors/${groups.payment.id}`));
    assert.equal(await page.getByTestId('group-heading').innerText(), groups.payment.title);
    assert.match(await page.getByTestId('culprit').innerText(), /chargeCard/);
    // Titles, messages and stacks are text, never markup.
    assert.ok((await page.getByTestId('group-heading').innerText()).includes(XSS));
    assert.ok((await page.getByTestId('stack').innerText()).includes(XSS));
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
  });

  test('an admin resolves a group: it shows resolved, and a new event makes it a regression', async () => {
    await page.goto(`/errors/${groups.order.id}`);
    await page.getByTestId('set-resolved').waitFor();
    assert.equal(await page.getByTestId('set-ignored').count(), 1);
    await page.getByTestId('set-resolved').click();
    await eventually(async () => assert.equal(await page.getByTestId('group-status').innerText(), 'resolved'));
    await page.getByTestId('set-open').waitFor(); // Reopen is offered now
    const g = await apiGet(`/api/logs/errors/${groups.order.id}`);
    assert.equal(g.group.status, 'resolved');
    assert.ok(g.group.resolve_time, 'resolve_time set');
    // Still resolved after a reload: the status is the server's.
    await page.reload();
    await eventually(async () => assert.equal(await page.getByTestId('group-status').innerText(), 'resolved'));
    await page.goto(`/errors?project=${SLUG}&status=resolved`);
    await eventually(async () => assert.deepEqual(await rowsOf(page).evaluateAll((els) => els.map((el) => el.dataset.group)), [groups.order.id]));

    // It happens again after being resolved: open, marked as a regression.
    await sleep(20); // the new event's timestamp must be after resolve_time (millisecond clock)
    await send(keys[SLUG], 'order', 50, 1, () => new Date().toISOString());
    const t0 = Date.now();
    await eventually(
      async () => {
        const r = await apiGet(`/api/logs/errors/${groups.order.id}`);
        assert.equal(r.group.status, 'open');
        assert.equal(r.group.regression, true);
      },
      { timeout: 60_000, interval: 500 },
    );
    console.log(`# regression seen ${Date.now() - t0} ms after the new event was accepted`);
    await page.goto(`/errors?project=${SLUG}`);
    const row = page.locator(`tr[data-group="${groups.order.id}"]`);
    await row.getByTestId('regression').waitFor();
    assert.equal(await row.getByTestId('group-count').innerText(), fmt(PATHS.order.n + 1));
    await row.getByTestId('group-title').click();
    await page.getByTestId('regression').waitFor();
    assert.equal(await page.getByTestId('group-status').innerText(), 'open');
    await shot('error-regression.png');
  });

  test('a viewer sees the group but no status buttons', async () => {
    const viewer = await launchBrowser(base);
    try {
      viewer.page.on('pageerror', (err) => pageErrors.push(`viewer: ${err.message}`));
      await signIn(viewer.page, VIEWER);
      await viewer.page.goto(`/errors/${groups.payment.id}`);
      await viewer.page.getByTestId('group-heading').waitFor();
      await viewer.page.getByTestId('triage-readonly').waitFor();
      assert.equal(await viewer.page.locator('[data-testid^=set-]').count(), 0);
      // And the server refuses the change anyway.
      const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(VIEWER) });
      const { token: vt } = await login.json();
      const r = await call('PATCH', `/api/logs/errors/${groups.payment.id}`, { status: 'resolved' }, vt);
      assert.equal(r.status, 403, JSON.stringify(r.body));
    } finally {
      await viewer.close();
    }
  });

  test('the pages raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
