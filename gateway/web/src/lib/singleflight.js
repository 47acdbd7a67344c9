// The one-at-a-time guard of a long call started by a button (the
// analysis): however many clicks arrive before the page re-renders the
// button disabled, one call runs. Pure (no DOM); the component holds one
// guard per panel.

/**
 * At most one run in flight. `start(fn)` calls `fn(signal)` and returns its
 * promise, unless a run is under way: then it returns null and calls
 * nothing. The run counts as in flight until its promise settles (so a
 * cancelled call frees the guard only once its fetch has given up).
 * `cancel()` aborts the running call's signal.
 */
export class SingleFlight {
  constructor() {
    this.run = null; // {ctl, promise} of the call in flight
  }

  /** True while a run is in flight. */
  get busy() {
    return this.run !== null;
  }

  start(fn) {
    if (this.run) return null;
    const ctl = new AbortController();
    const run = { ctl, promise: null };
    // Taken before fn runs, so a re-entrant start() from inside fn (or from
    // a click handled before fn's first await) is refused too.
    this.run = run;
    let p;
    try {
      p = Promise.resolve(fn(ctl.signal));
    } catch (err) {
      p = Promise.reject(err);
    }
    run.promise = p.finally(() => {
      if (this.run === run) this.run = null;
    });
    return run.promise;
  }

  /** Aborts the run in flight, if any; true when there was one. */
  cancel() {
    if (!this.run) return false;
    this.run.ctl.abort();
    return true;
  }
}
