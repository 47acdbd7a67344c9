// A project's settings in a real browser against the real platform: the
// list shows the project's rate limits; a maintainer's Settings dialog
// changes its name, description, repository URL and limits (PATCH), shows
// the API's error naming a bad field, and empties a limit back to the
// platform's default; it sets a retention of 7 days and a sampling rule,
// which the list and the dialog show after a reload; a viewer has no
// Settings button.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ADMIN, artifacts, eventually, getJSON, launchBrowser, startPlatform, signIn } from './harness.js';

const SLUG = 'settings-e2e';

let platform;
let browser;
let page;
let base;
let token;
let projectID;
const pageErrors = [];

async function api(method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const json = await r.json().catch(() => null);
  return { status: r.status, body: json };
}

const row = () => page.locator(`tr[data-slug="${SLUG}"]`);

describe('project settings', { timeout: 600_000 }, () => {
  before(async () => {
    platform = await startPlatform({ name: 'settings' });
    base = platform.baseURL;
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', body: JSON.stringify(ADMIN), headers: { 'Content-Type': 'application/json' } });
    token = (await login.json()).token;
    const created = await api('POST', '/api/logs/projects', { name: 'Settings', slug: SLUG, description: 'before' });
    assert.equal(created.status, 201);
    projectID = created.body.project_id;
    browser = await launchBrowser(base);
    page = browser.page;
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await signIn(page);
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) await platform.stop();
  });

  test('the list shows the limits; Settings changes the fields and the limits', async () => {
    await page.goto('/projects');
    await row().waitFor();
    assert.equal((await row().getByTestId('rate-limit').innerText()).trim(), '1,000 requests/min per key · 10,000 logs/s (default)');

    await page.getByRole('button', { name: `Settings of ${SLUG}` }).click();
    const dialog = page.getByRole('dialog', { name: /Settings of/ });
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel('Name').inputValue(), 'Settings');
    assert.equal(await dialog.getByLabel('Description').inputValue(), 'before');

    // The API's own check, shown in the dialog: a URL that is not http(s).
    await dialog.getByLabel('Repository URL').fill('ftp://example.com/app');
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'repository_url' }).waitFor();

    // A limit that is not a number is refused in the page.
    await dialog.getByLabel('Requests a minute, per API key').fill('-3');
    await dialog.getByText('A whole number of at least 1').waitFor();

    await dialog.getByLabel('Name').fill('Settings renamed');
    await dialog.getByLabel('Description').fill('after');
    await dialog.getByLabel('Repository URL').fill('https://git.example.com/app');
    await dialog.getByLabel('Requests a minute, per API key').fill('250');
    await dialog.getByLabel('Log entries a second, for the project').fill('5000');
    await page.screenshot({ path: join(artifacts, 'project-settings.png') });
    const saved = page.waitForResponse((res) => new URL(res.url()).pathname === `/api/logs/projects/${projectID}` && res.request().method() === 'PATCH');
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    assert.equal((await saved).status(), 200);
    await dialog.waitFor({ state: 'detached' });

    await eventually(async () => assert.equal((await row().getByTestId('rate-limit').innerText()).trim(), '250 requests/min per key · 5,000 logs/s'));
    assert.match(await row().innerText(), /Settings renamed/);
    const { project } = await getJSON(base, token, `/api/logs/projects/${projectID}`);
    assert.equal(project.name, 'Settings renamed');
    assert.equal(project.description, 'after');
    assert.equal(project.repository_url, 'https://git.example.com/app');
    assert.deepEqual(project.rate_limit, { requests_per_minute: 250, logs_per_second: 5000, is_default: false });
  });

  test('an emptied limit goes back to the default', async () => {
    await page.getByRole('button', { name: `Settings of ${SLUG}` }).click();
    const dialog = page.getByRole('dialog', { name: /Settings of/ });
    assert.equal(await dialog.getByLabel('Requests a minute, per API key').inputValue(), '250');
    await dialog.getByLabel('Requests a minute, per API key').fill('');
    await dialog.getByLabel('Log entries a second, for the project').fill('');
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await dialog.waitFor({ state: 'detached' });
    await eventually(async () => assert.equal((await row().getByTestId('rate-limit').innerText()).trim(), '1,000 requests/min per key · 10,000 logs/s (default)'));
    const { project } = await getJSON(base, token, `/api/logs/projects/${projectID}`);
    assert.deepEqual(project.rate_limit, { requests_per_minute: 1000, logs_per_second: 10000, is_default: true });
  });

  test('retention and sampling rules, seen after a reload', async () => {
    assert.equal((await row().getByTestId('retention').innerText()).trim(), 'Retention 30 days · default · no entry kept');
    await page.getByRole('button', { name: `Settings of ${SLUG}` }).click();
    let dialog = page.getByRole('dialog', { name: /Settings of/ });
    await dialog.getByText('No rule: every entry is kept.').waitFor();

    // Over the platform's maximum: the API's error, naming the field.
    await dialog.getByLabel('Keep entries for').selectOption('custom');
    await dialog.getByLabel('Days').fill('400');
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'retention_days 400: at most 365' }).waitFor();

    await dialog.getByLabel('Keep entries for').selectOption('7');
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    await dialog.getByLabel('Service of rule 1').fill('worker');
    await dialog.getByLabel('DEBUG % kept, rule 1').fill('0');
    await dialog.getByText('A percentage, more than 0 and at most 100.').waitFor();
    await dialog.getByLabel('DEBUG % kept, rule 1').fill('10');
    await dialog.getByLabel('INFO % kept, rule 1').fill('50');
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    await dialog.getByLabel('Remove sampling rule 2').click();
    await page.screenshot({ path: join(artifacts, 'project-retention.png') });
    const saved = page.waitForResponse((res) => new URL(res.url()).pathname === `/api/logs/projects/${projectID}` && res.request().method() === 'PATCH');
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    assert.equal((await saved).status(), 200);
    await dialog.waitFor({ state: 'detached' });

    await page.reload();
    await row().waitFor();
    assert.equal((await row().getByTestId('retention').innerText()).trim(), 'Retention 7 days · no entry kept');
    await page.getByRole('button', { name: `Settings of ${SLUG}` }).click();
    dialog = page.getByRole('dialog', { name: /Settings of/ });
    assert.equal(await dialog.getByLabel('Keep entries for').inputValue(), '7');
    assert.equal(await dialog.getByLabel('Service of rule 1').inputValue(), 'worker');
    assert.equal(await dialog.getByLabel('DEBUG % kept, rule 1').inputValue(), '10');
    assert.equal(await dialog.getByLabel('INFO % kept, rule 1').inputValue(), '50');
    assert.equal(await dialog.getByLabel('Service of rule 2').count(), 0);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    const { project } = await getJSON(base, token, `/api/logs/projects/${projectID}`);
    assert.equal(project.retention_days, 7);
    assert.equal(project.retention_is_default, false);
    assert.deepEqual(project.sampling_rules, [{ service_name: 'worker', debug_rate: 0.1, info_rate: 0.5 }]);
  });

  test('a viewer sees the limits but no Settings', async () => {
    const email = 'viewer-settings@example.com';
    assert.equal((await api('POST', '/api/users', { email, password: 'viewer-password-1' })).status, 201);
    assert.equal((await api('POST', `/api/logs/projects/${projectID}/members`, { email, role: 'viewer' })).status, 201);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('viewer-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.goto('/projects');
    await row().waitFor();
    assert.match(await row().getByTestId('rate-limit').innerText(), /1,000 requests\/min per key/);
    assert.match(await row().getByTestId('retention').innerText(), /Retention 7 days/);
    assert.equal(await page.getByRole('button', { name: `Settings of ${SLUG}` }).count(), 0);
    assert.deepEqual(pageErrors, []);
  });
});
