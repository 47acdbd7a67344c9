// Every call to the REST API goes through request(): same origin, session
// cookie, a timeout, and errors as ApiError with a message fit to show.

import { parseJSON } from './lib/json.js';

export const DEFAULT_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(message, { status = 0, code = 'UNKNOWN', retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// Called on any 401 of a signed-in call: the session ended.
let onUnauthorized = null;

/** The session's CSRF token: the devsmith_csrf cookie set at sign-in. */
export function csrfToken(cookies = globalThis.document ? globalThis.document.cookie : '') {
  for (const part of cookies.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'devsmith_csrf') return decodeURIComponent(rest.join('='));
  }
  return '';
}

/** Register what happens when a call finds the session gone. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/**
 * Calls the API. `signal` cancels it (e.g. when the filters change);
 * `timeout` bounds it. Resolves to the parsed JSON body. Rejects with an
 * ApiError, or with an AbortError when `signal` cancelled it.
 */
export async function request(method, path, { body, signal, timeout = DEFAULT_TIMEOUT_MS, auth = true } = {}) {
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, timeout);
  const cancel = () => ctl.abort();
  if (signal) {
    if (signal.aborted) ctl.abort();
    else signal.addEventListener('abort', cancel, { once: true });
  }
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    // The gateway refuses a cookie-authenticated write without the
    // session's CSRF token (docs/security.md, Browser).
    const token = csrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }
  let res;
  let text;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: ctl.signal,
    });
    text = await res.text();
  } catch (err) {
    if (timedOut) {
      throw new ApiError(`The server did not answer within ${Math.round(timeout / 1000)} s.`, { code: 'TIMEOUT' });
    }
    if (signal && signal.aborted) throw abortError();
    throw new ApiError('Could not reach the server. Check your connection.', { code: 'NETWORK' });
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', cancel);
  }
  let data = null;
  if (text) {
    try {
      data = parseJSON(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const code = (data && data.code) || statusCode(res.status);
    let message = (data && typeof data.error === 'string' && data.error) || `The server answered ${res.status} ${res.statusText}`.trim();
    const ra = res.headers.get('Retry-After');
    if ((res.status === 429 || res.status === 503) && ra) message += ` (retry in ${ra} s)`;
    const err = new ApiError(message, { status: res.status, code, retryAfter: ra });
    if (res.status === 401 && auth && onUnauthorized) onUnauthorized(err);
    throw err;
  }
  return data ?? {};
}

function abortError() {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}

/** True for the rejection of a call cancelled by its caller. */
export function isAbort(err) {
  return err && err.name === 'AbortError';
}

function statusCode(status) {
  return (
    {
      400: 'INVALID_ARGUMENT',
      401: 'UNAUTHENTICATED',
      403: 'PERMISSION_DENIED',
      404: 'NOT_FOUND',
      409: 'ALREADY_EXISTS',
      413: 'RESOURCE_EXHAUSTED',
      429: 'RESOURCE_EXHAUSTED',
      503: 'UNAVAILABLE',
    }[status] || 'UNKNOWN'
  );
}

export const api = {
  get: (path, opts) => request('GET', path, opts),
  post: (path, body, opts) => request('POST', path, { ...opts, body: body ?? {} }),
  put: (path, body, opts) => request('PUT', path, { ...opts, body: body ?? {} }),
  patch: (path, body, opts) => request('PATCH', path, { ...opts, body: body ?? {} }),
  del: (path, opts) => request('DELETE', path, opts),
};
