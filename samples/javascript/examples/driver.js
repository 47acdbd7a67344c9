'use strict';
// Logs DRIVER_COUNT entries through the JavaScript sample logger and exits 0
// once all of them were delivered (1 otherwise). For integration tests:
//
//   DEVSMITH_URL=... DEVSMITH_API_KEY=dsk_... DEVSMITH_SERVICE=driver-js \
//   DRIVER_COUNT=10 DRIVER_RUN_ID=r1 node examples/driver.js
//
// Entry i (0-based) has level debug/info/warn/error (cycling), message
// "driver javascript <run_id> <i>" and context {run_id, i, lang: "javascript"}.
// DRIVER_INTERVAL (a duration, default 0) spaces the log calls out;
// DRIVER_CLOSE_TIMEOUT (default 60s) bounds the final flush.
const DevSmithLogger = require('../logger');
const { parseDuration } = require('../logger');

async function main() {
  const count = Number(process.env.DRIVER_COUNT || 10);
  if (!Number.isInteger(count) || count < 0) throw new Error(`DRIVER_COUNT: expected a number, got ${process.env.DRIVER_COUNT}`);
  const runId = process.env.DRIVER_RUN_ID || Date.now().toString(36);
  const interval = process.env.DRIVER_INTERVAL ? parseDuration(process.env.DRIVER_INTERVAL) : 0;
  const closeTimeout = process.env.DRIVER_CLOSE_TIMEOUT ? parseDuration(process.env.DRIVER_CLOSE_TIMEOUT) : 60000;
  const log = new DevSmithLogger({ closeTimeout });
  const levels = ['debug', 'info', 'warn', 'error'];
  for (let i = 0; i < count; i++) {
    log[levels[i % 4]](`driver javascript ${runId} ${i}`, { run_id: runId, i, lang: 'javascript' });
    if (interval > 0) await new Promise((resolve) => setTimeout(resolve, interval));
  }
  const delivered = await log.close();
  const s = log.stats();
  console.log(`driver javascript: run ${runId}: logged ${s.logged}, sent ${s.sent}, dropped ${s.dropped}`);
  return delivered;
}

main().then((delivered) => {
  process.exitCode = delivered ? 0 : 1;
}, (err) => {
  console.error(`driver javascript: ${err.message}`);
  process.exitCode = 1;
});
