import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, isAbort } from './api.js';

/**
 * Runs `fn(signal)` whenever `deps` change, cancelling the previous run.
 * Keeps the last data while reloading. `retry()` runs it again.
 */
export function useAsync(fn, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    Promise.resolve()
      .then(() => fn(ctl.signal))
      .then(
        (data) => {
          if (!ctl.signal.aborted) setState({ loading: false, data, error: null });
        },
        (error) => {
          if (!ctl.signal.aborted && !isAbort(error)) setState((s) => ({ ...s, loading: false, error }));
        },
      );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, attempt]);
  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  const setData = useCallback((update) => setState((s) => ({ ...s, data: typeof update === 'function' ? update(s.data) : update })), []);
  return { ...state, retry, setData };
}

/**
 * An action started by a button: `run(...args)` calls `fn` unless a run is
 * already under way (a second click does nothing), and tracks `busy` and
 * the last `error`. Resolves to fn's result, or undefined on failure.
 */
export function useAction(fn) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const running = useRef(false);
  const mounted = useRef(true);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const run = useCallback(async (...args) => {
    if (running.current) return undefined;
    running.current = true;
    setBusy(true);
    setError(null);
    try {
      return await fnRef.current(...args);
    } catch (err) {
      if (mounted.current && !isAbort(err)) setError(err);
      return undefined;
    } finally {
      running.current = false;
      if (mounted.current) setBusy(false);
    }
  }, []);
  const clearError = useCallback(() => setError(null), []);
  return { run, busy, error, clearError };
}

/**
 * A keyset-paginated list: the first page of `path` (loaded like useAsync,
 * `retry()` starts again from it), later pages appended by `loadMore.run()`.
 * `items` are the `field` arrays of every page, `nextToken` the last page's.
 */
export function usePages(path, field, pageSize = 100) {
  const [more, setMore] = useState([]);
  const sep = path.includes('?') ? '&' : '?';
  const first = useAsync(async (signal) => {
    const r = await api.get(`${path}${sep}page_size=${pageSize}`, { signal });
    setMore([]);
    return r;
  }, [path]);
  const pages = first.data ? [first.data, ...more] : [];
  const nextToken = pages.length ? pages[pages.length - 1].next_page_token || '' : '';
  const loadMore = useAction(async () => {
    const r = await api.get(`${path}${sep}page_size=${pageSize}&page_token=${encodeURIComponent(nextToken)}`);
    setMore((m) => [...m, r]);
  });
  return { ...first, items: pages.flatMap((p) => p[field] || []), nextToken, loadMore };
}

/** Calls fn after `ms` without changes of `value`. */
export function useDebounced(value, ms) {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
