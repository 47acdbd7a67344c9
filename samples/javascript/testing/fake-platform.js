'use strict';
// A stand-in for POST /api/logs/batch on 127.0.0.1:0, for the tests.
const http = require('http');
const zlib = require('zlib');

// respond(req, n) returns {status, body, headers} or 'destroy' (drop the
// connection). req: {headers, body, raw, at}; n: 0-based request number.
async function startFakePlatform(respond = () => ({ status: 201 })) {
  const requests = [];
  const waiters = new Set();
  const platform = {
    requests,
    respond,
    url: '',
    // Requests answered 2xx, in arrival order.
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    entries: () => platform.accepted().flatMap((r) => r.body.logs),
    // Resolves when pred() holds; rejects after timeoutMs.
    waitFor(pred, timeoutMs = 5000) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = { pred, resolve, timer: null };
        w.timer = setTimeout(() => { waiters.delete(w); reject(new Error(`timed out after ${timeoutMs} ms; ${requests.length} requests seen`)); }, timeoutMs);
        waiters.add(w);
      });
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
  const notify = () => {
    for (const w of [...waiters]) {
      if (w.pred()) { waiters.delete(w); clearTimeout(w.timer); w.resolve(); }
    }
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let buf = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') buf = zlib.gunzipSync(buf);
      const raw = buf.toString('utf8');
      const rec = { headers: req.headers, raw, body: JSON.parse(raw), at: performance.now(), status: 0 };
      const n = requests.length;
      const answer = platform.respond(rec, n);
      if (answer === 'destroy') {
        rec.status = -1;
        requests.push(rec);
        req.socket.destroy();
        notify();
        return;
      }
      rec.status = answer.status;
      requests.push(rec);
      const body = answer.body !== undefined ? answer.body
        : { count: rec.body.logs.length, message: `Successfully ingested ${rec.body.logs.length} logs`, rejected: [], truncated: 0 };
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...(answer.headers || {}) });
      res.end(JSON.stringify(body));
      notify();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  platform.url = `http://127.0.0.1:${server.address().port}/api/logs`;
  return platform;
}

// Captures what is written to process.stderr while fn runs.
async function captureStderr(fn) {
  const original = process.stderr.write;
  let text = '';
  process.stderr.write = function write(chunk, ...rest) {
    text += String(chunk);
    return original.call(process.stderr, chunk, ...rest);
  };
  try {
    await fn(() => text);
  } finally {
    process.stderr.write = original;
  }
  return text;
}

module.exports = { startFakePlatform, captureStderr };
