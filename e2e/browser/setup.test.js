// The one-time "create the first admin" page of a platform started without
// DEVSMITH_ADMIN_EMAIL/PASSWORD.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { artifacts, launchBrowser, startPlatform } from './harness.js';

let platform;
let browser;
let page;

describe('first admin setup', { timeout: 300_000 }, () => {
  before(async () => {
    platform = await startPlatform({ admin: false, name: 'platform-setup' });
    browser = await launchBrowser(platform.baseURL);
    page = browser.page;
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) await platform.stop();
  });

  test('without users the dashboard offers the setup page, which signs the new admin in', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Create the first admin' }).waitFor();
    await page.screenshot({ path: join(artifacts, 'setup.png') });
    await page.getByLabel('Email').fill('first@example.com');
    await page.getByLabel('Password', { exact: true }).fill('first-admin-pass');
    await page.getByLabel('Repeat the password').fill('something else');
    await page.getByText('The passwords differ.').waitFor();
    const create = page.getByRole('button', { name: 'Create admin and sign in' });
    assert.equal(await create.isDisabled(), true);
    await page.getByLabel('Repeat the password').fill('first-admin-pass');
    await create.click();
    await page.getByRole('heading', { name: 'Logs', level: 1 }).waitFor();
    await page.getByText('first@example.com').waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).waitFor();

    // The session is the cookie: a reload stays signed in.
    await page.reload();
    await page.getByRole('heading', { name: 'Logs', level: 1 }).waitFor();
  });

  test('once an admin exists the setup is closed', async () => {
    const status = await page.evaluate(async () => (await fetch('/api/auth/setup')).json());
    assert.deepEqual(status, { setup_required: false });
    const again = await page.evaluate(async () => {
      const r = await fetch('/api/auth/setup', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'second@example.com', password: 'second-admin-pass' }) });
      return { status: r.status, body: await r.json() };
    });
    assert.ok(again.status === 409 || again.status === 403, JSON.stringify(again));
    assert.ok(again.body.error && again.body.code, JSON.stringify(again.body));

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Create the first admin' }).count(), 0);
  });
});
