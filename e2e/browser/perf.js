// Time to first render of the Logs page against many entries (not part of
// the suite; run by hand): starts the platform, ingests N entries (default
// 1,000,000) spread over the last 23 hours through /api/logs/batch, then
// measures in Chromium, from navigation to the entries table and the
// totals being on screen, the default view and a filtered one.
//
//   node perf.js [entries]        (DEVSMITH_E2E_BINARY=... skips go build)
import { ADMIN, launchBrowser, sendBatch, startPlatform, signIn } from './harness.js';

const total = Number(process.argv[2] || 1_000_000);
const BATCH = 10_000;
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'INFO', 'INFO', 'INFO', 'WARN', 'ERROR', 'FATAL', 'DEBUG'];

const platform = await startPlatform({ name: 'platform-perf' });
const base = platform.baseURL;
try {
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ADMIN) });
  const { token } = await login.json();
  const created = await fetch(`${base}/api/logs/projects`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ name: 'Perf', slug: 'perf' }),
  });
  const { api_key: key } = await created.json();

  const now = Date.now();
  const span = 23 * 3600e3;
  let sent = 0;
  const t0 = Date.now();
  const worker = async () => {
    for (;;) {
      const start = sent;
      if (start >= total) return;
      const n = Math.min(BATCH, total - start);
      sent += n;
      const logs = Array.from({ length: n }, (_, i) => {
        const k = start + i;
        return {
          timestamp: new Date(now - span + Math.floor((k / total) * span)).toISOString(),
          level: LEVELS[k % LEVELS.length],
          message: `request ${k} handled in ${k % 997} ms`,
          context: { k, user_id: k % 1000 },
        };
      });
      const r = await sendBatch(base, key, `svc-${start % 3}`, logs);
      if (r.status !== 201) throw new Error(`batch at ${start}: ${r.status} ${JSON.stringify(r.body)}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  console.log(`ingested ${total} entries in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const b = await launchBrowser(base);
  const page = b.page;
  await signIn(page);

  const fmt = new Intl.NumberFormat('en-US').format(total);
  for (const [label, path, want] of [
    ['default view (24 h, every project)', '/', `1-100 of ${fmt}`],
    ['default view again (warm)', '/', `1-100 of ${fmt}`],
    ['one project, ERROR only', '/?project=perf&level=ERROR', null],
    ['search q=handled in 5', '/?q=handled+in+5+ms', null],
  ]) {
    const start = Date.now();
    await page.goto(path);
    await page.locator('table[data-testid=entries] tbody tr.row').first().waitFor({ timeout: 120_000 });
    const tableAt = Date.now() - start;
    await page.waitForFunction(() => !/–/.test(document.querySelector('[data-testid=tile-total]')?.textContent || '–'), null, { timeout: 120_000 });
    const tilesAt = Date.now() - start;
    const count = (await page.locator('[data-testid=count]').innerText()).trim();
    if (want && count !== want) throw new Error(`${label}: count ${count}, want ${want}`);
    console.log(`${label}: entries on screen after ${tableAt} ms, totals and histogram after ${tilesAt} ms (${count})`);
  }
  await b.close();
} finally {
  await platform.stop();
}
