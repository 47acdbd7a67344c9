// Sends logs to the platform's Loki push endpoint through winston-loki, a
// real Loki client from npm, as an application would: driven by
// e2e/loki_test.go, which reads them back through the query API.
//
// LOKI_HOST   base URL of the platform (winston-loki appends /loki/api/v1/push)
// LOKI_KEY    the project's API key, sent as the basic auth password
// LOKI_JSON   "1": JSON bodies (winston-loki's json option); else snappy protobuf
// LOKI_SERVICE, DRIVER_RUN_ID, DRIVER_COUNT, DRIVER_START_MS (entry i is at start + i ms)
'use strict'

const winston = require('winston')
const LokiTransport = require('winston-loki')

const count = Number(process.env.DRIVER_COUNT || '20')
const start = Number(process.env.DRIVER_START_MS || Date.now())
const levels = ['debug', 'info', 'warn', 'error']
let failed = null

const transport = new LokiTransport({
  host: process.env.LOKI_HOST,
  basicAuth: 'devsmith:' + process.env.LOKI_KEY,
  json: process.env.LOKI_JSON === '1',
  labels: { service_name: process.env.LOKI_SERVICE, run: process.env.DRIVER_RUN_ID, env: 'e2e' },
  // The line is the message alone (winston-loki's default adds the meta as JSON).
  format: winston.format.printf(info => info.message),
  replaceTimestamp: false, // keep each entry's own timestamp
  interval: 0.2,
  gracefulShutdown: false,
  onConnectionError: err => { failed = err }
})
const logger = winston.createLogger({ level: 'debug', transports: [transport] })

async function main () {
  for (let i = 0; i < count; i++) {
    logger.log({
      level: levels[i % levels.length],
      message: `winston ${process.env.DRIVER_RUN_ID} ${i}`,
      timestamp: new Date(start + i).toISOString(),
      i
    })
  }
  // Wait for winston to hand every entry to the transport, then for the
  // transport to send them, and stop its loop.
  await new Promise(resolve => setImmediate(resolve))
  await transport.flush()
  await transport.close()
  if (failed) {
    console.error('push failed: ' + failed.message)
    process.exit(1)
  }
  // winston-loki falls back to JSON when its snappy module cannot load:
  // say which body it sent, for the test to check.
  console.log(`sent ${count} entries as ${transport.batcher.contentType}`)
}

main().catch(err => { console.error(err); process.exit(1) })
