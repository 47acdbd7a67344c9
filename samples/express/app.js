'use strict';
// Example Express app shipping its logs to DevSmith Logs.
//   DEVSMITH_API_KEY=dsk_... PORT=3001 node app.js
// GET / (200), GET /error (throws: logged at ERROR with its stack, answered
// 500), GET /health (not logged). Two routes fail the way real code does,
// each from one code path whatever the id, so that each is one error group
// on the platform's Errors page: GET /orders/:id/pay (a PaymentError
// "payment <id> failed: timeout after <n> ms" thrown in chargeCard) and
// GET /users/:id (a TypeError in loadUser). SIGTERM/SIGINT: stop, flush, exit.
const express = require('express');
const DevSmithLogger = require('./logger'); // a copy of samples/javascript/logger.js (samples/sync.sh)
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

class PaymentError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PaymentError';
  }
}

// chargeCard stands for a payment provider's client that times out.
function chargeCard(orderId) {
  const waited = 1000 + Math.floor(Math.random() * 29000);
  throw new PaymentError(`payment ${orderId} failed: timeout after ${waited} ms`);
}

function payOrder(req, res) {
  chargeCard(req.params.id);
  res.json({ paid: true });
}

// loadUser reads a user that is not there: a TypeError.
function loadUser(id) {
  const users = {};
  return users[id].name;
}

function showUser(req, res) {
  res.json({ name: loadUser(req.params.id) });
}

app.get('/orders/:id/pay', payOrder);
app.get('/users/:id', showUser);

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
