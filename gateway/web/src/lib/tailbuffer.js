// The rows of the live tail: newest first, at most `cap` of them. While
// paused (the user scrolled away from the top) the shown rows stay as they
// are and new entries wait in a pending list, also at most `cap`, shown on
// top when the tail resumes (the oldest beyond `cap` are let go).

export const TAIL_CAP = 1000;

export class TailBuffer {
  constructor(cap = TAIL_CAP) {
    this.cap = cap;
    this.rows = []; // shown, newest first
    this.pending = []; // arrived while paused, newest first
    this.paused = false;
    this.dropped = 0; // pending entries that fell off the end while paused
    this.ids = new Set(); // ids held in rows or pending, to drop duplicates
  }

  /** Replace everything with the entries (newest first), e.g. a first page. */
  seed(entries) {
    this.rows = [];
    this.pending = [];
    this.dropped = 0;
    this.ids = new Set();
    for (const e of entries) {
      if (this.rows.length >= this.cap) break;
      if (e && e.id != null && this.ids.has(e.id)) continue;
      this.rows.push(e);
      if (e && e.id != null) this.ids.add(e.id);
    }
  }

  /** Add one newly arrived entry. Returns false for a duplicate. */
  push(entry) {
    if (entry && entry.id != null) {
      if (this.ids.has(entry.id)) return false;
      this.ids.add(entry.id);
    }
    if (this.paused) {
      this.pending.unshift(entry);
      this.#trim(this.pending, true);
    } else {
      this.rows.unshift(entry);
      this.#trim(this.rows, false);
    }
    return true;
  }

  /** Keep new entries aside instead of showing them. */
  pause() {
    this.paused = true;
  }

  /** Show what arrived while paused, on top, and keep showing new entries. */
  resume() {
    this.paused = false;
    if (this.pending.length) {
      this.rows = this.pending.concat(this.rows);
      this.pending = [];
      this.dropped = 0;
      this.#trim(this.rows, false);
    }
  }

  /** Entries waiting while paused (including those that no longer fit). */
  get pendingCount() {
    return this.pending.length + this.dropped;
  }

  /** Everything held: rows plus pending, each at most cap. */
  get size() {
    return this.rows.length + this.pending.length;
  }

  #trim(list, countDrops) {
    // Shown rows and pending entries are bounded separately, so what the
    // user is reading never changes while the tail is paused.
    const over = list.length - this.cap;
    if (over <= 0) return;
    for (const e of list.splice(this.cap, over)) this.#forget(e);
    if (countDrops) this.dropped += over;
  }

  #forget(e) {
    if (e && e.id != null) this.ids.delete(e.id);
  }
}
