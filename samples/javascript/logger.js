'use strict';
// DevSmith Logs: a zero-dependency logger for Node.js 18+ (global fetch).
// Copy this one file into your app:
//
//   const DevSmithLogger = require('./logger');
//   const log = new DevSmithLogger({ serviceName: 'api' }); // or DEVSMITH_* env
//   log.info('User logged in', { userId: 123 });
//   await log.close(); // optional: pending logs are also flushed on 'beforeExit'
//
// Entries are buffered and sent to POST {DEVSMITH_URL}/batch every 100 entries
// or 5 s, whichever comes first. Failed batches are retried (same batch_id, so
// the server stores them once) and kept in a bounded buffer; logging never
// throws, never blocks and never keeps the process alive.

const path = require('path');
const crypto = require('crypto');
const zlib = require('zlib');

const DEFAULT_URL = 'http://localhost:3000/api/logs';
const PREFIX = 'devsmith-logger: ';
const DROP_REPORT_INTERVAL = 10000;

// parseDuration('5s') === 5000. Accepts "<number><unit>" with unit ms, s, m
// or h; a bare number (string) means seconds. Returns milliseconds.
function parseDuration(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(String(text));
  if (!m) throw new TypeError(`invalid duration ${JSON.stringify(text)}: use e.g. "5s", "500ms" or a number of seconds`);
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] || 's'];
  return Math.round(parseFloat(m[1]) * unit);
}

// Option value in milliseconds: numbers are milliseconds, strings durations.
function toMillis(value, name) {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    try { return parseDuration(value); } catch (err) { throw new TypeError(`${name}: ${err.message}`); }
  }
  throw new TypeError(`${name}: expected milliseconds or a duration string, got ${String(value)}`);
}

