// The Alerts page in a real browser against the real platform: an admin
// creates "count >= 5 ERROR in 1 minute" with a signed webhook through the
// form, sends a test notification from the page (the receiver, a real HTTP
// server outside the platform, gets it signed), 6 ERROR entries make the
// rule fire, and the page shows the state and the firing with its
// delivery and attempt; the secret never shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { ADMIN, artifacts, eventually, launchBrowser, sendBatch, startPlatform, signIn } from './harness.js';

const SLUG = 'alerts-e2e';
const SECRET = 'browser-whsec-0123';

let platform;
let browser;
let page;
let base;
let key;
let hookURL;
let hook;
const received = [];
const pageErrors = [];

const shot = (name) => page.screenshot({ path: join(artifacts, name), fullPage: true });

describe('alerts page', { timeout: 600_000 }, () => {
  before(async () => {
    hook = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        received.push({ headers: req.headers, body, json: JSON.parse(body.toString('utf8')) });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    await new Promise((r) => hook.listen(0, '127.0.0.1', r));
    hookURL = `http://127.0.0.1:${hook.address().port}/devsmith`;
    platform = await startPlatform({ name: 'platform-alerts', env: { DEVSMITH_ALERT_INTERVAL: '1s' } });
    base = platform.baseURL;
    browser = await launchBrowser(base);
    page = browser.page;
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ADMIN) });
    const { token } = await login.json();
    const r = await fetch(`${base}/api/logs/projects`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Alerts E2E', slug: SLUG }),
    });
    assert.equal(r.status, 201);
    key = (await r.json()).api_key;
    await signIn(page);
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) await platform.stop();
    if (hook) hook.close();
  });

  test('create a rule with the form, send a test notification, see it fire with its delivery', async () => {
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    await page.getByText('No alert rules yet.').waitFor();
    await page.getByRole('button', { name: 'New alert' }).click();
    await page.getByLabel('Name').fill('more than 5 errors');
    await page.getByLabel('Project').selectOption(SLUG);
    await page.getByLabel('Levels').fill('ERROR');
    await page.getByLabel('Window').fill('1m');
    await page.getByLabel('Condition').selectOption('count');
    await page.getByLabel('Threshold').fill('5');
    await page.getByLabel('Cooldown').fill('0s');
    await page.getByLabel('URL').fill(hookURL);
    await page.getByLabel('Secret').fill(SECRET);
    await page.getByRole('button', { name: 'Create alert' }).click();

    const row = page.getByTestId('alerts').locator('tbody tr[data-alert="more than 5 errors"]');
    await row.waitFor();
    assert.match(await row.innerText(), /ERROR: ≥ 5 in 1m/);
    await eventually(async () => assert.equal(await row.getByTestId('alert-state').innerText(), 'ok'));

    await row.getByRole('button', { name: 'Firings' }).click();
    const firings = page.getByTestId('firings');
    await firings.getByText('It has not fired yet.').waitFor();
    await firings.getByRole('button', { name: 'Send test notification' }).click();
    const result = page.getByTestId('test-result');
    await result.waitFor();
    assert.match(await result.innerText(), /delivered/);
    assert.match(await result.innerText(), /HTTP 200/);
    assert.equal(received.length, 1);
    const test0 = received[0];
    assert.equal(test0.json.state, 'test');
    assert.equal(test0.headers['x-devsmith-signature'], 'sha256=' + createHmac('sha256', SECRET).update(test0.body).digest('hex'));
    await shot('alerts-test.png');

    // Six ERROR entries: the rule fires; the page shows it after a refresh.
    const logs = Array.from({ length: 6 }, (_, i) => ({ level: 'ERROR', message: `checkout failed ${i}` }));
    const r = await sendBatch(base, key, 'api', logs);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await eventually(() => assert.equal(received.filter((x) => x.json.state === 'firing').length, 1), { timeout: 15_000, interval: 100 });
    const fire = received.find((x) => x.json.state === 'firing');
    assert.equal(fire.json.value, 6);
    assert.equal(fire.headers['x-devsmith-signature'], 'sha256=' + createHmac('sha256', SECRET).update(fire.body).digest('hex'));

    await eventually(
      async () => {
        await page.reload();
        await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
        assert.equal(await row.getByTestId('alert-state').innerText(), 'firing');
      },
      { timeout: 15_000, interval: 500 },
    );
    await row.getByRole('button', { name: 'Firings' }).click();
    const firing = page.getByTestId('firing').filter({ hasText: /^firing/ });
    await eventually(
      async () => {
        await firings.getByRole('button', { name: 'Refresh' }).click();
        assert.match(await firing.first().innerText(), /value 6 \(threshold 5\)/);
        assert.match(await firing.first().innerText(), /delivered/);
        assert.match(await firing.first().innerText(), /HTTP 200/);
      },
      { timeout: 15_000, interval: 500 },
    );
    assert.match(await firing.first().innerText(), /checkout failed 5/, 'the sample entries');
    await shot('alerts-firing.png');

    // The edit form keeps the secret without showing it.
    await row.getByRole('button', { name: 'Edit more than 5 errors' }).click();
    assert.equal(await page.getByLabel('Secret').inputValue(), '');
    await page.getByText('Set; leave empty to keep it.').waitFor();
    assert.ok(!(await page.content()).includes(SECRET), 'the secret is nowhere in the page');
    assert.deepEqual(pageErrors, []);
  });
});
