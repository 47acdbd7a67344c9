'use strict';
// Fault-test driver for the JavaScript sample logger: see README.md.
const fs = require('node:fs');
const path = require('node:path');

const stats = { statuses: {}, missing_retry_after: 0, unexpected: [] };
const acked = [];
const realFetch = globalThis.fetch;
// Installed before the logger is loaded; the logger calls the global fetch.
globalThis.fetch = async (url, opts) => {
  const seqs = JSON.parse(opts.body).logs.map((e) => e.context.seq);
  let res;
  try {
    res = await realFetch(url, opts);
  } catch (err) {
    stats.statuses['no answer'] = (stats.statuses['no answer'] || 0) + 1;
    throw err;
  }
  const code = String(res.status);
  stats.statuses[code] = (stats.statuses[code] || 0) + 1;
  if (res.status >= 200 && res.status < 300) {
    acked.push(...seqs);
  } else if (res.status === 429 || res.status === 503) {
    if (!res.headers.get('retry-after')) stats.missing_retry_after++;
  } else if (stats.unexpected.length < 20) {
    stats.unexpected.push(`${code}: ${(await res.clone().text()).slice(0, 300)}`);
  }
  return res;
};

const DevSmithLogger = require(path.join(__dirname, '../../../samples/javascript/logger.js'));
const { parseDuration } = DevSmithLogger;

function ranges(seqs) {
  const s = [...new Set(seqs)].sort((a, b) => a - b);
  const out = [];
  for (const n of s) {
    if (out.length && out[out.length - 1][1] + 1 === n) out[out.length - 1][1] = n;
    else out.push([n, n]);
  }
  return out;
}

async function main() {
  const runId = process.env.DRIVER_RUN_ID;
  const stopFile = process.env.DRIVER_STOP_FILE;
  if (!runId || !stopFile) throw new Error('DRIVER_RUN_ID and DRIVER_STOP_FILE are required');
  const interval = parseDuration(process.env.DRIVER_INTERVAL || '5ms');
  const closeTimeout = parseDuration(process.env.DRIVER_CLOSE_TIMEOUT || '60s');
  // Longer than the 10 s freeze: the platform's answer, not the timeout, is counted.
  const log = new DevSmithLogger({ closeTimeout, requestTimeout: 30000 });
  let seq = 0;
  while (!fs.existsSync(stopFile)) {
    log.info(`fault javascript ${runId} ${seq}`, { run_id: runId, seq });
    seq++;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  const delivered = await log.close();
  console.log('FAULTDRIVER ' + JSON.stringify({ run_id: runId, numbered: seq, acked: ranges(acked), ...stats }));
  return delivered;
}

main().then((delivered) => { process.exitCode = delivered ? 0 : 1; }, (err) => {
  console.error(`fault driver javascript: ${err.stack || err}`);
  process.exitCode = 1;
});
