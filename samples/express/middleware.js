'use strict';
// DevSmith Logs middleware for Express 4 and 5. No dependencies: give it any
// logger with log(level, message, context), such as ../javascript/logger.js.
//
//   const { requestLogger, errorHandler } = require('./middleware');
//   app.use(requestLogger(log));            // first, before your routes
//   ...routes...
//   app.use(errorHandler(log));             // last, after your routes
//
// One entry per request: "GET /users/42 200" with method, path, route, status,
// duration_ms, ip, user_agent and query in the context; ERROR for 5xx, WARN
// for 4xx, INFO otherwise. An unhandled error is logged at ERROR with its
// stack (in that request's entry), then Express answers 500 as usual.

const ERROR = Symbol.for('devsmith.express.error');
const TRACKED = Symbol.for('devsmith.express.tracked');
const REDACTED = '[REDACTED]';
const DEFAULT_REDACT = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'password'];

function normalize(options = {}) {
  const skip = options.skipPaths === undefined ? ['/health'] : options.skipPaths;
  return {
    skip: typeof skip === 'function' ? skip : pathMatcher(skip),
    redact: new Set((options.redact || DEFAULT_REDACT).map((k) => String(k).toLowerCase())),
    logHeaders: Boolean(options.logHeaders),
    logBody: Boolean(options.logBody),
  };
}

// "/health" matches exactly; "/static/*" matches the prefix.
function pathMatcher(paths) {
  const exact = new Set();
  const prefixes = [];
  for (const p of paths || []) {
    if (String(p).endsWith('*')) prefixes.push(String(p).slice(0, -1)); else exact.add(String(p));
  }
  return (path) => exact.has(path) || prefixes.some((pre) => path.startsWith(pre));
}

// Copies value with every key named in `keys` (lower case) replaced by [REDACTED].
function redact(value, keys, depth = 0) {
  if (depth > 10 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, keys, depth + 1));
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = keys.has(k.toLowerCase()) ? REDACTED : redact(v, keys, depth + 1);
  }
  return out;
}

function levelFor(status) {
  if (status >= 500) return 'ERROR';
  if (status >= 400) return 'WARN';
  return 'INFO';
}

function pathOf(req) {
  return String(req.originalUrl || req.url || '/').split('?')[0];
}

function queryOf(req, keys) {
  const q = String(req.originalUrl || req.url || '').split('?')[1];
  if (!q) return undefined;
  const out = {};
  for (const [k, v] of new URLSearchParams(q)) {
    if (k in out) out[k] = [].concat(out[k], v); else out[k] = v;
  }
  return redact(out, keys);
}

function ipOf(req) {
  return req.ip || (req.socket && req.socket.remoteAddress) || '';
}

function requestContext(req, opts) {
  const ctx = { method: req.method, path: pathOf(req), ip: ipOf(req) };
  const ua = req.headers && req.headers['user-agent'];
  if (ua) ctx.user_agent = ua;
  const query = queryOf(req, opts.redact);
  if (query) ctx.query = query;
  return ctx;
}

function errorFields(ctx, err, req, opts) {
  const e = err instanceof Error ? err : new Error(String(err));
  ctx.error = e.message;
  ctx.error_type = e.name;
  ctx.stack = e.stack;
  ctx.headers = redact(req.headers || {}, opts.redact);
  if (req.body && typeof req.body === 'object') ctx.body = redact(req.body, opts.redact);
}

/** Logs one entry per request when the response finishes (or the client goes away). */
function requestLogger(logger, options) {
  const opts = normalize(options);
  return function devsmithRequestLogger(req, res, next) {
    let path;
    try {
      path = pathOf(req);
      if (opts.skip(path, req)) return next();
      req[TRACKED] = true;
    } catch {
      return next();
    }
    const start = process.hrtime.bigint();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      try {
        const ctx = requestContext(req, opts);
        const status = res.statusCode;
        ctx.status = status;
        ctx.duration_ms = Math.round(Number(process.hrtime.bigint() - start) / 1e3) / 1e3;
        if (req.route && req.route.path) ctx.route = (req.baseUrl || '') + req.route.path;
        if (!res.writableFinished) ctx.aborted = true;
        if (opts.logHeaders) ctx.headers = redact(req.headers || {}, opts.redact);
        if (opts.logBody && req.body && typeof req.body === 'object') ctx.body = redact(req.body, opts.redact);
        const err = req[ERROR];
        let level = levelFor(status);
        let message = `${req.method} ${ctx.path} ${status}`;
        if (err !== undefined) {
          errorFields(ctx, err, req, opts);
          message += `: ${ctx.error_type}: ${ctx.error}`;
          if (status >= 500) level = 'ERROR';
        }
        logger.log(level, message, ctx);
      } catch { /* logging must never break a response */ }
    };
    res.on('finish', finish);
    res.on('close', finish);
    next();
  };
}

/**
 * Error-handling middleware: records the error for the request's entry (or
 * logs it at ERROR itself when requestLogger is not installed), then passes it
 * on so that Express (or your own error handler) answers.
 */
function errorHandler(logger, options) {
  const opts = normalize(options);
  return function devsmithErrorHandler(err, req, res, next) {
    try {
      if (req[TRACKED]) {
        req[ERROR] = err;
      } else if (!opts.skip(pathOf(req), req)) {
        const ctx = requestContext(req, opts);
        errorFields(ctx, err, req, opts);
        logger.log('ERROR', `${req.method} ${ctx.path}: ${ctx.error_type}: ${ctx.error}`, ctx);
      }
    } catch { /* never throw from here */ }
    next(err);
  };
}

module.exports = { requestLogger, errorHandler, redact, DEFAULT_REDACT };
