// Starts the real platform (built from this checkout) and a headless Debian
// Chromium for the dashboard tests.
import { spawn, execFile } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const artifacts = join(here, 'artifacts');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const ADMIN = { email: 'admin@example.com', password: 'e2e-admin-password-1' };

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds cmd/devsmith (unless DEVSMITH_E2E_BINARY names a built one), runs
 * it all-in-one with an embedded PostgreSQL in a fresh folder, and waits
 * for /readyz. With `admin: false` no first admin is configured, so the
 * dashboard offers its setup page; `env` adds or overrides variables.
 * Returns {baseURL, restart(), stop()}.
 */
export async function startPlatform({ admin = true, name = 'platform', env = {} } = {}) {
  mkdirSync(artifacts, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'devsmith-e2e-'));
  chmodSync(work, 0o755);
  let bin = process.env.DEVSMITH_E2E_BINARY;
  if (!bin) {
    const out = join(work, 'bin');
    mkdirSync(out);
    await promisify(execFile)('go', ['build', '-o', out + '/', './cmd/devsmith'], { cwd: repoRoot, maxBuffer: 16 << 20 }).catch((err) => {
      throw new Error(`go build ./cmd/devsmith failed:\n${err.stderr || err.message}`);
    });
    bin = join(out, 'devsmith');
  }
  const data = join(work, 'data');
  mkdirSync(data);
  chmodSync(data, 0o755); // the embedded PostgreSQL runs as an unprivileged user when we are root
  const port = await freePort();
  const logPath = join(artifacts, `${name}.log`);
  const log = createWriteStream(logPath);
  const baseURL = `http://127.0.0.1:${port}`;
  const tail = () => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  };
  let proc;
  let exited = null;
  let exitPromise;
  // launch starts the binary on the data folder and port and waits until it
  // is ready; a restart runs it again where it was.
  const launch = async () => {
    exited = null;
    proc = spawn(bin, [], {
      cwd: work,
      env: {
        ...process.env,
        DEVSMITH_DATA_DIR: data,
        DATABASE_URL: '',
        DEVSMITH_HTTP_ADDR: `127.0.0.1:${port}`,
        DEVSMITH_PROJECTS_ADDR: '127.0.0.1:0',
        DEVSMITH_INGESTION_ADDR: '127.0.0.1:0',
        DEVSMITH_QUERY_ADDR: '127.0.0.1:0',
        DEVSMITH_ANALYSIS_ADDR: '127.0.0.1:0',
        DEVSMITH_SHUTDOWN_DRAIN_DELAY: '0',
        DEVSMITH_ADMIN_EMAIL: admin ? ADMIN.email : '',
        DEVSMITH_ADMIN_PASSWORD: admin ? ADMIN.password : '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout.pipe(log, { end: false });
    proc.stderr.pipe(log, { end: false });
    const p = proc;
    exitPromise = new Promise((res) => p.on('exit', (code, signal) => {
      exited = { code, signal };
      res(exited);
    }));
    const deadline = Date.now() + 180_000;
    for (;;) {
      if (exited) throw new Error(`the platform exited (${JSON.stringify(exited)}) before it was ready:\n${tail()}`);
      try {
        const r = await fetch(`${baseURL}/readyz`, { signal: AbortSignal.timeout(2000) });
        if (r.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`the platform was not ready within 180 s:\n${tail()}`);
      }
      await sleep(250);
    }
  };
  const halt = async () => {
    if (!exited) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exitPromise;
      clearTimeout(t);
    }
    return exited;
  };
  await launch();
  const home = await fetch(`${baseURL}/`).catch(() => null);
  if (!home || home.status !== 200 || !/text\/html/.test(home.headers.get('content-type') || '')) {
    proc.kill('SIGTERM');
    await exitPromise;
    throw new Error(`GET / answered ${home ? home.status : 'nothing'}: the gateway does not serve the dashboard (gateway.New needs web.Handler() from gateway/web)`);
  }
  return {
    baseURL,
    /**
     * Runs SQL on the platform's embedded PostgreSQL (its socket in the
     * data folder) with psql, for setup the API does not offer; returns
     * psql's unaligned output.
     */
    async sql(text) {
      const { stdout } = await promisify(execFile)('psql', ['-h', join(data, 'pg'), '-U', 'devsmith', '-d', 'devsmith', '-v', 'ON_ERROR_STOP=1', '-Atc', text]);
      return stdout.trim();
    },
    /** Stops the platform gracefully and starts it again where it was. */
    async restart() {
      const exit = await halt();
      await launch();
      return exit;
    },
    async stop() {
      const exit = await halt();
      log.end();
      rmSync(work, { recursive: true, force: true, maxRetries: 3 });
      return exit;
    },
  };
}

/** Headless Debian Chromium with a fresh profile. */
export async function launchBrowser(baseURL) {
  const profile = mkdtempSync(join(tmpdir(), 'devsmith-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 900 },
    colorScheme: 'light',
    baseURL,
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] || (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/**
 * Signs the admin in on page (from the sign-in page, opened first unless
 * open is false) and waits for the Logs page.
 */
export async function signIn(page, { open = true } = {}) {
  if (open) await page.goto('/');
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Logs', level: 1 }).waitFor();
}

/**
 * POST /api/logs/batch with a project key; returns {status, body}. logs is
 * an array, or the JSON text of one (for numbers JavaScript cannot hold).
 */
export async function sendBatch(baseURL, apiKey, serviceName, logs) {
  const payload = typeof logs === 'string' ? `{"service_name":${JSON.stringify(serviceName)},"logs":${logs}}` : JSON.stringify({ service_name: serviceName, logs });
  const r = await fetch(`${baseURL}/api/logs/batch`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: payload,
    signal: AbortSignal.timeout(15_000),
  });
  let body = null;
  try {
    body = await r.json();
  } catch {
    /* not JSON */
  }
  return { status: r.status, body };
}

/** Retries an assertion until it passes or the time is up. */
export async function eventually(fn, { timeout = 10_000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await sleep(interval);
  }
}

/** GETs path from baseURL with a bearer token and returns the JSON body; anything but 200 fails. */
export async function getJSON(baseURL, token, path) {
  const r = await fetch(`${baseURL}${path}`, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
  const body = await r.json().catch(() => null);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}
