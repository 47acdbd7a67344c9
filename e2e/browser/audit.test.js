// The Audit page in a real browser against the real platform: an admin
// sees sign-ins, a failed one, users and members with who, where and what;
// filters and paging work; a maintainer sees only their project's events;
// a viewer gets no Audit entry at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ADMIN, artifacts, eventually, launchBrowser, startPlatform } from './harness.js';

const MAINT = { email: 'maint@example.com', password: 'maint-password-1' };
const VIEWER = { email: 'viewer@example.com', password: 'viewer-password-1' };

let platform;
let browser;
let page;
let base;
const pageErrors = [];

const shot = (name) => page.screenshot({ path: join(artifacts, name), fullPage: false });
const rows = () => page.locator('table[data-testid=audit-events] tbody tr');
const nav = () => page.getByRole('navigation', { name: 'Main' });

async function call(method, path, token, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const json = await r.json().catch(() => null);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

async function signIn(who) {
  await page.goto('/');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Logs', level: 1 }).waitFor();
}

async function signOut() {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
}

/** The cells of column `n` (0-based) of every row shown. */
const column = async (n) => rows().locator(`td:nth-child(${n + 1})`).allInnerTexts();

describe('audit page', { timeout: 600_000 }, () => {
  before(async () => {
    platform = await startPlatform({ name: 'audit-platform' });
    base = platform.baseURL;
    browser = await launchBrowser(base);
    page = browser.page;
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const admin = (await call('POST', '/api/auth/login', null, ADMIN)).token;
    for (const u of [MAINT, VIEWER]) await call('POST', '/api/users', admin, { ...u, role: 'member' });
    const p = await call('POST', '/api/logs/projects', admin, { name: 'Audited', slug: 'audited' });
    const elsewhere = await call('POST', '/api/logs/projects', admin, { name: 'Elsewhere', slug: 'elsewhere' });
    await call('POST', `/api/logs/projects/${elsewhere.project_id}/members`, admin, { email: VIEWER.email, role: 'viewer' });
    await call('POST', `/api/logs/projects/${p.project_id}/members`, admin, { email: MAINT.email, role: 'maintainer' });
    await call('POST', `/api/logs/projects/${p.project_id}/members`, admin, { email: VIEWER.email, role: 'viewer' });
    // Enough events for more than one page (the page shows 50).
    for (let i = 0; i < 50; i++) await call('POST', '/api/users', admin, { email: `filler${i}@example.com`, password: 'filler-password', role: 'member' });
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) await platform.stop();
  });

  test('an admin sees the events with actor, address, user agent and details, and pages through them', async () => {
    await page.goto('/');
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Sign-in failed' }).waitFor();
    await signIn(ADMIN);
    await nav().getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit', level: 1 }).waitFor();
    await eventually(async () => assert.equal(await rows().count(), 50));
    const first = await rows().first().locator('td').allInnerTexts();
    assert.equal(first[1], ADMIN.email);
    assert.equal(first[2], 'auth.login');
    assert.equal(first[4], '127.0.0.1');
    assert.match(await rows().first().locator('td').nth(5).getAttribute('title'), /Chrome/, 'the whole user agent on hover');
    await page.getByRole('button', { name: 'Load more events' }).click();
    await eventually(async () => assert.ok((await rows().count()) > 50));
    const actions = await column(2);
    for (const a of ['auth.login', 'auth.login_failed', 'user.create', 'project.member_add']) assert.ok(actions.includes(a), `${a} in ${actions}`);
    assert.equal(new Set(await rows().evaluateAll((trs) => trs.map((tr) => tr.innerText))).size, await rows().count(), 'no row twice');
    await shot('audit-admin.png');
  });

  test('filters: action, actor and project narrow the table and stay in the address', async () => {
    await page.getByTestId('audit-action').selectOption('project.member_add');
    await page.getByRole('button', { name: 'Apply' }).click();
    await eventually(async () => assert.deepEqual(await column(2), ['project.member_add', 'project.member_add', 'project.member_add']));
    assert.equal(new URL(page.url()).searchParams.get('action'), 'project.member_add');
    const details = await column(6);
    assert.ok(details.some((d) => d.includes('"email":"maint@example.com"') && d.includes('"role":"maintainer"')), details.join('\n'));

    await page.getByTestId('audit-action').selectOption('auth.*');
    await page.getByTestId('audit-actor').fill(ADMIN.email);
    await page.getByRole('button', { name: 'Apply' }).click();
    await eventually(async () => assert.deepEqual(await column(2), ['auth.login', 'auth.login_failed', 'auth.login']));

    await page.reload();
    await eventually(async () => assert.deepEqual(await column(2), ['auth.login', 'auth.login_failed', 'auth.login']), { timeout: 15_000 });
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByTestId('audit-project').selectOption('elsewhere');
    await page.getByRole('button', { name: 'Apply' }).click();
    await eventually(async () => assert.deepEqual([...new Set(await column(3))], ['elsewhere']));
    await signOut();
  });

  test('a maintainer sees only their project; a viewer has no Audit page', async () => {
    await signIn(MAINT);
    await nav().getByRole('link', { name: 'Audit' }).click();
    await eventually(async () => assert.ok((await rows().count()) >= 2));
    assert.deepEqual([...new Set(await column(3))], ['audited']);
    await shot('audit-maintainer.png');
    await signOut();

    await signIn(VIEWER);
    await eventually(async () => assert.ok(await nav().getByRole('link', { name: 'Projects' }).isVisible()));
    // The nav is final once the projects have loaded.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    assert.equal(await nav().getByRole('link', { name: 'Audit' }).count(), 0);
    await page.goto('/audit');
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    assert.deepEqual(pageErrors, []);
  });
});
