// The project's API keys in the dashboard, in a real browser against the
// real platform: list the default key, create an ingest key and a read key
// (secret shown once, copied), see a key's last use, revoke with a
// confirmation; the keys do what their scopes say.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { artifacts, eventually, launchBrowser, sendBatch, startPlatform, signIn } from './harness.js';

const SLUG = 'keys-e2e';

let platform;
let browser;
let page;
let base;
const keys = { ingest: '', read: '' };
const pageErrors = [];

const shot = (name) => page.screenshot({ path: join(artifacts, name), fullPage: false });
const dialog = () => page.getByRole('dialog', { name: `API keys of “Keys E2E”` });
const row = (name) => dialog().locator(`tr[data-key-name="${name}"]`);

async function readWith(key, path) {
  const r = await fetch(`${base}${path}`, { headers: { 'X-API-Key': key }, signal: AbortSignal.timeout(15_000) });
  return { status: r.status, body: await r.json().catch(() => null) };
}

describe('API keys in the dashboard', { timeout: 300_000 }, () => {
  before(async () => {
    platform = await startPlatform({ name: 'keys-platform' });
    base = platform.baseURL;
    browser = await launchBrowser(base);
    page = browser.page;
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await signIn(page);
    await page.goto('/projects');
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Name').fill('Keys E2E');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('button', { name: 'I have saved the key' }).click();
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) await platform.stop();
  });

  test('the project lists its default key, never a secret', async () => {
    await page.getByRole('button', { name: `API keys of ${SLUG}` }).click();
    await row('default').waitFor();
    assert.match(await row('default').innerText(), /default[\s\S]*ingest[\s\S]*dsk_\S{4}…\S{4}[\s\S]*never/);
    assert.equal(await dialog().locator('input[data-testid=new-api-key]').count(), 0);
  });

  test('create an ingest key and a read key: each shown once, with a warning and a copy button', async () => {
    for (const [name, scopes] of [
      ['production', ['ingest']],
      ['grafana', ['read']],
    ]) {
      const form = dialog().getByTestId('create-key');
      await form.getByLabel('Key name').fill(name);
      for (const s of ['ingest', 'read']) await form.locator(`input[name=scope-${s}]`).setChecked(scopes.includes(s));
      await form.getByRole('button', { name: 'Create key' }).click();
      const shown = dialog().getByTestId('new-key');
      await shown.getByText('It is shown only this once').waitFor();
      const secret = await shown.getByTestId('new-api-key').inputValue();
      assert.match(secret, /^dsk_/);
      await shown.getByRole('button', { name: 'Copy key' }).click();
      await eventually(async () => assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret));
      if (name === 'grafana') await shot('keys-created.png');
      await shown.getByRole('button', { name: 'I have saved the key' }).click();
      await row(name).waitFor();
      const label = await row(name).getByTestId('key-label').innerText();
      assert.equal(label, `${secret.slice(0, 8)}…${secret.slice(-4)}`);
      assert.equal(await dialog().getByTestId('new-api-key').count(), 0, 'the secret is gone once saved');
      assert.ok(!(await dialog().innerText()).includes(secret.slice(8, -4)));
      keys[scopes[0]] = secret;
    }
    assert.match(await row('grafana').innerText(), /\bread\b/);
  });

  test('a bad expiry is refused in the form', async () => {
    const form = dialog().getByTestId('create-key');
    await form.getByLabel('Key name').fill('yesterday');
    await form.getByLabel('Expires on (optional)').fill('2020-01-01');
    await form.getByRole('button', { name: 'Create key' }).click();
    await form.getByRole('alert').filter({ hasText: 'The expiry must be in the future.' }).waitFor();
    await form.getByLabel('Expires on (optional)').fill('');
    await form.getByLabel('Key name').fill('');
  });

  test('the keys do their job only, and the list shows the last use', async () => {
    const sent = await sendBatch(base, keys.ingest, 'checkout', [{ level: 'ERROR', message: 'card declined' }]);
    assert.equal(sent.status, 201);
    assert.equal((await sendBatch(base, keys.read, 'checkout', [{ message: 'nope' }])).status, 403);
    const entries = await readWith(keys.read, '/api/logs/entries');
    assert.equal(entries.status, 200);
    assert.deepEqual(
      entries.body.entries.map((e) => e.message),
      ['card declined'],
    );
    assert.equal((await readWith(keys.ingest, '/api/logs/entries')).status, 403);
    await eventually(
      async () => {
        await dialog().getByRole('button', { name: 'Close' }).last().click();
        await page.getByRole('button', { name: `API keys of ${SLUG}` }).click();
        assert.match(await row('production').getByTestId('key-last-used').innerText(), /127\.0\.0\.1/);
      },
      { timeout: 15_000, interval: 500 },
    );
    await shot('keys-list.png');
  });

  test('revoke with a confirmation: the key is refused at once', async () => {
    await row('grafana').getByRole('button', { name: 'Revoke the key grafana' }).click();
    const confirm = dialog().getByTestId('revoke-key');
    await confirm.getByText('stops working immediately').waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await readWith(keys.read, '/api/logs/stats')).status, 200, 'cancel keeps the key');
    await row('grafana').getByRole('button', { name: 'Revoke the key grafana' }).click();
    await dialog().getByTestId('revoke-key').getByRole('button', { name: 'Revoke key' }).click();
    await row('grafana').waitFor({ state: 'detached' });
    const refused = await readWith(keys.read, '/api/logs/stats');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'UNAUTHENTICATED');
    assert.deepEqual(pageErrors, []);
  });
});
