// Sampling in a real browser against the real platform: a project whose
// rule keeps 1 in 10 TRACE/DEBUG/INFO entries (inserted into
// logs.sampling_rules with psql: the PATCH that sets rules belongs to the
// projects service) shows its totals as estimates marked "≈" with the
// stored count beside them, WARN+ exact; the histogram says it is
// estimated; a kept entry's detail says "kept 1 in 10".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ADMIN, artifacts, eventually, getJSON, launchBrowser, sendBatch, startPlatform, signIn } from './harness.js';

const SLUG = 'sampling-e2e';

let platform;
let browser;
let page;
let base;
let token;

describe('sampled project', { timeout: 600_000 }, () => {
  before(async () => {
    platform = await startPlatform({ name: 'sampling' });
    base = platform.baseURL;
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', body: JSON.stringify(ADMIN), headers: { 'Content-Type': 'application/json' } });
    token = (await login.json()).token;
    const created = await fetch(`${base}/api/logs/projects`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Sampling', slug: SLUG }),
    });
    assert.equal(created.status, 201);
    const key = (await created.json()).api_key;
    await platform.sql(`INSERT INTO logs.sampling_rules (project_id, service_name, debug_rate, info_rate)
      SELECT id, '', 0.1, 0.1 FROM logs.projects WHERE slug = '${SLUG}'`);
    const logs = [
      ...Array.from({ length: 300 }, (_, i) => ({ level: 'INFO', message: `GET /items/${i} ok` })),
      ...Array.from({ length: 4 }, () => ({ level: 'ERROR', message: 'payment failed' })),
    ];
    const r = await sendBatch(base, key, 'api', logs);
    assert.equal(r.status, 201);
    assert.equal(r.body.count + r.body.sampled_out, 304);
    assert.ok(r.body.sampled_out > 0);
    browser = await launchBrowser(base);
    page = browser.page;
    await signIn(page);
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) await platform.stop();
  });

  test('totals and histogram are estimates, marked; an entry says how it was kept', async () => {
    const stats = await getJSON(base, token, `/api/logs/stats?project=${SLUG}`);
    assert.equal(stats.sampled, true);
    const stored = Number(stats.total);
    const kept = stored - 4;
    assert.equal(Number(stats.estimated_total), 4 + 10 * kept);

    await page.goto(`/?project=${SLUG}`);
    const fmt = (n) => n.toLocaleString('en-US');
    await eventually(async () => assert.equal((await page.getByTestId('tile-total').innerText()).trim(), `≈ ${fmt(4 + 10 * kept)}`));
    assert.equal((await page.getByTestId('tile-estimate-note').innerText()).trim(), `estimated from ${fmt(stored)} stored`);
    assert.equal(await page.getByTestId('tile-total').getAttribute('aria-label'), `About ${fmt(4 + 10 * kept)}, estimated from ${fmt(stored)} stored entries`);
    assert.equal((await page.getByTestId('tile-INFO').innerText()).trim(), `≈ ${fmt(10 * kept)}`);
    assert.equal((await page.getByTestId('tile-ERROR').innerText()).trim(), '4', 'ERROR is exact: no ≈');
    const info = page.getByRole('button', { name: new RegExp(`^INFO: about ${fmt(10 * kept)}, estimated from ${kept} stored`) });
    await info.waitFor();
    await page.getByTestId('histogram-estimated').waitFor();
    assert.match(await page.getByTestId('histogram').getAttribute('aria-label'), /^Estimated entries over time/);

    // An INFO entry's detail: kept 1 in 10; an ERROR's says nothing. (The
    // expander's glyph is a span inside the button: a click on it opens
    // the row once, not twice.)
    const infoRow = page.locator('tr', { has: page.locator('td.c-msg', { hasText: /^GET \/items\// }) }).first();
    await infoRow.getByRole('button', { name: /Show details of entry/ }).click();
    assert.equal((await page.getByTestId('entry-sampled').innerText()).trim(), 'kept 1 in 10');
    await page.screenshot({ path: join(artifacts, 'sampling-estimates.png'), fullPage: true });
    await infoRow.getByRole('button', { name: /Hide details of entry/ }).click();
    const errRow = page.locator('tr', { has: page.locator('td.c-msg', { hasText: 'payment failed' }) }).first();
    await errRow.getByRole('button', { name: /Show details of entry/ }).click();
    await page.locator('tr.detail').first().waitFor();
    assert.equal(await page.getByTestId('entry-sampled').count(), 0);
  });
});
