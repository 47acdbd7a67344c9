// The dashboard in a real browser against the real platform: sign in,
// create a project, send logs, see, filter, search, narrow, tail, rotate,
// share, delete, sign out. The steps run in order and share one platform.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ADMIN, artifacts, eventually, launchBrowser, sendBatch, sleep, startPlatform } from './harness.js';

const XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
const SLUG = 'shop-api-e2e';

let platform;
let browser;
let page;
let base;
const state = { key: '', oldKey: '' };
const pageErrors = [];

const shot = (name) => page.screenshot({ path: join(artifacts, name), fullPage: false });
const countText = async () => (await page.locator('[data-testid=count]').innerText()).trim();
const rows = () => page.locator('table[data-testid=entries] tbody tr.row');
const messages = async () => rows().locator('td.c-msg').allInnerTexts();
const url = () => new URL(page.url());

async function expectTile(name, want) {
  await eventually(async () => assert.equal((await page.getByTestId(`tile-${name}`).innerText()).trim(), want));
}

async function expectCount(want, timeout = 10_000) {
  await eventually(async () => assert.equal(await countText(), want), { timeout });
}

async function signIn(landing = 'Logs') {
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: landing, level: 1 }).waitFor();
}

describe('dashboard', { timeout: 600_000 }, () => {
  before(async () => {
    platform = await startPlatform();
    base = platform.baseURL;
    browser = await launchBrowser(base);
    page = browser.page;
    page.on('pageerror', (err) => {
      pageErrors.push(err.message);
      console.log(`# page error: ${err.message}`);
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) {
      const exit = await platform.stop();
      console.log(`# platform stopped: ${JSON.stringify(exit)}`);
    }
  });

  test('sign-in page: a wrong password is refused in the page, the right one signs in', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot('signin.png');
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Sign-in failed' }).waitFor();
    await signIn();
    assert.equal(url().pathname, '/');
    // A page that does not exist is a client-side "Not found", not a server 404.
    await page.goto('/no-such-page');
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
  });

  test('create a project: slug suggested, button busy during the request, key shown once with snippets', async () => {
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Name').fill('Shop API E2E');
    assert.equal(await page.getByLabel('Slug').inputValue(), SLUG, 'slug suggested from the name');
    await page.getByLabel('Description (optional)').fill('created by the browser suite');

    // Hold the create call so the button's busy state can be seen.
    let release;
    const held = new Promise((r) => (release = r));
    await page.route('**/api/logs/projects', async (route) => {
      if (route.request().method() === 'POST') await held;
      await route.continue();
    });
    const create = page.getByRole('button', { name: 'Create project' });
    await create.click();
    await eventually(async () => {
      assert.equal(await create.isDisabled(), true, 'disabled while the request runs');
      assert.equal(await create.getAttribute('aria-busy'), 'true');
    });
    const answered = page.waitForResponse((res) => new URL(res.url()).pathname === '/api/logs/projects' && res.request().method() === 'POST');
    release();
    assert.equal((await answered).status(), 201);
    await page.unroute('**/api/logs/projects');

    const dialog = page.getByRole('dialog', { name: /Project “Shop API E2E” created/ });
    await dialog.waitFor();
    const key = await dialog.getByTestId('api-key').inputValue();
    assert.match(key, /^dsk_[A-Za-z0-9_-]{20,}$/);
    state.key = key;
    await dialog.getByText('It is shown only this once').waitFor();
    await dialog.getByRole('button', { name: 'Copy key' }).click();
    await dialog.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key, 'the key is on the clipboard');

    const curl = await dialog.getByTestId('snippet-curl').innerText();
    assert.ok(curl.includes(key), 'curl snippet carries the key');
    assert.ok(curl.includes(`${base}/api/logs/batch`), 'curl snippet uses the page origin');
    for (const [tab, id, marker] of [
      ['Node.js', 'node', "require('./logger.js')"],
      ['Python', 'python', 'from logger import DevSmithLogger'],
      ['Go', 'go', 'logger.FromEnv()'],
      ['Java', 'java', 'DevSmithLogger.fromEnv()'],
      ['Ruby', 'ruby', 'DevSmithLogger.new'],
      ['PHP', 'php', 'new DevSmithLogger()'],
      ['Shell', 'shell', '. ./devsmith-log.sh'],
    ]) {
      await dialog.getByRole('tab', { name: tab }).click();
      const code = await dialog.getByTestId(`snippet-${id}`).innerText();
      assert.ok(code.includes(key) && code.includes(`${base}/api/logs`) && code.includes(marker), `${tab} snippet`);
    }
    await dialog.getByRole('tab', { name: 'curl' }).click();
    await shot('project-created.png');

    // The curl snippet, run as a shell would, really sends a log.
    const body = /-d '(.*)'$/m.exec(curl)[1];
    const r = await fetch(`${base}/api/logs/batch`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body });
    assert.equal(r.status, 201);

    await dialog.getByRole('button', { name: 'I have saved the key' }).click();
    await dialog.waitFor({ state: 'detached' });
    const row = page.locator(`tr[data-slug="${SLUG}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /Shop API E2E/);
    assert.equal(await page.getByTestId('api-key').count(), 0, 'the key is not shown again');
  });

  test('send logs through the REST API and see them with exact counts and tiles', async () => {
    const now = Date.now();
    const at = (msAgo) => new Date(now - msAgo).toISOString();
    const api = [
      { timestamp: at(9000), level: 'DEBUG', message: 'debug: cache warmed' },
      { timestamp: at(8000), level: 'DEBUG', message: 'debug: config loaded', context: { file: '/etc/shop.yaml' } },
      { timestamp: at(7000), level: 'debug', message: 'debug: pool size 10' },
      { timestamp: at(6000), level: 'INFO', message: 'User logged in', context: { user_id: 123, plan: 'pro', tags: ['a', 'b'] } },
      { timestamp: at(5000), level: 'INFO', message: 'Checkout started', context: { cart: 3 } },
      { timestamp: at(4000), level: 'INFO', message: 'Order shipped' },
      { timestamp: at(3000), level: 'ERROR', message: 'Checkout failed: card declined', context: { code: 'card_declined' } },
      { timestamp: at(2000), level: 'ERROR', message: 'Database timeout after 5 s' },
      { timestamp: at(1000), level: 'WARN', message: XSS, context: { html: '<b>bold</b>' } },
    ];
    let r = await sendBatch(base, state.key, 'api', api);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.count, 9);
    // Two hours old: inside 24 h, outside 1 h.
    r = await sendBatch(base, state.key, 'worker', [1, 2, 3].map((i) => ({ timestamp: at(2 * 3600e3 + i * 1000), level: 'INFO', message: `old entry ${i}` })));
    assert.equal(r.status, 201);
    // The curl snippet's INFO from the previous step, service "hello", is the 13th.

    await page.goto(`/?project=${SLUG}`);
    await expectCount('1-13 of 13');
    assert.equal(await rows().count(), 13);
    await expectTile('total', '13');
    await expectTile('DEBUG', '3');
    await expectTile('ERROR', '2');
    await expectTile('INFO', '7');
    await expectTile('error-rate', '15.4%');
    const first = rows().first();
    assert.match(await first.locator('time').getAttribute('title'), /UTC$/, 'UTC on hover');

    // The same view from the pickers: projects, then the services they sent.
    await page.goto('/');
    await page.getByLabel('Projects: All projects').click();
    await page.getByRole('checkbox', { name: `Shop API E2E (${SLUG})` }).check();
    await eventually(() => assert.deepEqual(url().searchParams.getAll('project'), [SLUG]));
    await page.keyboard.press('Escape');
    await expectCount('1-13 of 13');
    await page.getByLabel('Services: All services').click();
    const offered = page.locator('details.multi[open] label.check');
    await eventually(async () => assert.deepEqual(await offered.allInnerTexts(), ['api', 'hello', 'worker']));
    await page.getByRole('checkbox', { name: 'worker' }).check();
    await page.keyboard.press('Escape');
    await expectCount('1-3 of 3');
    assert.deepEqual(url().searchParams.getAll('service'), ['worker']);
    await page.goBack();
    await expectCount('1-13 of 13');

    await shot('logs.png');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('logs-dark.png');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('a <script> message is shown as text and runs nothing', async () => {
    const cell = page.locator('td.c-msg', { hasText: '<script>window.__xss=1</script>' });
    await cell.waitFor();
    assert.equal(await cell.innerText(), XSS);
    await cell.click(); // expands the row
    const detail = page.locator('tr.detail');
    await detail.waitFor();
    assert.equal(await detail.locator('.detail-msg').innerText(), XSS);
    assert.match(await detail.locator('pre.context').innerText(), /"html": "<b>bold<\/b>"/);
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    assert.equal(await page.locator('tr.detail b').count(), 0);
    await sleep(300);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    await page.getByRole('button', { name: 'Copy context' }).click();
    assert.match(await page.evaluate(() => navigator.clipboard.readText()), /"html": "<b>bold<\/b>"/);
  });

  test('filter by level DEBUG: exactly the three sent, kept in the URL and undone by Back', async () => {
    await page.getByRole('checkbox', { name: 'DEBUG' }).check();
    await expectCount('1-3 of 3');
    assert.equal(await rows().count(), 3);
    assert.deepEqual(await rows().locator('.badge').allInnerTexts(), ['DEBUG', 'DEBUG', 'DEBUG']);
    assert.deepEqual(url().searchParams.getAll('level'), ['DEBUG']);
    await expectTile('total', '3');

    // A link restores the view.
    const link = page.url();
    await page.goto('/projects');
    await page.goto(link);
    await expectCount('1-3 of 3');
    assert.equal(await page.getByRole('checkbox', { name: 'DEBUG' }).isChecked(), true);

    await page.goBack(); // to /projects
    await page.goBack(); // to the level filter
    await page.goBack(); // before it
    await expectCount('1-13 of 13');
    assert.equal(url().searchParams.getAll('level').length, 0);
    assert.equal(await page.getByRole('checkbox', { name: 'DEBUG' }).isChecked(), false);

    // Two levels: any of them.
    await page.getByRole('checkbox', { name: 'ERROR' }).check();
    await expectCount('1-2 of 2');
    await page.getByRole('checkbox', { name: 'WARN' }).check();
    await expectCount('1-3 of 3');
    assert.deepEqual(url().searchParams.getAll('level'), ['WARN', 'ERROR']);
  });

  test('search the messages', async () => {
    await page.goto(`/?project=${SLUG}`);
    await expectCount('1-13 of 13');
    const box = page.getByRole('searchbox', { name: 'Search messages' });
    await box.fill('CHECKOUT');
    await box.press('Enter');
    await expectCount('1-2 of 2');
    assert.deepEqual((await messages()).sort(), ['Checkout failed: card declined', 'Checkout started']);
    assert.equal(url().searchParams.get('q'), 'CHECKOUT');
    await box.fill('no such words anywhere');
    await box.press('Enter');
    await expectCount('No entries');
  });

  test('narrow the time range with a preset and by dragging across the histogram', async () => {
    await page.goto(`/?project=${SLUG}`);
    await expectCount('1-13 of 13');
    await page.getByRole('radio', { name: '1h' }).check();
    await expectCount('1-10 of 10');
    assert.equal(url().searchParams.get('range'), '1h');
    assert.ok(!(await messages()).some((m) => m.startsWith('old entry')));
    await page.getByRole('radio', { name: '24h' }).check();
    await expectCount('1-13 of 13');

    // Drag across the last two bars of the 24 h histogram (the last hour at
    // most): the entries of two hours ago fall out.
    const svg = page.getByTestId('histogram');
    const n = await svg.locator('rect.hit').count();
    assert.ok(n >= 20 && n <= 100, `about 60 bars, got ${n}`);
    const box = await svg.boundingBox();
    const x = (i) => box.x + (box.width * (i + 0.5)) / n;
    const y = box.y + box.height / 2;
    await page.mouse.move(x(n - 2), y);
    await page.mouse.down();
    await page.mouse.move(x(n - 1), y, { steps: 5 });
    await page.mouse.up();
    await eventually(() => assert.ok(url().searchParams.get('since') && url().searchParams.get('until'), page.url()));
    const since = Date.parse(url().searchParams.get('since'));
    const until = Date.parse(url().searchParams.get('until'));
    assert.ok(until - since <= 2 * 3600e3 && until > since, `${since} .. ${until}`);
    await expectCount('1-10 of 10');
    assert.equal(await page.getByRole('radio', { name: 'Custom' }).isChecked(), true);
    await expectTile('total', '10');
  });

  test('a failed request is shown in the page with Retry', async () => {
    await page.route('**/api/logs/stats?**', (route) => route.abort('failed'));
    await page.goto(`/?project=${SLUG}&range=1h`);
    const alert = page.getByRole('alert').filter({ hasText: 'Could not load the totals.' });
    await alert.waitFor();
    await page.unroute('**/api/logs/stats?**');
    await alert.getByRole('button', { name: 'Retry' }).click();
    await alert.waitFor({ state: 'detached' });
    await eventually(async () => assert.equal((await page.getByTestId('tile-total').innerText()).trim(), '10'));
  });

  test('live tail: a new log shows within 2 s; scrolling away pauses it', async () => {
    await page.goto(`/?project=${SLUG}`);
    await expectCount('1-13 of 13');
    await page.getByTestId('live-toggle').click();
    assert.equal(url().searchParams.get('live'), '1');
    await eventually(async () => assert.match(await countText(), /^Live · 13 newest entries/));

    const msg = `live entry ${randomUUID()}`;
    const sent = Date.now();
    const r = await sendBatch(base, state.key, 'api', [{ level: 'INFO', message: msg }]);
    assert.equal(r.status, 201);
    await page.locator('td.c-msg', { hasText: msg }).waitFor({ timeout: 5000 });
    const took = Date.now() - sent;
    console.log(`# live tail showed the entry ${took} ms after sending`);
    assert.ok(took < 2000, `took ${took} ms`);
    assert.equal((await messages())[0], msg, 'new rows go on top');
    await shot('live-tail.png');

    // Enough rows to scroll, then scroll away: new entries wait.
    const many = Array.from({ length: 80 }, (_, i) => ({ level: i % 10 ? 'INFO' : 'WARN', message: `burst ${i}` }));
    assert.equal((await sendBatch(base, state.key, 'worker', many)).status, 201);
    await eventually(async () => assert.equal(await rows().count(), 94));
    await page.locator('.table-wrap').evaluate((el) => {
      el.scrollTop = 600;
    });
    await eventually(async () => assert.match(await countText(), /Paused/));
    const waiting = `while paused ${randomUUID()}`;
    assert.equal((await sendBatch(base, state.key, 'api', [{ level: 'ERROR', message: waiting }])).status, 201);
    const jump = page.getByRole('button', { name: '1 new — jump to top' });
    await jump.waitFor({ timeout: 5000 });
    assert.equal(await page.locator('td.c-msg', { hasText: waiting }).count(), 0, 'not shown while paused');
    await jump.click();
    await page.locator('td.c-msg', { hasText: waiting }).waitFor();
    assert.equal((await messages())[0], waiting);
    assert.equal(await page.evaluate(() => window.__xss), undefined);

    await page.getByTestId('live-toggle').click();
    await eventually(async () => assert.equal(url().searchParams.get('live'), null));
    await expectCount('1-95 of 95');
    await expectTile('total', '95');
  });

  test('live tail: survives a platform restart and shows what was sent meanwhile', async () => {
    await page.goto(`/?project=${SLUG}&live=1`);
    await eventually(async () => assert.match(await countText(), /^Live · /));
    const before = `before restart ${randomUUID()}`;
    assert.equal((await sendBatch(base, state.key, 'api', [{ level: 'INFO', message: before }])).status, 201);
    await page.locator('td.c-msg', { hasText: before }).waitFor({ timeout: 5000 });

    const exit = await platform.restart();
    assert.deepEqual(exit, { code: 0, signal: null }, 'a graceful stop');
    // Sent as soon as the platform is back, whether or not the browser has
    // reconnected yet (it resumes from its Last-Event-ID, and the page
    // re-reads the newest entries): shown once either way.
    const after = `after restart ${randomUUID()}`;
    assert.equal((await sendBatch(base, state.key, 'api', [{ level: 'INFO', message: after }])).status, 201);
    await page.locator('td.c-msg', { hasText: after }).waitFor({ timeout: 20_000 });
    await eventually(async () => assert.match(await countText(), /^Live · /), { timeout: 20_000 });
    const shown = await messages();
    assert.equal(shown.filter((m) => m === before).length, 1, 'nothing shown twice');
    assert.equal(shown.filter((m) => m === after).length, 1, 'nothing shown twice');
    await page.getByTestId('live-toggle').click();
    await eventually(async () => assert.equal(url().searchParams.get('live'), null));
  });

  test('context integers past 2^53 keep every digit, in the live tail and in the list', async () => {
    await page.goto(`/?project=${SLUG}&live=1`);
    await eventually(async () => assert.match(await countText(), /^Live · /));
    const msg = `big ids ${randomUUID()}`;
    const logs = `[{"level":"INFO","message":${JSON.stringify(msg)},"context":{"trace":9007199254740993,"snowflake":9223372036854775807}}]`;
    const r = await sendBatch(base, state.key, 'api', logs);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const shownContext = async () => {
      const cell = page.locator('td.c-msg', { hasText: msg });
      await cell.waitFor({ timeout: 5000 });
      await cell.click(); // expands the row
      const pre = page.locator('tr.detail pre.context');
      await pre.waitFor();
      return pre.innerText();
    };
    const exact = (text, from) => {
      assert.match(text, /"trace": 9007199254740993\b/, from);
      assert.match(text, /"snowflake": 9223372036854775807\b/, from);
    };
    exact(await shownContext(), 'live tail');
    await page.getByTestId('live-toggle').click();
    await eventually(async () => assert.equal(url().searchParams.get('live'), null));
    await page.reload();
    exact(await shownContext(), 'entries list');
  });

  test('rotate the key: the old key is refused at once, the new one works', async () => {
    await page.goto('/projects');
    await page.getByRole('button', { name: `Regenerate the key of ${SLUG}` }).click();
    const confirm = page.getByRole('dialog');
    await confirm.getByText('stops working immediately').waitFor();
    await confirm.getByRole('button', { name: 'Regenerate key' }).click();
    const dialog = page.getByRole('dialog', { name: /New key for/ });
    await dialog.waitFor();
    const key = await dialog.getByTestId('api-key').inputValue();
    assert.match(key, /^dsk_/);
    assert.notEqual(key, state.key);
    assert.ok((await dialog.getByTestId('snippet-curl').innerText()).includes(key));
    await dialog.getByRole('button', { name: 'I have saved the key' }).click();
    state.oldKey = state.key;
    state.key = key;
    const old = await sendBatch(base, state.oldKey, 'api', [{ message: 'with the old key' }]);
    assert.equal(old.status, 401);
    assert.equal(old.body.code, 'UNAUTHENTICATED');
    const fresh = await sendBatch(base, state.key, 'api', [{ message: 'with the new key' }]);
    assert.equal(fresh.status, 201);
  });

  test('users page: add a user, share the project with them, stop sharing', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await page.getByLabel('Email').fill('viewer@example.com');
    await page.getByLabel('Password', { exact: true }).fill('viewer-password-1');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('cell', { name: 'viewer@example.com', exact: true }).waitFor();
    assert.equal(await page.locator('table[data-testid=users] tbody tr').count(), 2);
    await shot('users.png');

    await page.goto('/projects');
    await page.getByRole('button', { name: `Members of ${SLUG}` }).click();
    const dialog = page.getByRole('dialog', { name: /Members of/ });
    await dialog.getByText('Not shared with anyone yet.').waitFor();
    await dialog.getByLabel('Email of an existing user').fill('viewer@example.com');
    await dialog.getByLabel('Role').selectOption('viewer');
    await dialog.getByRole('button', { name: 'Share' }).click();
    await dialog.getByRole('cell', { name: 'viewer@example.com', exact: true }).waitFor();
    await dialog.getByRole('button', { name: 'Remove viewer@example.com' }).click();
    await dialog.getByText('Not shared with anyone yet.').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await shot('projects.png');
  });

  test('delete the project only after typing its slug', async () => {
    await page.goto('/projects');
    await page.getByRole('button', { name: `Delete ${SLUG}` }).click();
    const dialog = page.getByRole('dialog', { name: /Delete/ });
    const confirm = dialog.getByRole('button', { name: 'Delete project' });
    assert.equal(await confirm.isDisabled(), true);
    await dialog.getByLabel(`Type ${SLUG} to confirm`).fill('shop-api');
    assert.equal(await confirm.isDisabled(), true);
    await dialog.getByLabel(`Type ${SLUG} to confirm`).fill(SLUG);
    assert.equal(await confirm.isDisabled(), false);
    await confirm.click();
    await dialog.waitFor({ state: 'detached' });
    const r = await sendBatch(base, state.key, 'api', [{ message: 'after delete' }]);
    assert.equal(r.status, 401, 'a deleted project key is refused');
    await eventually(async () => {
      const row = page.locator(`tr[data-slug="${SLUG}"]`);
      const gone = (await row.count()) === 0 || /deleted/.test(await row.innerText());
      assert.ok(gone, 'the project is gone or marked deleted');
    });
  });

  test('projects past the first page come with Load more', async () => {
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    const { token } = await login.json();
    for (let i = 0; i < 100; i++) {
      const slug = `bulk-${String(i).padStart(3, '0')}`;
      const r = await fetch(`${base}/api/logs/projects`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: `Bulk ${i}`, slug }),
      });
      assert.equal(r.status, 201, `creating ${slug}`);
    }
    await page.goto('/projects');
    const projectRows = page.locator('tr[data-slug]');
    await eventually(async () => assert.equal(await projectRows.count(), 100));
    const more = page.getByRole('button', { name: 'Load more projects' });
    await more.click();
    // The 100 new ones and the deleted project from before, each once.
    await eventually(async () => assert.equal(await projectRows.count(), 101));
    const slugs = await projectRows.evaluateAll((trs) => trs.map((tr) => tr.dataset.slug));
    assert.equal(new Set(slugs).size, 101);
    assert.ok(slugs.includes(SLUG));
    await more.waitFor({ state: 'detached' });
  });

  test('sign out, and an expired session sends the user back to sign-in with a message', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByText('You have signed out.').waitFor();
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByText('Your session has expired').count(), 0, 'signing out is not an expiry');

    await signIn();
    await eventually(async () => assert.match(await countText(), /of|No entries/)); // the page has loaded
    await browser.context.clearCookies(); // the session ends behind the page's back
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click();
    await page.getByText('Your session has expired. Sign in again.').waitFor();
    await signIn('Projects');
    assert.equal(url().pathname, '/projects', 'back where the user was');
  });

  test('the pages raised no script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