function positiveInt(value, name) {
  const n = typeof value === 'string' ? Number(value.trim()) : value;
  if (!Number.isInteger(n) || n <= 0) throw new TypeError(`${name}: expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function pick(option, envName, fallback) {
  if (option !== undefined && option !== null && option !== '') return option;
  const env = process.env[envName];
  return env !== undefined && env !== '' ? env : fallback;
}

// JSON.stringify that never throws: circular references, BigInt, throwing
// getters and toJSON all degrade to strings.
function safeStringify(value) {
  try {
    // Fast path: plain data. Errors (which stringify as {}), BigInt and
    // cycles take the replacer.
    if (!hasErrorValue(value)) {
      try { return JSON.stringify(value); } catch { /* fall through */ }
    }
    return JSON.stringify(value, jsonReplacer());
  } catch (err) {
    try { return JSON.stringify({ _unserializable: String(err && err.message) }); } catch { return '{}'; }
  }
}

function hasErrorValue(value) {
  if (value instanceof Error) return true;
  if (typeof value !== 'object' || value === null) return false;
  for (const k in value) {
    if (value[k] instanceof Error) return true;
  }
  return false;
}

function jsonReplacer() {
  const seen = new WeakSet();
  return function replacer(key, value) {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) {
      const out = { name: value.name, message: value.message, stack: value.stack };
      for (const k of Object.keys(value)) out[k] = value[k];
      return out;
    }
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  };
}

class DevSmithLogger {
  #apiKey;
  #endpoint;
  #headers;
  #envelopeHead;
  #envelopeBytes;
  #cfg;
  #open = null;      // batch accumulating new entries: {id, entries: [json], bytes}
  #queue = [];       // sealed batches, oldest first
  #count = 0;        // entries in #open and #queue
  #inFlight = 0;     // entries of the batch being sent (in neither)
  #bytes = 0;
  #sending = null;   // Promise<boolean> of the running drain
  #timer = null;     // flush timer for #open
  #sleep = null;     // current backoff timer, ref'd while someone awaits
  #waiters = 0;
  #pausedUntil = 0;  // after a failed drain, background sends wait until then
  #unreportedDrops = 0;
  #reported = new Set();
  #closed = false;
  #abandoned = false; // close gave up: background sends stop
  #disabled = false;
  #exitAttempted = false;
  #lastError = '';
  #lastDropReport = 0;
  #discardedSeen = 0;
  #stats = { logged: 0, sent: 0, dropped: 0, discarded: 0, rejected: 0, batches: 0, failedAttempts: 0 };

  /**
   * @param {object} [options]
   * @param {string} [options.apiKey]        DEVSMITH_API_KEY
   * @param {string} [options.apiUrl]        DEVSMITH_URL, default http://localhost:3000/api/logs
   * @param {string} [options.projectSlug]   DEVSMITH_PROJECT (optional)
   * @param {string} [options.serviceName]   DEVSMITH_SERVICE, default the script's name
   * @param {number} [options.batchSize]     DEVSMITH_BATCH_SIZE, default 100 entries
   * @param {number|string} [options.flushInterval] DEVSMITH_FLUSH_INTERVAL, default 5 s (number = ms)
   * @param {number} [options.maxBatchBytes] default 1 MiB
   * @param {number} [options.maxBufferSize] entries kept while the platform is unreachable, default 100000
   * @param {number} [options.maxBufferBytes] default 64 MiB
   * @param {number} [options.maxRetries]    retries per send, default 3
   * @param {number|string} [options.retryBaseDelay] default 500 ms, doubled per retry, with jitter
   * @param {number|string} [options.retryMaxDelay]  default 30 s
   * @param {number|string} [options.requestTimeout] default 10 s
   * @param {number|string} [options.closeTimeout]   default 10 s: how long close() and the exit flush keep trying
   * @param {boolean} [options.gzip]         DEVSMITH_GZIP=1, default false
   * @param {boolean} [options.flushOnExit]  default true ('beforeExit')
   */
  constructor(options = {}) {
    const o = options || {};
    const key = pick(o.apiKey, 'DEVSMITH_API_KEY', '');
    const url = String(pick(o.apiUrl, 'DEVSMITH_URL', DEFAULT_URL)).replace(/\/+$/, '');
    const project = pick(o.projectSlug, 'DEVSMITH_PROJECT', '');
    const script = process.argv[1] ? path.basename(process.argv[1]).replace(/\.[cm]?js$/, '') : '';
    const service = String(pick(o.serviceName, 'DEVSMITH_SERVICE', script || 'app'));
    this.#cfg = {
      batchSize: positiveInt(pick(o.batchSize, 'DEVSMITH_BATCH_SIZE', 100), 'batchSize (DEVSMITH_BATCH_SIZE)'),
      flushInterval: Math.max(1, toMillis(pick(o.flushInterval, 'DEVSMITH_FLUSH_INTERVAL', 5000), 'flushInterval (DEVSMITH_FLUSH_INTERVAL)')),
      maxBatchBytes: positiveInt(o.maxBatchBytes ?? 1024 * 1024, 'maxBatchBytes'),
      maxBufferSize: positiveInt(o.maxBufferSize ?? 100000, 'maxBufferSize'),
      maxBufferBytes: positiveInt(o.maxBufferBytes ?? 64 * 1024 * 1024, 'maxBufferBytes'),
      maxRetries: o.maxRetries === undefined ? 3 : Math.max(0, Math.floor(Number(o.maxRetries)) || 0),
      retryBaseDelay: toMillis(o.retryBaseDelay ?? 500, 'retryBaseDelay'),
      retryMaxDelay: toMillis(o.retryMaxDelay ?? 30000, 'retryMaxDelay'),
      requestTimeout: toMillis(o.requestTimeout ?? 10000, 'requestTimeout'),
      closeTimeout: toMillis(o.closeTimeout ?? 10000, 'closeTimeout'),
      gzip: o.gzip !== undefined ? Boolean(o.gzip) : /^(1|true|yes)$/i.test(process.env.DEVSMITH_GZIP || ''),
    };
    if (!/^https?:\/\//.test(url)) throw new TypeError(`apiUrl (DEVSMITH_URL) must start with http:// or https://, got ${JSON.stringify(url)}`);
    this.#apiKey = String(key);
    this.#endpoint = url + '/batch';
    this.projectSlug = project ? String(project) : undefined;
    this.serviceName = service;
    this.#headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${this.#apiKey}`, 'User-Agent': 'devsmith-logger-js/1' };
    if (this.#cfg.gzip) this.#headers['Content-Encoding'] = 'gzip';
    const head = { service_name: service };
    if (this.projectSlug) head.project_slug = this.projectSlug;
    this.#envelopeHead = JSON.stringify(head).slice(0, -1);
    // {...,"batch_id":"<36>","logs":[ ... ]}
    this.#envelopeBytes = Buffer.byteLength(this.#envelopeHead) + 64;
    if (!this.#apiKey) {
      this.#disabled = true;
      this.#stderr('no API key (set DEVSMITH_API_KEY or pass apiKey): logs will not be sent');
    }
    if (o.flushOnExit !== false) liveLoggers.add(this);
    ensureExitHook();
  }

  debug(message, context) { this.log('DEBUG', message, context); }
  info(message, context) { this.log('INFO', message, context); }
  warn(message, context) { this.log('WARN', message, context); }
  error(message, context) { this.log('ERROR', message, context); }
  fatal(message, context) { this.log('FATAL', message, context); }
  trace(message, context) { this.log('TRACE', message, context); }

  /** Logs one entry at any level. Never throws. */
  log(level, message, context) {
    try {
      if (this.#closed || this.#disabled) return;
      this.#exitAttempted = false;
      const lvl = String(level || 'INFO').toUpperCase();
      let msg = message;
      if (msg instanceof Error) {
        context = Object.assign({ error: msg.message, stack: msg.stack }, context);
        msg = msg.message || msg.name;
      }
      if (typeof msg !== 'string') msg = msg === undefined ? '' : safeStringify(msg) ?? String(msg);
      if (msg === '') msg = '(empty message)';
      const entry = { timestamp: new Date().toISOString(), level: lvl, message: msg };
      let json = safeStringify(entry).slice(0, -1);
      if (context !== undefined && context !== null) {
        const ctx = typeof context === 'object' && !Array.isArray(context) ? context : { value: context };
        const c = safeStringify(ctx);
        if (c && c !== '{}') json += ',"context":' + c;
      }
      json += '}';
      this.#stats.logged++;
      this.#enqueue(json);
    } catch (err) {
      try { this.#stderr(`could not log an entry: ${err && err.message}`, 'log-failed'); } catch { /* never throw */ }
    }
  }

  /**
   * Sends everything buffered now (each batch with its retries).
   * Resolves true when the buffer is empty afterwards; never rejects.
   */
  async flush({ timeout } = {}) {
    const deadline = Date.now() + (timeout === undefined ? this.#cfg.closeTimeout : toMillis(timeout, 'timeout'));
    return this.#deliver(deadline, false);
  }

  /**
   * Stops accepting entries and keeps trying to deliver what is buffered
   * until it is delivered or the timeout (default closeTimeout) passes.
   * Resolves true when everything was delivered; never rejects.
   */
  async close({ timeout } = {}) {
    if (this.#closed && this.#count === 0 && !this.#sending) return true;
    this.#closed = true;
    liveLoggers.delete(this);
    const deadline = Date.now() + (timeout === undefined ? this.#cfg.closeTimeout : toMillis(timeout, 'timeout'));
    const ok = await this.#deliver(deadline, true);
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = null; }
    this.#reportDrops(true);
    if (!ok && this.#count + this.#inFlight > 0) {
      this.#abandoned = true;
      // A batch still being sent when the time ran out counts too.
      this.#stderr(`${this.#count + this.#inFlight} log entries were not delivered before close (last error: ${this.#lastError || 'none'})`);
      this.#stats.discarded += this.#count;
      this.#discardedSeen = this.#stats.discarded;
      this.#queue = []; this.#open = null; this.#count = 0; this.#bytes = 0;
    }
    return ok;
  }

  /** Counters: logged, sent, dropped (buffer full), discarded, rejected, batches, failedAttempts, buffered. */
  stats() {
    return { ...this.#stats, buffered: this.#count };
  }

  // util.inspect / console.log never show the key.
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `DevSmithLogger { endpoint: '${this.#endpoint}', service: '${this.serviceName}', buffered: ${this.#count} }`;
  }

  toJSON() {
    return { endpoint: this.#endpoint, serviceName: this.serviceName, projectSlug: this.projectSlug };
  }

  // --- buffering -----------------------------------------------------------

  #enqueue(json) {
    const size = Buffer.byteLength(json) + 1;
    if (this.#open && (this.#open.bytes + size > this.#cfg.maxBatchBytes)) this.#seal();
    if (!this.#open) {
      this.#open = { id: crypto.randomUUID(), entries: [], bytes: this.#envelopeBytes };
      if (!this.#timer) {
        this.#timer = setTimeout(() => { this.#timer = null; this.#seal(); this.#kick(); }, this.#cfg.flushInterval);
        this.#timer.unref();
      }
    }
    this.#open.entries.push(json);
    this.#open.bytes += size;
    this.#count++;
    this.#bytes += size;
    this.#enforceBound();
    if (this.#open && (this.#open.entries.length >= this.#cfg.batchSize || this.#open.bytes >= this.#cfg.maxBatchBytes)) {
      this.#seal();
      this.#kick();
    }
  }

  #seal() {
    if (this.#open && this.#open.entries.length > 0) this.#queue.push(this.#open);
    this.#open = null;
  }

  #enforceBound() {
    while (this.#count > this.#cfg.maxBufferSize || (this.#bytes > this.#cfg.maxBufferBytes && this.#count > 0)) {
      const oldest = this.#queue.length > 0 ? this.#queue[0] : this.#open;
      if (!oldest) break;
      const dropped = oldest.entries.shift();
      const size = Buffer.byteLength(dropped) + 1;
      oldest.bytes -= size;
      this.#bytes -= size;
      this.#count--;
      this.#stats.dropped++;
      if (this.#unreportedDrops++ === 0) this.#stderr('buffer full (platform unreachable?): dropping the oldest log entries');
      if (oldest.entries.length === 0) {
        if (oldest === this.#open) this.#open = null; else this.#queue.shift();
      }
    }
  }

  // --- sending ---------------------------------------------------------------

  // Starts a background drain unless one runs or we are pausing after a failure.
  #kick() {
    if (this.#sending || this.#queue.length === 0 || this.#disabled) return;
    const wait = this.#pausedUntil - Date.now();
    if (wait > 0) {
      if (!this.#timer) {
        this.#timer = setTimeout(() => { this.#timer = null; this.#seal(); this.#kick(); }, wait);
        this.#timer.unref();
      }
      return;
    }
    this.#startDrain(Infinity);
  }

  #startDrain(deadline) {
    const p = this.#drain(deadline).catch((err) => {
      this.#stderr(`internal error while sending: ${err && err.message}`, 'internal');
      return false;
    }).finally(() => {
      if (this.#sending === p) this.#sending = null;
      // Batches sealed meanwhile, or a failed batch to retry after the pause.
      if (this.#waiters === 0 && !this.#abandoned) this.#kick();
    });
    this.#sending = p;
    return p;
  }

  // Delivers the buffer. persistent: keep trying (with pauses) until deadline.
  async #deliver(deadline, persistent) {
    const ok = await this.#deliverBuffer(deadline, persistent);
    // Refusals (400, 401, ...) since the last flush or close count as failures.
    const refused = this.#stats.discarded !== this.#discardedSeen;
    this.#discardedSeen = this.#stats.discarded;
    return ok && !refused;
  }

  async #deliverBuffer(deadline, persistent) {
    this.#waiters++;
    if (this.#sleep) this.#sleep.ref();
    try {
      this.#seal();
      let ownAttempt = false;
      for (;;) {
        if (this.#sending) {
          await raceDeadline(this.#sending, deadline);
          if (this.#sending && Date.now() >= deadline) return false;
          continue;
        }
        this.#seal();
        if (this.#queue.length === 0) return true;
        if (Date.now() >= deadline) return false;
        if (ownAttempt && !persistent) return false;
        if (ownAttempt) {
          const pause = Math.min(Math.max(this.#pausedUntil - Date.now(), this.#cfg.retryBaseDelay), deadline - Date.now());
          await this.#delay(Math.max(0, pause));
        }
        ownAttempt = true;
        this.#startDrain(deadline);
      }
    } finally {
      this.#waiters--;
    }
  }

  async #drain(deadline) {
    while (this.#queue.length > 0 && !this.#abandoned) {
      const batch = this.#queue.shift();
      this.#count -= batch.entries.length;
      this.#bytes -= batch.bytes - this.#envelopeBytes;
      this.#inFlight = batch.entries.length;
      const result = await this.#sendBatch(batch, deadline);
      this.#inFlight = 0;
      if (result.ok) {
        this.#pausedUntil = 0;
        this.#reportDrops();
        continue;
      }
      if (result.split) {
        const mid = Math.ceil(batch.entries.length / 2);
        const halves = [batch.entries.slice(0, mid), batch.entries.slice(mid)].map((entries) => ({
          id: crypto.randomUUID(),
          entries,
          bytes: this.#envelopeBytes + entries.reduce((n, e) => n + Buffer.byteLength(e) + 1, 0),
        }));
        for (const h of halves.reverse()) this.#requeueFront(h);
        continue;
      }
      if (result.discard) continue;
      // Still failing after the retries: back to the buffer whole, same batch_id.
      this.#requeueFront(batch);
      this.#pausedUntil = Date.now() + Math.max(this.#cfg.flushInterval, result.retryAfter || 0);
      return false;
    }
    return true;
  }

  #requeueFront(batch) {
    this.#queue.unshift(batch);
    this.#count += batch.entries.length;
    this.#bytes += batch.bytes - this.#envelopeBytes;
    this.#enforceBound();
  }

  #reportDrops(final = false) {
    if (this.#unreportedDrops === 0) return;
    // Under sustained overload, one report per DROP_REPORT_INTERVAL, not one per batch.
    if (!final && Date.now() - this.#lastDropReport < DROP_REPORT_INTERVAL) return;
    this.#lastDropReport = Date.now();
    const n = this.#unreportedDrops;
    this.#unreportedDrops = 0;
    this.#stderr(`dropped ${n} log entries while the platform was unreachable (buffer full)`);
    if (final) return;
    const json = safeStringify({
      timestamp: new Date().toISOString(), level: 'WARN',
      message: `devsmith logger dropped ${n} log entries: buffer full while the platform was unreachable`,
      context: { _devsmith_dropped: n },
    });
    const wasClosed = this.#closed;
    this.#closed = false; // internal entry, also during close
    try { this.#enqueue(json); this.#seal(); } finally { this.#closed = wasClosed; }
  }

  // Returns {ok} | {split} | {discard} | {retryAfter} (failed after retries).
  async #sendBatch(batch, deadline) {
    if (batch.entries.length === 0) return { ok: true };
    const json = `${this.#envelopeHead},"batch_id":"${batch.id}","logs":[${batch.entries.join(',')}]}`;
    const body = this.#cfg.gzip ? await gzip(json) : json;
    let retryAfter = 0;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.#abandoned) return { retryAfter };
      let status = 0;
      let text = '';
      let headerRetryAfter = null;
      let netError = null;
      try {
        const res = await fetch(this.#endpoint, {
          method: 'POST', headers: this.#headers, body,
          signal: AbortSignal.timeout(Math.max(1, Math.min(this.#cfg.requestTimeout, remaining))),
        });
        status = res.status;
        headerRetryAfter = res.headers.get('retry-after');
        text = await res.text();
      } catch (err) {
        netError = err;
      }
      if (status >= 200 && status < 300) {
        this.#stats.sent += batch.entries.length;
        this.#stats.batches++;
        this.#handleAccepted(text);
        return { ok: true };
      }
      this.#stats.failedAttempts++;
      this.#lastError = netError ? describeNetError(netError) : `HTTP ${status}: ${serverError(text, status)}`;
      if (status === 413) {
        if (batch.entries.length > 1) return { split: true };
        this.#stats.discarded++;
        this.#stderr(`an entry is too large for the platform and was dropped: ${serverError(text, status)}`, 'too-large');
        return { discard: true };
      }
      const retryable = netError || status === 408 || status === 429 || status >= 500;
      if (!retryable) {
        this.#stats.discarded += batch.entries.length;
        this.#stderr(`the platform refused a batch of ${batch.entries.length} entries (HTTP ${status}): ${serverError(text, status)}; not retrying`, `http-${status}-${serverError(text, status)}`);
        return { discard: true };
      }
      retryAfter = status === 429 || status === 503 ? parseRetryAfter(headerRetryAfter) : 0;
      if (attempt >= this.#cfg.maxRetries) {
        this.#stderr(`could not send ${batch.entries.length} entries (${this.#lastError}); keeping them buffered and retrying later`, 'send-failed');
        return { retryAfter };
      }
      const backoff = Math.min(this.#cfg.retryMaxDelay, this.#cfg.retryBaseDelay * 2 ** attempt);
      const wait = retryAfter > 0 ? retryAfter : backoff / 2 + Math.random() * backoff / 2;
      if (Date.now() + wait >= deadline) return { retryAfter };
      await this.#delay(wait);
    }
  }

  #handleAccepted(text) {
    if (this.#reported.has('send-failed')) {
      this.#reported.delete('send-failed');
      this.#stderr('the platform is reachable again; sending buffered entries');
    }
    let res;
    try { res = JSON.parse(text); } catch { return; }
    if (res && Array.isArray(res.rejected) && res.rejected.length > 0) {
      this.#stats.rejected += res.rejected.length;
      const r = res.rejected[0];
      this.#stderr(`the platform rejected ${res.rejected.length} entries, e.g. #${r.index}: ${r.reason}`, `rejected-${r.reason}`);
    }
  }

  #delay(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(() => { if (this.#sleep === t) this.#sleep = null; resolve(); }, ms);
      if (this.#waiters === 0) t.unref();
      this.#sleep = t;
    });
  }

  // Writes one line to stderr; with a key, only the first time that key is seen.
  #stderr(text, onceKey) {
    if (onceKey) {
      if (this.#reported.has(onceKey)) return;
      if (this.#reported.size > 100) this.#reported.clear();
      this.#reported.add(onceKey);
    }
    try { process.stderr.write(PREFIX + text.split(this.#apiKey || '\u0000').join('[api key]') + '\n'); } catch { /* never throw */ }
  }

  // Called on 'beforeExit': flush once per exit attempt, then give up.
  _onBeforeExit() {
    if (this.#closed || (this.#count === 0 && !this.#sending)) return;
    if (this.#exitAttempted) return;
    this.#exitAttempted = true;
    const deadline = Date.now() + this.#cfg.closeTimeout;
    // Holds the event loop until the flush has answered (at most
    // closeTimeout), so that its report is written before the exit.
    const keep = setTimeout(() => {}, this.#cfg.closeTimeout + 1000);
    this.#deliver(deadline, true).then((ok) => {
      clearTimeout(keep);
      const undelivered = this.#count + this.#inFlight; // a batch still being sent counts
      if (!ok && undelivered > 0) this.#stderr(`${undelivered} log entries were not delivered before exit (last error: ${this.#lastError || 'none'})`);
    });
  }
}

const liveLoggers = new Set();
let exitHooked = false;
function ensureExitHook() {
  if (exitHooked) return;
  exitHooked = true;
  // beforeExit: the event loop is empty; this does not change how or when
  // the app exits, other than waiting (at most closeTimeout) for the flush.
  process.on('beforeExit', () => {
    for (const l of liveLoggers) l._onBeforeExit();
  });
}

function raceDeadline(promise, deadline) {
  const ms = deadline - Date.now();
  if (ms <= 0) return Promise.resolve();
  let t;
  return Promise.race([promise, new Promise((resolve) => { t = setTimeout(resolve, ms); })]).finally(() => clearTimeout(t));
}

function gzip(text) {
  return new Promise((resolve, reject) => zlib.gzip(text, (err, buf) => (err ? reject(err) : resolve(buf))));
}

function parseRetryAfter(value) {
  if (!value) return 0;
  const secs = Number(value);
  let ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(value) - Date.now();
  if (!Number.isFinite(ms) || ms < 0) return 0;
  return Math.min(ms, 5 * 60 * 1000);
}

function serverError(text, status) {
  try {
    const body = JSON.parse(text);
    if (body && body.error) return String(body.error).slice(0, 500);
  } catch { /* not JSON */ }
  return (text || `status ${status}`).slice(0, 200).replace(/\s+/g, ' ');
}

function describeNetError(err) {
  const cause = err && err.cause;
  if (err && err.name === 'TimeoutError') return 'request timed out';
  return String((cause && (cause.code || cause.message)) || (err && err.message) || err);
}

module.exports = DevSmithLogger;
module.exports.DevSmithLogger = DevSmithLogger;
module.exports.parseDuration = parseDuration;
