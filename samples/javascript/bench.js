'use strict';
// Logger overhead per log call: node bench.js [calls]
// Sends to a local stand-in for the platform on 127.0.0.1 (201 for every batch).
const { spawn } = require('child_process');
const DevSmithLogger = require('./logger');

async function main() {
  const calls = Number(process.argv[2] || 50000);
  // The stand-in platform runs in its own process, so its work is not counted.
  const server = spawn(process.execPath, ['-e', `
    const { spawn } = require('child_process');
    const s = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { res.writeHead(201, { 'Content-Type': 'application/json' }); res.end('{"count":0,"message":"ok","rejected":[],"truncated":0}'); });
    });
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const log = new DevSmithLogger({
    apiKey: 'dsk_bench', apiUrl: `http://127.0.0.1:${port}/api/logs`, serviceName: 'bench', flushOnExit: false,
  });
  const ctx = { user_id: 123, path: '/api/orders', ok: true };

  // 1. The log call alone (encoding and buffering), in a synchronous loop.
  const syncCalls = Math.min(calls, 50000);
  for (let i = 0; i < 5000; i++) log.info('warm-up', ctx);
  await log.flush();
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < syncCalls; i++) log.info('order created', ctx);
  const callNs = Number(process.hrtime.bigint() - t0) / syncCalls;
  await log.flush();

  // 2. Amortized, sending included: what it costs to log and deliver `calls`
  // entries, producing in bursts of 1,000 and letting the sender run between them.
  const sendCalls = Math.min(calls, 50000);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < sendCalls; i++) {
    log.info('order created', ctx);
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await log.flush();
  const totalNs = Number(process.hrtime.bigint() - t0) / sendCalls;
  const s = log.stats();
  await log.close();
  server.kill();
  console.log(`node ${process.version}: log call ${(callNs / 1000).toFixed(2)} µs/op (${syncCalls} calls); ` +
    `with sending ${(totalNs / 1000).toFixed(2)} µs/op (${sendCalls} calls, ${s.batches} batches in all, dropped ${s.dropped})`);
}

main();
