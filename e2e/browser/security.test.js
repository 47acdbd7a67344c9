// The dashboard under its Content-Security-Policy: no page of it triggers
// a violation (a blocked inline script or style would), and its writes
// carry the CSRF token the gateway asks of cookie-authenticated calls.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, sendBatch, startPlatform, signIn } from './harness.js';

let platform;
let browser;
let page;
const violations = [];
const cspConsole = [];

describe('browser security', { timeout: 300_000 }, () => {
  before(async () => {
    platform = await startPlatform({ name: 'platform-security' });
    browser = await launchBrowser(platform.baseURL);
    page = browser.page;
    // Collected in every document before its own scripts run (the init
    // script is injected by the browser, not subject to the page's CSP).
    await browser.context.addInitScript(() => {
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspConsole.push(msg.text());
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (platform) await platform.stop();
  });

  const collect = async () => violations.push(...(await page.evaluate(() => window.__cspViolations || [])));

  test('every page renders with no CSP violation, and a cookie-authenticated write goes through', async () => {
    const res = await page.goto('/');
    const csp = res.headers()['content-security-policy'];
    assert.ok(csp && !csp.includes('unsafe-inline') && csp.includes("frame-ancestors 'none'"), csp);
    await signIn(page, { open: false });
    const cookies = await browser.context.cookies();
    const session = cookies.find((c) => c.name === 'devsmith_session');
    const csrf = cookies.find((c) => c.name === 'devsmith_csrf');
    assert.ok(session && session.httpOnly && session.sameSite === 'Lax', JSON.stringify(session));
    assert.ok(csrf && !csrf.httpOnly, JSON.stringify(csrf));

    // A project created through the dashboard: a cookie-authenticated
    // POST, which the gateway refuses without the token api.js sends.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Name').fill('CSP check');
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/logs/projects' && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Create project' }).click();
    const created = await answered;
    assert.equal(created.status(), 201, await created.text());
    assert.ok(created.request().headers()['x-csrf-token'], 'api.js sent X-CSRF-Token');
    const { api_key: key } = await created.json();
    await page.getByRole('button', { name: 'I have saved the key' }).click();
    assert.equal((await sendBatch(platform.baseURL, key, 'web', [{ level: 'ERROR', message: 'csp check failed' }])).status, 201);
    await collect();

    for (const [path, heading] of [['/', 'Logs'], ['/errors', 'Errors'], ['/performance', 'Performance'], ['/projects', 'Projects'], ['/users', 'Users']]) {
      await page.goto(path);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      await collect();
    }
    assert.deepEqual(violations, [], 'CSP violations reported by the pages');
    assert.deepEqual(cspConsole, [], 'CSP errors in the console');
  });

  test('the violation detector sees what the policy blocks (it would catch an inline script)', async () => {
    const seen = await page.evaluate(async () => {
      const before = window.__cspViolations.length;
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.body.appendChild(s);
      // The event is dispatched after the insertion: poll for it.
      for (const end = Date.now() + 5000; window.__cspViolations.length === before && Date.now() < end; ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      return { added: window.__cspViolations.slice(before), ran: window.__inlineRan === true };
    });
    assert.equal(seen.ran, false, 'an inline script ran under the policy');
    assert.ok(seen.added.some((v) => v.startsWith('script-src')), JSON.stringify(seen.added));
  });

  test('a write from the page without the token is refused with code csrf', async () => {
    const r = await page.evaluate(async () => {
      const res = await fetch('/api/logs/projects', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'no token', slug: 'no-token' }) });
      return { status: res.status, body: await res.json() };
    });
    assert.equal(r.status, 403, JSON.stringify(r));
    assert.equal(r.body.code, 'csrf');
    assert.match(r.body.error, /X-CSRF-Token/);
  });
});
