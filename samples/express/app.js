'use strict';
// Example Express app shipping its logs to DevSmith Logs.
//   DEVSMITH_API_KEY=dsk_... PORT=3001 node app.js
// GET / (200), GET /error (throws: logged at ERROR with its stack, answered
// 500), GET /health (not logged). SIGTERM/SIGINT: stop, flush, exit.
const express = require('express');
const DevSmithLogger = require('../javascript/logger'); // in your app: require('./logger')
const { requestLogger, errorHandler } = require('./middleware');

const log = new DevSmithLogger({ serviceName: process.env.DEVSMITH_SERVICE || 'express-example' });
const app = express();

app.use(requestLogger(log));

app.get('/', (req, res) => {
  res.json({ hello: 'world' });
});

app.get('/error', () => {
  throw new Error('boom: /error always fails');
});

app.get('/health', (req, res) => {
  res.json({ status: 'ok' });
});

app.use(errorHandler(log));

const server = app.listen(Number(process.env.PORT || 3001), process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`express example listening on http://${address}:${port}`);
  log.info('express example started', { port });
});

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log.info('express example stopping', { signal });
  server.close();
  server.closeAllConnections();
  const delivered = await log.close();
  process.exit(delivered ? 0 : 1);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
